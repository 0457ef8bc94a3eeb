//! The daemon (`feedloom run`): a scheduler loop around [`refresh::refresh_feed`],
//! an exporter that renders outputs once per store change, the HTTP server, and
//! the lifecycle (SIGTERM/SIGINT graceful stop with a deadline, SIGHUP reload,
//! systemd notifications). Also the text of `check`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::config::{self, Config};
use crate::error::{StoreError, chain};
use crate::export;
use crate::refresh::{self, Outcome, Refresher, Report};
use crate::schedule::Every;
use crate::server::{Rendered, ServerState};
use crate::store::{Backend, Location};

/// Why the daemon could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("HTTP server failed: {0}")]
    Server(#[source] std::io::Error),
    /// The store's file was deleted or replaced while the daemon ran: what
    /// it stored since is lost. Said at the
    /// stop, which is no clean one (it logged "stopped" and exited 0, and
    /// the next start made an empty store without a word of the loss).
    #[error("stopped with the store lost: {0}")]
    StoreLost(String),
    /// The store failed while the daemon started: named ("store error while
    /// spreading first fetches: database or disk is full" said not which).
    #[error("cannot start on store {store}: {source}")]
    Starting {
        store: String,
        #[source]
        source: StoreError,
    },
}

impl AppError {
    /// A start-up error with the store named, where the error does not name it.
    fn at_start(self, location: &Location) -> AppError {
        match self {
            AppError::Store(
                source @ (StoreError::Sqlite { .. }
                | StoreError::Commit { .. }
                | StoreError::Worker(_)
                | StoreError::Postgres { .. }
                | StoreError::NoAnswer { .. }),
            ) => AppError::Starting {
                store: location.describe(),
                source,
            },
            other => other,
        }
    }
}

/// How often the scheduler looks for due feeds.
pub const TICK: Duration = Duration::from_secs(1);

/// PostgreSQL: how soon after a fetch ends a node claims again while feeds
/// were left due (see docs/scaling.md).
const CLAIM_AGAIN: Duration = Duration::from_millis(100);

/// Runs the daemon with real signals: SIGTERM/SIGINT stop it, SIGHUP reloads the
/// config from its file.
pub async fn run_from_signals(cfg: Config) -> Result<(), AppError> {
    use tokio::signal::unix::{SignalKind, signal};
    // Signals are caught before the lock names this process: `add --reload`
    // sends SIGHUP to the pid it finds there, and a SIGHUP before its
    // handler killed the daemon that was starting.
    let mut term = signal(SignalKind::terminate()).map_err(AppError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AppError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(AppError::Signals)?;
    // A second daemon on this store hears so, by name, before it tries the
    // listen address the first one holds ("Address already in use" said
    // nothing of the store). `run` takes the lock for good.
    if let Location::Sqlite(path) = Location::of(&cfg.store) {
        drop(crate::store::lock::StoreLock::acquire(&path, "run")?);
    }
    let listener = TcpListener::bind(cfg.server.listen)
        .await
        .map_err(|source| AppError::Bind {
            addr: cfg.server.listen,
            source,
        })?;
    let (reload_tx, reload_rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if reload_tx.send(()).await.is_err() {
                break;
            }
        }
    });
    // The first SIGTERM or SIGINT stops gracefully; a second one stops now
    // (it waited out `shutdown_timeout` all the same).
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = int.recv() => info!("SIGINT: stopping"),
        }
        let _ = stop_tx.send(());
        let again = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        warn!("{again} again: stopping now, without waiting for fetches in flight");
        HURRY.notify_one();
    });
    let shutdown = async move {
        let _ = stop_rx.await;
    };
    run(cfg, listener, shutdown, reload_rx).await
}

/// Moves the next fetches of `moves` (feed id, time) earlier in the store
/// and in `refs` too: the checks that follow read the next fetches as they
/// are now (an old, far one was taken for a clock that had been ahead, and
/// made due now).
async fn move_earlier(
    store: &Backend,
    refs: &mut [crate::store::feeds::FeedRef],
    moves: Vec<(i64, i64)>,
) -> Result<(), AppError> {
    let moved: HashMap<i64, i64> = moves.iter().copied().collect();
    for f in refs.iter_mut() {
        if let Some(at) = moved.get(&f.id) {
            f.next_fetch_at = Some(*at);
        }
    }
    store.fetch_earlier(moves).await?;
    Ok(())
}

/// Moves the SQLite store's schedule, and the times stored ahead of `now`,
/// back by a step of the wall clock (`Backend::clock_stepped_back`), waiting
/// for the store at most `wait`; says what it did. Whether it was done.
async fn move_schedule_back(store: &Backend, now: i64, by: i64, wait: Duration) -> bool {
    match tokio::time::timeout(wait, store.clock_stepped_back(now, by)).await {
        Ok(Ok(feeds)) => {
            warn!(
                seconds = by,
                feeds,
                "the wall clock stepped back: next fetches, and the times stored since it was as far ahead, moved back as much"
            );
            true
        }
        Ok(Err(e)) => {
            error!(seconds = by, error = %chain(&e), "the wall clock stepped back, and the schedule could not be moved with it");
            false
        }
        Err(_) => {
            error!(
                seconds = by,
                "the wall clock stepped back, and the store did not answer in time to move the schedule with it"
            );
            false
        }
    }
}

/// Told by a second stop signal: the graceful stop waits no longer for the
/// fetches in flight (they are abandoned, nothing half-stored).
static HURRY: Notify = Notify::const_new();

/// The scheduler's view of the configured feeds.
struct Plan {
    refresher: Refresher,
    every: HashMap<i64, Every>,
    cfg: Config,
}

impl Plan {
    /// The plan for `cfg`. On a reload (`previous`), the HTTP client and its
    /// per-host and global limits carry over when `[fetch]` did not change, so
    /// fetches still in flight keep counting against them.
    async fn build(
        cfg: Config,
        store: &Backend,
        previous: Option<&Plan>,
    ) -> Result<Plan, AppError> {
        let spread = cfg.defaults.spread.0;
        let defaults = cfg.defaults.clone();
        let every_list: Vec<Every> = cfg.feeds.iter().map(|f| Every::of(f, &defaults)).collect();
        let mut refs = store.sync_config(&cfg.feeds).await?;
        let now = crate::now_unix();
        // A reload that changed a feed's `every` or `cron`, or brought back a
        // feed removed before (its row keeps the old schedule's time): its
        // next fetch is no later than the new schedule's next time (a feed
        // waited for its old, longer schedule). A failing feed keeps its
        // backoff.
        if let Some(prev) = previous {
            let earlier: Vec<(i64, i64)> = refs
                .iter()
                .zip(&every_list)
                .filter(|(f, e)| {
                    f.consecutive_failures == 0 && prev.every.get(&f.id).is_none_or(|old| old != *e)
                })
                .filter_map(|(f, e)| {
                    // The document's own hints (ttl, skipHours, updatePeriod)
                    // still hold; the response's Cache-Control is not kept.
                    let hints = crate::schedule::Hints {
                        fresh_for: None,
                        ttl_minutes: f.ttl_minutes,
                        doc: f.doc_hints,
                    };
                    let at = crate::schedule::after_success(now, e, hints, defaults.max_delay.0);
                    f.next_fetch_at
                        .is_some_and(|n| n > at)
                        .then_some((f.id, at))
                })
                .collect();
            if !earlier.is_empty() {
                info!(
                    feeds = earlier.len(),
                    "schedule changed: next fetches moved to the new schedule"
                );
                move_earlier(store, &mut refs, earlier).await?;
            }
        }
        // A failing feed keeps its backoff, up to what the config allows now
        // (`[defaults] max_backoff`, or its interval when longer): a feed
        // failing under `every = "1h"` still waited most of an hour after a
        // reload or a restart gave it `every = "2s"` and a backoff of 5 s.
        // So does a feed its server's Retry-After holds (the failing one
        // was asked again after the cut, its host's other feeds not).
        let capped: Vec<(i64, i64)> = refs
            .iter()
            .zip(&every_list)
            .filter(|(f, _)| f.consecutive_failures > 0 || f.held)
            .filter_map(|(f, e)| {
                let max = defaults.max_backoff.0;
                f.next_fetch_at
                    .is_some_and(|n| crate::schedule::beyond_backoff(n, now, e, max))
                    .then(|| (f.id, now + crate::schedule::backoff_cap(now, e, max)))
            })
            .collect();
        if !capped.is_empty() {
            info!(
                feeds = capped.len(),
                "failing or held feeds' backoff cut to what the config allows now"
            );
            move_earlier(store, &mut refs, capped).await?;
        }
        // A next fetch a clock that was ahead set is moved to now.
        let ahead: Vec<(i64, i64)> = refs
            .iter()
            .zip(&every_list)
            .filter(|(f, e)| {
                f.next_fetch_at
                    .is_some_and(|t| crate::schedule::set_by_a_clock_ahead(t, now, e, &defaults))
            })
            .map(|(f, _)| (f.id, now))
            .collect();
        if !ahead.is_empty() {
            warn!(
                feeds = ahead.len(),
                "next fetches set later than any schedule allows (the clock was ahead): due now"
            );
            store.fetch_earlier(ahead).await?;
        }
        // Feeds due now (or never fetched) get first fetch times spread out.
        let first: Vec<(i64, i64)> = refs
            .iter()
            .zip(&every_list)
            .filter(|(f, e)| {
                f.next_fetch_at.is_none_or(|t| {
                    t <= now || crate::schedule::set_by_a_clock_ahead(t, now, e, &defaults)
                })
            })
            .map(|(f, e)| {
                (
                    f.id,
                    crate::schedule::first_fetch(now, e, f.url.as_str(), spread),
                )
            })
            .collect();
        store.spread_due(now, first).await?;
        let every = refs.iter().map(|r| r.id).zip(every_list).collect();
        let mut refresher = Refresher::new(&cfg, store.clone()).map_err(AppError::Client)?;
        if let Some(old) = previous {
            // One "stopping" for fetches dispatched before and after a reload.
            refresher.stop = old.refresher.stop.clone();
        }
        if let Some(old) = previous {
            if old.cfg.fetch == cfg.fetch {
                refresher.fetcher = old.refresher.fetcher.clone();
            } else {
                // (A host's requests in flight and waiting, and its turns,
                // are still counted with the new limits: a new table let a
                // host take requests from both. A server that asked for
                // time is still owed it.)
                refresher.fetcher.keep_slots_of(&old.refresher.fetcher);
            }
            // The cap of holds follows `max_backoff` either way.
            refresher.fetcher.set_max_hold(cfg.defaults.max_backoff.0);
        } else {
            // A server that asked an earlier run for time (a `poll`, or
            // the daemon before a restart) is still owed it.
            refresher.keep_stored_holds().await?;
        }
        Ok(Plan {
            refresher,
            every,
            cfg,
        })
    }
}

