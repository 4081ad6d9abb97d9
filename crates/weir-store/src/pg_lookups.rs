//! Lookups by key on PostgreSQL (an account, an API key, an installation: one row through
//! an index), on a few connections of their own. Most requests make one before anything
//! else, so each round trip counts: sqlx's pool makes one more for every connection it
//! lends (a ping) and one more for each it takes back, which these connections skip. They
//! hold no transaction, so a connection that finished its statement is ready for the next.

use std::sync::Mutex;

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::Semaphore;

use crate::params::Param;
use crate::postgres::{bind, connection_lost};

/// Lookups in flight at once, each on its own connection.
const CONNECTIONS: usize = 8;

pub(crate) struct Lookups {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: Semaphore,
}

impl Lookups {
    pub fn new(options: PgConnectOptions) -> Self {
        Lookups {
            options,
            idle: Mutex::default(),
            permits: Semaphore::new(CONNECTIONS),
        }
    }

    /// The row `sql` finds, if any. When a connection was lost (a server restart), the
    /// idle ones are dropped too, as they were opened before it, and the lookup is made
    /// once more on a new connection.
    pub async fn fetch_optional(
        &self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        match self.once(sql, params.clone()).await {
            Err(error) if connection_lost(&error) => {
                tracing::info!(%error, "a lookup connection was gone; looking up again");
                self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
                self.once(sql, params).await
            }
            found => found,
        }
    }

    /// On a connection that is given back only once its statement has finished: if this
    /// future is dropped half-way, or the connection failed, it is closed instead.
    async fn once(&self, sql: &str, params: Vec<Param>) -> Result<Option<PgRow>, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.options.connect().await?,
        };
        let found = bind(sql, params).fetch_optional(&mut connection).await;
        if !matches!(&found, Err(error) if connection_lost(error)) {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
        found
    }
}
