//! Bearer tokens. A token is shown once, when it is made; Weir keeps only its SHA-256
//! hash and compares hashes in constant time. Tokens carry 256 random bits, so a plain
//! hash (rather than a slow password hash) is the right tool.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// A bearer token in clear. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A new random token, e.g. `weir_ak_…` for an account key.
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        ApiToken(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token given from outside (an `Authorization` header, `WEIR_ADMIN_TOKEN`).
    pub fn from_given(value: impl Into<String>) -> Self {
        ApiToken(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(crate::sha256_hex(self.0.as_bytes()))
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

/// The capability in an installation's target URL (`<public-url>/in/<token>`): 192
/// random bits, so that URLs cannot be guessed. `generateTargetUrl` hands the URL out
/// again and again, so the store keeps it sealed (not only hashed), and finds an
/// installation by its hash. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetToken(String);

impl TargetToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        TargetToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_stored(token: impl Into<String>) -> Self {
        TargetToken(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token, in lower-case hex: what an installation is found by.
    pub fn hash(&self) -> String {
        crate::sha256_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for TargetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TargetToken(***)")
    }
}

/// The SHA-256 of a token, in lower-case hex: what the store keeps.
#[derive(Debug, Clone)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn from_stored(hex: impl Into<String>) -> Self {
        TokenHash(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison, so response timing says nothing about a near miss.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hide_in_debug() {
        let a = ApiToken::generate("weir_ak_");
        let b = ApiToken::generate("weir_ak_");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("weir_ak_") && a.expose().len() == 8 + 43);
        assert_eq!(format!("{a:?}"), "ApiToken(***)");
    }

    #[test]
    fn target_tokens_are_long_random_and_hidden() {
        let (a, b) = (TargetToken::generate(), TargetToken::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32, "192 bits in base64url");
        assert_eq!(format!("{a:?}"), "TargetToken(***)");
    }

    #[test]
    fn hashes_match_only_the_same_token() {
        let token = ApiToken::from_given("abc");
        assert_eq!(
            token.hash().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(token.hash().matches(&ApiToken::from_given("abc").hash()));
        assert!(!token.hash().matches(&ApiToken::from_given("abd").hash()));
    }
}
