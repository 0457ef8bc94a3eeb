//! The `feedloom` binary: parse the CLI, set up logging, load the config, run.
//! Exit codes: 0 ok, 1 runtime/store error, 2 config or usage error.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use feedloom::cli::{Cli, Command, LogFormat};
use feedloom::config::{self, Config, ConfigError};
use feedloom::store::lock::StoreLock;
use feedloom::store::queries::FeedSummary;
use feedloom::store::{Backend, Location, SharedStore, Store};
use feedloom::{app, commands, export};

/// Writes to stdout like `print!`; when the reader has gone (`feedloom check |
/// head -1`), the process ends as a program killed by SIGPIPE does, quietly,
/// instead of panicking ("failed printing to stdout") with exit 101.
macro_rules! out {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

/// [`out!`] with a newline, like `println!`.
macro_rules! outln {
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
}

fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    written(stdout.write_fmt(args).and_then(|()| stdout.flush()));
}

/// [`out!`] for bytes.
fn emit_bytes(bytes: &[u8]) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    written(stdout.write_all(bytes).and_then(|()| stdout.flush()));
}

fn written(result: std::io::Result<()>) {
    let Err(e) = result else {
        return;
    };
    feedloom::end_if_reader_gone(&e);
    feedloom::errln!("feedloom: cannot write to stdout: {e}");
    std::process::exit(1);
}

fn main() -> ExitCode {
    feedloom::tune_malloc();
    // A file size limit (`ulimit -f`, systemd's `LimitFSIZE=`) fails the
    // write that passes it (EFBIG), said as any failed write is: by default
    // its signal killed the process without a word, after commits it never
    // reported (exit 153; the daemon in a restart loop).
    // SAFETY: setting a signal's disposition to "ignore", before any other
    // thread exists.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    // An empty FEEDLOOM_CONFIG (`FEEDLOOM_CONFIG= feedloom check`) is unset,
    // as an empty variable is to most programs: it read as "a value is
    // required for '--config'", naming a flag nobody had passed.
    if std::env::var_os("FEEDLOOM_CONFIG").is_some_and(|v| v.is_empty()) {
        // SAFETY: no other thread runs yet (the runtime starts later).
        unsafe { std::env::remove_var("FEEDLOOM_CONFIG") };
    }
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let path = cli.config_path();
    if cli.command.edits_config() {
        return commands::edit(cli.command, &path);
    }
    let json = matches!(cli.log_format, LogFormat::Json);
    // (A command that sends no request needs no feed's secret.)
    let _unread = (!cli.command.sends_requests()).then(config::access::leave_feed_secrets_unread);
    let cfg = match config::load(&path) {
        Ok(cfg) => cfg,
        Err(e) => {
            let mut message = e.to_string();
            if matches!(e, ConfigError::Read { .. }) && cli.config.is_none() {
                message.push_str("\nfeedloom: pass --config FILE or set FEEDLOOM_CONFIG");
            }
            fatal(json, &message);
            return ExitCode::from(2);
        }
    };
    match run(cli.command, cfg) {
        Ok(code) => code,
        Err(e) => {
            // Each cause once (anyhow's `{:#}` printed "Address already in
            // use (os error 98)" twice when a message carries its source).
            let error: &(dyn std::error::Error + 'static) = e.as_ref();
            fatal(json, &feedloom::error::chain(error));
            ExitCode::from(1)
        }
    }
}

/// The error that ends the process: `feedloom: …` on stderr, or with
/// `--log-format json` one JSON line like every other log line (a config
/// error's lines were plain text among them).
fn fatal(json: bool, message: &str) {
    if json {
        // Written here, not through tracing: `FEEDLOOM_LOG=off` must not
        // silence why the process stopped.
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "ERROR",
            "fields": { "message": "feedloom stopped", "error": message },
            "target": "feedloom",
        });
        feedloom::errln!("{line}");
    } else {
        feedloom::errln!("feedloom: {message}");
    }
}

