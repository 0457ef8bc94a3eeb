//! `feedloom poll`'s progress: on a terminal, a bar on stderr (feeds done of
//! total, new items, failures) that disappears when the poll ends; when stderr is
//! not a terminal, nothing at all, so the output is the summary line alone.
//! [`LogWriter`] lets log lines print above the bar instead of through it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Config;
use crate::error::StoreError;
use crate::refresh::{self, Progress, Report, Summary};
use crate::store::Backend;

/// The bar being shown, if any: log lines suspend it while they print.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// [`refresh::poll`] with a progress bar when stderr is a terminal; feeds
/// backing off after failures are left out unless `all`.
/// What a `poll` did: its totals, each feed's report, and why the retention
/// round before it failed, if it did (said by the exit code: a failure seen
/// only in the log left a store polled on a timer unpruned for ever).
pub type Polled = (Summary, Vec<Report>, Option<String>);

pub async fn poll(
    cfg: &Config,
    store: impl Into<Backend>,
    all: bool,
) -> Result<Polled, StoreError> {
    let store = store.into();
    // A `poll` of this machine killed while it held claims (PostgreSQL):
    // released, as `run` does, not left to hold its feeds for the lease.
    if store.is_postgres() {
        match store
            .release_dead_claims(&crate::app::is_dead_local_node)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                feeds = n,
                "claims of an ended feedloom process of this machine released"
            ),
            Err(e) => tracing::warn!(
                error = %crate::error::chain(&e),
                "cannot release the claims of ended processes"
            ),
        }
    }
    // The daemon's daily retention, for a store polled on a timer instead:
    // before fetching, so that the outputs written after show what is kept.
    // (Cheap when nothing is due: indexed look-ups.)
    let r = super::prune::retention(cfg);
    let (_, prune_error) =
        crate::app::prune_once_said(&store, r, "the next poll tries again").await;
    let kept = store.clone();
    let with = |r: Result<(Summary, Vec<Report>), StoreError>| {
        r.map(|(s, reports)| (s, reports, prune_error.clone()))
    };
    let result = match std::io::stderr().is_terminal() {
        true => poll_with_bar(cfg, store, all).await,
        false => refresh::poll_with_progress(cfg, store, None, !all).await,
    };
    checkpoint_said(&kept, cfg).await;
    // (A store file deleted while the poll ran: it said "ok", exit 0, and
    // the next poll made an empty store.)
    if result.is_ok()
        && let Some(gone) = kept.sqlite().and_then(|s| s.file_gone())
    {
        return Err(StoreError::Lost(gone));
    }
    with(result)
}

/// The poll with a progress bar on the terminal.
async fn poll_with_bar(
    cfg: &Config,
    store: Backend,
    all: bool,
) -> Result<(Summary, Vec<Report>), StoreError> {
    // Hidden until the first report, when the number of feeds is known.
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} feeds  {msg}  [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    set_active(Some(bar.clone()));
    let update = |p: &Progress| {
        if bar.is_hidden() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(message(p));
    };
    let result = refresh::poll_with_progress(cfg, store, Some(&update), !all).await;
    set_active(None);
    bar.finish_and_clear();
    result
}

/// Copies the write-ahead log into the store before the poll ends, saying so
/// when it cannot: on a disk it filled, the next poll could then not open the
/// store ("database or disk is full"), and nothing had said why.
async fn checkpoint_said(store: &Backend, cfg: &Config) {
    let Some(sqlite) = store.sqlite() else {
        return;
    };
    let done = sqlite.call(|s| s.try_checkpoint()).await;
    if let Err(e) = done {
        tracing::warn!(
            store = %crate::store::Location::of(&cfg.store).describe(),
            error = %crate::error::chain(&e),
            "checkpoint failed at the end of the poll: every commit is in the store's -wal \
             file; free some space, or the next poll may not open the store"
        );
    }
}

/// The bar's message: new items, and failures once there are some.
pub fn message(p: &Progress) -> String {
    let mut s = format!("{} new items", p.new);
    if p.failed > 0 {
        s.push_str(&format!(", {} failed", p.failed));
    }
    s
}

fn set_active(bar: Option<ProgressBar>) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Where logs go: stderr, above the progress bar when one is shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// A log line that cannot be written (stderr on a full disk, a pipe whose
/// reader is gone) is lost, and the program goes on: the daemon died of it
/// (tracing reports a failed write on stderr, which failed too, and
/// panicked) while a full store alone left it serving `/healthz`.
impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        };
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_message() {
        let mut p = Progress {
            done: 3,
            total: 10,
            new: 12,
            failed: 0,
        };
        assert_eq!(message(&p), "12 new items");
        p.failed = 2;
        assert_eq!(message(&p), "12 new items, 2 failed");
    }
}