/// How often the daemon prunes (the first time right after start).
pub const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// How soon the daemon prunes again after a round that failed.
pub const PRUNE_RETRY: Duration = Duration::from_secs(3600);

/// Merges the search index after pruning (with `merge`: items went, or a merge is owed) and returns free
/// pages to the file system, each in small steps with the store free for
/// fetches in between. Returns the merge steps taken and the pages freed.
async fn return_space(store: &crate::store::SharedStore, merge: bool) -> (usize, i64) {
    let mut merges = 0;
    if merge {
        while merges < crate::store::prune::MAX_MERGE_STEPS {
            merges += 1;
            match store.call(|s| s.merge_search_step()).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    error!(error = %chain(&e), "merging the search index failed");
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut freed = 0i64;
    if store
        .call(|s| s.incremental_vacuum())
        .await
        .unwrap_or(false)
    {
        loop {
            match store
                .call(|s| {
                    let before = s.free_pages()?;
                    let left = s.reclaim_step()?;
                    Ok((before - left, left))
                })
                .await
            {
                Ok((n, left)) => {
                    freed += n;
                    if left == 0 || n == 0 {
                        break;
                    }
                }
                Err(e) => {
                    error!(error = %chain(&e), "returning free space failed");
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (merges, freed)
}

/// The daemon's retention: prunes at start and every [`PRUNE_EVERY`], one
/// transaction at a time (each a few hundred milliseconds at most) with the
/// store free for fetches in between; then returns free pages to the file
/// system in steps. Outputs re-render when stories went.
async fn pruner(
    store: Backend,
    state: Arc<ServerState>,
    retention: watch::Receiver<crate::store::prune::Retention>,
    changed: Arc<Notify>,
) {
    loop {
        let r = *retention.borrow();
        let again = humantime::format_duration(PRUNE_RETRY);
        let (pruned, failed) =
            prune_once_said(&store, r, &format!("trying again in {again}")).await;
        if pruned.items > 0 {
            changed.notify_one();
        }
        // Said by /healthz (degraded) until a round succeeds: a store that
        // is never pruned grows unnoticed.
        let wait = if failed.is_some() {
            PRUNE_RETRY
        } else {
            PRUNE_EVERY
        };
        *state
            .health
            .retention_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = failed
            .map(|e| format!("retention: the last prune failed ({e}); trying again in {again}"));
        tokio::time::sleep(wait).await;
    }
}

/// One round of retention (the daemon's daily one; `poll`'s before it
/// fetches): prune steps with the store free in between, then the search
/// index merged and free pages returned (SQLite; PostgreSQL's index and space
/// are its own business). Logged; a failure is logged with `then` (what
/// happens next) and ends the round. Returns what went.
pub async fn prune_once(
    store: &Backend,
    r: crate::store::prune::Retention,
    then: &str,
) -> crate::store::prune::Pruned {
    prune_once_said(store, r, then).await.0
}

/// [`prune_once`], and the error that stopped it, if one did.
pub async fn prune_once_said(
    store: &Backend,
    r: crate::store::prune::Retention,
    then: &str,
) -> (crate::store::prune::Pruned, Option<String>) {
    let started = std::time::Instant::now();
    let now = crate::now_unix();
    let mut total = crate::store::prune::Pruned::default();
    let mut failed = None;
    loop {
        match store.prune_step(now, r).await {
            Ok(step) => {
                total.add(step.pruned);
                if step.done {
                    break;
                }
            }
            Err(e) => {
                error!(error = %chain(&e), "pruning failed; {then}");
                failed = Some(chain(&e).to_string());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The search index is merged when items went, or when an earlier round
    // left its merge unfinished (a full disk: a round that removed nothing
    // never took it up).
    let (merges, freed) = match store.sqlite() {
        Some(store) => {
            let merge =
                total.items > 0 || store.call(|s| s.search_merge_owed()).await.unwrap_or(false);
            // (And when an earlier round was stopped before it returned the
            // free pages: only `prune` by hand took them up.)
            let owed = || async {
                store
                    .call(|s| s.space_owed())
                    .await
                    .ok()
                    .flatten()
                    .is_some()
            };
            match !total.is_empty() || merge || owed().await {
                true => return_space(store, merge).await,
                false => (0, 0),
            }
        }
        None => (0, 0),
    };
    if !total.is_empty() || merges > 0 || freed > 0 {
        info!(
            items = total.items,
            stories = total.stories,
            fetches = total.fetches,
            tombstones_added = total.tombstones_added,
            tombstones_dropped = total.tombstones_dropped,
            search_merge_steps = merges,
            pages_freed = freed,
            ms = started.elapsed().as_millis() as u64,
            "pruned the store"
        );
    }
    (total, failed)
}

/// How often a long start-up tells systemd to wait longer (`EXTEND_TIMEOUT_USEC`).
const START_UP_NOTICE: Duration = Duration::from_secs(10);

/// The daemon's start-up after its lock: opens (and migrates) the store, plans
/// the feeds, and renders every output once.
async fn start_up(
    mut cfg: Config,
    location: &Location,
    listener: &TcpListener,
) -> Result<(Backend, Plan, Arc<ServerState>), AppError> {
    let store = Backend::open(location, &node_name()).await?;
    // (PostgreSQL: a node of this machine that was killed held its feeds, and
    // every other feed of their hosts, until the lease ran out.)
    match store.release_dead_claims(&is_dead_local_node).await {
        Ok(0) => {}
        Ok(n) => info!(
            feeds = n,
            "claims of an ended feedloom process of this machine released"
        ),
        Err(e) => warn!(error = %chain(&e), "cannot release the claims of ended processes"),
    }
    // `listen = "…:0"`: the system picks the port; the outputs' self links
    // name the one it picked (they said port 0).
    let configured_listen = cfg.server.listen;
    if let Some(picked) = listener
        .local_addr()
        .ok()
        .filter(|_| configured_listen.port() == 0)
    {
        cfg.server.listen = picked;
        cfg.set_public_base();
    }
    let outputs = cfg.outputs.clone();
    let _ = tokio::task::spawn_blocking(move || export::remove_stale_temp_files(&outputs)).await;
    warn_if_few_open_files(&cfg);
    let plan = Plan::build(cfg, &store, None).await?;
    let state = Arc::new(ServerState {
        store: store.clone(),
        outputs: Default::default(),
        last_tick: crate::now_unix().into(),
        tick_grace: TICK * 30,
        metrics: Default::default(),
        html_cache: Default::default(),
        web: Default::default(),
        health: crate::server::HealthWindow::new(
            crate::now_unix(),
            plan.cfg.server.degraded_after.0,
        ),
    });
    let initial = plan.cfg.outputs.clone();
    render_outputs(&store, &state, &initial).await?;
    Ok((store, plan, state))
}

/// Runs the daemon until `shutdown` completes. Each message on `reload` re-reads
/// the config file; a config that does not load is logged and the old one stays.
/// Tests pass a listener bound to port 0 and their own shutdown future.
pub async fn run(
    cfg: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut reload: mpsc::Receiver<()>,
) -> Result<(), AppError> {
    // One daemon per store: a second one (or a `poll`) is refused, by name.
    // (PostgreSQL: many nodes share the store; claims keep them apart.)
    let location = Location::of(&cfg.store);
    let lock = match &location {
        Location::Sqlite(path) => {
            let mut lock = crate::store::lock::StoreLock::acquire(path, "run")?;
            crate::commands::backup::remove_restore_leftovers(path);
            // (`--reload` from another config of this store signalled this
            // daemon, which re-read its own config and took nothing in.)
            if let Err(e) = lock.name_config(&cfg.source) {
                warn!(lock = %lock.path().display(), error = %e, "cannot name the config in the lock file");
            }
            Some(lock)
        }
        Location::Postgres { .. } => None,
    };
    tokio::pin!(shutdown);
    // Start-up can take long (migrations, rebuilding the search index of a
    // large store, a store another process holds): SIGTERM is heard meanwhile
    // (systemd's stop waited for it to end), and systemd is told to wait
    // longer than its start timeout while it lasts.
    let configured_listen = cfg.server.listen;
    let (store, mut plan, state) = {
        let started = start_up(cfg, &location, &listener);
        tokio::pin!(started);
        let mut extend = tokio::time::interval_at(
            tokio::time::Instant::now() + START_UP_NOTICE,
            START_UP_NOTICE,
        );
        loop {
            tokio::select! {
                r = &mut started => break r.map_err(|e| e.at_start(&location))?,
                _ = &mut shutdown => {
                    info!("stopped while starting (nothing was fetched)");
                    return Ok(());
                }
                _ = extend.tick() => sd_notify(&format!(
                    "EXTEND_TIMEOUT_USEC={}",
                    (START_UP_NOTICE * 3).as_micros()
                )),
            }
        }
    };

    // Exporter: renders every output once now and again after each change.
    let changed = Arc::new(Notify::new());
    let (outputs_tx, outputs_rx) = watch::channel(plan.cfg.outputs.clone());
    let exporter = tokio::spawn(exporter(
        store.clone(),
        state.clone(),
        changed.clone(),
        outputs_rx,
    ));

    // Retention: once at start, then daily, in small steps between fetches.
    let (retention_tx, retention_rx) = watch::channel(crate::commands::prune::retention(&plan.cfg));
    let pruner = tokio::spawn(pruner(
        store.clone(),
        state.clone(),
        retention_rx,
        changed.clone(),
    ));

    let addr = listener.local_addr().ok();
    let (server_stop_tx, mut server_stop_rx) = watch::channel(false);
    let limits = crate::server::ConnLimits::of(&plan.cfg.server);
    let mut server = tokio::spawn(crate::server::serve(
        listener,
        crate::server::router(state.clone()),
        limits,
        async move {
            let _ = server_stop_rx.wait_for(|s| *s).await;
        },
    ));
    info!(
        listen = addr.map(tracing::field::display),
        feeds = plan.every.len(),
        "feedloom running"
    );
    // What `check` would warn about (a schedule that has ended, an output
    // no feed reaches): said where a daemon's operator looks.
    for w in crate::commands::check::warnings(&plan.cfg) {
        warn!("{w}");
    }
    sd_notify("READY=1");

    // Feeds being refreshed, and which task refreshes which feed.
    let mut in_flight: HashSet<i64> = HashSet::new();
    // Feeds whose failure the store could not record either: backed off here.
    let mut held_back = HeldBack::default();
    // PostgreSQL: feeds whose result the store did not take (it was down), so
    // their claim stays until the store is back: given up then, not left to
    // block the feed and its host's other feeds for the rest of the lease.
    let mut unreleased: HashSet<i64> = HashSet::new();
    // Each fetch task's feed: its id and URL (for the logs).
    let mut task_feed: HashMap<tokio::task::Id, (i64, String)> = HashMap::new();
    let mut tasks: JoinSet<Refreshed> = JoinSet::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The wall clock at the last tick, and the monotonic clock then: a wall
    // clock that stepped back (an NTP step, a virtual machine restored) left
    // every next fetch that much later, and nothing was fetched for as long
    // (up to a day) while `/healthz` said ok.
    let mut wall_at = (crate::now_unix(), std::time::Instant::now());
    // A step back not yet applied to the store: how far, and the fetches
    // under way when it came.
    let mut step: Option<(i64, HashSet<i64>)> = None;
    // systemd's watchdog: pinged every half of its timeout, however short,
    // from a task of its own while this loop ticks as `/healthz` judges it
    // (within `tick_grace`), and throughout a stop. (Pinged from the loop,
    // a wait on the store or a heavy first poll left gaps of seconds, and
    // systemd killed a daemon that was busy, not hung; nor was it pinged
    // while it stopped.)
    if let Some(every) = watchdog_interval() {
        let state = state.clone();
        tokio::spawn(async move {
            let mut watchdog = tokio::time::interval(every);
            watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                watchdog.tick().await;
                let age = crate::now_unix() - state.last_tick.load(Ordering::Relaxed);
                if age <= state.tick_grace.as_secs() as i64
                    || state.health.stopping.load(Ordering::Relaxed)
                {
                    sd_notify("WATCHDOG=1");
                }
            }
        });
    }
    // PostgreSQL: the per-host limit counts claims, so a node claims again soon
    // after a fetch ends while feeds were left due, not only at the next tick.
    let mut more_due = false;
    let mut claim_soon = false;
    let mut ticks: u64 = 0;
    // The store's file deleted or replaced under the daemon: said once (and
    // by /healthz for as long as it lasts).
    let mut gone_said = false;
    // PostgreSQL: the claims of the fetches under way are extended every
    // third of a lease, from a task of their own (from the loop's ticks, a
    // busy loop let a short lease run out between two). `renewing` is a copy
    // of `in_flight`, kept after each change of it.
    let renewing: Arc<std::sync::Mutex<Vec<i64>>> = Arc::default();
    let _renewer = store.is_postgres().then(|| {
        let renewing = renewing.clone();
        AbortOnDrop(tokio::spawn(renew_claims(
            store.clone(),
            renew_every(&plan.cfg),
            move || renewing.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        )))
    });
    let sync_renewing = |in_flight: &HashSet<i64>| {
        if store.is_postgres() {
            *renewing.lock().unwrap_or_else(|e| e.into_inner()) =
                in_flight.iter().copied().collect();
        }
    };
    let mut store_outage = Outage::default();
    // What a reload cannot change: compared with what the daemon started
    // with, at every reload (not with the last config read).
    let (opened_store, bound) = (plan.cfg.store.clone(), plan.cfg.server.listen);
    // Reloads, and the retries of a reload the store failed (PostgreSQL out
    // of reach: the reload was lost, and the nodes kept the old config until
    // someone reloaded again).
    let (again, mut reloads) = mpsc::channel::<()>(4);
    {
        let again = again.clone();
        tokio::spawn(async move {
            while reload.recv().await.is_some() {
                if again.send(()).await.is_err() {
                    break;
                }
            }
        });
    }
    let mut retry_in = RELOAD_RETRY;
    // (One retry waiting at a time, however many reloads fail meanwhile.)
    let retrying = Arc::new(std::sync::atomic::AtomicBool::new(false));

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reloads.recv() => {
                // A config read from a pipe (`--config <(...)`) cannot be read
                // again: what a second read gives is nothing, every feed gone.
                let reloadable = std::fs::metadata(&plan.cfg.source).map(|m| m.is_file());
                let loaded = match reloadable {
                    Ok(false) => Err(config::ConfigError::Read {
                        path: plan.cfg.source.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            // (A folder put in its place is said as such: it
                            // reloads once the file is back.)
                            if plan.cfg.source.is_dir() {
                                "a folder, not the config file; put the file back and reload again"
                            } else {
                                "not a plain file (a pipe?): it cannot be read again; restart to change the config"
                            },
                        ),
                    }),
                    // An empty file while the running config names feeds is
                    // refused: one caught empty (a tool writing it in place)
                    // unsubscribed every feed, and the daemon said "config
                    // reloaded feeds=0". (`remove` of the last feed leaves a
                    // line.) Judged on the text parsed, read once.
                    _ => config::read_text(&plan.cfg.source).and_then(|text| {
                        match config::is_blank(&text) && !plan.cfg.feeds.is_empty() {
                            true => Err(config::ConfigError::Read {
                                path: plan.cfg.source.clone(),
                                source: std::io::Error::new(
                                    std::io::ErrorKind::InvalidData,
                                    "it is empty, and names no feed (caught while being written?); to run without feeds, restart with it",
                                ),
                            }),
                            false => config::parse(&text, &plan.cfg.source),
                        }
                    }),
                };
                // An output of the new config may not write the store this
                // daemon keeps open, whatever store the new config names (a
                // reload that moved `[store] path` replaced the open store
                // with the feed).
                let loaded = loaded.and_then(|new_cfg| {
                    let open = crate::store::lock::store_files(&opened_store.path)
                        .iter()
                        .map(|f| config::plain_path(f))
                        .collect::<Vec<_>>();
                    match opened_store.url.is_none()
                        .then(|| config::output_writing(&new_cfg, &open))
                        .flatten()
                    {
                        Some((name, file)) => Err(config::ConfigError::Whole {
                            path: new_cfg.source.clone(),
                            message: format!(
                                "output `{name}` would write {}, a file of the store this daemon \
                                 has open ({}): give the output another `path`",
                                file.display(),
                                opened_store.path.display()
                            ),
                        }),
                        None => Ok(new_cfg),
                    }
                });
                match loaded {
                    Ok(mut new_cfg) => {
                        // (What only a restart applies was a log line alone:
                        // `/healthz` said ok while the daemon served and
                        // stored elsewhere than its config says.)
                        let mut pending = Vec::new();
                        if new_cfg.server.listen != configured_listen {
                            warn!("[server] listen changed: takes effect after a restart");
                            pending.push(format!(
                                "[server] listen = \"{}\" (the daemon listens on {bound})",
                                new_cfg.server.listen
                            ));
                        }
                        if new_cfg.server.listen != bound {
                            // (The outputs' own links named the new address,
                            // where nothing listens yet.)
                            new_cfg.server.listen = bound;
                            new_cfg.set_public_base();
                        }
                        // The store stays the one opened (it was changed
                        // without a word).
                        // (The same file however spelled: `./store/../store/d.db`,
                        // or through a link, was warned of as another.)
                        let same_file = new_cfg.store.path == opened_store.path
                            || crate::store::lock::real_path(&new_cfg.store.path)
                                == crate::store::lock::real_path(&opened_store.path);
                        if !same_file || new_cfg.store.url != opened_store.url {
                            warn!("[store] changed: takes effect after a restart; this daemon keeps its store");
                            pending.push(format!(
                                "[store] names {} (the daemon keeps {})",
                                crate::store::Location::of(&new_cfg.store).describe(),
                                crate::store::Location::of(&opened_store).describe()
                            ));
                        }
                        // (A lease is the store's, set when it opens: a
                        // reload said "config reloaded" and kept the old one.)
                        if new_cfg.store.url.is_some() && new_cfg.store.lease != opened_store.lease {
                            warn!("[store] lease changed: takes effect after a restart");
                            pending.push(format!(
                                "[store] lease = \"{}\" (the daemon keeps {})",
                                humantime::format_duration(new_cfg.store.lease.0),
                                humantime::format_duration(opened_store.lease.0)
                            ));
                        }
                        new_cfg.store.lease = opened_store.lease;
                        new_cfg.store.path = opened_store.path.clone();
                        new_cfg.store.url = opened_store.url.clone();
                        let asked = crate::server::ConnLimits::of(&new_cfg.server);
                        if asked != limits {
                            warn!("[server] connection limits changed: take effect after a restart");
                            let shown = |l: &crate::server::ConnLimits| {
                                format!(
                                    "max_connections = {}, header_timeout = \"{}\", idle_timeout = \"{}\"",
                                    l.max_connections,
                                    humantime::format_duration(l.header_timeout),
                                    humantime::format_duration(l.idle_timeout)
                                )
                            };
                            pending.push(format!(
                                "[server] {} (the daemon keeps {})",
                                shown(&asked),
                                shown(&limits)
                            ));
                        }
                        match Plan::build(new_cfg, &store, Some(&plan)).await {
                            Ok(p) => {
                                warn_files_left(&plan.cfg.outputs, &p.cfg.outputs);
                                plan = p;
                                retry_in = RELOAD_RETRY;
                                state.health.degraded_after_secs.store(
                                    plan.cfg.server.degraded_after.0.as_secs(),
                                    Ordering::Relaxed,
                                );
                                let _ = outputs_tx.send(plan.cfg.outputs.clone());
                                let _ = retention_tx.send(crate::commands::prune::retention(&plan.cfg));
                                changed.notify_one();
                                info!(feeds = plan.every.len(), "config reloaded");
                                *state.health.config_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                                *state.health.restart_needed.lock().unwrap_or_else(|e| e.into_inner()) =
                                    (!pending.is_empty()).then(|| {
                                        format!(
                                            "the config changes what only a restart applies: {}",
                                            pending.join("; ")
                                        )
                                    });
                                for w in crate::commands::check::warnings(&plan.cfg) {
                                    warn!("{w}");
                                }
                            }
                            Err(e) => {
                                error!(
                                    error = %chain(&e),
                                    retry_in = ?retry_in,
                                    "reload failed; keeping the old config, and trying again"
                                );
                                config_kept(&state, &chain(&e), false);
                                if !retrying.swap(true, Ordering::Relaxed) {
                                    let (again, wait) = (again.clone(), retry_in);
                                    let retrying = retrying.clone();
                                    retry_in = (retry_in * 2).min(RELOAD_RETRY_MAX);
                                    tokio::spawn(async move {
                                        tokio::time::sleep(wait).await;
                                        retrying.store(false, Ordering::Relaxed);
                                        let _ = again.send(()).await;
                                    });
                                }
                            }
                        }
                    }
                    Err(e) => {
                        error!(error = %e, "config rejected; keeping the old one");
                        config_kept(&state, &e.to_string(), true);
                    }
                }
            }
            _ = tick.tick() => {
                if claim_soon {
                    claim_soon = false;
                    tick.reset();
                }
                state.last_tick.store(crate::now_unix(), Ordering::Relaxed);
                let gone = store
                    .sqlite()
                    .and_then(|s| s.file_gone())
                    .or_else(|| lock.as_ref().and_then(|l| l.lost()));
                match gone {
                    Some(gone) if !gone_said => {
                        error!("{gone}");
                        gone_said = true;
                    }
                    Some(_) => {}
                    None => gone_said = false,
                }
                let mut now = crate::now_unix();
                let elapsed = wall_at.1.elapsed();
                if store.is_postgres() {
                    // The node keeps the server's time: a step of its clock,
                    // either way, is measured again at once, before anything
                    // is booked (a step forward booked every feed, host turn
                    // and story ahead until the next measure, a minute on,
                    // and nothing brought them back). Holds and the shared
                    // schedule stay as they are. (The store says the step.)
                    let back = crate::schedule::stepped_back(wall_at.0, elapsed, now);
                    let ahead = crate::schedule::stepped_ahead(wall_at.0, elapsed, now);
                    if let Some(by) = back.map(|b| -b).or(ahead) {
                        match tokio::time::timeout(Duration::from_secs(2), store.clock_stepped_back(now, 0)).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => error!(seconds = by, error = %chain(&e), "the wall clock stepped, and the database server's time could not be read again: this node's times are off until it is read again, at its next claim, which moves back what was booked ahead meanwhile"),
                            Err(_) => error!(seconds = by, "the wall clock stepped, and the database server did not answer in time to read its time again: this node's times are off until it is read again, at its next claim, which moves back what was booked ahead meanwhile"),
                        }
                        now = crate::now_unix();
                    }
                } else if let Some(by) = crate::schedule::stepped_back(wall_at.0, elapsed, now) {
                    {
                        held_back.step_back(by);
                        // Moved once the fetches under way end: one that
                        // began before the step stores times of the clock
                        // before it (its feed waited the whole step).
                        let (total, waiting) = step.get_or_insert_with(|| (0, HashSet::new()));
                        *total += by;
                        waiting.extend(in_flight.iter().copied());
                        if !waiting.is_empty() {
                            // (Said: every feed waits meanwhile, up to a fetch's timeout.)
                            info!(seconds = by, fetches = waiting.len(), "the wall clock stepped back: the schedule moves back once the fetches under way end; none starts meanwhile");
                        }
                    }
                }
                wall_at = (now, std::time::Instant::now());
                if let Some((by, waiting)) = &mut step {
                    waiting.retain(|id| in_flight.contains(id));
                    // (No fetch starts while one is waited for, nor while the
                    // store could not move the schedule: its times would be
                    // moved too; tried again at the next tick.)
                    if !waiting.is_empty() || !move_schedule_back(&store, now, *by, Duration::from_secs(2)).await {
                        continue;
                    }
                    step = None;
                    // (The outputs show the moved times: they showed stories
                    // dated ahead until the next new one.)
                    changed.notify_one();
                }
                if !unreleased.is_empty() {
                    // One statement, bounded: a store that does not answer
                    // must not hold up the loop (the watchdog, SIGTERM).
                    let ids: Vec<i64> = unreleased.iter().copied().filter(|id| !in_flight.contains(id)).collect();
                    let release = store.release_all(&ids);
                    if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(2), release).await {
                        for id in &ids {
                            unreleased.remove(id);
                        }
                    }
                }
                let mut busy = in_flight.clone();
                busy.extend(held_back.until(now));
                let (per_host, gap) = (plan.cfg.fetch.per_host, plan.cfg.fetch.host_gap.0.as_millis() as i64);
                // Feeds another node's older config took out of the store's
                // config are put back every PUT_BACK_TICKS ticks.
                ticks += 1;
                let mine = |id: i64| plan.every.contains_key(&id);
                let put_back = || (ticks % PUT_BACK_TICKS == 1).then(|| plan.every.keys().copied().collect());
                // (A store another process holds the write lock of answers
                // late: SIGTERM is heard meanwhile, and stops the daemon.)
                // (PostgreSQL: a claim cut off after its commit would hold
                // the feeds for the lease; its statements are bounded.)
                // (PostgreSQL: no more than the fetches this node can start
                // now; it claims again as they end.)
                let room = plan.cfg.fetch.concurrency.saturating_sub(in_flight.len());
                if store.is_postgres() && room == 0 {
                    more_due = true;
                    continue;
                }
                let due = store.due_feeds(now, busy, &mine, put_back, per_host, gap, room);
                tokio::pin!(due);
                let due = match store.is_postgres() {
                    // (PostgreSQL: a claim under way gets a moment to end,
                    // and what it claimed is released at once; a server that
                    // stopped answering held SIGTERM until it came back.)
                    true => tokio::select! {
                        due = &mut due => due,
                        _ = &mut shutdown => {
                            if let Ok(Ok(claimed)) = tokio::time::timeout(Duration::from_secs(3), due).await {
                                let ids: Vec<i64> = claimed.iter().map(|f| f.id).collect();
                                let _ = tokio::time::timeout(Duration::from_secs(2), store.release_all(&ids)).await;
                            }
                            break;
                        }
                    },
                    false => tokio::select! {
                        due = &mut due => due,
                        _ = &mut shutdown => break,
                    },
                };
                let due = match due {
                    Ok(due) => {
                        more_due = store.is_postgres() && !due.is_empty();
                        due
                    }
                    Err(e) => {
                        // (Once when it starts, then once a minute: an
                        // unreachable store logged a line every second.)
                        if let Some((attempts, lasted)) = store_outage.failed(std::time::Instant::now()) {
                            match attempts {
                                1 => error!(error = %chain(&e), "cannot read due feeds"),
                                _ => error!(error = %chain(&e), attempts, lasted = %humantime::format_duration(std::time::Duration::from_secs(lasted.as_secs())), "still cannot read due feeds"),
                            }
                        }
                        continue;
                    }
                };
                if let Some((attempts, lasted)) = store_outage.recovered(std::time::Instant::now()) {
                    info!(attempts, lasted = %humantime::format_duration(std::time::Duration::from_secs(lasted.as_secs())), "the store answers again; reading due feeds");
                }
                for feed in due {
                    let Some(every) = plan.every.get(&feed.id).cloned() else {
                        // Claimed but not in this node's config (PostgreSQL): leave it.
                        if let Err(e) = store.release(feed.id).await {
                            warn!(error = %chain(&e), "cannot release a feed");
                        }
                        continue;
                    };
                    in_flight.insert(feed.id);
                    let r = plan.refresher.clone();
                    let (feed_id, feed_url) = (feed.id, feed.url.to_string());
                    let handle = tasks.spawn(async move {
                        (feed.id, refresh::refresh_feed(&r, &feed, &every).await)
                    });
                    task_feed.insert(handle.id(), (feed_id, feed_url));
                }
                sync_renewing(&in_flight);
            }
            Some(done) = tasks.join_next_with_id() => {
                finish(done, &mut in_flight, &mut task_feed, (&mut held_back, &mut unreleased), &plan, &store, &state, &changed);
                sync_renewing(&in_flight);
                if more_due && !claim_soon {
                    claim_soon = true;
                    tick.reset_after(CLAIM_AGAIN);
                }
            }
        }
    }

    // Graceful stop: no new dispatches, and those still waiting for their
    // host's turn do not start; requests made get until the deadline.
    plan.refresher.stop.stop();
    state.health.stopping.store(true, Ordering::Relaxed);
    sd_notify("STOPPING=1");
    let deadline = tokio::time::sleep(plan.cfg.server.shutdown_timeout.0);
    tokio::pin!(deadline);
    let pending = tasks.len();
    if pending > 0 {
        info!(
            pending,
            "waiting for in-flight fetches (those still waiting for their host's turn end at once, not started)"
        );
    }
    loop {
        tokio::select! {
            hurried = async { tokio::select! { _ = &mut deadline => false, _ = HURRY.notified() => true } } => {
                // (Each named: which feeds are fetched again at the next start.)
                // (As `/metrics` shows them: a private feed's token was here.)
                let mut cut: Vec<String> = task_feed.values().map(|(_, url)| crate::urls::shown_feed_url(url)).collect();
                cut.sort_unstable();
                let why = if hurried { "stopping now" } else { "shutdown deadline reached" };
                // (A fetch whose result the store had begun to write is
                // stored whole: "abandoned" said of stored feeds misled.)
                warn!(aborted = tasks.len(), feeds = %cut.join(" "), "{why}; abandoning fetches (a result the store was writing is stored whole, nothing half-stored; the others are fetched again at the next start)");
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                // Their claims go (PostgreSQL): the feeds are due again at
                // once, for the next start or another node. They were held
                // for the whole lease, with their hosts' other feeds.
                let ids: Vec<i64> = task_feed.values().map(|(id, _)| *id).chain(unreleased.iter().copied()).collect();
                if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), store.release_all(&ids)).await {
                    warn!(error = %chain(&e), "cannot release the abandoned feeds' claims");
                }
                break;
            }
            done = tasks.join_next_with_id() => match done {
                Some(done) => {
                    finish(done, &mut in_flight, &mut task_feed, (&mut held_back, &mut unreleased), &plan, &store, &state, &changed);
                    sync_renewing(&in_flight);
                }
                None => break,
            },
        }
    }
    // A step back not yet applied (the fetches it waited for were cut off):
    // applied now, or the next start found every feed waiting for the
    // clock to catch up, as long as the step (under ten minutes, which the
    // store's opening mends).
    if let Some((by, _)) = step.take() {
        move_schedule_back(&store, crate::now_unix(), by, LAST_CALL).await;
    }
    exporter.abort();
    pruner.abort();
    // The store's last calls are bounded: one that another process's write
    // lock holds up (a `sqlite3` session) must not hold the stop past what
    // systemd waits (`TimeoutStopSec`), nor lose the stop to a SIGKILL.
    let outputs = plan.cfg.outputs.clone();
    match tokio::time::timeout(LAST_CALL, render_outputs(&store, &state, &outputs)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => error!(error = %chain(&e), "final render failed"),
        Err(_) => warn!(
            waited_secs = LAST_CALL.as_secs(),
            "final render not done in time (the store busy with this process's last write, or another process holding its write lock, or outputs this large); the outputs stay as last written, and the next start renders them"
        ),
    }
    let _ = server_stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
        Ok(Ok(Err(e))) => return Err(AppError::Server(e)),
        Ok(_) => {}
        Err(_) => {
            warn!("HTTP server did not stop in 5s; closing its connections");
            server.abort();
        }
    }
    // Checkpoint the WAL so the file is complete on its own (else the next
    // open does: nothing committed is lost either way).
    if let Some(sqlite) = store.sqlite() {
        let checkpoint = sqlite.call(|s| s.try_checkpoint());
        match tokio::time::timeout(LAST_CALL, checkpoint).await {
            Ok(Ok(())) => {}
            // Everything committed is in the write-ahead log beside the
            // store, which the next start checkpoints: nothing is lost, and
            // the stop is no failure (a full disk made it exit 1 saying
            // only "store error while checkpointing").
            Ok(Err(e)) => warn!(
                store = %location.describe(),
                error = %chain(&e),
                "checkpoint failed at stop; every commit is in the store's -wal file, and the next start checkpoints it"
            ),
            Err(_) => warn!(
                waited_secs = LAST_CALL.as_secs(),
                "checkpoint skipped: the store did not answer; the next start checkpoints"
            ),
        }
    }
    // (Not a lock file deleted: the store holds what was stored, said
    // when it was found.)
    let gone = store.sqlite().and_then(|s| s.file_gone());
    drop(store);
    if let Some(gone) = gone {
        return Err(AppError::StoreLost(gone));
    }
    info!("stopped");
    Ok(())
}

