//! Secrets at rest: sealed with AES-256-GCM (ring), bound to the row and column they
//! belong to (the AEAD's associated data), so that a sealed value copied into another row
//! does not open.
//!
//! A [`Keyring`] holds the current key, which seals, and the previous ones, which still
//! open what they sealed until a rotation has sealed it all again under the current key.
//! A sealed value names the key that sealed it (`sealed:<key id>:<base64>`), so a value
//! under a key that is not configured is refused with a message naming both. The store
//! seals and opens (`weir_store`'s `sealed.rs`); the binary decides where the keys come
//! from (`weir/src/secret_key.rs`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// What the key id is derived from, besides the key: a key id says nothing useful about
/// the key, and nothing about keys used for anything else.
const KEY_ID_CONTEXT: &[u8] = b"weir sealing key id v1\0";

/// A 256-bit key for sealing secrets at rest. Its `Debug` never prints it.
#[derive(Clone)]
pub struct SealingKey {
    bytes: [u8; SealingKey::LEN],
    id: String,
}

/// Why a key was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealing key must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`): {0}")]
pub struct InvalidKey(String);

/// Why a sealed value did not open (or a value could not be sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "it was sealed with key {sealed_with}, which is not configured (the keys configured \
         now are {configured}; was WEIR_SECRET_KEY changed without keeping the old key as \
         a previous key?)"
    )]
    OtherKey {
        sealed_with: String,
        configured: String,
    },
    #[error("it is not a sealed value")]
    NotSealed,
    #[error("it does not open with the configured key: altered, or not Weir's")]
    Broken,
    #[error("the operating system's random source failed")]
    NoRandomness,
}

impl SealingKey {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidKey> {
        let bytes: [u8; Self::LEN] = bytes
            .try_into()
            .map_err(|_| InvalidKey(format!("{} bytes given", bytes.len())))?;
        let digest =
            ring::digest::digest(&ring::digest::SHA256, &[KEY_ID_CONTEXT, &bytes].concat());
        let id = digest.as_ref()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(SealingKey {
            bytes,
            id: format!("k-{id}"),
        })
    }

    /// Standard base64 (padded or not), as `WEIR_SECRET_KEY` and the stored setting hold it.
    pub fn from_base64(text: &str) -> Result<Self, InvalidKey> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|e| InvalidKey(format!("not base64 ({e})")))?;
        Self::from_bytes(&bytes)
    }

    /// A new random key.
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = [0u8; Self::LEN];
        getrandom::fill(&mut bytes).map_err(|_| SealError::NoRandomness)?;
        Self::from_bytes(&bytes).map_err(|_| SealError::NoRandomness)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// Names the key without saying anything of it: stored with each value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn key(&self) -> Result<LessSafeKey, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.bytes).map_err(|_| SealError::Broken)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// `plaintext`, sealed and bound to `context` (what it belongs to): base64 of a fresh
    /// random nonce, the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::NoRandomness)?;
        let mut sealed = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| SealError::Broken)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext of a value this key sealed for `context`.
    pub fn open(&self, key_id: &str, sealed: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        if key_id != self.id {
            return Err(SealError::OtherKey {
                sealed_with: key_id.to_owned(),
                configured: self.id.clone(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Broken)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Broken);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Broken)?;
        let mut opened = ciphertext.to_vec();
        let plaintext = self
            .key()?
            .open_in_place(nonce, Aad::from(context), &mut opened)
            .map_err(|_| SealError::Broken)?;
        Ok(plaintext.to_vec())
    }
}

/// What marks a sealed value: `sealed:<key id>:<base64 of nonce, ciphertext and tag>`.
/// Nothing Weir stored in clear starts so (JSON objects, `whsec_…` secrets).
const SEALED_PREFIX: &str = "sealed:";

