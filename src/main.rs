//! The `feedloom` binary: parse the CLI, set up logging, load the config, run.
//! Exit codes: 0 ok, 1 runtime/store error, 2 config or usage error.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use feedloom::cli::{Cli, Command, LogFormat};
use feedloom::config::{self, Config, ConfigError};
use feedloom::store::{SharedStore, Store};
use feedloom::{app, commands, export};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let path = cli.config_path();
    if cli.command.edits_config() {
        return commands::edit(cli.command, &path);
    }
    let cfg = match config::load(&path) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("feedloom: {e}");
            if matches!(e, ConfigError::Read { .. }) && cli.config.is_none() {
                eprintln!("feedloom: pass --config FILE or set FEEDLOOM_CONFIG");
            }
            return ExitCode::from(2);
        }
    };
    match run(cli.command, cfg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("feedloom: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FEEDLOOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(commands::poll::LogWriter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn open_store(cfg: &Config) -> anyhow::Result<SharedStore> {
    Ok(SharedStore::new(Store::open(&cfg.store.path)?))
}

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
            rt.block_on(app::run_from_signals(cfg))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll => {
            let store = open_store(&cfg)?;
            export::remove_stale_temp_files(&cfg.outputs);
            let rt = runtime()?;
            let (summary, _) = rt.block_on(commands::poll::poll(&cfg, store))?;
            println!("{summary}");
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
                        eprintln!(
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
            let store = open_store(&cfg)?;
            let bytes = store.with(|s| {
                export::render_output(
                    s,
                    &out,
                    format.into(),
                    feedloom::now_unix(),
                    limit.map(|l| l as usize),
                )
            })?;
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            print!("{}", app::describe(&cfg));
            for w in commands::check::warnings(&cfg) {
                println!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds { json } => {
            let store = open_store(&cfg)?;
            let feeds_cfg = cfg.feeds.clone();
            let rows = store.with(|s| {
                s.sync_config(&feeds_cfg)?;
                s.feed_summaries()
            })?;
            let now = feedloom::now_unix();
            if json {
                print!("{}", commands::feeds::render_json(&rows, now));
            } else {
                let width = commands::terminal_width();
                print!("{}", commands::feeds::render_table(&rows, now, width));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportOpml { output } => Ok(commands::finish(commands::opml::export(
            &cfg,
            output.as_deref(),
            &mut std::io::stdout().lock(),
        ))),
        command @ (Command::Add { .. } | Command::Remove { .. } | Command::ImportOpml { .. }) => {
            Ok(commands::edit(command, &cfg.source))
        }
        Command::Enable { url } => {
            let store = open_store(&cfg)?;
            let url = config::parse_feed_url(&url)
                .map(|u| u.to_string())
                .unwrap_or(url);
            if store.with(|s| s.enable_feed(&url))? {
                println!("enabled {url}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "feedloom: no feed with url {url} in {}",
                    cfg.store.path.display()
                );
                Ok(ExitCode::from(2))
            }
        }
    }
}
