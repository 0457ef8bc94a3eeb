//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Format;

#[derive(Debug, Parser)]
#[command(
    name = "feedloom",
    version,
    about = "Many feeds in, one river out: a feed aggregator daemon"
)]
pub struct Cli {
    /// Config file [default: $FEEDLOOM_CONFIG, else ./config/feedloom.toml]
    #[arg(long, short, global = true, env = "FEEDLOOM_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("config/feedloom.toml"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Atom,
    Rss,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Atom => Format::Atom,
            FormatArg::Rss => Format::Rss,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll on schedule, serve outputs over HTTP, until SIGTERM.
    Run,
    /// Fetch every feed once, store new items, write output files, exit.
    Poll,
    /// Print a merged feed to stdout.
    Export {
        #[arg(long, value_enum, default_value_t = FormatArg::Atom)]
        format: FormatArg,
        /// Output name from the config [default: the first output].
        #[arg(long)]
        output: Option<String>,
        /// Maximum stories [default: the output's max_items].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: Option<u32>,
    },
    /// Validate the config and say what it would do.
    Check,
    /// Show every feed: last fetch, status, items, last error.
    Feeds,
    /// Re-enable a feed that was disabled (after 410 Gone).
    Enable {
        /// The feed's URL as the config writes it.
        url: String,
    },
}