/// The first wait before a reload the store failed is tried again (then
/// doubling, up to [`RELOAD_RETRY_MAX`]).
const RELOAD_RETRY: Duration = Duration::from_secs(5);
const RELOAD_RETRY_MAX: Duration = Duration::from_secs(300);

/// How long the daemon's last store calls (the final render, the
/// checkpoint) may wait once it stops.
const LAST_CALL: Duration = Duration::from_secs(2);

/// This process's name in PostgreSQL claims: `host:pid`.
pub fn node_name() -> String {
    node_name_of(std::process::id())
}

/// The name [`node_name`] gives the process `pid` of this machine and PID
/// namespace.
pub fn node_name_of(pid: u32) -> String {
    format!("{}:{pid}:{}", host_name(), pid_namespace())
}

/// This machine's host name, from the kernel (`uname`), not from `/proc`: a
/// service unit with `ProcSubset=pid` hides `/proc/sys`, and every node was
/// called "node", each taking the others' live claims for an ended process
/// of its own machine's.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match rc == 0 && end > 0 {
        true => String::from_utf8_lossy(&buf[..end]).trim().to_string(),
        false => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "node".into()),
    }
}

/// The PID namespace's inode number and the first 8 hex digits of this boot's
/// id (`/proc/sys/kernel/random/boot_id`): the host's own namespace has the
/// same number on every Linux machine, so two machines of one hostname
/// (cloned VMs) are told apart by their boots.
fn pid_namespace() -> String {
    let boot: String = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    match boot.is_empty() {
        true => pid_namespace_inode(),
        false => format!("{}-{boot}", pid_namespace_inode()),
    }
}