fn init_tracing(format: LogFormat) {
    // html5ever warns about the markup of the stories it sanitises ("foster
    // parenting not implemented"), naming no feed, on every render and every
    // request for an older river page: noise any client could turn into a
    // flood. Off unless FEEDLOOM_LOG names it.
    // Empty is unset (systemd's `Environment=FEEDLOOM_LOG=`); a value that
    // turns on none of feedloom's lines (`warning`, a typo, another
    // program's target) or that cannot be read is said, and `info` used: it
    // silenced every line, errors and rejected reloads included.
    let (spec, note) = log_spec(std::env::var("FEEDLOOM_LOG").ok());
    let spec = match spec.contains("html5ever") {
        true => spec,
        false => format!("{spec},html5ever=off"),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,html5ever=off"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(commands::poll::LogWriter)
        // (A failed write is not reported on stderr, which just failed.)
        .log_internal_errors(false);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(note) = note {
        tracing::warn!("{note}");
    }
}

/// The log filter for `FEEDLOOM_LOG`'s value, and what to say of a value not
/// taken as it is.
fn log_spec(value: Option<String>) -> (String, Option<String>) {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
        return ("info".into(), None);
    };
    const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];
    // (Targets are matched as written: `Feedloom=info` or `feedloom:warn`
    // turn on nothing.)
    let reaches_feedloom = v.split(',').map(str::trim).any(|d| {
        let target = d.split(['=', '[']).next().unwrap_or("");
        LEVELS.contains(&d.to_ascii_lowercase().as_str())
            || target == "feedloom"
            || target.starts_with("feedloom::")
            || d.starts_with('[')
    });
    let readable = tracing_subscriber::EnvFilter::try_new(&v).is_ok();
    match (reaches_feedloom, readable) {
        (true, true) => (v, None),
        _ => {
            let shown: String = v.chars().take(80).collect();
            (
                "info".into(),
                Some(format!(
                    "FEEDLOOM_LOG={shown:?} {}: logging at info; write a level (error, warn, \
                     info, debug, trace, off) or feedloom=LEVEL",
                    if readable {
                        "turns on none of feedloom's log lines"
                    } else {
                        "cannot be read"
                    }
                )),
            )
        }
    }
}

/// The store's feeds with `in_config` set from `cfg`, plus configured feeds the
/// store does not have yet; URLs and errors without any `user:password@`.
fn feeds_rows(mut rows: Vec<FeedSummary>, cfg: &Config) -> Vec<FeedSummary> {
    let configured: std::collections::HashSet<&str> =
        cfg.feeds.iter().map(|f| f.url().as_str()).collect();
    let mut missing = configured.clone();
    for r in &mut rows {
        r.in_config = configured.contains(r.url.as_str());
        missing.remove(r.url.as_str());
        r.url = config::access::redact_userinfo(&r.url);
        r.last_error = r.last_error.as_deref().map(config::access::redact_userinfo);
    }
    for f in cfg
        .feeds
        .iter()
        .filter(|f| missing.contains(f.url().as_str()))
    {
        rows.push(FeedSummary {
            url: f.url().to_string(),
            in_config: true,
            title: f.title.clone(),
            enabled: true,
            last_fetch_at: None,
            last_status: None,
            last_http_status: None,
            last_error: None,
            consecutive_failures: 0,
            next_fetch_at: None,
            items: 0,
            moved_to: None,
        });
    }
    rows
}

fn open_store(cfg: &Config) -> anyhow::Result<SharedStore> {
    Ok(SharedStore::new(Store::open(&cfg.store.path)?))
}

/// Opens `cfg`'s store for writing: SQLite (with its lock file, held by the
/// returned guard) or PostgreSQL (no lock: nodes claim feeds).
/// After pruning by hand: which output files were written again.
fn say_outputs_rewritten(cfg: &Config, failed: usize) {
    let files = cfg.outputs.iter().filter(|o| o.path.is_some()).count();
    if files > 0 {
        outln!(
            "wrote the output files again ({} of {files}; failures are logged above)",
            files - failed.min(files)
        );
    }
}

fn open_writer(
    cfg: &Config,
    rt: &tokio::runtime::Runtime,
    command: &str,
) -> anyhow::Result<(Backend, Option<StoreLock>)> {
    match Location::of(&cfg.store) {
        Location::Sqlite(path) => {
            let lock = StoreLock::acquire(&path, command)?;
            commands::backup::remove_restore_leftovers(&path);
            Ok((open_store(cfg)?.into(), Some(lock)))
        }
        loc => Ok((rt.block_on(Backend::open(&loc, &app::node_name()))?, None)),
    }
}

