//! Authentik's groups API at the edge: list every group (page 1, then the other pages
//! concurrently), create a group without ever duplicating it, patch a group's attributes without
//! losing a concurrent edit. Nothing else is ever sent: no PUT, no DELETE, no members, roles or
//! parents.

use super::failure::Upstream;
use super::http::{Attempt, Client, NoAnswer, Response};
use super::queue;
use super::wit::Service;
use serde_json::{Value, json};
use std::cell::RefCell;
use tenant_sync_core::ancestry;
use tenant_sync_core::authentik as api;
use tenant_sync_core::create::{self, CreateStep};
use tenant_sync_core::managed::{self, Attributes};
use tenant_sync_core::plan::{self, ExistingGroup, Rules, Standing};
use tenant_sync_core::verify;
use wasi::http::types::Method;

/// Why a group's write did not happen.
#[derive(Debug)]
pub enum WriteFailure {
    /// The host refused the write's first request: nothing of it reached Authentik (the run is
    /// being stopped, or writes are not granted).
    NotSent(String),
    /// It failed, or its outcome is unknown; the message says which.
    Failed(String),
}

/// How the attempts of a patch ended: with a result, or with an outcome still to be settled
/// by reading the group (`sent` is what the last attempt sent, `failure` why it is not known).
enum PatchEnd {
    Done(Result<(), WriteFailure>),
    Unsettled { sent: Attributes, failure: String },
}

impl From<String> for WriteFailure {
    fn from(message: String) -> WriteFailure {
        WriteFailure::Failed(message)
    }
}

impl From<NoAnswer> for WriteFailure {
    fn from(no_answer: NoAnswer) -> WriteFailure {
        match no_answer.sent_nothing() {
            true => WriteFailure::NotSent(no_answer.message),
            false => WriteFailure::Failed(no_answer.message),
        }
    }
}

pub struct Authentik<'a> {
    pub client: &'a Client,
    /// Which existing groups may be written (checked again right before each write).
    pub rules: Rules<'a>,
}

