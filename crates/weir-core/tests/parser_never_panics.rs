//! The package parser never panics, whatever it is fed: random bytes as a zip, random zip
//! archives, and packages whose declaration files hold random JSON and YAML built from the
//! keys and values the parser looks for (so the random input reaches deep into it).
//!
//! A small deterministic generator keeps each run bounded and repeatable: set
//! `WEIR_FUZZ_ITERATIONS` for a longer run, and `WEIR_FUZZ_SEED` to replay one.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use serde_json::{Map, Value};
use weir_core::{AppDefinition, Package, PackageLimits, oauth};

/// xorshift64*: enough randomness for input generation, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Keys and strings the parser gives meaning to.
const WORDS: &[&str] = &[
    "platform-version",
    "product",
    "modules",
    "common",
    "events",
    "handler",
    "functions",
    "timeout",
    "requests",
    "whitelisted-domains",
    "dependencies",
    "engines",
    "name",
    "version",
    "connectorEvents",
    "freshsales",
    "freshworks_crm",
    "freshdesk",
    "support_ticket",
    "deal",
    "onContactCreate",
    "onAppInstall",
    "onExternalEvent",
    "onTicketCreate",
    "2.0",
    "2.3",
    "3.0",
    "3.1",
    "display_name",
    "type",
    "required",
    "secure",
    "default_value",
    "options",
    "dropdown",
    "number",
    "checkbox",
    "schema",
    "method",
    "host",
    "path",
    "headers",
    "query",
    "maxAttempts",
    "retryDelay",
    "isOAuth",
    "oauth",
    "GET",
    "POST",
    "webhook",
    "resourceName",
    "url",
    "description",
    "subscriptions",
    "ignoreSourceId",
    "Ticket_Add",
    "Ticket_Update",
    "Ticket_Thread_Add",
    "includePrevState",
    "fields",
    "direction",
    "departmentIds",
    "in",
    "zohoAuthorisation",
    "scope",
    "Desk.events.ALL",
    "id",
    "queryParams",
    "payload_encoding",
    "base64",
    "Content-Type",
    "https://x.example.com",
    "key",
    "implementationType",
    "global-webhook",
    "javascript",
    "mapping",
    "getEventSelector",
    "globalWebhookKey",
    "handle",
    "subscribe",
    "unsubscribe",
    "filePath",
    "hook",
    "a/../b",
    "",
    "~",
    "/",
    "integrations",
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "token_type",
    "account",
    "agent",
    "oauth_iparams",
    "access_token",
    "refresh_token",
    "expires_in",
    "error",
    "error_description",
    "https://auth.example.com/<%= oauth_iparams.x %>",
];

const FILES: &[&str] = &[
    "manifest.json",
    "config/iparams.json",
    "config/requests.json",
    "config/webhooks.json",
    "config/oauth_config.json",
    "resources.json",
    "plugin-manifest.json",
    "server/test_data/onAppInstall.json",
    "server/test_data/freshsales/onContactCreate.json",
    "global-webhooks/hook/spec.yml",
    "global-webhooks/hook/handle.js",
    "events/hook/spec.yml",
    "events/hook/getEventSelector.map.yml",
    "events/hook/getEventSelector.js",
    "server/server.js",
];

fn random_value(random: &mut Random, depth: usize) -> Value {
    let kinds = if depth == 0 { 5 } else { 7 };
    match random.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(random.below(2) == 0),
        2 => Value::from(random.next() as i64 % 200 - 50),
        3 => Value::from(*random.pick(WORDS)),
        4 => Value::from(random.pick(WORDS).repeat(random.below(40))),
        5 => Value::Array(
            (0..random.below(4))
                .map(|_| random_value(random, depth - 1))
                .collect(),
        ),
        _ => {
            let mut object = Map::new();
            for _ in 0..random.below(6) {
                object.insert(
                    random.pick(WORDS).to_string(),
                    random_value(random, depth - 1),
                );
            }
            Value::Object(object)
        }
    }
}