/// This process's PID namespace (the inode number of `/proc/self/ns/pid`):
/// two containers with one hostname both run feedloom as PID 1 (each node
/// took the other's change notices for its own), but in two namespaces.
fn pid_namespace_inode() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|l| {
            let l = l.to_string_lossy().into_owned();
            let digits: String = l.chars().filter(char::is_ascii_digit).collect();
            (!digits.is_empty()).then_some(digits)
        })
        .unwrap_or_else(|| "0".into())
}

/// Whether a node named by [`node_name`] is a process of this machine (this
/// boot) and PID namespace that has ended (killed, crashed, restarted by
/// systemd): its claims can go at once instead of when their lease ends. Any
/// process running under that PID counts as alive (a feedloom started from
/// another path is one: its claims were cleared while it fetched).
pub fn is_dead_local_node(node: &str) -> bool {
    let mine = node_name();
    let (Some((host, rest)), Some((my_host, my_rest))) =
        (node.split_once(':'), mine.split_once(':'))
    else {
        return false;
    };
    let (Some((pid, ns)), Some((my_pid, my_ns))) = (rest.split_once(':'), my_rest.split_once(':'))
    else {
        return false;
    };
    if host != my_host || ns != my_ns || ns.starts_with('0') || pid == my_pid {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Warns when the process may not open enough files for `max_connections`
/// clients plus the fetches, the store and the outputs.
fn warn_if_few_open_files(cfg: &Config) {
    let needed = cfg
        .server
        .max_connections
        .saturating_add(cfg.fetch.concurrency)
        .saturating_add(64) as u64;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    if let Some(limit) = open_files_limit(&limits)
        && limit < needed
    {
        warn!(
            limit,
            needed,
            "the open-files limit is below [server] max_connections + [fetch] concurrency + 64: \
             raise it (LimitNOFILE= in the systemd unit, ulimit -n) or lower max_connections"
        );
    }
}

/// The soft limit on open files in the text of /proc/self/limits (`None`:
/// unlimited or unknown).
fn open_files_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What a refresh task returns: its feed and how the refresh went.
type Refreshed = (i64, Result<Report, StoreError>);

/// A failure that repeats at every tick (the store unreachable): said when
/// it starts, then at most once per [`Outage::EVERY`], and once when it
/// ends, each time with the attempts failed and how long it has lasted.
#[derive(Default)]
struct Outage {
    /// When it started, when it was last said, and the attempts failed.
    since: Option<(std::time::Instant, std::time::Instant, u64)>,
}

impl Outage {
    const EVERY: Duration = Duration::from_secs(60);

    /// One more attempt failed at `now`: `Some((attempts, lasted))` when it
    /// is to be said.
    fn failed(&mut self, now: std::time::Instant) -> Option<(u64, Duration)> {
        let (since, said, attempts) = self.since.get_or_insert((now, now, 0));
        *attempts += 1;
        let say = *attempts == 1 || now.duration_since(*said) >= Self::EVERY;
        if say {
            *said = now;
        }
        say.then(|| (*attempts, now.duration_since(*since)))
    }

    /// An attempt succeeded at `now`: `Some((attempts failed, lasted))`
    /// when attempts had failed.
    fn recovered(&mut self, now: std::time::Instant) -> Option<(u64, Duration)> {
        self.since
            .take()
            .map(|(since, _, attempts)| (attempts, now.duration_since(since)))
    }
}

/// Feeds whose failure could not be stored (the store cannot write): the
/// scheduler skips them until their in-memory backoff has passed, since the
/// store still says they are due.
#[derive(Default)]
struct HeldBack(HashMap<i64, (u32, i64)>);

impl HeldBack {
    /// Feeds held back at `now`.
    fn until(&mut self, now: i64) -> Vec<i64> {
        self.0
            .iter()
            .filter(|(_, (_, until))| *until > now)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The wall clock stepped back `by` seconds: each hold ends as much
    /// earlier, by the clock.
    fn step_back(&mut self, by: i64) {
        for (_, until) in self.0.values_mut() {
            *until = until.saturating_sub(by);
        }
    }

    /// Backs the feed off once more; returns its consecutive failures here.
    fn hold(&mut self, feed_id: i64, next: impl FnOnce(u32) -> Option<i64>) -> u32 {
        let entry = self.0.entry(feed_id).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = next(entry.0).unwrap_or(i64::MAX);
        entry.0
    }

    fn release(&mut self, feed_id: i64) {
        self.0.remove(&feed_id);
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    done: Result<(tokio::task::Id, Refreshed), tokio::task::JoinError>,
    in_flight: &mut HashSet<i64>,
    task_feed: &mut HashMap<tokio::task::Id, (i64, String)>,
    (held_back, unreleased): (&mut HeldBack, &mut HashSet<i64>),
    plan: &Plan,
    store: &Backend,
    state: &ServerState,
    changed: &Notify,
) {
    let task = match &done {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    };
    let Some((feed_id, feed_url)) = task_feed.remove(&task) else {
        return;
    };
    in_flight.remove(&feed_id);
    let problem = match done {
        Ok((_, (_, Ok(report)))) => {
            // Stored or NotModified only once committed; a commit that failed
            // is a failure here too.
            state.metrics.observe(&report.outcome, report.duration_ms);
            if report.store_error.is_none() {
                held_back.release(feed_id);
            } else if store.is_postgres() {
                unreleased.insert(feed_id);
            }
            if matches!(report.outcome, Outcome::Stored(a) if a.changes_outputs()) {
                changed.notify_one();
            }
            return;
        }
        // (Not "store error: store error while …": most store errors say so.)
        Ok((_, (_, Err(e)))) => match chain(&e) {
            c if c.starts_with("store ")
                || c.starts_with("the store")
                || c.starts_with("PostgreSQL store") =>
            {
                c
            }
            c => format!("store error: {c}"),
        },
        Err(e) if e.is_cancelled() => return,
        Err(e) => format!("internal error: {e}"),
    };
    error!(feed = %crate::urls::shown_feed_url(&feed_url), feed_id, error = %crate::urls::shown_urls_in(&problem.to_string()), "refresh failed");
    if store.is_postgres() {
        unreleased.insert(feed_id);
    }
    state
        .metrics
        .fetch_error
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Record it on the feed and back off, so the feed is not retried every tick.
    let Some(every) = plan.every.get(&feed_id).cloned() else {
        return;
    };
    let max_backoff = plan.cfg.defaults.max_backoff.0;
    // Until the store takes the failure record, the backoff lives here.
    let now = crate::now_unix();
    held_back.hold(feed_id, |failures| {
        crate::schedule::after_failure(
            now,
            &every,
            failures,
            crate::error::Disposition::Backoff,
            max_backoff,
            0.0,
        )
    });
    let store = store.clone();
    tokio::spawn(async move {
        let now = crate::now_unix();
        let next = crate::schedule::after_failure(
            now,
            &every,
            1,
            crate::error::Disposition::Backoff,
            max_backoff,
            0.0,
        );
        let rec = crate::store::feeds::FetchRecord {
            started_at: now,
            ..Default::default()
        };
        if let Err(e) = store
            .record_failure(
                feed_id,
                rec,
                problem,
                next,
                crate::store::feeds::AfterFailure::Keep,
            )
            .await
        {
            error!(feed = %crate::urls::shown_feed_url(&feed_url), feed_id, error = %crate::urls::shown_urls_in(&chain(&e)), "cannot record the failure either");
        }
    });
}

async fn exporter(
    store: Backend,
    state: Arc<ServerState>,
    changed: Arc<Notify>,
    outputs: watch::Receiver<Vec<config::OutputConfig>>,
) {
    // After a failed render, the next try waits (doubling, at most
    // RENDER_RETRY_MAX): a store that does not answer made this loop retry at
    // once, ~800 error lines a second.
    let mut retry = RENDER_RETRY_MIN;
    loop {
        // After a change in the store, or when a served page's "N minutes ago"
        // turns wrong (then only the pages' bytes change).
        let stale_at = state.web.stale_at.load(Ordering::Relaxed);
        let stale_in =
            Duration::from_secs(stale_at.saturating_sub(crate::now_unix()).max(0) as u64);
        tokio::select! {
            _ = changed.notified() => {
                // Let a burst of finished fetches land before rendering once.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Another node (PostgreSQL) committed new or changed stories.
            _ = store.changed_elsewhere() => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ = tokio::time::sleep(stale_in), if stale_at != i64::MAX => {}
        }
        let outs = outputs.borrow().clone();
        match render_outputs(&store, &state, &outs).await {
            Ok(()) => retry = RENDER_RETRY_MIN,
            Err(e) => {
                error!(error = %chain(&e), retry_in = ?retry, "rendering outputs failed");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RENDER_RETRY_MAX);
                // Try again even if nothing changed meanwhile.
                changed.notify_one();
            }
        }
    }
}

/// Every how many ticks a node on PostgreSQL puts back in config the feeds
/// its config names that another node's older config took out (a look-up per
/// feed: ~10 ms at 10,000 feeds, under the claim lock).
const PUT_BACK_TICKS: u64 = 5;

/// How soon output files that could not be written are tried again.
const FILE_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between tries to write output files.
const FILE_RETRY_MAX: Duration = Duration::from_secs(300);

/// The first wait after a failed render of the outputs.
const RENDER_RETRY_MIN: Duration = Duration::from_secs(1);
/// The longest wait between tries to render the outputs.
const RENDER_RETRY_MAX: Duration = Duration::from_secs(30);

/// Renders every output in every format: into the server's memory, and into
/// files for outputs with a `path` (only when their bytes changed). Records
/// the outputs and when the served pages need rendering again for the page
/// routes ([`crate::web::WebState`]).
pub async fn render_outputs(
    store: &Backend,
    state: &Arc<ServerState>,
    outputs: &[config::OutputConfig],
) -> Result<(), StoreError> {
    let outs = outputs.to_vec();
    let cache = state.html_cache.clone();
    let rendered = store
        .read_try(move |s| {
            let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            export::render_all(s, &outs, crate::now_unix(), &mut cache, false)
        })
        .await?;
    // Files are written outside the store's lock: fsyncs never delay fetches.
    // What serving a changed output needs (its gzip encoding, its ETag) is
    // made there too, not on a runtime thread under the outputs' lock.
    let served = state.clone();
    // Files that could not be written are left until their retry's time:
    // every render (each new story) tried them, and logged each.
    let waiting = {
        let w = state
            .web
            .file_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match crate::now_unix() < w.1 {
            true => w.0.clone(),
            false => Vec::new(),
        }
    };
    let waited = !waiting.is_empty();
    let (rendered, failed, prepared) = tokio::task::spawn_blocking(move || {
        // (Each failure is logged; the daemon serves the outputs all the same.)
        let failed = export::write_files_but(&rendered, &waiting);
        let prepared: Vec<Option<crate::server::Prepared>> = rendered
            .iter()
            .map(|r| {
                let same = served
                    .outputs
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&r.name)
                    .is_some_and(|old| old.body.as_ref() == r.bytes.as_slice());
                (r.served && !same).then(|| crate::server::Prepared::of(r.bytes.clone()))
            })
            .collect();
        (rendered, failed, prepared)
    })
    .await
    .map_err(|e| StoreError::Worker(e.to_string()))?;
    let now = crate::now_unix();
    let mut stale_at = rendered.iter().filter_map(|r| r.stale_at).min();
    // Files that could not be written are tried again (a full disk, a folder
    // in the way: nothing else may change for hours).
    {
        let mut w = state
            .web
            .file_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if failed.is_empty() {
            state.web.file_retries.store(0, Ordering::Relaxed);
            *w = (Vec::new(), 0);
        } else {
            // 10 s, doubling to 5 minutes while they keep failing; a
            // render meanwhile tries only the files that had not failed.
            let tried = !waited || failed.iter().any(|f| !w.0.contains(f));
            if tried {
                let n = state
                    .web
                    .file_retries
                    .fetch_add(1, Ordering::Relaxed)
                    .min(5);
                let wait = (FILE_RETRY.as_secs() << n).min(FILE_RETRY_MAX.as_secs());
                w.1 = now + wait as i64;
            }
            w.0 = failed;
            stale_at = Some(stale_at.map_or(w.1, |s| s.min(w.1)));
        }
    }
    *state.web.outputs.write().unwrap_or_else(|e| e.into_inner()) = outputs.to_vec();
    state
        .web
        .stale_at
        .store(stale_at.unwrap_or(i64::MAX), Ordering::Relaxed);
    let mut map = state.outputs.write().unwrap_or_else(|e| e.into_inner());
    // (Taken under the lock: a request that picked the old content took its
    // time before, so the old content was never sent dated later than this.)
    let now = crate::now_unix();
    let mut next = HashMap::with_capacity(rendered.len());
    let mut prepared = prepared.into_iter();
    for export::RenderedFile {
        name: key,
        format,
        bytes,
        served,
        path,
        ..
    } in rendered
    {
        let ready = prepared.next().flatten();
        if !served {
            continue;
        }
        let fresh = !matches!(map.get(&key), Some(old) if old.body.as_ref() == bytes.as_slice());
        let file = path.clone();
        // (Prepared above, unless the content served then was these bytes:
        // made here only if another render replaced it since.)
        let body = || ready.unwrap_or_else(|| crate::server::Prepared::of(bytes.clone()));
        let r = match map.get(&key) {
            Some(old) if old.body.as_ref() == bytes.as_slice() => old.clone(),
            // The first render since the start: bytes its file already held
            // date from when the file was written (it is written only when
            // they change), so a restart does not make every client that
            // asks with If-Modified-Since download them again.
            None => match path.as_deref().and_then(|p| written_at(p, &bytes)) {
                Some(at) if at <= now => Rendered::prepared(format, body(), at),
                _ => Rendered::prepared(format, body(), now).after(None, now),
            },
            old => Rendered::prepared(format, body(), now).after(old, now),
        };
        if fresh && let Some(file) = file {
            date_file(&file, &r);
        }
        next.insert(key, r);
    }
    *map = next;
    Ok(())
}

/// Dates an output's file with the Last-Modified its bytes are served with
/// (content rendered twice in one second is dated the next second), so that
/// after a restart [`written_at`] gives that date back: the file's own time
/// was the first second, and a client holding the first content got a 304
/// for the second.
fn date_file(path: &std::path::Path, r: &Rendered) {
    let Ok(secs) = u64::try_from(r.modified) else {
        return;
    };
    use std::os::unix::fs::OpenOptionsExt;
    let at = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    // (Only the file holding these bytes; never through a link.)
    match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) if f.metadata().is_ok_and(|m| m.len() == r.body.len() as u64) => {
            let _ = f.set_modified(at);
        }
        _ => {}
    }
}

/// When the file at `path` was last written (Unix seconds), if it holds
/// exactly `bytes`.
fn written_at(path: &std::path::Path, bytes: &[u8]) -> Option<i64> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() != bytes.len() as u64 {
        return None;
    }
    // (The file is dated with its Last-Modified when it is published: see
    // `date_file`.)
    let at = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (std::fs::read(path).ok()? == bytes).then_some(i64::try_from(at).ok()?)
}

