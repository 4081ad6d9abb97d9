//! A package's `exports` field, read as Node reads it for `require`: the conditions
//! `node`, `require` and `default` (in the order the field lists them), exact subpaths,
//! `*` patterns and arrays of fallbacks. `axios` and many newer packages name their
//! CommonJS entry only there.

use serde_json::{Map, Value};

const CONDITIONS: [&str; 3] = ["node", "require", "default"];

/// The target (`./dist/index.cjs`) that `exports` gives `subpath` (`.` or `./x`), if any.
pub(crate) fn resolve(exports: &Value, subpath: &str) -> Option<String> {
    let subpath = if subpath == "./" { "." } else { subpath };
    match exports {
        // `"exports": "./x.js"`, an array, or conditions: all for "." alone.
        Value::Object(map) if map.keys().any(|key| key.starts_with('.')) => {
            subpath_target(map, subpath)
        }
        other if subpath == "." => target(other, None),
        _ => None,
    }
}

fn subpath_target(map: &Map<String, Value>, subpath: &str) -> Option<String> {
    if let Some(exact) = map.get(subpath) {
        return target(exact, None);
    }
    // The pattern with the longest prefix before its `*` wins.
    let mut best: Option<(&str, &str, &Value)> = None;
    for (key, value) in map {
        let Some((prefix, suffix)) = key.split_once('*') else {
            continue;
        };
        let matches = subpath.len() >= prefix.len() + suffix.len()
            && subpath.starts_with(prefix)
            && subpath.ends_with(suffix);
        if matches && best.is_none_or(|(p, _, _)| prefix.len() > p.len()) {
            let matched = &subpath[prefix.len()..subpath.len() - suffix.len()];
            best = Some((prefix, matched, value));
        }
    }
    if let Some((_, matched, value)) = best {
        return target(value, Some(matched));
    }
    // Old folder mappings: `"./lib/": "./lib/"`.
    map.iter()
        .filter(|(key, _)| key.ends_with('/') && subpath.starts_with(key.as_str()))
        .max_by_key(|(key, _)| key.len())
        .and_then(|(key, value)| {
            let base = target(value, None)?;
            Some(format!("{base}{}", &subpath[key.len()..]))
        })
}

/// A target: a `./` path (with `*` replaced by `matched`), the first of an array that
/// resolves, or the first condition of ours that resolves.
fn target(value: &Value, matched: Option<&str>) -> Option<String> {
    match value {
        Value::String(path) if path.starts_with("./") => Some(match matched {
            Some(matched) => path.replace('*', matched),
            None => path.clone(),
        }),
        Value::Array(options) => options.iter().find_map(|option| target(option, matched)),
        Value::Object(conditions) => conditions
            .iter()
            .filter(|(condition, _)| CONDITIONS.contains(&condition.as_str()))
            .find_map(|(_, value)| target(value, matched)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn conditions_are_read_in_the_field_s_order_and_ours_only() {
        let exports = json!({
            ".": {
                "types": {"require": "./index.d.cts"},
                "browser": {"require": "./dist/browser/axios.cjs"},
                "default": {"require": "./dist/node/axios.cjs", "default": "./index.js"}
            },
            "./package.json": "./package.json"
        });
        assert_eq!(resolve(&exports, "."), Some("./dist/node/axios.cjs".into()));
        assert_eq!(
            resolve(&exports, "./package.json"),
            Some("./package.json".into())
        );
        assert_eq!(resolve(&exports, "./lib/secret.js"), None);
        let sugar = json!({"import": "./index.mjs", "require": "./index.cjs"});
        assert_eq!(resolve(&sugar, "."), Some("./index.cjs".into()));
        assert_eq!(resolve(&json!("./main.js"), "."), Some("./main.js".into()));
        assert_eq!(resolve(&json!("./main.js"), "./x"), None);
        assert_eq!(
            resolve(&json!({"import": "./index.mjs"}), "."),
            None,
            "ESM only"
        );
    }

    #[test]
    fn patterns_arrays_and_folders() {
        let exports = json!({
            "./*": "./lib/*.js",
            "./features/*": ["./nowhere/*", "./features/*/index.js"],
            "./private/*": null
        });
        assert_eq!(resolve(&exports, "./a"), Some("./lib/a.js".into()));
        assert_eq!(
            resolve(&exports, "./features/x"),
            Some("./nowhere/x".into()),
            "the first array entry that is a valid target"
        );
        assert_eq!(resolve(&exports, "./private/z"), None);
        let folders = json!({"./old/": "./legacy/"});
        assert_eq!(
            resolve(&folders, "./old/y.js"),
            Some("./legacy/y.js".into())
        );
    }
}
