//! Reads the mapping document from 1Password Connect: vault by name → item by title → field or
//! file. Three or four GETs, each answer checked before the next; one or two when the host
//! already knows the item's ids and the item still has them.

use super::failure::Upstream;
use super::http::{Client, Response};
use super::wit::Service;
use tenant_sync_core::onepassword::{self as op, DocumentLocation, ItemIds};

pub struct Location<'a> {
    pub vault: &'a str,
    pub item: &'a str,
    pub field: &'a str,
    /// Where an earlier run of this host found the item: read directly, if it is still there.
    pub known: Option<ItemIds>,
}

/// The mapping document, and where it was read.
pub async fn read_document(
    client: &Client,
    at: &Location<'_>,
) -> Result<(String, ItemIds), Upstream> {
    let fail = |status: Option<u16>, message: String| Upstream {
        service: Service::Onepassword,
        status,
        message,
    };
    if let Some(known) = at
        .known
        .as_ref()
        .filter(|k| op::is_id(&k.vault) && op::is_id(&k.item))
    {
        let target = op::item_target(&known.vault, &known.item);
        match fetch_json(client, &target, "reading the item", &fail).await {
            Ok(answer) => match op::Item::parse(&answer.body, at.item) {
                Ok(item) if item.is(known, at.item) => {
                    let document = read_from(client, at, known, item, &fail).await?;
                    return Ok((document, known.clone()));
                }
                // Still the mapping item, but not in Connect's shape: said, not looked past.
                Err(error) if op::names_item(&answer.body, known, at.item) => {
                    return Err(fail(None, error.to_string()));
                }
                // Renamed, moved or replaced since: looked up by name as if for the first time.
                _ => {}
            },
            Err(gone) if gone.status == Some(404) => {}
            Err(other) => return Err(other),
        }
    }
    let vaults = fetch_json(client, op::VAULTS_TARGET, "listing vaults", &fail).await?;
    let vault = op::find_vault(&vaults.body, at.vault).map_err(|e| fail(None, e.to_string()))?;
    let items = fetch_json(
        client,
        &op::items_target(&vault, at.item),
        "finding the item",
        &fail,
    )
    .await?;
    let item =
        op::find_item(&items.body, at.vault, at.item).map_err(|e| fail(None, e.to_string()))?;
    let found = ItemIds { vault, item };
    let item = fetch_json(
        client,
        &op::item_target(&found.vault, &found.item),
        "reading the item",
        &fail,
    )
    .await?;
    let item = op::Item::parse(&item.body, at.item).map_err(|e| fail(None, e.to_string()))?;
    let document = read_from(client, at, &found, item, &fail).await?;
    Ok((document, found))
}

/// The document in `item`, read from `ids`: its field, or its file downloaded.
async fn read_from(
    client: &Client,
    at: &Location<'_>,
    ids: &ItemIds,
    item: op::Item,
    fail: &impl Fn(Option<u16>, String) -> Upstream,
) -> Result<String, Upstream> {
    let location = item
        .into_document(at.item, at.field)
        .map_err(|e| fail(None, e.to_string()))?;
    match location {
        DocumentLocation::Field(text) => Ok(text),
        DocumentLocation::File { id, name } => {
            let target = op::file_content_target(&ids.vault, &ids.item, &id);
            let file = fetch(client, &target, "downloading the document", fail, false).await?;
            String::from_utf8(file.body).map_err(|e| {
                fail(
                    None,
                    format!(
                        "the document file {name:?} is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
            })
        }
    }
}

/// One GET, retried; `json`: of the JSON API, not a file's content.
async fn fetch(
    client: &Client,
    target: &str,
    doing: &str,
    fail: &impl Fn(Option<u16>, String) -> Upstream,
    json: bool,
) -> Result<Response, Upstream> {
    let answer = match json {
        true => client.get(target).await,
        false => client.get_content(target).await,
    };
    let response = answer.map_err(|e| {
        fail(
            None,
            format!("{doing} at {} failed: {}", client.endpoint(), e.message),
        )
    })?;
    if response.is_success() {
        return Ok(response);
    }
    if response.is_redirect() {
        let advice = client
            .endpoint()
            .redirect_advice(response.location.as_deref(), "OP_CONNECT_HOST");
        return Err(fail(
            Some(response.status),
            format!("{doing}: HTTP {}: {advice}", response.status),
        ));
    }
    let detail = op::error_message(&response.body).unwrap_or_else(|| "no error message".to_owned());
    let advice = match response.status {
        401 => "the 1Password Connect token was rejected; check OP_TOKEN (or OP_CONNECT_TOKEN)",
        403 => "the token may not read this vault; grant it access in 1Password",
        404 => "it was not found; check the vault, item and field names",
        _ => "1Password Connect failed; check the Connect server's health",
    };
    Err(fail(
        Some(response.status),
        format!("{doing}: HTTP {} ({detail}): {advice}", response.status),
    ))
}

async fn fetch_json(
    client: &Client,
    target: &str,
    doing: &str,
    fail: &impl Fn(Option<u16>, String) -> Upstream,
) -> Result<Response, Upstream> {
    let response = fetch(client, target, doing, fail, true).await?;
    response
        .json_body()
        .map_err(|m| fail(Some(response.status), format!("{doing}: {m}")))?;
    Ok(response)
}
