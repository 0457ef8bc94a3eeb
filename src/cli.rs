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
    Poll {
        /// Fetch feeds that are backing off after failures too (by default a
        /// server's Retry-After and the error backoff are honoured).
        #[arg(long)]
        all: bool,
    },
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
    /// Re-enable a feed disabled after 410 Gone, or forget where it moved for good.
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
        /// The OPML file (`-`: standard input).
        file: PathBuf,
        /// Then send SIGHUP to the running daemon.
        #[arg(long)]
        reload: bool,
        /// Import `file:` feeds and feeds on this machine or a private address
        /// too (skipped otherwise: a configured feed's address is trusted).
        #[arg(long)]
        allow_local: bool,
    },
    /// Search the stored stories: best matches first, one per story.
    Search {
        /// Words (all must occur), "a phrase", or word* for a prefix.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Only what this output shows (its tags, rules and min_sources).
        #[arg(long)]
        output: Option<String>,
        /// Only stories first seen this recently, e.g. 7d, 36h.
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Most stories shown.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove what `[store] keep` and `keep_fetch_log` no longer keep (the daemon does this daily).
    Prune {
        /// Only say what would be removed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Then rewrite the whole file (VACUUM): returns all free space and switches
        /// an older store to incremental auto-vacuum. Blocks writers while it runs.
        #[arg(long, conflicts_with = "dry_run")]
        vacuum: bool,
    },
    /// Copy the store to FILE, consistently, while the daemon may be writing.
    Backup {
        /// The copy to write; must not exist unless --force.
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the store with a backup FILE (the daemon stopped); the store it
    /// replaces is kept beside it
    Restore {
        /// The backup to restore (made by `feedloom backup`).
        file: PathBuf,
    },
    /// Print the config's feeds as OPML 2.0 (tags as folders and categories).
    ExportOpml {
        /// Write to this file instead of stdout (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command edits the config (and so loads it itself; a missing
    /// config file is created by `add` and `import-opml`).
    /// Whether the command sends requests to feeds (and so needs their
    /// `headers` and `auth`): `run`, `poll`, and `check`, which reads them
    /// to check them.
    pub fn sends_requests(&self) -> bool {
        matches!(self, Command::Run | Command::Poll { .. } | Command::Check)
    }

    pub fn edits_config(&self) -> bool {
        matches!(
            self,
            Command::Add { .. } | Command::Remove { .. } | Command::ImportOpml { .. }
        )
    }
}
