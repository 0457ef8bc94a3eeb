//! Plain values the store takes and returns, shared by both backends (SQLite and
//! PostgreSQL). The store imports nothing from `fetch`, `config` or `schedule`:
//! those modules convert their own types into these.

/// What the feed's row remembers from its last successful response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A configured feed, as the store keeps it: what syncing the config writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedSpec {
    /// The URL as configured, without credentials: the feed's identity.
    pub url: String,
    /// The config's title override.
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// The URL as written when it carried `user:password@`: the key an older
    /// feedloom stored the feed under (renamed on sync).
    pub url_with_credentials: Option<String>,
}

/// Anything the config sync can take a [`FeedSpec`] from (the config's feed
/// type implements it in `config`, so the store needs no import of it).
pub trait AsFeedSpec {
    fn feed_spec(&self) -> FeedSpec;
}

impl AsFeedSpec for FeedSpec {
    fn feed_spec(&self) -> FeedSpec {
        self.clone()
    }
}
