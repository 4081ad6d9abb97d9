//! Hashes, HMACs and PBKDF2 for `crypto.createHash`, `createHmac` and `pbkdf2`, over the
//! digests Node apps ask for: MD5 and SHA-1 (still common in webhook signatures and
//! legacy APIs), SHA-224, SHA-256, SHA-384 and SHA-512.
//!
//! RustCrypto's `md-5` and `sha2` (already in the build) do all but SHA-1, which is
//! `ring`'s (also linked already, for TLS): no new crate for either.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest as _, Sha224, Sha256, Sha384, Sha512};

/// A digest algorithm, by the names Node accepts for it (`sha256`, `SHA256`,
/// `RSA-SHA256`, `sha-256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub(crate) fn named(name: &str) -> Option<Algorithm> {
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("rsa-").unwrap_or(&name);
        Some(match name.replace('-', "").as_str() {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    /// The names `crypto.getHashes()` lists.
    pub(crate) const NAMES: [&'static str; 6] =
        ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
}

pub(crate) fn hash(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Md5 => Md5::digest(data).to_vec(),
        Algorithm::Sha1 => ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
            .as_ref()
            .to_vec(),
        Algorithm::Sha224 => Sha224::digest(data).to_vec(),
        Algorithm::Sha256 => Sha256::digest(data).to_vec(),
        Algorithm::Sha384 => Sha384::digest(data).to_vec(),
        Algorithm::Sha512 => Sha512::digest(data).to_vec(),
    }
}

pub(crate) fn hmac(algorithm: Algorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        match <M as hmac::digest::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match algorithm {
        Algorithm::Md5 => mac::<Hmac<Md5>>(key, data),
        Algorithm::Sha1 => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
            ring::hmac::sign(&key, data).as_ref().to_vec()
        }
        Algorithm::Sha224 => mac::<Hmac<Sha224>>(key, data),
        Algorithm::Sha256 => mac::<Hmac<Sha256>>(key, data),
        Algorithm::Sha384 => mac::<Hmac<Sha384>>(key, data),
        Algorithm::Sha512 => mac::<Hmac<Sha512>>(key, data),
    }
}

/// PBKDF2 with HMAC over `algorithm`; `None` for a digest `ring` does not offer it with
/// (MD5, SHA-224).
pub(crate) fn pbkdf2(
    algorithm: Algorithm,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    length: usize,
) -> Option<Vec<u8>> {
    let algorithm = match algorithm {
        Algorithm::Sha1 => ring::pbkdf2::PBKDF2_HMAC_SHA1,
        Algorithm::Sha256 => ring::pbkdf2::PBKDF2_HMAC_SHA256,
        Algorithm::Sha384 => ring::pbkdf2::PBKDF2_HMAC_SHA384,
        Algorithm::Sha512 => ring::pbkdf2::PBKDF2_HMAC_SHA512,
        Algorithm::Md5 | Algorithm::Sha224 => return None,
    };
    let iterations = std::num::NonZeroU32::new(iterations)?;
    let mut out = vec![0; length];
    ring::pbkdf2::derive(algorithm, iterations, salt, password, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn names_as_node_accepts_them() {
        assert_eq!(Algorithm::named("RSA-SHA256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::named("sha-512"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::named("MD5"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::named("whirlpool"), None);
    }

    #[test]
    fn known_answers() {
        // FIPS 180 and RFC 1321's "abc".
        assert_eq!(
            hex(&hash(Algorithm::Md5, b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(&hash(Algorithm::Sha1, b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&hash(Algorithm::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac(
                Algorithm::Sha256,
                b"Jefe",
                b"what do ya want for nothing?"
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 6070, 2 iterations.
        assert_eq!(
            hex(&pbkdf2(Algorithm::Sha1, b"password", b"salt", 2, 20).unwrap()),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
        assert_eq!(pbkdf2(Algorithm::Md5, b"p", b"s", 1, 16), None);
    }
}