/// PostgreSQL: `prune` and `enable` refuse a database feedloom never set up,
/// as they refuse a SQLite store that does not exist (they created every
/// table, and said "removed 0 items"), making nothing.
fn pg_set_up(cfg: &Config, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match rt.block_on(Backend::open_read_only(&Location::of(&cfg.store))) {
        Err(e @ feedloom::error::StoreError::PgNeedsUpgrade { found: 0, .. }) => Err(e.into()),
        _ => Ok(()),
    }
}

/// On PostgreSQL, takes the database server's time before a command reads
/// the clock for what it does (`search --since`, `prune`'s cutoffs): a node
/// whose clock was ahead pruned items seen a moment before, and their
/// tombstones kept them out for good. The store opened for it (read only;
/// its errors are left to the command's own opening, which says them)
/// measures the offset ([`feedloom::set_clock_offset_ms`]).
fn take_server_time(cfg: &Config) {
    if cfg.store.url.is_none() {
        return;
    }
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        let _ = rt.block_on(Backend::open_read_only(&Location::of(&cfg.store)));
    }
}

/// How long a finished `run` or `poll` waits for blocking work it abandoned
/// (a file read past its deadline) before it exits anyway.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a `poll` stopped by a signal may take to write its output files.
const OUTPUTS_AFTER_SIGNAL: std::time::Duration = std::time::Duration::from_secs(10);

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(command: Command, cfg: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run => {
            let rt = runtime()?;
            let done = rt.block_on(app::run_from_signals(cfg));
            // A blocking read abandoned at its deadline (a hung file system)
            // does not keep the process alive after its work is done.
            rt.shutdown_timeout(EXIT_GRACE);
            done?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll { all } => {
            // (A log line: `--log-format json` keeps every line JSON.)
            if let Some(w) = commands::check::no_feeds(&cfg) {
                tracing::warn!("{w}");
            }
            // One writer at a time on SQLite: a running daemon (or another
            // poll) keeps it. On PostgreSQL a poll claims feeds like a node.
            let rt = runtime()?;
            let (store, _lock) = open_writer(&cfg, &rt, "poll")?;
            export::remove_stale_temp_files(&cfg.outputs);
            // SIGTERM, SIGINT or SIGHUP (the terminal closed, an ssh session
            // dropped) stop it, saying so: it was killed without a word (exit
            // 143, 129). What each feed stored before is stored; the
            // feed being stored is stored whole or not at all.
            // The output files are written for what was stored before the
            // signal (they were left without it until the next poll, while
            // the message said the feeds were stored), unless a second
            // signal comes first; on PostgreSQL the poll's claims go.
            let kept = store.clone();
            let polled = rt.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::hangup()),
                ) else {
                    return Ok(commands::poll::poll(&cfg, store, all).await);
                };
                let stopped = tokio::select! {
                    r = commands::poll::poll(&cfg, store, all) => return Ok(r),
                    _ = term.recv() => ("SIGTERM", 143u8),
                    _ = int.recv() => ("SIGINT", 130u8),
                    _ = hup.recv() => ("SIGHUP", 129u8),
                };
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    kept.release_own_claims(),
                )
                .await;
                let written = tokio::select! {
                    r = tokio::time::timeout(OUTPUTS_AFTER_SIGNAL, feedloom::refresh::write_outputs(&cfg, &kept)) => Some(r),
                    _ = term.recv() => None,
                    _ = int.recv() => None,
                    _ = hup.recv() => None,
                };
                Err((stopped, written))
            });
            // (As `run`: nothing abandoned keeps the process, or its lock.)
            rt.shutdown_timeout(EXIT_GRACE);
            let polled = match polled {
                Ok(polled) => polled,
                Err(((name, code), written)) => {
                    let outputs = match written {
                        _ if !cfg.outputs.iter().any(|o| o.path.is_some()) => String::new(),
                        Some(Ok(Ok(failed))) if failed.is_empty() => {
                            ", and the output files show them".to_string()
                        }
                        Some(Ok(Ok(failed))) => format!(
                            "; {} output file(s) could not be written (see the errors above)",
                            failed.len()
                        ),
                        Some(Ok(Err(e))) => format!(
                            "; the output files could not be written: {}",
                            feedloom::error::chain(&e)
                        ),
                        Some(Err(_)) => format!(
                            "; the output files were not written within {}s",
                            OUTPUTS_AFTER_SIGNAL.as_secs()
                        ),
                        // (The writing, begun, may end after it: each file
                        // is written whole, the old one or the new.)
                        None => "; a second signal came while the output files were being written (each is whole: the old one or the new)".to_string(),
                    };
                    feedloom::errln!(
                        "feedloom: poll stopped by {name}: the feeds stored before it stay \
                         stored, each whole{outputs}; `feedloom poll` fetches the rest"
                    );
                    return Ok(ExitCode::from(code));
                }
            };
            let (summary, reports, prune_error) = polled?;
            outln!("{summary}");
            if summary.store_errors > 0 {
                let first = reports
                    .iter()
                    .find_map(|r| r.store_error.as_deref())
                    .unwrap_or("unknown error");
                feedloom::errln!(
                    "feedloom: the store {} could not write the results of {} feed(s): {first}",
                    Location::of(&cfg.store).describe(),
                    summary.store_errors
                );
                return Ok(ExitCode::from(1));
            }
            if summary.output_errors > 0 {
                feedloom::errln!(
                    "feedloom: {} output file(s) could not be written (see the errors above); \
                     the items are stored, and the next poll writes the files again",
                    summary.output_errors
                );
                return Ok(ExitCode::from(1));
            }
            if let Some(e) = prune_error {
                feedloom::errln!(
                    "feedloom: pruning the store ([store] keep) failed: {e}; the items are \
                     stored, and the next poll prunes again"
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            format,
            output,
            limit,
        } => {
            let out = match output {
                Some(name) => match cfg.outputs.iter().find(|o| o.name() == name) {
                    Some(o) => o.clone(),
                    None => {
                        let names: Vec<&str> = cfg.outputs.iter().map(|o| o.name()).collect();
                        feedloom::errln!(
                            "feedloom: no output named `{name}` in {} (outputs: {})",
                            cfg.source.display(),
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        );
                        return Ok(ExitCode::from(2));
                    }
                },
                None => cfg.outputs[0].clone(),
            };
            // Reads only: a missing store is an error, not created.
            let format = format.into();
            let (bytes, synced) = commands::read_store(&cfg, move |s| {
                Ok((
                    export::render_output(
                        s,
                        &out,
                        format,
                        feedloom::now_unix(),
                        limit.map(|l| l as usize),
                    )?,
                    s.synced_feeds()?,
                ))
            })?;
            if let Some(w) = commands::unsynced_config(&cfg, &synced) {
                feedloom::errln!("feedloom: warning: {w}");
            }
            emit_bytes(&bytes);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            // A store path no store can live at is the config's fault, and
            // every other command refuses it: `check` names it too.
            if cfg.store.url.is_none() {
                feedloom::store::check_store_path(&cfg.store.path)?;
                feedloom::store::check_store_file(&cfg.store.path)?;
            } else {
                // A PostgreSQL store is asked once, read-only: one it cannot
                // use (no such database, a wrong password, another program's,
                // a newer feedloom's) was called valid, and every node then
                // failed. One feedloom has not set up yet (or must upgrade)
                // is fine: `poll` and the daemon do that.
                match commands::read_store(&cfg, |_| Ok(())) {
                    Ok(()) | Err(feedloom::error::StoreError::PgNeedsUpgrade { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            out!("{}", commands::terminal_safe(&app::describe(&cfg)));
            for w in commands::check::warnings(&cfg) {
                outln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds { json } => {
            // Reads only: the store's feeds as they are, marked against this config.
            let (rows, synced) =
                commands::read_store(&cfg, |s| Ok((s.feed_summaries()?, s.synced_feeds()?)))?;
            let rows = feeds_rows(rows, &cfg);
            // (Said when a daemon runs that has not loaded this config: the
            // rows read as its schedule.)
            if let Location::Sqlite(path) = Location::of(&cfg.store)
                && let Some(w) = commands::unloaded_by_daemon(&cfg, &synced, &path)
            {
                feedloom::errln!("feedloom: warning: {w}");
            }
            let now = feedloom::now_unix();
            if json {
                out!("{}", commands::feeds::render_json(&rows, now));
            } else {
                let width = commands::terminal_width();
                out!("{}", commands::feeds::render_table(&rows, now, width));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            query,
            output,
            since,
            limit,
            json,
        } => {
            let args = commands::search::SearchArgs {
                query: query.join(" "),
                output,
                since,
                limit: limit as usize,
                json,
            };
            take_server_time(&cfg);
            let now = feedloom::now_unix();
            Ok(commands::finish(
                commands::search::run(&cfg, &args, now).map(|mut hits| {
                    use std::io::IsTerminal;
                    if let Some(note) = feedloom::store::search::syntax_note(&args.query) {
                        feedloom::errln!("feedloom: note: {note}");
                    }
                    // (Said: the list ended at its 20th without a word.)
                    if hits.len() > args.limit {
                        hits.truncate(args.limit);
                        // (At the most there is, "pass --limit N" pointed
                        // at a value refused.)
                        feedloom::errln!(
                            "feedloom: note: more stories match than the {} shown ({})",
                            args.limit,
                            match args.limit >= 1000 {
                                true =>
                                    "1000 is the most one search lists: add words, or pass --since",
                                false => "pass --limit N for more, up to 1000",
                            }
                        );
                    }
                    if args.json {
                        out!("{}", commands::search::render_json(&hits));
                    } else {
                        let ansi = std::io::stdout().is_terminal();
                        out!("{}", commands::search::render_text(&hits, now, ansi));
                    }
                }),
            ))
        }
        Command::Prune { dry_run, vacuum } => {
            take_server_time(&cfg);
            let now = feedloom::now_unix();
            let retention = commands::prune::retention(&cfg);
            if dry_run {
                // Reads only. (The rules are said once the store answered: a
                // store that cannot be read printed them above its error.)
                let (p, owed, space) = commands::read_store(&cfg, move |s| {
                    Ok((
                        s.prune_preview(now, &retention)?,
                        s.search_merge_owed()?,
                        s.space_owed()?,
                    ))
                })?;
                outln!("{}", commands::prune::describe(&cfg, now));
                outln!("{}", commands::prune::report(&p, true));
                // (It said nothing of it, and `prune` then returned 12 MB.)
                if owed && p.items == 0 {
                    outln!("would merge the search index (an earlier pruning left it unfinished)");
                }
                if let Some(bytes) = space.filter(|_| p.items == 0) {
                    outln!(
                        "would return {:.1} MB of free pages to the file system (an earlier pruning was stopped before it returned them)",
                        bytes as f64 / 1e6
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            if cfg.store.url.is_some() {
                let rt = runtime()?;
                pg_set_up(&cfg, &rt)?;
                let (store, _) = open_writer(&cfg, &rt, "prune")?;
                outln!("{}", commands::prune::describe(&cfg, now));
                let started = std::time::Instant::now();
                let mut p = feedloom::store::prune::Pruned::default();
                loop {
                    let step = rt.block_on(store.prune_step(now, retention))?;
                    p.add(step.pruned);
                    if step.done {
                        break;
                    }
                }
                outln!(
                    "{} in {:.1}s",
                    commands::prune::report(&p, false),
                    started.elapsed().as_secs_f64()
                );
                // The output files list what is left (they listed pruned
                // stories until the next poll). Written even when nothing went
                // now: an earlier prune may have been stopped before it wrote
                // them.
                let mut outputs_failed = 0;
                if cfg.outputs.iter().any(|o| o.path.is_some()) {
                    let failed = rt.block_on(feedloom::refresh::write_outputs(&cfg, &store))?;
                    outputs_failed = failed.len();
                    say_outputs_rewritten(&cfg, outputs_failed);
                }
                outln!(
                    "PostgreSQL reuses the space itself (autovacuum){}",
                    if vacuum {
                        "; --vacuum does nothing here (run VACUUM FULL in psql if you must shrink the tables)"
                    } else {
                        ""
                    }
                );
                // (As `poll`: an output file that could not be written is a
                // failure, each logged above.)
                return Ok(if outputs_failed > 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                });
            }
            // No store: nothing to prune, and none is made (a typo in the
            // path made an empty store and said "removed 0 items").
            feedloom::store::check_store_path(&cfg.store.path)?;
            if !cfg.store.path.exists() {
                return Err(feedloom::error::StoreError::Missing {
                    path: cfg.store.path.clone(),
                }
                .into());
            }
            // The plan after the lock: not printed above a refusal.
            let _lock = StoreLock::acquire(&cfg.store.path, "prune")?;
            // (A store error names the store: "store error while pruning:
            // database or disk is full" said not which.)
            let pruned = || -> anyhow::Result<ExitCode> {
                let mut store = Store::open(&cfg.store.path)?;
                outln!("{}", commands::prune::describe(&cfg, now));
                let started = std::time::Instant::now();
                // Step by step, so that what was committed before a failure
                // (a full disk) is said, and the outputs no longer list it:
                // the error alone hid the items removed.
                let mut p = feedloom::store::prune::Pruned::default();
                let failed = loop {
                    match store.prune_step(now, &retention) {
                        Ok(step) => {
                            p.add(step.pruned);
                            store.checkpoint();
                            if step.done {
                                break None;
                            }
                        }
                        Err(e) => break Some(e),
                    }
                };
                let mut outputs_failed = 0;
                outln!(
                    "{}{} in {:.1}s",
                    commands::prune::report(&p, false),
                    if failed.is_some() {
                        " before the error below"
                    } else {
                        ""
                    },
                    started.elapsed().as_secs_f64()
                );
                if let Some(e) = failed {
                    if p.items > 0 && cfg.outputs.iter().any(|o| o.path.is_some()) {
                        let mut cache = feedloom::export::HtmlCache::default();
                        if let Ok(rendered) = feedloom::export::render_all(
                            &store,
                            &cfg.outputs,
                            feedloom::now_unix(),
                            &mut cache,
                            true,
                        ) {
                            let failed = feedloom::export::write_files(&rendered);
                            say_outputs_rewritten(&cfg, failed.len());
                        }
                    }
                    return Err(e.into());
                }
                // The output files list what is left (they listed pruned stories
                // until the next poll). Written even when nothing went now: an
                // earlier prune may have been stopped before it wrote them. Before the
                // search index's merge, which may fail (a full disk) after the
                // items are gone.
                if cfg.outputs.iter().any(|o| o.path.is_some()) {
                    let mut cache = feedloom::export::HtmlCache::default();
                    let rendered = feedloom::export::render_all(
                        &store,
                        &cfg.outputs,
                        feedloom::now_unix(),
                        &mut cache,
                        true,
                    )?;
                    let failed = feedloom::export::write_files(&rendered);
                    outputs_failed = failed.len();
                    say_outputs_rewritten(&cfg, outputs_failed);
                }
                if p.items > 0 || store.search_merge_owed()? {
                    let started = std::time::Instant::now();
                    let mut steps = 0;
                    while steps < feedloom::store::prune::MAX_MERGE_STEPS
                        && store.merge_search_step()?
                    {
                        steps += 1;
                        store.checkpoint();
                    }
                    store.checkpoint();
                    outln!(
                        "merged the search index in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                }
                let page: i64 = store
                    .conn()
                    .query_row("PRAGMA page_size", [], |r| r.get(0))
                    .unwrap_or(4096);
                if vacuum {
                    let started = std::time::Instant::now();
                    store.vacuum()?;
                    outln!(
                        "vacuumed the store in {:.1}s (incremental auto-vacuum from now on)",
                        started.elapsed().as_secs_f64()
                    );
                } else if store.incremental_vacuum()? {
                    let before = store.free_pages()?;
                    while store.reclaim_step()? > 0 {
                        store.checkpoint();
                    }
                    store.checkpoint();
                    outln!(
                        "returned {:.1} MB to the file system",
                        (before * page) as f64 / 1e6
                    );
                } else {
                    let free = store.free_pages()?;
                    outln!(
                        "{:.1} MB of free pages stay in the file for new items (run `feedloom prune --vacuum` with the daemon stopped to return them and switch to incremental auto-vacuum)",
                        (free * page) as f64 / 1e6
                    );
                }
                Ok(if outputs_failed > 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                })
            };
            pruned().map_err(|e| match e.downcast_ref::<feedloom::error::StoreError>() {
                Some(feedloom::error::StoreError::Sqlite { .. }) => {
                    e.context(format!("store {}", cfg.store.path.display()))
                }
                _ => e,
            })
        }
        Command::Backup { file, force } => Ok(commands::finish(
            commands::backup::run(&cfg, &file, force).map(|line| outln!("{line}")),
        )),
        Command::Restore { file } => Ok(commands::finish(
            commands::backup::restore(&cfg, &file).map(|line| outln!("{line}")),
        )),
        Command::ExportOpml { output } => Ok(commands::finish(commands::opml::export(
            &cfg,
            // (`-` is stdout, as everywhere: a file named `-` was written.)
            output.as_deref().filter(|p| p.as_os_str() != "-"),
            &mut std::io::stdout().lock(),
        ))),
        command @ (Command::Add { .. } | Command::Remove { .. } | Command::ImportOpml { .. }) => {
            Ok(commands::edit(command, &cfg.source))
        }
        Command::Enable { url } => {
            use feedloom::store::feeds::Enabled;
            // As the config reads it (a relative `file:` against its folder),
            // and as the config spells the same feed, when it has it.
            // (An address that is none is said so, as `add` and `remove`
            // say it: it was "no feed with url not url".)
            let url = match commands::add::resolve(&url, &cfg) {
                Ok(u) => {
                    let canon = feedloom::identity::Canon::new(&cfg.identity.strip_params);
                    let u =
                        commands::add::same_feed(&cfg, &u, &canon).map_or(u, |f| f.url().clone());
                    config::split_credentials(&u).0.to_string()
                }
                Err(e) => return Ok(commands::finish(Err(e))),
            };
            if cfg.store.url.is_none() {
                feedloom::store::check_store_path(&cfg.store.path)?;
            }
            let enabled = match &cfg.store.url {
                // No store yet: nothing to enable, and none is created.
                None if !cfg.store.path.exists() => {
                    return Err(feedloom::error::StoreError::Missing {
                        path: cfg.store.path.clone(),
                    }
                    .into());
                }
                // Looked at read-only first: a feed the store does not
                // know, or one with nothing to enable, leaves it untouched
                // (it was opened for writing, and checkpointed, to say so).
                None => match Store::open_read_only(&cfg.store.path)
                    .ok()
                    .and_then(|s| s.what_enable_does(&url).ok())
                {
                    Some(None) => None,
                    Some(Some(Enabled::Nothing)) => Some(Enabled::Nothing),
                    _ => open_store(&cfg)?.with(|s| s.enable_feed(&url))?,
                },
                Some(_) => {
                    let rt = runtime()?;
                    pg_set_up(&cfg, &rt)?;
                    let (store, _) = open_writer(&cfg, &rt, "enable")?;
                    rt.block_on(store.enable_feed(url.clone()))?
                }
            };
            // (A feed the config no longer names is enabled in the store, but
            // nothing fetches it: said, not "enabled" alone.)
            let configured = cfg
                .feeds
                .iter()
                .any(|f| config::split_credentials(f.url()).0.as_str() == url);
            let done = match &enabled {
                Some(Enabled::Enabled(None)) => Some(format!("enabled {url}")),
                // (Both: it said only "enabled".)
                Some(Enabled::Enabled(Some(to))) => Some(format!(
                    "enabled {url}, and forgot that it moved to {}: its configured URL is asked next",
                    feedloom::urls::shown_feed_url(to)
                )),
                // (The address it moved to died: it was asked there for
                // good, and `enable` said "nothing to do".)
                Some(Enabled::MoveForgotten(to)) => Some(format!(
                    "forgot that {url} moved to {}: its configured URL is asked next",
                    feedloom::urls::shown_feed_url(to)
                )),
                _ => None,
            };
            if let Some(done) = done.as_ref().filter(|_| !configured) {
                outln!(
                    "{done} in the store, but the config does not name it: nothing fetches it until it is added back (`feedloom add {url}`)"
                );
                Ok(ExitCode::SUCCESS)
            } else if let Some(done) = done {
                outln!("{done}");
                Ok(ExitCode::SUCCESS)
            } else if enabled == Some(Enabled::Nothing) {
                outln!("{url} is neither disabled nor moved; nothing to do");
                Ok(ExitCode::SUCCESS)
            } else {
                feedloom::errln!(
                    "feedloom: no feed with url {url} in {}",
                    Location::of(&cfg.store).describe()
                );
                Ok(ExitCode::from(2))
            }
        }
    }
}
