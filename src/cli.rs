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
    /// The river page, with absolute times (as written to files).
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Atom => Format::Atom,
            FormatArg::Rss => Format::Rss,
            FormatArg::Json => Format::Json,
            FormatArg::Html => Format::Html,
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
    /// Show every feed: status, last and next fetch, items, last error.
    Feeds {
        /// Print a JSON array instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Re-enable a feed that was disabled (after 410 Gone).
    Enable {
        /// The feed's URL as the config writes it.
        url: String,
    },
    /// Subscribe to a feed, given its URL or a web page that declares it.
    Add {
        /// A feed URL, or a site URL whose page declares its feeds.
        url: String,
        /// Tag the feed (repeat for several).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Title to show instead of the feed's own.
        #[arg(long)]
        title: Option<String>,
        /// Poll interval for the daemon, e.g. "2h".
        #[arg(long, value_name = "DURATION")]
        every: Option<String>,
        /// When the page declares several feeds, take the Nth (from 1).
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
        /// Then send SIGHUP to the running daemon so it picks the feed up.
        #[arg(long)]
        reload: bool,
    },
    /// Unsubscribe: remove a feed's block from the config (its items stay in the store).
    Remove {
        /// The feed's URL, as written in the config or an equivalent form.
        url: String,
        /// Then send SIGHUP to the running daemon.
        #[arg(long)]
        reload: bool,
    },
    /// Add the feeds of an OPML file (from another reader) to the config.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
        /// Then send SIGHUP to the running daemon.
        #[arg(long)]
        reload: bool,
    },
    /// Print the config's feeds as OPML 2.0 (tags as folders and categories).
    ExportOpml {
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command edits the config (and so loads it itself; a missing
    /// config file is created by `add` and `import-opml`).
    pub fn edits_config(&self) -> bool {
        matches!(
            self,
            Command::Add { .. } | Command::Remove { .. } | Command::ImportOpml { .. }
        )
    }
}