/// How often to ping systemd's watchdog (`WatchdogSec=`): half the timeout
/// it set in WATCHDOG_USEC, when that is meant for this process
/// (WATCHDOG_PID unset or this process's id, as `sd_watchdog_enabled` reads
/// them); `None`: no watchdog. (Pinged every second before, whatever the
/// timeout: `WatchdogSec=500ms` had the daemon killed as hung.)
fn watchdog_interval() -> Option<Duration> {
    let env = |name| std::env::var(name).ok();
    notify_socket()?;
    watchdog_every(
        env("WATCHDOG_USEC").as_deref(),
        env("WATCHDOG_PID").as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] of the values systemd set: none for a timeout of
/// zero or infinity (`USEC_INFINITY`, which systemd reads as no watchdog),
/// nor for another process; at most every 10 ms (a timeout of 1 µs had the
/// daemon ping a thousand times a second).
fn watchdog_every(usec: Option<&str>, pid: Option<&str>, own: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own)
    {
        return None;
    }
    let usec: u64 = usec?
        .trim()
        .parse()
        .ok()
        .filter(|&u| u > 0 && u != u64::MAX)?;
    Some(Duration::from_micros(usec / 2).clamp(Duration::from_millis(10), TICK))
}

/// NOTIFY_SOCKET, when set and not empty (`sd_notify`'s rule: an empty one
/// is none; it was warned about as a socket that cannot be reached).
fn notify_socket() -> Option<std::ffi::OsString> {
    std::env::var_os("NOTIFY_SOCKET").filter(|p| !p.is_empty())
}

