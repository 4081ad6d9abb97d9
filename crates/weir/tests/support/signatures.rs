//! An independent Standard Webhooks verifier for tests: HMAC-SHA256 over
//! `id.timestamp.body` with the base64-decoded secret, compared with each `v1,` entry of
//! `webhook-signature` (a rotation's grace sends several).

use base64::Engine;
use hmac::Mac;
use weir_testkit::Received;

pub fn verifies(request: &Received, secret: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("the secret is base64");
    let content = format!(
        "{}.{}.{}",
        request.headers["webhook-id"], request.headers["webhook-timestamp"], request.body
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(content.as_bytes());
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    request.headers["webhook-signature"]
        .split(' ')
        .any(|entry| entry == expected)
}
