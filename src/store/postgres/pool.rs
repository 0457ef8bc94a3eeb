//! A small connection pool: up to `size` clients, each with its own cache of
//! prepared statements. A client whose connection broke is dropped and a new
//! one made on the next checkout. (deadpool-postgres would do the same with
//! three more crates; this is the part feedloom needs.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement, Transaction};

use crate::error::StoreError;

/// A client and its prepared statements (by SQL text).
pub struct PgConn {
    pub client: Client,
    stmts: HashMap<String, Statement>,
    /// A statement got no answer in time: the connection is not reused (its
    /// answer may still come, to the wrong statement).
    broken: bool,
}

pub struct Pool {
    config: tokio_postgres::Config,
    /// The store as errors name it (no password).
    pub name: String,
    idle: Mutex<Vec<PgConn>>,
    slots: Arc<Semaphore>,
    read_only: bool,
}

/// A checked-out client; goes back to the pool on drop unless broken.
pub struct Lease<'a> {
    conn: Option<PgConn>,
    pool: &'a Pool,
    _slot: OwnedSemaphorePermit,
}

impl std::ops::Deref for Lease<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && !c.client.is_closed()
            && !c.broken
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
    }
}

/// How long a connection's handshake may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long one statement may go unanswered. A server stopped mid-statement
/// (SIGSTOP, a network cut) held the daemon's loop, and its SIGTERM, until
/// it came back; on a live server each statement takes milliseconds.
/// (A minute: long reads of a large store, a search or a prune's count,
/// must not be cut off.)
pub const STATEMENT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// What each session sets: a transaction left open by a node that stopped
/// answering (frozen, cut off) is ended by the server after a minute, so its
/// row locks do not hold the other nodes' writes.
const SESSION: &str = "SET idle_in_transaction_session_timeout = '60s'";

/// Waits for `fut` at most [`STATEMENT_DEADLINE`]; `broken` is set when it
/// did not answer in time.
async fn bounded<T>(
    broken: &mut bool,
    context: &'static str,
    fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(STATEMENT_DEADLINE, fut).await {
        Ok(r) => r.map_err(super::ctx(context)),
        Err(_) => {
            *broken = true;
            Err(StoreError::NoAnswer {
                context,
                secs: STATEMENT_DEADLINE.as_secs(),
            })
        }
    }
}

impl Pool {
    pub fn new(config: tokio_postgres::Config, name: String, size: usize, read_only: bool) -> Pool {
        Pool {
            config,
            name,
            idle: Mutex::default(),
            slots: Arc::new(Semaphore::new(size.max(1))),
            read_only,
        }
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// A client and its connection (for the caller to drive), the whole
    /// handshake bounded by [`CONNECT_TIMEOUT`], not only the TCP connect: a
    /// port that takes the connection and never answers hung every command.
    pub async fn handshake(
        &self,
    ) -> Result<
        (
            Client,
            tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
        ),
        StoreError,
    > {
        tokio::time::timeout(CONNECT_TIMEOUT, self.config.connect(NoTls))
            .await
            .map_err(|_| StoreError::ConnectTimeout {
                store: self.name.clone(),
                secs: CONNECT_TIMEOUT.as_secs(),
            })?
            .map_err(|source| StoreError::Connect {
                store: self.name.clone(),
                source,
            })
    }

    /// A new connection, outside the pool (LISTEN, the migration lock).
    pub async fn connect(&self) -> Result<Client, StoreError> {
        let (client, connection) = self.handshake().await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL connection closed");
            }
        });
        let session = match self.read_only {
            true => format!("{SESSION}; SET default_transaction_read_only = on"),
            false => SESSION.to_string(),
        };
        bounded(
            &mut false,
            "starting a session",
            client.batch_execute(&session),
        )
        .await?;
        Ok(client)
    }

    pub async fn get(&self) -> Result<Lease<'_>, StoreError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?;
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                match idle.pop() {
                    Some(c) if c.client.is_closed() => continue,
                    other => break other,
                }
            }
        };
        let conn = match idle {
            Some(c) => c,
            None => PgConn {
                client: self.connect().await?,
                stmts: HashMap::new(),
                broken: false,
            },
        };
        Ok(Lease {
            conn: Some(conn),
            pool: self,
            _slot: slot,
        })
    }
}

impl PgConn {
    /// A transaction with this client's statement cache.
    pub async fn tx(&mut self) -> Result<Tx<'_>, StoreError> {
        let tx = bounded(
            &mut self.broken,
            "starting a transaction",
            self.client.transaction(),
        )
        .await?;
        Ok(Tx {
            tx,
            stmts: &mut self.stmts,
            broken: &mut self.broken,
        })
    }

    /// One statement outside a transaction, bounded as those in one are.
    pub async fn query_one(
        &mut self,
        ctx: Ctx,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        bounded(&mut self.broken, ctx, self.client.query_one(sql, p)).await
    }
}

/// A transaction whose statements are prepared once per connection.
pub struct Tx<'a> {
    pub tx: Transaction<'a>,
    stmts: &'a mut HashMap<String, Statement>,
    broken: &'a mut bool,
}

type Ctx = &'static str;

impl Tx<'_> {
    async fn stmt(&mut self, sql: &str, ctx: Ctx) -> Result<Statement, StoreError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = bounded(self.broken, ctx, self.tx.prepare(sql)).await?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub async fn query(
        &mut self,
        ctx: Ctx,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let s = self.stmt(sql, ctx).await?;
        bounded(self.broken, ctx, self.tx.query(&s, p)).await
    }

    pub async fn opt(
        &mut self,
        ctx: Ctx,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let s = self.stmt(sql, ctx).await?;
        bounded(self.broken, ctx, self.tx.query_opt(&s, p)).await
    }

    pub async fn one(
        &mut self,
        ctx: Ctx,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let s = self.stmt(sql, ctx).await?;
        bounded(self.broken, ctx, self.tx.query_one(&s, p)).await
    }

    pub async fn exec(
        &mut self,
        ctx: Ctx,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let s = self.stmt(sql, ctx).await?;
        bounded(self.broken, ctx, self.tx.execute(&s, p)).await
    }

    pub async fn commit(self, ctx: Ctx) -> Result<(), StoreError> {
        bounded(self.broken, ctx, self.tx.commit()).await
    }
}