impl Authentik<'_> {
    /// Every group. Page 1 says how many pages there are; the rest are fetched `concurrency` at
    /// a time, and the pure core checks they fit together. Any failure here means nothing has
    /// been written yet.
    pub async fn list_groups(&self, concurrency: usize) -> Result<Vec<ExistingGroup>, Upstream> {
        let first = self.page(1).await?;
        let total = api::page_count(&first).map_err(|e| self.inconsistent(e))?;
        // The first failure stops further fetches.
        let rest = queue::try_all(2..=total, concurrency, |n| self.page(n)).await?;
        let pages = std::iter::once(first).chain(rest).collect();
        api::assemble(pages).map_err(|e| self.inconsistent(e))
    }

    /// The groups named `names` that exist, each looked up by exact name (`?name=`),
    /// `concurrency` at a time: for a few groups, instead of listing them all. Nothing has been
    /// written yet when this fails.
    pub async fn look_up(
        &self,
        names: &[&str],
        concurrency: usize,
    ) -> Result<Vec<ExistingGroup>, Upstream> {
        let found = queue::try_all(names.iter(), concurrency, async |name| {
            self.find_by_name(name)
                .await
                .map_err(|e| self.upstream(None, format!("looking up the group {name:?}: {e}")))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One page of the listing, decoded.
    async fn page(&self, n: u64) -> Result<api::GroupPage, Upstream> {
        let doing = format!("listing groups (page {n})");
        let response = self
            .client
            .get(&api::list_target(n))
            .await
            .map_err(|e| self.upstream(None, format!("{doing} failed: {}", e.message)))?;
        let body = self.expect_json(&response, &doing)?;
        api::decode_page(body)
            .map_err(|e| self.upstream(Some(response.status), format!("{doing}: {e}")))
    }

    fn inconsistent(&self, what: api::Inconsistent) -> Upstream {
        self.upstream(
            None,
            format!("the group listing is inconsistent: {what}; nothing was written. Re-run; if it persists, check Authentik"),
        )
    }

    /// Creates `name` carrying `block`, exactly once: what each answer means is
    /// `create::after_answer` / `after_no_answer`; an answer that may hide an applied create is
    /// followed by a lookup by exact name, and the run continues from what is there. An outcome
    /// that is not a verified success is settled by what the server holds (`settle_create`).
    pub async fn create(&self, name: &str, block: &Attributes) -> Result<(), WriteFailure> {
        let body = json!({"name": name, "attributes": Value::Object(block.clone())});
        let doing = "creating the group";
        self.client
            .retrying(&Method::Post, api::CREATE_TARGET, async |attempt| {
                let (trouble, reason, looked_up) = match self
                    .client
                    .post_json_once(api::CREATE_TARGET, &body)
                    .await
                {
                    Ok(response) => {
                        let step = create::after_answer(
                            response.status,
                            response.content_type.as_deref(),
                            &response.body,
                        );
                        let fault = response.fault(true);
                        match (step, fault) {
                            (CreateStep::Verify, _) => {
                                let settled = match self.verify(&response, doing, name, block) {
                                    Ok(()) => Ok(()),
                                    Err(failure) => self.settle_create(name, block, failure).await,
                                };
                                return Attempt::Settled(settled);
                            }
                            (CreateStep::ContinueFromExisting, _) => {
                                return Attempt::Settled(self.continue_from(name, block).await);
                            }
                            (CreateStep::Retry, Some(fault)) => {
                                (response.trouble(fault), fault.to_string(), false)
                            }
                            (CreateStep::LookUpThenRetry, Some(fault)) => {
                                let reason = self.describe_failure(&response);
                                if let Some(settled) =
                                    self.found_and_written(name, block, &reason).await
                                {
                                    return Attempt::Settled(settled);
                                }
                                (response.trouble(fault), reason, true)
                            }
                            _ => {
                                let failed = self.failed(doing, &response);
                                return Attempt::Settled(
                                    self.settle_create(name, block, failed).await,
                                );
                            }
                        }
                    }
                    Err(no_answer) => match create::after_no_answer(&no_answer.trouble, attempt) {
                        CreateStep::NotSent => return Attempt::Settled(Err(no_answer.into())),
                        CreateStep::LookUpThenRetry => {
                            let reason = no_answer.message;
                            if let Some(settled) =
                                self.found_and_written(name, block, &reason).await
                            {
                                return Attempt::Settled(settled);
                            }
                            (no_answer.trouble, reason, true)
                        }
                        _ => {
                            let failed = no_answer.message;
                            return Attempt::Settled(self.settle_create(name, block, failed).await);
                        }
                    },
                };
                let attempts = match attempt {
                    1 => String::new(),
                    n => format!(" (after {n} attempts)"),
                };
                let settled = match looked_up {
                    true => "; the group was not in Authentik when looked up after the last attempt: re-run to converge",
                    // A 429: the server did not process it.
                    false => "",
                };
                let given_up =
                    WriteFailure::Failed(format!("{doing} failed{attempts}: {reason}{settled}"));
                Attempt::Again {
                    trouble,
                    reason,
                    given_up: Err(given_up),
                }
            })
            .await
    }

    /// A create that may have been applied (`reason` says why it is not known): the outcome if
    /// the group is there now (written onto by the usual rules), `None` if it is not.
    async fn found_and_written(
        &self,
        name: &str,
        block: &Attributes,
        reason: &str,
    ) -> Option<Result<(), WriteFailure>> {
        match self.find_by_name(name).await {
            Ok(Some(found)) => Some(self.write_block_onto(&found, block).await),
            Ok(None) => None,
            Err(e) => Some(Err(WriteFailure::Failed(unknown(reason, "looked up", &e)))),
        }
    }

    /// A create whose outcome is not a verified success (`failure` says why): a refusal does
    /// not prove that nothing was written, so what the server holds decides. Ours with the
    /// block is applied; someone else's is continued from by the usual rules; none is the
    /// failure. A lookup that fails too leaves the outcome unknown, and the message says so.
    async fn settle_create(
        &self,
        name: &str,
        block: &Attributes,
        failure: String,
    ) -> Result<(), WriteFailure> {
        let settled = self.found_and_written(name, block, &failure).await;
        settled.unwrap_or(Err(WriteFailure::Failed(failure)))
    }

    /// Authentik says the name is taken: someone created the group during this run. The block
    /// is written onto the group that is there.
    async fn continue_from(&self, name: &str, block: &Attributes) -> Result<(), WriteFailure> {
        match self.find_by_name(name).await? {
            Some(found) => self.write_block_onto(&found, block).await,
            None => Err(WriteFailure::Failed("Authentik says a group with this name exists, yet a lookup by the same name finds none".to_owned())),
        }
    }

    /// The group named exactly `name`, if it exists (a lookup, retried like any GET), with its
    /// ancestry read.
    async fn find_by_name(&self, name: &str) -> Result<Option<ExistingGroup>, String> {
        let response = self.client.get(&api::by_name_target(name)).await?;
        if !response.is_success() {
            return Err(self.failed("looking the group up by name", &response));
        }
        let page = api::decode_page(response.json_body()?).map_err(|e| e.to_string())?;
        match page.groups.into_iter().find(|g| g.name == name) {
            Some(found) => Ok(Some(self.with_ancestry(found).await?)),
            None => Ok(None),
        }
    }

    /// The group `pk` as it is now; `None` if it does not exist (any more).
    async fn read_group(&self, pk: &str, doing: &str) -> Result<Option<ExistingGroup>, String> {
        let response = self.client.get(&api::group_target(pk)).await?;
        if response.status == 404 {
            return Ok(None);
        }
        self.check(&response, doing)?;
        let group = api::decode_group(response.json_body()?).map_err(|e| e.to_string())?;
        Ok(Some(group))
    }

    /// `group` with its ancestry decided (`ancestry::ancestry_of`) from its ancestors, read
    /// level by level: no request for a group without parents, at most `MAX_ANCESTORS` + 1 for
    /// one with. An ancestor that is gone leaves the ancestry unknown, which is not safe to write.
    async fn with_ancestry(&self, mut group: ExistingGroup) -> Result<ExistingGroup, String> {
        let mut known: Vec<ExistingGroup> = Vec::new();
        let mut tried: Vec<String> = Vec::new();
        let mut next: Vec<String> = group.parents.clone();
        let mut at = 0;
        // Each pk is read at most once, and at most MAX_ANCESTORS + 1 are read in all: a
        // hostile listing cannot make this loop long (ancestry_of then says why it stopped).
        while let Some(pk) = next.get(at).cloned() {
            at += 1;
            if tried.contains(&pk) || tried.len() > ancestry::MAX_ANCESTORS {
                continue;
            }
            tried.push(pk.clone());
            let doing = "reading an ancestor of the group (superuser rights are inherited)";
            match self.read_group(&pk, doing).await? {
                Some(parent) => {
                    next.extend(parent.parents.iter().cloned());
                    known.push(parent);
                }
                // Gone: ancestry_of says so; nothing above it can be read anyway.
                None => break,
            }
        }
        let find = |pk: &str| known.iter().find(|g| g.pk == pk);
        group.ancestry = ancestry::ancestry_of(&group, &find);
        Ok(group)
    }

    /// Patches the block into the group's attributes as they are now: the group is read again
    /// right before the write, so a foreign key added since the listing is kept, and a parent
    /// added since is judged too.
    pub async fn write_block_after_rereading(
        &self,
        pk: &str,
        block: &Attributes,
    ) -> Result<(), WriteFailure> {
        let current = self
            .reread(
                pk,
                "re-reading the group before the update",
                "the group was deleted while this run was working; nothing was written",
            )
            .await?;
        self.write_block_onto(&current, block).await
    }

    /// Patches the block into `current`'s attributes as just read (a write on a fresh
    /// lookup needs no second read). A fault or a lost answer is retried within the outage's
    /// budget, each time on the group read again (what the patch merges into may have changed
    /// meanwhile); an outcome that is not a verified success is settled by reading the group.
    pub async fn write_block_onto(
        &self,
        current: &ExistingGroup,
        block: &Attributes,
    ) -> Result<(), WriteFailure> {
        let target = api::group_target(&current.pk);
        let latest = RefCell::new(current.clone());
        let ended = self
            .client
            .retrying(&Method::Patch, &target, async |attempt| {
                if attempt > 1 {
                    let reread = self.reread(
                        &current.pk,
                        "re-reading the group before sending the update again",
                        "the group was deleted while this run was working",
                    );
                    match reread.await {
                        Ok(group) => *latest.borrow_mut() = group,
                        // The earlier attempt's outcome is not known either.
                        Err(WriteFailure::Failed(e) | WriteFailure::NotSent(e)) => {
                            let failed = WriteFailure::Failed(format!(
                                "the last update got no usable answer, and {e}; whether it took effect is unknown: re-run to converge"
                            ));
                            return Attempt::Settled(PatchEnd::Done(Err(failed)));
                        }
                    }
                }
                let group = latest.borrow().clone();
                self.patch_once(&group, block, &target, attempt).await
            })
            .await;
        match ended {
            PatchEnd::Done(result) => result,
            PatchEnd::Unsettled { sent, failure } => {
                let group = latest.borrow().clone();
                self.settle_patch(&group, &sent, failure).await
            }
        }
    }

    /// One attempt of `write_block_onto` on `group` as last read.
    async fn patch_once(
        &self,
        group: &ExistingGroup,
        block: &Attributes,
        target: &str,
        attempt: u32,
    ) -> Attempt<PatchEnd> {
        if let Standing::Untouchable(why) = plan::standing(group, &self.rules) {
            return Attempt::Settled(PatchEnd::Done(Err(WriteFailure::Failed(format!(
                "{why} (it changed during this run); left untouched"
            )))));
        }
        if managed::changes(&group.attributes, block).is_empty() {
            return Attempt::Settled(PatchEnd::Done(Ok(())));
        }
        let sent = managed::with_block(&group.attributes, block);
        let doing = "updating the group's attributes";
        let body = json!({"attributes": Value::Object(sent.clone())});
        match self.client.patch_json_once(target, &body).await {
            Err(no_answer) if no_answer.sent_nothing() && attempt == 1 => {
                Attempt::Settled(PatchEnd::Done(Err(no_answer.into())))
            }
            Err(no_answer) if no_answer.trouble.is_retryable() => Attempt::Again {
                trouble: no_answer.trouble,
                reason: no_answer.message.clone(),
                given_up: PatchEnd::Unsettled {
                    sent,
                    failure: no_answer.message,
                },
            },
            Err(no_answer) => Attempt::Settled(PatchEnd::Unsettled {
                sent,
                failure: no_answer.message,
            }),
            Ok(response) => match response.fault(true) {
                Some(fault) => Attempt::Again {
                    trouble: response.trouble(fault),
                    reason: fault.to_string(),
                    given_up: PatchEnd::Unsettled {
                        failure: format!(
                            "{} (after {attempt} attempts)",
                            self.failed(doing, &response)
                        ),
                        sent,
                    },
                },
                None => match self
                    .check(&response, doing)
                    .and_then(|()| self.verify(&response, doing, &group.name, &sent))
                {
                    Ok(()) => Attempt::Settled(PatchEnd::Done(Ok(()))),
                    Err(failure) => Attempt::Settled(PatchEnd::Unsettled { sent, failure }),
                },
            },
        }
    }

    /// The group `pk` read again, with its ancestry, before a write (`doing` says which);
    /// `deleted` is the failure if it is gone.
    async fn reread(
        &self,
        pk: &str,
        doing: &str,
        deleted: &str,
    ) -> Result<ExistingGroup, WriteFailure> {
        match self.read_group(pk, doing).await? {
            Some(group) => Ok(self.with_ancestry(group).await?),
            None => Err(WriteFailure::Failed(deleted.to_owned())),
        }
    }

    /// A patch whose outcome is not a verified success (`failure` says why): the group is read
    /// again, and it is applied if the server holds what was sent.
    async fn settle_patch(
        &self,
        current: &ExistingGroup,
        sent: &Attributes,
        failure: String,
    ) -> Result<(), WriteFailure> {
        let doing = "re-reading the group after a failed update";
        match self.read_group(&current.pk, doing).await {
            Ok(Some(stored)) if verify::stored_as_sent(&current.name, sent, &stored).is_ok() => {
                Ok(())
            }
            Ok(_) => Err(WriteFailure::Failed(failure)),
            Err(e) => Err(WriteFailure::Failed(unknown(&failure, "read again", &e))),
        }
    }

    /// A request about one group succeeded; a 404 means someone deleted the group meanwhile.
    fn check(&self, response: &Response, doing: &str) -> Result<(), String> {
        match response.status {
            404 => Err(
                "the group was deleted while this run was working; nothing was written".to_owned(),
            ),
            _ if response.is_success() => Ok(()),
            _ => Err(self.failed(doing, response)),
        }
    }

    /// A write's answer is the group as Authentik stored it: the write is applied only if that
    /// is what was sent (see `verify`); a status alone proves nothing.
    fn verify(
        &self,
        response: &Response,
        doing: &str,
        name: &str,
        sent: &Attributes,
    ) -> Result<(), String> {
        let body = response.json_body()?;
        let stored = api::decode_group(body)
            .map_err(|e| format!("{doing}: the answer was not a group: {e}"))?;
        verify::stored_as_sent(name, sent, &stored).map_err(|e| {
            format!(
                "{doing}: Authentik accepted the request (HTTP {}) but did not apply it: {e}. \
                 Check that nothing between this job and Authentik drops request bodies, then re-run",
                response.status
            )
        })
    }

    fn failed(&self, doing: &str, response: &Response) -> String {
        format!("{doing}: {}", self.describe_failure(response))
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
        if response.is_redirect() {
            let advice = self
                .client
                .endpoint()
                .redirect_advice(response.location.as_deref(), "AUTHENTIK_URL");
            return format!("HTTP {}: {advice}", response.status);
        }
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
            message,
        }
    }
}

/// A write's failure whose outcome the read that should settle it could not learn.
fn unknown(failure: &str, read: &str, error: &str) -> String {
    format!(
        "{failure}; the group could not be {read} afterwards ({error}), so whether the write took effect is unknown: re-run to converge"
    )
}
