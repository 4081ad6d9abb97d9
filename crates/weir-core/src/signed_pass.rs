//! Signed, expiring passes for people in a browser: the operator console's session
//! (`wcs_`, standing for the admin) and an account portal's link (`wpt_`, standing for one
//! account). A pass is `<prefix><subject>.<issued, unix ms>.<expiry, unix s>.<base64url
//! HMAC-SHA256 of the rest>`: stateless, so any node that holds the key accepts it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// What a pass stands for; each kind has its own prefix, so one never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassKind {
    ConsoleSession,
    PortalLink,
}

impl PassKind {
    pub fn prefix(self) -> &'static str {
        match self {
            PassKind::ConsoleSession => "wcs_",
            PassKind::PortalLink => "wpt_",
        }
    }
}

/// What a verified pass says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Whom it stands for: `admin`, or an account id.
    pub subject: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

fn mac(key: &[u8], claims: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(claims.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A pass of `kind` for `pass.subject`, signed with `key`.
pub fn issue(key: &[u8], kind: PassKind, pass: &Pass) -> String {
    let claims = format!(
        "{}{}.{}.{}",
        kind.prefix(),
        pass.subject,
        pass.issued_at.as_millisecond(),
        pass.expires_at.as_second()
    );
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &claims));
    format!("{claims}.{signature}")
}

/// What `token` says, if it is a pass of `kind` signed with `key` and not expired at `now`.
pub fn verify(key: &[u8], kind: PassKind, token: &str, now: Timestamp) -> Option<Pass> {
    token.strip_prefix(kind.prefix())?;
    let (claims, signature) = token.rsplit_once('.')?;
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
    let rest = claims.strip_prefix(kind.prefix())?;
    let (rest, expiry) = rest.rsplit_once('.')?;
    let (subject, issued) = rest.rsplit_once('.')?;
    let expires_at = Timestamp::from_second(expiry.parse().ok()?).ok()?;
    let issued_at = Timestamp::from_millisecond(issued.parse().ok()?).ok()?;
    if now >= expires_at || subject.is_empty() {
        return None;
    }
    Some(Pass {
        subject: subject.to_owned(),
        issued_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    #[test]
    fn a_pass_holds_for_its_kind_and_key_until_it_expires() {
        let key = b"a server key";
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let pass = Pass {
            subject: "acme.eu".into(),
            issued_at: now,
            expires_at: now + SignedDuration::from_secs(900),
        };
        let token = issue(key, PassKind::PortalLink, &pass);
        assert!(token.starts_with("wpt_acme.eu."), "{token}");
        assert_eq!(verify(key, PassKind::PortalLink, &token, now), Some(pass));
        assert_eq!(verify(key, PassKind::ConsoleSession, &token, now), None);
        assert_eq!(
            verify(b"another key", PassKind::PortalLink, &token, now),
            None
        );
        let late = now + SignedDuration::from_secs(900);
        assert_eq!(verify(key, PassKind::PortalLink, &token, late), None);
        let other = token.replacen("acme.eu", "globex", 1);
        assert_eq!(verify(key, PassKind::PortalLink, &other, now), None);
        let expiry = pass_expiry(&token);
        let longer = token.replacen(&expiry, &format!(".9{}", &expiry[1..]), 1);
        assert_ne!(longer, token);
        assert_eq!(verify(key, PassKind::PortalLink, &longer, now), None);
        assert_eq!(verify(key, PassKind::PortalLink, "wpt_", now), None);
    }

    /// `.<expiry>.` of a token, as it stands in it.
    fn pass_expiry(token: &str) -> String {
        let parts: Vec<&str> = token.rsplitn(3, '.').collect();
        format!(".{}.", parts[1])
    }
}
