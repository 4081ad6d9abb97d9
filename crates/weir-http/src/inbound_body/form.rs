//! `application/x-www-form-urlencoded` bodies.

use serde_json::{Map, Value};

use super::support::push_repeated;

pub(super) fn parse_form(body: &[u8]) -> Value {
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(body) {
        push_repeated(
            &mut object,
            key.into_owned(),
            Value::String(value.into_owned()),
        );
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::inbound_body::tests::{data, ok};

    #[test]
    fn form_values_and_repeated_keys() {
        let parsed = ok(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "a=1&b=hello+world&a=2&c=%E2%82%AC&a=3&empty=&flag",
        );
        assert_eq!(parsed.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            parsed.data,
            json!({"a": ["1", "2", "3"], "b": "hello world", "c": "€", "empty": "", "flag": ""})
        );
        assert_eq!(data("application/x-www-form-urlencoded", ""), json!({}));
    }

    #[test]
    fn form_bad_percent_encoding_is_lossy() {
        assert_eq!(
            data("application/x-www-form-urlencoded", "a=%zz&b=%&c=%ff"),
            json!({"a": "%zz", "b": "%", "c": "\u{fffd}"})
        );
    }
}
