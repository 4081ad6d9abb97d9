//! `validate_package`, what uploads run, never panics or hangs, whatever the JavaScript:
//! random soups of tokens, including ones that close Freshworks' wrapper early. A soup
//! that compiles has its top level run (to learn what it exports), within the check's
//! limits only. Bounded and repeatable; `WEIR_FUZZ_ITERATIONS` runs longer.

use std::collections::BTreeMap;

use weir_core::Package;
use weir_sandbox::validate_package;

const TOKENS: &[&str] = &[
    "exports",
    "=",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ":",
    "function",
    "return",
    "var",
    "async",
    "await",
    "export",
    "default",
    "import",
    "from",
    "'./x.js'",
    "for",
    "while",
    "(;;)",
    "throw",
    "new",
    "Error",
    "'text'",
    "`tpl ${",
    "}`",
    "1",
    "+",
    "=>",
    "this",
    "require",
    "})",
    "(function () {",
    "\n",
    "/*",
    "*/",
    "//",
    "\\",
    "\0",
    "é",
    "class",
    "yield",
    "*",
];

struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn soup(random: &mut Random) -> String {
    (0..random.below(40))
        .map(|_| TOKENS[random.below(TOKENS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn random_javascript_is_checked_without_panicking_or_hanging() {
    let iterations: usize = std::env::var("WEIR_FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let mut random = Random(0x5EED_CAFE);
    let mut rejected = 0;
    for _ in 0..iterations {
        let mut files = BTreeMap::new();
        files.insert(
            "manifest.json".to_owned(),
            br#"{"platform-version": "2.3", "product": {"freshsales": {}}}"#.to_vec(),
        );
        files.insert(
            "server/server.js".to_owned(),
            soup(&mut random).into_bytes(),
        );
        files.insert(
            "global-webhooks/h/handle.js".to_owned(),
            soup(&mut random).into_bytes(),
        );
        if validate_package(&Package::from_files(files)).is_err() {
            rejected += 1;
        }
    }
    // Token soup is almost never valid JavaScript: problems are found, and reported.
    assert!(
        rejected * 10 > iterations * 9,
        "only {rejected} of {iterations} were rejected"
    );
}
