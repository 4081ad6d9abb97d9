//! `?limit=&cursor=` on list endpoints, and the `{"data": [...], "next_cursor": ...}`
//! answer. Cursors are opaque to clients (base64 of the last id seen).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use weir_store::{Page, PageRequest};

use crate::error::ApiError;

/// The page a list request asks for.
pub struct PageParams(pub PageRequest);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<RawParams>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
        page_request(raw.limit, raw.cursor).map(PageParams)
    }
}

/// The page that `?limit=` and `?cursor=` ask for, for lists whose queries say more.
pub fn page_request(limit: Option<u32>, cursor: Option<String>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}, got {limit}",
            PageRequest::MAX_LIMIT
        )));
    }
    let after = cursor.map(|cursor| decode_cursor(&cursor)).transpose()?;
    Ok(PageRequest { after, limit })
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|after| weir_core::ids::is_id(after))
        .ok_or_else(|| ApiError::bad_request("cursor: not a cursor this API gave out"))
}

/// One page of a list, as the API answers it.
#[derive(Serialize)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    pub fn from_page<U>(page: Page<U>, view: impl Fn(U) -> T) -> Self {
        ListResponse {
            data: page.items.into_iter().map(view).collect(),
            next_cursor: page.next_after.map(|after| URL_SAFE_NO_PAD.encode(after)),
        }
    }
}
