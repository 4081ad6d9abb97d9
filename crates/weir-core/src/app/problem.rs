//! Problems found in a package: each names the file, where in it (a JSON pointer such as
//! `/product/freshsales/events/onFoo`, `line:column` in JavaScript, or an entry of what
//! `server.js` exports such as `exports.events[2]`), and what is wrong in plain words.
//! Parsing collects them all rather than stopping at the first.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageProblem {
    pub file: String,
    /// A JSON pointer, a `line:column`, an `exports.events[i]`, or empty when the problem
    /// is the whole file.
    pub location: String,
    pub message: String,
}

impl PackageProblem {
    pub fn new(file: &str, location: impl Into<String>, message: impl Into<String>) -> Self {
        PackageProblem {
            file: file.to_owned(),
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PackageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{} {}: {}", self.file, self.location, self.message)
        }
    }
}

impl std::error::Error for PackageProblem {}

/// Where parsers put what they find wrong.
#[derive(Debug, Default)]
pub struct Problems(Vec<PackageProblem>);

impl Problems {
    pub fn push(&mut self, problem: PackageProblem) {
        self.0.push(problem);
    }

    /// Keeps the value, or records the problem and gives `None`.
    pub fn take<T>(&mut self, result: Result<T, PackageProblem>) -> Option<T> {
        result.map_err(|problem| self.push(problem)).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_vec(self) -> Vec<PackageProblem> {
        self.0
    }
}
