//! PostgreSQL connections kept outside sqlx's pool, for the two paths every request takes:
//! lookups by key (an account, an API key, an installation: one row through an index)
//! and the group commits. sqlx's pool makes a round trip more for every connection it
//! lends (a ping) and one more for each it takes back; these connections skip both. A
//! connection is kept for the next use only once its statement or its transaction has
//! finished; one dropped half-way (its future cancelled) or failed is closed.

use std::sync::{Arc, Mutex};

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::params::Param;
use crate::postgres::{bind, connection_lost};

pub(crate) struct Connections {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    turns: Arc<Semaphore>,
}

impl Connections {
    /// Connections made with `options`, at most `at_once` in use at a time.
    pub fn new(options: PgConnectOptions, at_once: usize) -> Self {
        Connections {
            options,
            idle: Mutex::default(),
            turns: Arc::new(Semaphore::new(at_once)),
        }
    }

    /// Waits for a turn to use a connection; the turn ends when the permit is dropped.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        self.turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// An idle connection, or a new one (during a turn).
    pub async fn take(&self) -> Result<PgConnection, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(connection) => Ok(connection),
            None => self.options.connect().await,
        }
    }

    /// Keeps `connection` for the next turn: one that holds no transaction and is not
    /// in the middle of a statement.
    pub fn give_back(&self, connection: PgConnection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
    }

    /// Closes the idle connections: one was found lost (a server restart), and they were
    /// all opened before it.
    pub fn forget_idle(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The row the lookup `sql` finds, if any. When its connection was found lost, the
    /// lookup is made once more on a new one.
    pub async fn lookup(
        &self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let _turn = self.turn().await?;
        match self.lookup_once(sql, params.clone()).await {
            Err(error) if connection_lost(&error) => {
                tracing::info!(%error, "a lookup connection was gone; looking up again");
                self.forget_idle();
                self.lookup_once(sql, params).await
            }
            found => found,
        }
    }

    async fn lookup_once(
        &self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let mut connection = self.take().await?;
        let found = bind(sql, params).fetch_optional(&mut connection).await;
        if !matches!(&found, Err(error) if connection_lost(error)) {
            self.give_back(connection);
        }
        found
    }
}