/// A file's content: random structured JSON (as JSON or YAML), or mangled text.
fn random_file(random: &mut Random, path: &str) -> Vec<u8> {
    let value = random_value(random, 5);
    let mut text = if path.ends_with(".yml") {
        yaml_serde::to_string(&value).unwrap_or_default()
    } else {
        serde_json::to_string(&value).unwrap()
    };
    if random.below(8) == 0 && !text.is_empty() {
        let cut = random.below(text.len());
        text.truncate(text.floor_char_boundary(cut));
    }
    let mut bytes = text.into_bytes();
    if random.below(16) == 0 {
        let at = random.below(bytes.len() + 1);
        bytes.insert(at, random.next() as u8);
    }
    bytes
}

fn random_package(random: &mut Random) -> Package {
    let mut files = BTreeMap::new();
    for path in FILES {
        if random.below(3) != 0 {
            files.insert(path.to_string(), random_file(random, path));
        }
    }
    Package::from_files(files)
}

fn random_zip(random: &mut Random) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for _ in 0..random.below(6) {
        let name = match random.below(4) {
            0 => format!("{}/{}", random.pick(WORDS), random.pick(FILES)),
            1 => random.pick(WORDS).to_string(),
            _ => random.pick(FILES).to_string(),
        };
        let options = zip::write::SimpleFileOptions::default();
        if random.below(10) == 0 {
            let _ = writer.add_directory(name, options);
        } else if writer.start_file(name, options).is_ok() {
            let content = random_file(random, "x.json");
            let _ = writer.write_all(&content);
        }
    }
    let mut bytes = writer.finish().map(Cursor::into_inner).unwrap_or_default();
    // Sometimes damage the archive itself.
    if random.below(3) == 0 && !bytes.is_empty() {
        let at = random.below(bytes.len());
        bytes[at] ^= 1 << random.below(8);
    }
    bytes
}

fn settings() -> (u64, usize) {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    let iterations = std::env::var("WEIR_FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000);
    (seed, iterations)
}

#[test]
fn structured_random_packages_never_panic() {
    let (seed, iterations) = settings();
    let mut random = Random(seed);
    let mut valid = 0;
    for _ in 0..iterations {
        if AppDefinition::parse(&random_package(&mut random)).is_ok() {
            valid += 1;
        }
    }
    // Most random packages are broken; each was parsed to the end without a panic.
    assert!(
        valid < iterations,
        "random input should rarely be a valid app"
    );
}

#[test]
fn random_bytes_and_zips_never_panic() {
    let (seed, iterations) = settings();
    let mut random = Random(seed ^ 0xA5A5);
    let limits = PackageLimits {
        max_files: 4,
        max_unpacked_bytes: 4096,
    };
    for _ in 0..iterations {
        let bytes: Vec<u8> = (0..random.below(64)).map(|_| random.next() as u8).collect();
        assert!(Package::from_zip(&bytes, limits).is_err() || bytes.is_empty());
        if let Ok(package) = Package::from_zip(&random_zip(&mut random), limits) {
            let _ = AppDefinition::parse(&package);
        }
    }
}

/// `oauth_config.json` as the engine reads it when an app uses OAuth, and what token
/// endpoints answer (untrusted bytes from a third party).
#[test]
fn oauth_configs_and_token_grants_never_panic() {
    let (seed, iterations) = settings();
    let mut random = Random(seed ^ 0x0A07);
    for _ in 0..iterations {
        let value = random_value(&mut random, 4);
        if let Ok(config) = oauth::OAuthConfig::parse(&value) {
            for integration in config.integrations() {
                let _ = oauth::authorize_url(
                    &integration.authorize_url,
                    &integration.client_id,
                    "https://weir.example.com/oauth/callback",
                    "state",
                    &integration.options,
                );
            }
            let _ = config.integration(None);
        }
        let status = [200, 400, 401, 500][random.below(4)];
        let _ = oauth::parse_grant(status, value.to_string().as_bytes());
        let bytes: Vec<u8> = (0..random.below(64)).map(|_| random.next() as u8).collect();
        let _ = oauth::parse_grant(status, &bytes);
    }
}
