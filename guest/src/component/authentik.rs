//! Authentik's groups API at the edge: list every group (following `pagination.next`), create a
//! group, patch a group's attributes. Nothing else is ever sent: no PUT, no DELETE, no members.

use super::http::{Client, Response};
use super::sync::Upstream;
use super::wit::Service;
use crate::sync_core::authentik as api;
use crate::sync_core::managed::Attributes;
use crate::sync_core::plan::ExistingGroup;
use crate::sync_core::secrets::Redactor;
use serde_json::{Value, json};

pub struct Authentik<'a> {
    pub client: &'a Client,
    pub redactor: &'a Redactor,
}

impl Authentik<'_> {
    /// Every group, in listing order. Any failure here means nothing has been written yet.
    pub fn list_groups(&self) -> Result<Vec<ExistingGroup>, Upstream> {
        let mut groups = Vec::new();
        let mut page = 1;
        loop {
            let response = self.client.get(&api::list_target(page)).map_err(|e| {
                self.upstream(None, format!("listing groups (page {page}) failed: {e}"))
            })?;
            let body = self.expect_json(&response, &format!("listing groups (page {page})"))?;
            let decoded =
                api::decode_page(body).map_err(|e| self.upstream(Some(response.status), e))?;
            groups.extend(decoded.groups);
            match decoded.next {
                None => return Ok(groups),
                Some(next) if next <= page => {
                    return Err(self.upstream(
                        Some(response.status),
                        format!("the group list's page {page} points back to page {next}; pagination is inconsistent, so nothing was written"),
                    ));
                }
                Some(next) => page = next,
            }
        }
    }

    /// `POST` a new group with just its name and the managed block.
    pub fn create(&self, name: &str, block: &Attributes) -> Result<(), String> {
        let body = json!({"name": name, "attributes": Value::Object(block.clone())});
        let response = self.client.post_json(api::CREATE_TARGET, &body)?;
        if response.status == 400 && api::is_duplicate_name(&response.body) {
            return Err("Authentik says a group with this name already exists (created by someone else during this run?); the next run will pick it up".to_owned());
        }
        self.written(&response, "creating the group")
    }

    /// `PATCH` only `attributes`, which Authentik replaces whole: `attributes` is the complete
    /// object, foreign keys included.
    pub fn patch_attributes(&self, pk: &str, attributes: &Attributes) -> Result<(), String> {
        let body = json!({"attributes": Value::Object(attributes.clone())});
        let response = self.client.patch_json(&api::group_target(pk), &body)?;
        if response.status == 404 {
            return Err(
                "the group was deleted while this run was working; nothing was written".to_owned(),
            );
        }
        self.written(&response, "updating the group's attributes")
    }

    fn written(&self, response: &Response, doing: &str) -> Result<(), String> {
        if response.is_success() {
            let body = response.json_body()?;
            api::decode_group(body)
                .map_err(|e| format!("{doing}: the answer was not a group: {e}"))?;
            return Ok(());
        }
        Err(self
            .redactor
            .scrub(&format!("{doing}: {}", self.describe_failure(response))))
    }

    fn expect_json<'r>(&self, response: &'r Response, doing: &str) -> Result<&'r [u8], Upstream> {
        if !response.is_success() {
            return Err(self.upstream(
                Some(response.status),
                format!("{doing}: {}", self.describe_failure(response)),
            ));
        }
        response
            .json_body()
            .map_err(|m| self.upstream(Some(response.status), format!("{doing}: {m}")))
    }

    fn describe_failure(&self, response: &Response) -> String {
        let detail =
            api::error_message(&response.body).unwrap_or_else(|| "no error message".to_owned());
        let advice = match response.status {
            401 | 403 => "; check AUTHENTIK_TOKEN and that its user may view and change groups",
            status if status >= 500 => "; Authentik failed, check its logs",
            _ => "",
        };
        format!("HTTP {} ({detail}){advice}", response.status)
    }

    fn upstream(&self, status: Option<u16>, message: String) -> Upstream {
        Upstream {
            service: Service::Authentik,
            status,
            message: self.redactor.scrub(&message),
        }
    }
}
