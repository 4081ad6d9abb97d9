//! Read connections. In WAL mode readers never wait for the writer, so reads run on a
//! small pool of their own connections: on tokio's blocking threads, or, for a lookup by
//! key, on the calling thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Idle connections kept for reuse; more are opened under load and dropped after.
const KEEP_IDLE: usize = 8;

#[derive(Clone)]
pub(crate) struct Readers {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Readers {
    pub fn new(path: &Path) -> Self {
        Readers {
            path: Arc::new(path.to_owned()),
            idle: Arc::default(),
        }
    }

    pub async fn read<R, F>(&self, read: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = read(&connection);
            readers.give_back(connection);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("a read task failed: {e}")))?
    }

    /// Runs `read` on the calling thread. For lookups by key only: they take microseconds
    /// and never wait for the writer, less than handing them to another thread would cost
    /// (two thread switches, and another thread woken, for every request that reads).
    pub fn read_here<R>(&self, read: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let connection = self.take()?;
        let result = read(&connection);
        self.give_back(connection);
        result
    }

    fn take(&self) -> Result<Connection> {
        if let Some(connection) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(connection);
        }
        let connection = Connection::open(self.path.as_ref()).map_err(super::backend)?;
        connection
            .execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
            .map_err(super::backend)?;
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(connection);
        }
    }
}