/// Sends a message to systemd when run under `Type=notify` (NOTIFY_SOCKET set).
pub fn sd_notify(msg: &str) {
    let Some(path) = notify_socket() else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    // (Never held up by a receiver that reads slowly or not at all: a ping is
    // dropped when its queue is full, another message waits at most a
    // second. A blocking send stopped the scheduler, and a SIGTERM after it.)
    let _ = match msg.starts_with("WATCHDOG") {
        true => sock.set_nonblocking(true),
        false => sock.set_write_timeout(Some(Duration::from_secs(1))),
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| sock.send_to_addr(msg.as_bytes(), &addr))
    } else {
        sock.send_to(msg.as_bytes(), std::path::Path::new(&path))
    };
    // (Said once: a socket that is gone made it a line every second.)
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Err(e) = result
        && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        warn!(error = %e, socket = %path.to_string_lossy(), "cannot notify systemd (said once)");
    }
}

/// How often a node extends the claims of its fetches under way: a third
/// of `[store] lease`, so that two tries may fail before one runs out.
pub(crate) fn renew_every(cfg: &Config) -> Duration {
    cfg.store.lease.0 / 3
}

/// Extends, every `every`, this process's claims on the feeds `ids` gives
/// (PostgreSQL: a daemon's fetches under way, a `poll`'s feeds not fetched
/// yet): a failure is said once until one succeeds. Runs until dropped.
pub(crate) async fn renew_claims(
    store: Backend,
    every: Duration,
    ids: impl Fn() -> Vec<i64> + Send + 'static,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed = false;
    loop {
        tick.tick().await;
        let ids = ids();
        if ids.is_empty() {
            continue;
        }
        let why = match tokio::time::timeout(Duration::from_secs(2), store.renew_claims(&ids)).await
        {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(chain(&e)),
            Err(_) => Some("the database server did not answer within 2s".to_string()),
        };
        match why {
            None => failed = false,
            Some(why) if !failed => {
                warn!(fetches = ids.len(), error = %why, "cannot extend the claims of the fetches under way: another node may fetch their feeds again when their lease ends");
                failed = true;
            }
            Some(_) => {}
        }
    }
}

