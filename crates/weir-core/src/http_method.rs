//! HTTP methods, as apps name them for the calls Weir makes on their behalf.

use std::fmt;

use serde::{Serialize, Serializer};

/// A method of an outbound call. Apps may write it in any case; it is kept upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// The method of this name, whatever its case (`post` is POST).
    pub fn parse(name: &str) -> Option<HttpMethod> {
        HttpMethod::ALL
            .into_iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(name))
    }

    /// `one_of`'s names, for messages: `GET, POST, PUT, DELETE`.
    pub fn names(one_of: &[HttpMethod]) -> String {
        one_of
            .iter()
            .map(|method| method.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HttpMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_in_any_case_and_read_upper_case() {
        for method in HttpMethod::ALL {
            assert_eq!(HttpMethod::parse(method.as_str()), Some(method));
            let lower = method.as_str().to_ascii_lowercase();
            assert_eq!(HttpMethod::parse(&lower), Some(method));
        }
        assert_eq!(HttpMethod::parse("Post"), Some(HttpMethod::Post));
        for other in ["", "HEAD", "OPTIONS", "GETS"] {
            assert_eq!(HttpMethod::parse(other), None, "{other:?}");
        }
        assert_eq!(
            HttpMethod::names(&[HttpMethod::Get, HttpMethod::Delete]),
            "GET, DELETE"
        );
        assert_eq!(serde_json::to_value(HttpMethod::Put).unwrap(), "PUT");
    }
}