/// The keys of a Weir deployment: the current one seals; it and the previous ones open.
/// Its `Debug` names the keys by id only.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl Keyring {
    /// `previous` keys that repeat the current one (or each other) are dropped.
    pub fn new(current: SealingKey, previous: Vec<SealingKey>) -> Self {
        let mut kept: Vec<SealingKey> = Vec::new();
        for key in previous {
            if key.id() != current.id() && kept.iter().all(|k| k.id() != key.id()) {
                kept.push(key);
            }
        }
        Keyring {
            current,
            previous: kept,
        }
    }

    pub fn current(&self) -> &SealingKey {
        &self.current
    }

    pub fn previous(&self) -> &[SealingKey] {
        &self.previous
    }

    /// Whether `key_id` names one of these keys.
    pub fn has(&self, key_id: &str) -> bool {
        self.key(key_id).is_some()
    }

    /// The ids, current first: `k-… (current), k-… (previous)`.
    pub fn describe(&self) -> String {
        std::iter::once(format!("{} (current)", self.current.id()))
            .chain(
                self.previous
                    .iter()
                    .map(|k| format!("{} (previous)", k.id())),
            )
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn key(&self, key_id: &str) -> Option<&SealingKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id() == key_id)
    }

    /// `plaintext` sealed under the current key for `context`, in its stored form.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<String, SealError> {
        let sealed = self.current.seal(plaintext, context)?;
        Ok(format!("{SEALED_PREFIX}{}:{sealed}", self.current.id()))
    }

    /// The plaintext of a stored sealed value, with whichever configured key sealed it.
    pub fn open(&self, stored: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let key_id = sealed_with(stored).ok_or(SealError::NotSealed)?;
        let sealed = &stored[SEALED_PREFIX.len() + key_id.len() + 1..];
        let key = self.key(key_id).ok_or_else(|| SealError::OtherKey {
            sealed_with: key_id.to_owned(),
            configured: self.describe(),
        })?;
        key.open(key_id, sealed, context)
    }
}

/// The id of the key that sealed a stored value; `None` for a value stored in clear.
pub fn sealed_with(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    let (key_id, _) = rest.split_once(':')?;
    Some(key_id)
}

/// How a value sealed under `key_id` starts: what a query looks for (`LIKE '…%'`).
pub fn sealed_prefix(key_id: &str) -> String {
    format!("{SEALED_PREFIX}{key_id}:")
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey({}, ***)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = SealingKey::generate().unwrap();
        let sealed = key.seal(b"access-token-123", b"inst-1\0").unwrap();
        assert!(!sealed.contains("access-token-123"));
        assert_ne!(sealed, key.seal(b"access-token-123", b"inst-1\0").unwrap());
        assert_eq!(
            key.open(key.id(), &sealed, b"inst-1\0").unwrap(),
            b"access-token-123"
        );
        assert_eq!(
            key.open(key.id(), &sealed, b"inst-2\0"),
            Err(SealError::Broken)
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            key.open(key.id(), &altered, b"inst-1\0"),
            Err(SealError::Broken)
        );
        let other = SealingKey::generate().unwrap();
        assert!(matches!(
            other.open(key.id(), &sealed, b"inst-1\0"),
            Err(SealError::OtherKey { .. })
        ));
    }

    #[test]
    fn a_keyring_seals_with_the_current_key_and_opens_with_any() {
        let old = SealingKey::generate().unwrap();
        let new = SealingKey::generate().unwrap();
        let before = Keyring::new(old.clone(), vec![]);
        let sealed = before.seal(b"whsec_abc", b"row-1").unwrap();
        assert_eq!(sealed_with(&sealed), Some(old.id()));
        assert!(sealed.starts_with(&sealed_prefix(old.id())));
        assert_eq!(sealed_with("whsec_abc"), None);
        let after = Keyring::new(new.clone(), vec![old.clone(), new.clone()]);
        assert_eq!(
            after.previous().len(),
            1,
            "the current key is not also previous"
        );
        assert_eq!(after.open(&sealed, b"row-1").unwrap(), b"whsec_abc");
        assert_eq!(after.open(&sealed, b"row-2"), Err(SealError::Broken));
        assert_eq!(
            sealed_with(&after.seal(b"x", b"row-1").unwrap()),
            Some(new.id())
        );
        let dropped = Keyring::new(new.clone(), vec![]);
        let refused = dropped.open(&sealed, b"row-1").unwrap_err().to_string();
        assert!(
            refused.contains(old.id()) && refused.contains(new.id()),
            "{refused}"
        );
        assert_eq!(
            dropped.open("whsec_abc", b"row-1"),
            Err(SealError::NotSealed)
        );
    }

    #[test]
    fn keys_are_32_bytes_of_base64_with_a_stable_id_and_a_quiet_debug() {
        let key = SealingKey::generate().unwrap();
        let again = SealingKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.id(), again.id());
        assert!(key.id().starts_with("k-") && key.id().len() == 14);
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert!(SealingKey::from_base64("not base64!").is_err());
    }
}
