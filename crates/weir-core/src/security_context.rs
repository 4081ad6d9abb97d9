//! `securityContext`: what Zoho Desk appends to an extension webhook's callback URL so
//! that the receiver can call back as the installation. Weir's is a signed, expiring
//! token naming the installation: `wsc_<installation id>.<expiry, unix seconds>.<base64url
//! HMAC-SHA256 of the two, with the server's key>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use crate::InstallationId;

const PREFIX: &str = "wsc_";

fn mac(key: &[u8], claims: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(claims.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token naming `installation` until `expires_at`.
pub fn issue(key: &[u8], installation: &InstallationId, expires_at: Timestamp) -> String {
    let claims = format!("{installation}.{}", expires_at.as_second());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &claims));
    format!("{PREFIX}{claims}.{signature}")
}

/// The installation a token names, if the token is Weir's, unaltered and not expired.
pub fn verify(key: &[u8], token: &str, now: Timestamp) -> Option<InstallationId> {
    let rest = token.strip_prefix(PREFIX)?;
    let (claims, signature) = rest.rsplit_once('.')?;
    let (installation, expiry) = claims.split_once('.')?;
    let given = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let expected = mac(key, claims);
    if given.len() != expected.len()
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_slice(),
            expected.as_slice(),
        ))
    {
        return None;
    }
    let expiry: i64 = expiry.parse().ok()?;
    if now.as_second() >= expiry {
        return None;
    }
    InstallationId::parse(installation).ok()
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    #[test]
    fn tokens_name_their_installation_until_they_expire() {
        let key = b"a server key of any length";
        let installation = InstallationId::generate();
        let now = crate::now();
        let token = issue(key, &installation, now + SignedDuration::from_hours(1));
        assert!(token.starts_with("wsc_ins_"), "{token}");
        assert_eq!(verify(key, &token, now), Some(installation.clone()));
        let later = now + SignedDuration::from_hours(2);
        assert_eq!(verify(key, &token, later), None, "expired");
        assert_eq!(verify(b"another key", &token, now), None, "not ours");
        let other = InstallationId::generate();
        let forged = token.replace(installation.as_str(), other.as_str());
        assert_eq!(verify(key, &forged, now), None, "altered");
        assert_eq!(verify(key, "wsc_nonsense", now), None);
    }
}