/// A task aborted when this is dropped (however the function holding it ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The text `feedloom check` prints.
pub fn describe(cfg: &Config) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "config {} is valid", cfg.source.display());
    match &cfg.store.url {
        Some(url) => {
            let _ = writeln!(
                s,
                "store: PostgreSQL {} (feeds claimed for {}; any number of nodes)",
                crate::store::postgres::redact(url),
                humantime::format_duration(cfg.store.lease.0)
            );
        }
        None => {
            let _ = writeln!(s, "store: {}", cfg.store.path.display());
        }
    }
    // (What is deleted, and when: the only settings that delete data were
    // not in the summary.)
    let _ = writeln!(
        s,
        "retention: {}; the fetch log kept {}; pruned by the daemon at its start and then daily, by each `poll`, or by `feedloom prune`",
        cfg.store.keep.map_or(
            "items kept for good (no [store] keep)".to_string(),
            |k| format!(
                "items first seen more than {} ago removed, with the stories they leave empty",
                crate::commands::short_duration(k.0.as_secs())
            )
        ),
        crate::commands::short_duration(cfg.store.keep_fetch_log.0.as_secs())
    );
    let _ = writeln!(
        s,
        "fetch: user agent \"{}\", timeout {}, max body {} bytes, {} in flight ({} per host)",
        cfg.fetch.user_agent,
        humantime::format_duration(cfg.fetch.timeout.0),
        cfg.fetch.max_body.0,
        cfg.fetch.concurrency,
        cfg.fetch.per_host
    );
    let _ = writeln!(
        s,
        "server: http://{}{}, up to {} connections, header timeout {}, idle timeout {}; /healthz degraded after {} without a success",
        cfg.server.listen,
        // (What readers are given: the outputs' self links and the pages'
        // links. It was not shown, and the outputs were said to be served
        // at the listen address.)
        cfg.server
            .public_url
            .as_ref()
            .map_or(String::new(), |u| format!(
                ", published as {u} ([server] public_url)"
            )),
        cfg.server.max_connections,
        humantime::format_duration(cfg.server.header_timeout.0),
        humantime::format_duration(cfg.server.idle_timeout.0),
        humantime::format_duration(cfg.server.degraded_after.0)
    );
    let _ = writeln!(
        s,
        "fetch: at most {} body bytes held at once; redirects to private networks {}",
        cfg.fetch.max_buffered(),
        if cfg.fetch.allow_private_networks {
            "allowed (fetch.allow_private_networks)"
        } else {
            "refused"
        }
    );
    let _ = writeln!(s, "feeds: {}", cfg.feeds.len());
    for f in &cfg.feeds {
        let when = match (&f.cron, f.every) {
            // The expression and its next times (UTC), so that a day of
            // the week read otherwise than meant shows.
            (Some(c), _) => {
                let next: Vec<String> =
                    c.0.upcoming(chrono::Utc)
                        .take(2)
                        .map(|t| t.format("%a %Y-%m-%d %H:%M:%S").to_string())
                        .collect();
                match next.is_empty() {
                    true => format!(
                        "on cron \"{}\" (no next time: its dates have passed)",
                        c.0.source()
                    ),
                    false => format!(
                        "on cron \"{}\" (next {} UTC)",
                        c.0.source(),
                        next.join(", then ")
                    ),
                }
            }
            (None, Some(e)) => format!("every {}", humantime::format_duration(e.0)),
            (None, None) => format!("every {}", humantime::format_duration(cfg.defaults.every.0)),
        };
        let tags = if f.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", f.tags.join(", "))
        };
        let _ = writeln!(
            s,
            "  {} {when}{tags}{}",
            // (Its secret query values hidden, as `/metrics` shows it.)
            crate::urls::shown_feed_url(f.url().as_str()),
            describe_access(&f.access)
        );
    }
    let _ = writeln!(s, "outputs: {}", cfg.outputs.len());
    for o in &cfg.outputs {
        let formats: Vec<&str> = o.formats.iter().map(|f| f.extension()).collect();
        let files = match &o.path {
            Some(p) => format!("writes {}.{{{}}}", p.display(), formats.join(",")),
            None => "no files".to_string(),
        };
        let _ = writeln!(
            s,
            "  {}: up to {} {}{}{}, {files}; served at {}{}.{{{}}}",
            o.name(),
            o.max_items,
            // (An output of items, one entry per feed's item, counts items:
            // it said "stories".)
            match o.dedup {
                config::Dedup::Story => "stories",
                config::Dedup::Item => "items",
            },
            o.window
                .map(|w| format!(
                    " first seen within {}",
                    crate::commands::short_duration(w.0.as_secs())
                ))
                .unwrap_or_default(),
            if o.tags.is_empty() {
                String::new()
            } else {
                format!(" tagged {}", o.tags.join("/"))
            },
            cfg.server.public_base(),
            o.name(),
            formats.join(",")
        );
    }
    s
}

