//! Accounts (the tenants of the host product) and their API keys.

use serde::Deserialize;
use weir_core::operational;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, ApiToken, Departments, Domain, Product, Region,
};
use weir_store::AccountChanges;

use crate::engine::Engine;
use crate::error::Error;

/// Account keys start with this, so a leaked one is recognisable in logs and scanners.
const KEY_PREFIX: &str = "weir_ak_";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub id: Option<AccountId>,
    pub domain: Domain,
    pub region: Region,
    pub product: Product,
    #[serde(default)]
    pub departments: Departments,
}

/// The fields to change; the others are kept, even if changed meanwhile by another caller.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    pub domain: Option<Domain>,
    pub region: Option<Region>,
    pub product: Option<Product>,
    pub departments: Option<Departments>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: Option<String>,
}

impl Engine {
    pub async fn create_account(&self, new: NewAccount) -> Result<Account, Error> {
        if new.id.as_ref().map(AccountId::as_str) == Some(operational::INSTANCE_ACCOUNT) {
            return Err(Error::invalid(format!(
                "id: {} is reserved: Weir keeps its operational webhooks there",
                operational::INSTANCE_ACCOUNT
            )));
        }
        let now = weir_core::now();
        let account = Account {
            id: new.id.unwrap_or_else(AccountId::generate),
            domain: new.domain,
            region: new.region,
            product: new.product,
            departments: new.departments,
            created_at: now,
            updated_at: now,
        };
        self.store().insert_account(&account).await?;
        Ok(account)
    }

    /// Writes only the given fields, and answers the account as it is now.
    pub async fn change_account(
        &self,
        id: &AccountId,
        change: AccountChange,
    ) -> Result<Account, Error> {
        let changes = AccountChanges {
            domain: change.domain,
            region: change.region,
            product: change.product,
            departments: change.departments,
            updated_at: weir_core::now(),
        };
        let updated = self.store().update_account(id, &changes).await;
        // Even a failed write may have taken effect.
        self.accounts().forget(id.as_str());
        updated?;
        self.store().account(id).await?.ok_or_else(|| not_found(id))
    }

    /// Refused while the account has active installations.
    pub async fn delete_account(&self, id: &AccountId) -> Result<(), Error> {
        let deleted = self.store().delete_account(id).await;
        self.accounts().forget(id.as_str());
        Ok(deleted?)
    }

    /// The account events are posted to, read at most once a second: a product posts to
    /// the same accounts all the time. A second's staleness is harmless: see the field
    /// `Engine::accounts`.
    pub async fn account_to_post_to(&self, id: &AccountId) -> Result<Account, Error> {
        let read = self.store().account(id);
        let found = self.accounts().get_or_read(id.as_str(), read).await?;
        found.ok_or_else(|| not_found(id))
    }

    /// A new key for the account, and its token: shown this once, stored only as a hash.
    pub async fn create_api_key(
        &self,
        account: &AccountId,
        new: NewApiKey,
    ) -> Result<(ApiKey, ApiToken), Error> {
        let name = new.name.map(checked_key_name).transpose()?;
        let token = ApiToken::generate(KEY_PREFIX);
        let key = ApiKey {
            id: ApiKeyId::generate(),
            account_id: account.clone(),
            name,
            token_hash: token.hash(),
            created_at: weir_core::now(),
        };
        self.store().insert_api_key(&key).await?;
        Ok((key, token))
    }

    pub async fn delete_api_key(&self, account: &AccountId, key: &str) -> Result<(), Error> {
        let not_found =
            || Error::not_found(format!("API key {key} not found in account {account}"));
        let id = ApiKeyId::parse(key).map_err(|_| not_found())?;
        match self.store().delete_api_key(account, &id).await {
            Err(weir_store::StoreError::NotFound) => Err(not_found()),
            other => Ok(other?),
        }
    }
}

/// A key's name is a label for people: up to 100 printable characters.
fn checked_key_name(name: String) -> Result<String, Error> {
    let printable = !name.trim().is_empty() && !name.chars().any(char::is_control);
    if !printable || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name: must be 1 to 100 printable characters",
        ));
    }
    Ok(name)
}

pub(crate) fn not_found(id: &AccountId) -> Error {
    Error::not_found(format!("account {id} not found"))
}
