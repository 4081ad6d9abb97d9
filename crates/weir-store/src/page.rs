//! Cursor pagination. Rows are listed in id order; the cursor is the last id of the
//! previous page, so a page is one indexed range scan however deep the client goes.

/// Which page to read: the rows after `after`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        PageRequest { after: None, limit }
    }

    /// The cursor bound for SQL: the empty string sorts before every id.
    pub(crate) fn after_bound(&self) -> &str {
        self.after.as_deref().unwrap_or("")
    }

    /// Backends fetch one row more than asked, to know whether a next page exists.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor for the next page, if there is one.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order.
    pub(crate) fn from_rows(
        mut rows: Vec<T>,
        request: &PageRequest,
        id: impl Fn(&T) -> &str,
    ) -> Self {
        let limit = request.limit as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| id(row).to_owned())
        } else {
            None
        };
        Page {
            items: rows,
            next_after,
        }
    }
}