/// How `check` shows a feed's headers and credentials: names and where the
/// values come from, never the values.
fn describe_access(a: &config::Access) -> String {
    if a.is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    if let Some(auth) = &a.auth {
        parts.push(auth.describe());
    }
    if !a.headers.is_empty() {
        let names: Vec<String> = a
            .headers
            .iter()
            .map(|(n, v)| {
                if v.is_external() {
                    format!("{n} (from {})", v.origin())
                } else {
                    n.clone()
                }
            })
            .collect();
        parts.push(format!("headers {}", names.join(", ")));
    }
    format!(" ({})", parts.join("; "))
}

/// Says on `/healthz` (degraded) that a reload kept the old config, until
/// one succeeds: the log line alone went unseen, and the next restart
/// failed on the file (`rejected`: the file does not load; else applying it
/// failed, and is tried again).
fn config_kept(state: &crate::server::ServerState, error: &str, rejected: bool) {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    *state
        .health
        .config_error
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(match rejected {
        true => format!(
            "config rejected at {at}, the daemon runs on the one it loaded before (a restart would fail): {error}"
        ),
        false => format!(
            "reload failed at {at}, the daemon runs on the config it loaded before and tries again: {error}"
        ),
    });
}

/// Warns of the files of outputs (or formats) a reload removed that are still
/// there: nothing writes them any more, and a web server publishing their
/// folder serves a feed that no longer changes (they are not removed: a
/// path may name what another program reads). Returns them.
pub fn warn_files_left(
    before: &[crate::config::OutputConfig],
    after: &[crate::config::OutputConfig],
) -> Vec<std::path::PathBuf> {
    use crate::export::file_path;
    // (Compared as the files they are: `out/all`, `./out/all`, its absolute
    // path or one through a link to its folder name the same file.)
    let real = |p: std::path::PathBuf| -> std::path::PathBuf {
        match (p.parent(), p.file_name()) {
            (Some(dir), Some(name)) => {
                let dir = if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                };
                std::fs::canonicalize(dir).map_or(p.clone(), |d| d.join(name))
            }
            _ => p,
        }
    };
    let written: HashSet<std::path::PathBuf> = after
        .iter()
        .filter_map(|o| Some((o.path.as_ref()?, o)))
        .flat_map(|(base, o)| o.formats.iter().map(|f| file_path(base, *f)))
        .map(real)
        .collect();
    let left: Vec<std::path::PathBuf> = before
        .iter()
        .filter_map(|o| Some((o.path.as_ref()?, o)))
        .flat_map(|(base, o)| o.formats.iter().map(|f| file_path(base, *f)))
        .filter(|p| !written.contains(&real(p.clone())) && p.is_file())
        .collect();
    for path in &left {
        warn!(
            path = %path.display(),
            "no output writes this file any more (removed, renamed or its format dropped); \
             it stays as it is: remove it if it is published"
        );
    }
    left
}

#[cfg(test)]
mod tests {
    /// An unreachable store is said when it starts, once a minute while it
    /// lasts (not at every one-second tick), and once when it ends.
    #[test]
    fn an_outage_is_said_when_it_starts_each_minute_and_when_it_ends() {
        use std::time::{Duration, Instant};
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut o = super::Outage::default();
        assert_eq!(o.recovered(at(0)), None);
        let said: Vec<(u64, (u64, Duration))> = (0..150)
            .filter_map(|s| o.failed(at(s)).map(|w| (s, w)))
            .collect();
        assert_eq!(
            said,
            [
                (0, (1, Duration::ZERO)),
                (60, (61, Duration::from_secs(60))),
                (120, (121, Duration::from_secs(120)))
            ]
        );
        assert_eq!(o.recovered(at(151)), Some((150, Duration::from_secs(151))));
        assert_eq!(o.recovered(at(152)), None);
        assert_eq!(o.failed(at(200)), Some((1, Duration::ZERO)));
    }

    /// The watchdog's interval from what systemd set: half the timeout, at
    /// most a second, at least 10 ms; none for zero, infinity, junk or
    /// another process.
    #[test]
    fn the_watchdog_interval_reads_systemds_values() {
        let ms = |m| Some(Duration::from_millis(m));
        for (usec, pid, every) in [
            (Some("400000"), None, ms(200)),
            (Some("60000000"), None, ms(1000)),
            (Some("1"), None, ms(10)),
            (Some("400000"), Some("7"), ms(200)),
            (Some("400000"), Some("8"), None),
            (Some("400000"), Some("abc"), None),
            (Some("0"), None, None),
            (Some("18446744073709551615"), None, None),
            (Some("junk"), None, None),
            (None, None, None),
        ] {
            assert_eq!(watchdog_every(usec, pid, 7), every, "{usec:?} {pid:?}");
        }
    }

    use super::*;

    /// The node's host name is the kernel's (`uname`), read without `/proc`
    /// (which a hardened unit hides): the name the machine has.
    #[test]
    fn a_node_is_named_by_the_kernels_host_name() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(host_name(), kernel.trim());
        assert!(node_name().starts_with(&format!("{}:{}:", kernel.trim(), std::process::id())));
    }

    /// Only files no output writes any more are named: the same file under
    /// another spelling of its path (absolute, `..`, a link to its folder)
    /// is still written.
    #[test]
    fn files_left_are_those_no_output_writes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("out")).unwrap();
        std::os::unix::fs::symlink(d.join("out"), d.join("lnk")).unwrap();
        for f in ["all.atom", "all.json"] {
            std::fs::write(d.join("out").join(f), "x").unwrap();
        }
        let outputs = |path: &str, formats: &str| {
            crate::config::parse(
                &format!("[[output]]\nname = \"all\"\npath = \"{path}\"\nformats = [{formats}]\n"),
                std::path::Path::new("x.toml"),
            )
            .unwrap()
            .outputs
        };
        let at = |p: &str| d.join(p).display().to_string();
        let before = outputs(&at("out/all"), "\"atom\", \"json\"");
        for same in [at("out/../out/all"), at("lnk/all"), at("out/./all")] {
            let after = outputs(&same, "\"json\", \"atom\"");
            assert_eq!(
                warn_files_left(&before, &after),
                Vec::<std::path::PathBuf>::new(),
                "{same}"
            );
        }
        let after = outputs(&at("out/news"), "\"atom\"");
        assert_eq!(warn_files_left(&before, &after).len(), 2);
        let after = outputs(&at("lnk/all"), "\"atom\"");
        assert_eq!(
            warn_files_left(&before, &after),
            vec![d.join("out/all.json")]
        );
        assert!(d.join("out/all.json").exists(), "nothing is removed");
    }

    /// An output's file is dated with the Last-Modified it is served with,
    /// so that a restart gives that date back: content rendered a second
    /// time in one second is dated the next second (its file's own time was
    /// the first, and a client holding the first content got a 304).
    #[test]
    fn an_output_file_keeps_the_date_it_is_served_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.atom");
        let now = crate::now_unix();
        std::fs::write(&path, b"first").unwrap();
        let first =
            Rendered::new(crate::config::Format::Atom, b"first".to_vec(), now).after(None, now);
        date_file(&path, &first);
        assert_eq!(written_at(&path, b"first"), Some(now));
        std::fs::write(&path, b"second").unwrap();
        let second = Rendered::new(crate::config::Format::Atom, b"second".to_vec(), now)
            .after(Some(&first), now);
        assert_eq!(second.modified, now + 1);
        date_file(&path, &second);
        assert_eq!(written_at(&path, b"second"), Some(now + 1));
        assert_eq!(written_at(&path, b"other!"), None);
    }

    #[test]
    fn only_ended_processes_of_this_machine_and_namespace_are_dead_nodes() {
        let me = node_name();
        let parts: Vec<&str> = me.split(':').collect();
        let (host, ns) = (parts[0], parts[2]);
        assert!(ns.contains('-'), "{me}: the boot's id is part of the name");
        assert!(!is_dead_local_node(&me));
        // A PID above the kernel's limit (4194304) never runs.
        assert!(is_dead_local_node(&format!("{host}:4194305:{ns}")));
        assert!(!is_dead_local_node(&format!("other-{host}:4194305:{ns}")));
        assert!(!is_dead_local_node(&format!("{host}:4194305:1{ns}")));
        // A running process is alive, whatever it runs (PID 1 always runs).
        assert!(!is_dead_local_node(&format!("{host}:1:{ns}")));
        // A node named before PID namespaces were part of the name.
        assert!(!is_dead_local_node(&format!("{host}:4194305")));
    }

    #[test]
    fn open_files_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             96362                96362                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(open_files_limit(text), Some(1024));
        assert_eq!(
            open_files_limit(
                "Max open files            unlimited            unlimited            files\n"
            ),
            None
        );
        assert_eq!(open_files_limit(""), None);
    }
}
