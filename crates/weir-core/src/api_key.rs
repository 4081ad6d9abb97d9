//! Per-account API keys: bearer tokens that act for one account only.

use jiff::Timestamp;
use serde::Serialize;

use crate::{AccountId, ApiKeyId, TokenHash};

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: Option<String>,
    #[serde(skip)]
    pub token_hash: TokenHash,
    pub created_at: Timestamp,
}
