//! Helpers shared by the parsers: positions for error messages, and keys that repeat.

use serde_json::{Map, Value};

/// The 1-based line and column (in characters) of byte offset `pos` of `text`.
pub(super) fn line_col(text: &[u8], pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

pub(super) fn at(text: &[u8], pos: usize) -> String {
    let (line, column) = line_col(text, pos);
    format!("line {line}, column {column}")
}

pub(super) fn insert_child(object: &mut Map<String, Value>, name: String, value: Value) {
    // Element values are never arrays, so an array here is a repeated name.
    match object.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            object.insert(name, value);
        }
    }
}

pub(super) fn push_repeated(object: &mut Map<String, Value>, key: String, value: Value) {
    // Values are strings or file objects, never arrays, so an array is a repeated key.
    insert_child(object, key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col(b"ab\ncd", 0), (1, 1));
        assert_eq!(line_col(b"ab\ncd", 4), (2, 2));
        assert_eq!("€x".len(), 4);
        assert_eq!(line_col("€x".as_bytes(), 3), (1, 2));
        assert_eq!(line_col(b"ab", 99), (1, 3));
    }
}
