//! The HTTP and file client: conditional GET, bounded bodies, manual redirects (so
//! permanent ones can be told from temporary ones), per-host politeness, and the
//! network guard. It never decodes text: the body goes to the parser as raw
//! bytes, with the Content-Type charset alongside.
//!
//! * `mod.rs`: [`Fetcher`] and the request/redirect loop.
//! * [`politeness`]: host and global slots, gaps between requests to a host.
//! * [`guard`]: which addresses a fetch may connect to (SSRF), and the resolver.
//! * [`budget`]: the bound on body bytes held by all fetches together.
//! * [`headers`]: what response headers say (validators, caching, Retry-After).
//!
//! Never here: parsing, the store, scheduling decisions.

pub mod budget;
pub mod guard;
pub mod headers;
pub mod politeness;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header;
use url::Url;

pub use budget::{Body, Buffered};
pub use guard::{Lookup, Network};
pub use headers::{cache_hints, parse_http_date, retry_after};
pub use politeness::Slot;

use crate::config::{Access, Auth, FetchConfig};
use crate::error::{BodyProgress, FetchError, NetFailure, Timeouts, Waiting};
use budget::{BodyBuf, Budget};
use guard::{GuardedResolver, Policy};
use headers::{charset, header_string};

/// What the feed's row remembers from its last successful response (a store value).
pub use crate::store::model::Validators;

/// Caching hints a response carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheHints {
    /// From Cache-Control max-age, else Expires.
    pub fresh_for: Option<Duration>,
}

/// The result of one fetch that did not fail.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304 (or an unchanged local file): nothing to parse.
    NotModified {
        status: u16,
        hints: CacheHints,
        redirect: Option<Redirect>,
        /// The validators the 304 carried, each `None` when it carried none
        /// (the stored one stays): a server that rotates its ETag answers
        /// 304 only to the one it sent last.
        validators: Validators,
    },
    Fetched(Box<Fetched>),
}

/// Where the request ended up, when it was redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub final_url: Url,
    /// Every hop was 301 or 308.
    pub permanent: bool,
}

#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// Counts against `fetch.max_buffered` until dropped.
    pub body: Body,
    /// The charset parameter of Content-Type, if any.
    pub charset: Option<String>,
    /// The Content-Type as sent (`None` for a file, or when absent).
    pub content_type: Option<String>,
    pub validators: Validators,
    pub hints: CacheHints,
    /// The URL the body came from (base for relative links).
    pub final_url: Url,
    pub redirect: Option<Redirect>,
}

/// Whose fetch this is. Hops to the host the admin configured for the feed are
/// not checked by the network guard, and only they carry the feed's headers and
/// credentials; every other host a redirect leads to is checked and gets neither.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The configured feed URL's host (`None`: no host is trusted).
    pub host: Option<String>,
    /// Its scheme and port (its scheme's default when none is written): the
    /// feed's credentials and headers go to that origin only, or to its
    /// `https` upgrade on the default port.
    pub scheme_port: Option<(String, Option<u16>)>,
    pub access: Arc<Access>,
    /// The configured host is checked by the network guard all the same (a
    /// feed marked `untrusted`); it still gets the feed's headers and
    /// credentials.
    pub guard_home: bool,
}

impl Origin {
    /// The origin of a feed configured as `url`.
    pub fn configured(url: &Url, access: Arc<Access>) -> Origin {
        Origin {
            host: url.host_str().map(str::to_ascii_lowercase),
            scheme_port: Some((url.scheme().to_string(), url.port_or_known_default())),
            access,
            guard_home: false,
        }
    }

    /// The origin of a feed marked `untrusted`: its own host is checked too.
    pub fn untrusted(url: &Url, access: Arc<Access>) -> Origin {
        Origin {
            guard_home: true,
            ..Origin::configured(url, access)
        }
    }

    /// Whether a hop to `url` carries the feed's credentials and headers: its
    /// configured host, with the same scheme and port, or its `http` feed's
    /// upgrade to `https` on the default ports; never another port of the
    /// host, nor `https` downgraded to `http` (the password in clear).
    fn gets_access(&self, url: &Url) -> bool {
        if !self.is_home(url) {
            return false;
        }
        let Some((scheme, port)) = &self.scheme_port else {
            return true;
        };
        let hop = (url.scheme(), url.port_or_known_default());
        hop == (scheme.as_str(), *port)
            || (scheme == "http" && *port == Some(80) && hop == ("https", Some(443)))
    }

    fn is_home(&self, url: &Url) -> bool {
        self.host.is_some()
            && url
                .host_str()
                .is_some_and(|h| Some(h.to_ascii_lowercase()) == self.host)
    }
}

/// The shared client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    /// For hops to the feed's configured host: no address checks.
    home: reqwest::Client,
    /// For every other hop: resolved addresses checked by the guard.
    guarded: reqwest::Client,
    /// The two without idle connections: a request asked again goes on a
    /// new one (another kept-alive one may be as stale as the first).
    home_fresh: reqwest::Client,
    guarded_fresh: reqwest::Client,
    policy: Arc<Policy>,
    cfg: Arc<FetchConfig>,
    slots: Arc<politeness::Slots>,
    budget: Arc<Budget>,
}

/// How long an idle keep-alive connection is kept for the next fetch from its
/// host (reqwest's default: 90 s). Ten times the default `host_gap`, so the
/// feeds of one host still share connections; but each idle connection keeps
/// its socket and its last read buffer (60–90 KB each, measured at 10,000
/// feeds: docs/performance.md, change 24), and feeds on distinct hosts are
/// rarely fetched again that soon: at the start-up spread of 10,000 such
/// feeds, 90 s could keep thousands open (file descriptors past
/// `LimitNOFILE`, hundreds of MB). A request to a host that is not busy (see
/// `politeness::Slots::busy`) asks for its connection to be closed after the
/// response, so that it does not idle at all (docs/performance.md, change 25).
const IDLE_CONNECTION: Duration = Duration::from_secs(5);

impl Fetcher {
    /// Why a fetch of `url` on a host other than a feed's own would be
    /// refused before anything is asked (an address written as a non-public
    /// IP), or `None`.
    pub fn refuses_address(&self, url: &url::Url) -> Option<&'static str> {
        guard::literal_ip(url).and_then(|ip| self.policy.refuses(ip))
    }

    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, reqwest::Error> {
        Fetcher::with_network(cfg, Network::system())
    }

    /// A fetcher that resolves names with `net.lookup` (tests inject their own).
    pub fn with_network(cfg: &FetchConfig, net: Network) -> Result<Fetcher, reqwest::Error> {
        let policy = Arc::new(Policy {
            allow_private: cfg.allow_private_networks,
            treat_as_public: net.treat_as_public.clone(),
        });
        let client = |check: bool, idle: usize| {
            reqwest::Client::builder()
                .user_agent(cfg.user_agent.clone())
                // (The whole request's time, `fetch.timeout`, is kept by
                // `fetch_in`, which does not count waiting for a host's turn
                // or for the body budget.)
                .connect_timeout(connect_timeout(cfg))
                .redirect(reqwest::redirect::Policy::none())
                // Gzip and deflate are decoded here, not by the client,
                // under max_body and for every way RFC 9110 labels them, and
                // raw deflate too (see [`Gunzip`]); the client still decodes
                // brotli.
                .gzip(false)
                // (A feed is asked for as one: a server that negotiates
                // content was told `*/*`, and may have sent its HTML page.
                // A feed's own `Accept` header replaces it.)
                .default_headers(reqwest::header::HeaderMap::from_iter([
                    (
                        header::ACCEPT_ENCODING,
                        header::HeaderValue::from_static("gzip, br, deflate"),
                    ),
                    (header::ACCEPT, header::HeaderValue::from_static(ACCEPT)),
                ]))
                // (A header folded over two lines, obsolete but still sent
                // by old servers, is read as one with a space, as curl
                // does: the feed failed on "invalid HTTP header parsed".)
                .http1_allow_obsolete_multiline_headers_in_responses(true)
                .pool_max_idle_per_host(idle)
                .pool_idle_timeout(IDLE_CONNECTION)
                .dns_resolver(Arc::new(GuardedResolver {
                    lookup: net.lookup.clone(),
                    policy: policy.clone(),
                    check,
                }))
                .build()
        };
        Ok(Fetcher {
            home: client(false, cfg.per_host)?,
            guarded: client(!cfg.allow_private_networks, cfg.per_host)?,
            home_fresh: client(false, 0)?,
            guarded_fresh: client(!cfg.allow_private_networks, 0)?,
            policy,
            budget: Arc::new(Budget::new(
                cfg.max_buffered(),
                cfg.max_body.0,
                cfg.concurrency,
            )),
            slots: Arc::new(politeness::Slots::new(
                cfg.concurrency,
                cfg.per_host,
                cfg.host_gap.0,
            )),
            cfg: Arc::new(cfg.clone()),
        })
    }

    /// Caps how long a host's Retry-After holds its other feeds
    /// (`[defaults] max_backoff`, which caps how long any Retry-After is
    /// honoured).
    pub fn with_max_hold(self, max: Duration) -> Fetcher {
        self.slots.set_max_hold(max);
        self
    }

    /// Holds the URL's server until `until` (Unix seconds; at most
    /// `max_backoff` from now), as a 429 or 503 answered now would: a hold
    /// the store recorded, which another run of feedloom was given
    /// ([`crate::error::stored_hold`]).
    pub fn hold_until(&self, url: &Url, until: i64, asked: bool) {
        let left = until.saturating_sub(crate::now_unix());
        if left > 0 {
            self.slots
                .hold(url, Duration::from_secs(left.unsigned_abs()), asked);
        }
    }

    /// [`Fetcher::with_max_hold`] on a fetcher in use (a reload).
    pub fn set_max_hold(&self, max: Duration) {
        self.slots.set_max_hold(max);
    }

    /// Takes over `old`'s politeness (a fetcher that replaces it on a
    /// reload), with this one's limits: its hosts' requests in flight and
    /// waiting, their turns, and the servers that asked for time (a
    /// Retry-After that a fetch still running on `old` brings holds the
    /// server for this one too).
    pub fn keep_slots_of(&mut self, old: &Fetcher) {
        old.slots.reconfigure(&self.slots);
        self.slots = old.slots.clone();
    }

    /// Waits for a slot on the URL's host (per-host cap and gap), then a global one.
    pub async fn acquire(&self, url: &Url) -> Slot {
        self.slots.acquire(url).await
    }

    /// Body bytes held now, at most so far, and the budget (`fetch.max_buffered`).
    pub fn buffered(&self) -> Buffered {
        self.budget.buffered()
    }

    /// Fetches `url` under the configured limits, sending the validators it
    /// has, in a [`Slot`] of its own.
    pub async fn fetch(
        &self,
        url: &Url,
        v: &Validators,
        origin: &Origin,
    ) -> Result<FetchOutcome, FetchError> {
        let mut slot = self.acquire(url).await;
        self.fetch_in(&mut slot, url, v, origin).await
    }

    /// Fetches `url` under the configured limits, sending the validators it
    /// has. The caller holds `slot` for the URL; a redirect moves it to the
    /// next host ([`politeness::Slots::reacquire`]). `fetch.timeout` bounds
    /// the time spent on the network: waiting for a host's turn or for the
    /// body budget (`fetch.max_buffered`) is not counted, as it is no fault
    /// of this feed's server.
    pub async fn fetch_in(
        &self,
        slot: &mut Slot,
        url: &Url,
        v: &Validators,
        origin: &Origin,
    ) -> Result<FetchOutcome, FetchError> {
        let mut deadline = Deadline {
            at: tokio::time::Instant::now() + self.cfg.timeout.0,
            limit: self.cfg.timeout.0,
        };
        self.fetch_inner(slot, &mut deadline, url, v, origin).await
    }

    async fn fetch_inner(
        &self,
        slot: &mut Slot,
        deadline: &mut Deadline,
        url: &Url,
        v: &Validators,
        origin: &Origin,
    ) -> Result<FetchOutcome, FetchError> {
        if url.scheme() == "file" {
            if origin.guard_home {
                return Err(FetchError::UntrustedFile {
                    url: url.to_string(),
                });
            }
            // (A FIFO or a hung network share must not hold the slot for ever.)
            return deadline
                .run(
                    url,
                    None,
                    fetch_file(url, v, self.cfg.max_body.0, &self.budget),
                )
                .await?;
        }
        let mut current = url.clone();
        let mut permanent = true;
        let mut hops = 0usize;
        // The failure of a request being asked once more (see below), and
        // whether one was.
        let mut first_failure: Option<reqwest::Error> = None;
        let mut asked_again = false;
        loop {
            if hops > 0 || first_failure.is_some() {
                let waited = tokio::time::Instant::now();
                self.slots.reacquire(slot, &current).await;
                deadline.at += waited.elapsed();
            }
            // (Also when the hold ended a moment after the slot was handed
            // out empty: the request would go without a slot.)
            let held = self
                .slots
                .held(&current)
                .or_else(|| slot.is_held().then_some((Duration::from_secs(1), true)));
            if let Some((left, asked)) = held {
                // (A request the server closed unanswered went out: its
                // failure is what happened, not "not requested".)
                if let Some(e) = first_failure.take() {
                    return Err(self.request_error(&current, origin.is_home(&current), e, None));
                }
                return Err(FetchError::HostHeld {
                    url: current.to_string(),
                    host: current[url::Position::BeforeHost..url::Position::AfterPort].to_string(),
                    left,
                    asked,
                });
            }
            let home = origin.is_home(&current);
            // The admin's own host goes unchecked; an untrusted feed's does not.
            let trusted = home && !origin.guard_home;
            if !trusted
                && let Some(ip) = guard::literal_ip(&current)
                && let Some(reason) = self.policy.refuses(ip)
            {
                return Err(FetchError::Blocked {
                    url: current.to_string(),
                    host: None,
                    addr: ip,
                    reason,
                    own_host: home,
                });
            }
            let client = match (trusted, first_failure.is_some()) {
                (true, false) => &self.home,
                (false, false) => &self.guarded,
                (true, true) => &self.home_fresh,
                (false, true) => &self.guarded_fresh,
            };
            let mut req = client.get(current.clone());
            if let Some(etag) = &v.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            // (Not one stored before such dates were dropped, that says a
            // time to come: the server answered 304 for good.)
            if let Some(lm) = v
                .last_modified
                .as_ref()
                .filter(|lm| parse_http_date(lm).is_none_or(|t| t <= crate::now_unix() + 60))
            {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            if home && origin.gets_access(&current) {
                req = with_access(req, &origin.access);
            }
            if !self.slots.busy(&current) {
                // Not to be reused soon: closed after the response, not pooled.
                req = req.header(header::CONNECTION, "close");
            }
            // A connection the server closed or reset before answering (a
            // kept-alive one it had just timed out, as it reused it) is asked
            // once more, as browsers and curl do (a GET may be): in the host's
            // turn again, unless the host asked for time meanwhile. Should
            // that fail too, the first failure is what is said.
            let sent = match deadline
                .run(&current, Some(Waiting::ForAnswer), req.send())
                .await
            {
                Ok(sent) => sent,
                Err(late) => {
                    return Err(match first_failure {
                        Some(e) => self.request_error(&current, home, e, None),
                        None => late,
                    });
                }
            };
            let resp = match sent {
                Ok(resp) => {
                    // (Answered: a later hop's failure is its own, and its
                    // request may be asked again too.)
                    first_failure = None;
                    asked_again = false;
                    resp
                }
                Err(e) if !asked_again && self.closed_unanswered(&e) => {
                    asked_again = true;
                    tracing::debug!(url = %crate::urls::shown_feed_url(current.as_str()),
                        error = %crate::urls::shown_urls_in(&crate::error::chain(&e)),
                        "connection closed before an answer: asking again");
                    first_failure = Some(e);
                    continue;
                }
                Err(e) => {
                    let e = first_failure.take().unwrap_or(e);
                    return Err(self.request_error(&current, home, e, None));
                }
            };
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    // (Raw UTF-8, `/feed/café`, is percent-encoded by the
                    // join, as browsers and curl follow it; `to_str` took
                    // visible ASCII only, and the feed failed on "HTTP 301".)
                    .map(|l| location_text(l.as_bytes()));
                let joined = location
                    .as_deref()
                    .filter(|l| !l.is_empty())
                    .map(|l| current.join(l));
                let Some(Ok(mut next)) = joined else {
                    return Err(FetchError::NoRedirectTarget {
                        url: current.to_string(),
                        status,
                        why: joined.and_then(|j| j.err()).map(|e| e.to_string()),
                        location,
                    });
                };
                // (Port 0 is no port: it was asked, "connect: refused",
                // naming neither the feed nor the redirect.)
                if next.port() == Some(0) {
                    return Err(FetchError::NoRedirectTarget {
                        url: current.to_string(),
                        status,
                        why: Some("port 0 is no port".to_string()),
                        location,
                    });
                }
                // Credentials in a Location are neither sent nor kept.
                let _ = next.set_username("");
                let _ = next.set_password(None);
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::BadRedirect {
                        url: current.to_string(),
                        location: next.to_string(),
                    });
                }
                hops += 1;
                if hops > self.cfg.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        url: url.to_string(),
                        limit: self.cfg.max_redirects,
                    });
                }
                permanent &= matches!(status, 301 | 308);
                current = next;
                continue;
            }
            let redirect = (hops > 0).then(|| Redirect {
                final_url: current.clone(),
                permanent,
            });
            let hints = cache_hints(resp.headers());
            if status == 304 {
                if v.etag.is_none() && v.last_modified.is_none() {
                    return Err(FetchError::UnaskedNotModified {
                        url: current.to_string(),
                    });
                }
                return Ok(FetchOutcome::NotModified {
                    status,
                    hints,
                    redirect,
                    validators: Validators {
                        etag: header_string(resp.headers(), header::ETAG),
                        last_modified: headers::last_modified(
                            resp.headers(),
                            header_string(resp.headers(), header::LAST_MODIFIED),
                        ),
                    },
                });
            }
            // (A 204 or 205 holds no document by definition: it was "not a
            // feed", as if one had been read.)
            if !resp.status().is_success() || matches!(status, 204 | 205) {
                let retry_after = retry_after(resp.headers());
                let cap = self.slots.max_hold();
                let mut unasked_hold = None;
                // (A Retry-After already over, 0 or a date past, asks for
                // no time: a 429 with one is held as one without.)
                let asked = retry_after.filter(|d| !d.is_zero());
                if let Some(wait) = asked.filter(|_| matches!(status, 429 | 503)) {
                    self.slots.hold(&current, wait, true);
                } else if status == 429 {
                    // Too many requests, without saying how long to wait:
                    // from the client, not to this URL; its other feeds wait
                    // a minute, and so does this one.
                    self.slots.hold(&current, politeness::UNASKED_HOLD, false);
                    unasked_hold = Some(politeness::UNASKED_HOLD.min(cap));
                }
                return Err(FetchError::Status {
                    url: current.to_string(),
                    status,
                    retry_after,
                    capped_at: retry_after.filter(|d| *d > cap).map(|_| cap),
                    moved_for_now: !permanent,
                    unasked_hold,
                    unread_retry_after: resp
                        .headers()
                        .get(header::RETRY_AFTER)
                        .filter(|_| retry_after.is_none())
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string()),
                });
            }
            // What the headers say, taken before the body consumes the
            // response (a clone of the whole map cost more than the fields).
            let charset = charset(resp.headers());
            let content_type = header_string(resp.headers(), header::CONTENT_TYPE);
            let layers = undecoded(resp.headers());
            let undecodable = undecodable_coding(resp.headers()).filter(|_| layers.is_none());
            let validators = Validators {
                etag: header_string(resp.headers(), header::ETAG),
                last_modified: headers::last_modified(
                    resp.headers(),
                    header_string(resp.headers(), header::LAST_MODIFIED),
                ),
            };
            let max = self.cfg.max_body.0;
            let expected = resp.content_length();
            if expected.is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge {
                    url: current.to_string(),
                    limit: max,
                });
            }
            // (Content-Length is the encoded size when feedloom decodes.)
            let mut gunzip = Gunzip::new(layers, max);
            let mut body = BodyBuf::new(&self.budget, expected.filter(|_| gunzip.is_none()));
            let mut stream = resp.bytes_stream();
            let too_large = || FetchError::TooLarge {
                url: current.to_string(),
                limit: max,
            };
            let invalid = |e: std::io::Error| FetchError::Network {
                url: current.to_string(),
                failure: NetFailure::Other(format!("body: invalid compressed data ({e})")),
            };
            // Bytes as sent (compressed when feedloom decodes), which is what
            // Content-Length counts: the decoded length read "closed after
            // 9297 of 2140 bytes".
            let mut sent: u64 = 0;
            loop {
                let progress = Waiting::ForBody(BodyProgress {
                    received: sent,
                    expected,
                });
                let chunk = deadline
                    .run(&current, Some(progress), stream.next())
                    .await?;
                let Some(chunk) = chunk else { break };
                let chunk = chunk.map_err(|e| {
                    let progress = BodyProgress {
                        received: sent,
                        expected,
                    };
                    self.request_error(&current, home, e, Some(progress))
                })?;
                sent += chunk.len() as u64;
                // Decoded a little at a time, so that a bomb never holds more
                // than a step's output outside the budget.
                for piece in chunk.chunks(if gunzip.is_some() {
                    1024
                } else {
                    chunk.len().max(1)
                }) {
                    let data = match &mut gunzip {
                        Some(g) => match g.feed(piece) {
                            Ok(data) => std::borrow::Cow::Owned(data),
                            Err(_) if g.over() => return Err(too_large()),
                            Err(e) => return Err(invalid(e)),
                        },
                        None => std::borrow::Cow::Borrowed(piece),
                    };
                    if body.len() as u64 + data.len() as u64 > max {
                        return Err(too_large());
                    }
                    let waited = tokio::time::Instant::now();
                    body.extend(&data).await;
                    deadline.at += waited.elapsed();
                }
            }
            if let Some(g) = gunzip {
                let rest = g.finish().map_err(|e| match e {
                    None => too_large(),
                    Some(e) => invalid(e),
                })?;
                if body.len() as u64 + rest.len() as u64 > max {
                    return Err(too_large());
                }
                body.extend(&rest).await;
            }
            let body = body.finish();
            // A compression nothing decoded, over a body that is not text as
            // sent (a plain body under a wrong label reads as it always did).
            if let Some(coding) = undecodable.filter(|_| !looks_like_a_document(&body)) {
                return Err(FetchError::Coding {
                    url: current.to_string(),
                    coding,
                });
            }
            return Ok(FetchOutcome::Fetched(Box::new(Fetched {
                status,
                body,
                charset,
                content_type,
                validators,
                hints,
                final_url: current,
                redirect,
            })));
        }
    }

    /// A failed request as the feed's error: refused by the network guard, or
    /// the root cause ([`NetFailure::of`]). The client's whole chain of causes
    /// goes to the debug log.
    /// Whether a request failed as the server closed or reset its
    /// connection before any answer.
    fn closed_unanswered(&self, e: &reqwest::Error) -> bool {
        guard::find_blocked(e).is_none()
            && matches!(
                NetFailure::of(e, self.limits(), None),
                NetFailure::Closed | NetFailure::Reset
            )
    }

    fn limits(&self) -> Timeouts {
        Timeouts {
            total: self.cfg.timeout.0,
            connect: connect_timeout(&self.cfg),
        }
    }

    fn request_error(
        &self,
        url: &Url,
        home: bool,
        e: reqwest::Error,
        body: Option<BodyProgress>,
    ) -> FetchError {
        if let Some(b) = guard::find_blocked(&e) {
            return FetchError::Blocked {
                url: url.to_string(),
                host: Some(b.host.clone()),
                addr: b.addr,
                reason: b.reason,
                // The home host is guarded only for an untrusted feed.
                own_host: home,
            };
        }
        tracing::debug!(url = %crate::urls::shown_feed_url(url.as_str()), error = %crate::urls::shown_urls_in(&crate::error::chain(&e)), "request failed");
        match NetFailure::of(&e, self.limits(), body) {
            NetFailure::Timeout(after) => FetchError::Timeout {
                url: url.to_string(),
                after,
                waiting: body.map(Waiting::ForBody),
            },
            failure => FetchError::Network {
                url: url.to_string(),
                failure,
            },
        }
    }
}

/// A Location header as text: UTF-8 as it is (the join percent-encodes it),
/// other bytes above ASCII percent-encoded (`/caf\xE9` is `/caf%E9`, as a
/// browser follows it); trimmed. Empty: no place to go.
fn location_text(raw: &[u8]) -> String {
    let text = match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw
            .iter()
            .map(|&b| match b {
                0x80.. => format!("%{b:02X}"),
                _ => char::from(b).to_string(),
            })
            .collect(),
    };
    text.trim().to_string()
}

/// Gzip layers or deflate data the HTTP client left on a body, decoded as
/// the body arrives
/// (see [`undecoded`]): the encoded bytes are never held, and the
/// decoded ones go into the body under `max_body` and the budget.
enum Gunzip {
    One(Box<Members<Capped>>, Arc<std::sync::atomic::AtomicBool>),
    Two(
        Box<Members<Members<Capped>>>,
        Arc<std::sync::atomic::AtomicBool>,
    ),
    Deflate(Box<Inflate<Capped>>, Arc<std::sync::atomic::AtomicBool>),
}

/// The compression feedloom decodes itself (see [`undecoded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layers {
    /// One or two gzip layers.
    Gzip(usize),
    /// `deflate`: zlib-wrapped as RFC 9110 says, or raw as some servers send it.
    Deflate,
}

/// `deflate` as servers send it: zlib-wrapped (RFC 9110), or raw deflate
/// data (RFC 1951: old IIS and PHP stacks send it, and browsers read it; the
/// HTTP client refused it), told apart by the first two bytes as browsers do.
/// Bytes after the end of the data are ignored, up to [`MAX_AFTER_GZIP`].
enum Inflate<W: std::io::Write> {
    /// Nothing decided yet: the writer and the first bytes.
    Start(W, Vec<u8>),
    Zlib(flate2::write::ZlibDecoder<W>, usize),
    Raw(flate2::write::DeflateDecoder<W>, usize),
    /// Not compressed at all: a document under a wrong label (`Deflate`,
    /// `identity, deflate`), read as sent, as it was before feedloom
    /// decoded deflate itself.
    Plain(W),
    /// The writer went with a failed write.
    Lost,
}

/// Bytes looked at before deciding how `deflate` data is sent.
const INFLATE_HEAD: usize = 16;
/// The most bytes looked at, white space before the first included (a PHP
/// page's blank lines before `<?xml` used the 16 up).
const INFLATE_HEAD_MAX: usize = 1024;

impl<W: std::io::Write> Inflate<W> {
    fn get_mut(&mut self) -> Option<&mut W> {
        match self {
            Inflate::Start(w, _) | Inflate::Plain(w) => Some(w),
            Inflate::Zlib(d, _) => Some(d.get_mut()),
            Inflate::Raw(d, _) => Some(d.get_mut()),
            Inflate::Lost => None,
        }
    }

    fn finish(mut self) -> std::io::Result<W> {
        if matches!(self, Inflate::Start(..)) {
            self.decide()?;
        }
        match self {
            Inflate::Start(w, _) | Inflate::Plain(w) => Ok(w),
            Inflate::Zlib(d, _) => d.finish(),
            Inflate::Raw(d, _) => d.finish(),
            Inflate::Lost => Err(writer_lost()),
        }
    }

    /// Decides from the first bytes: a document as sent, zlib (its header:
    /// method 8, and the two bytes a multiple of 31), or raw deflate, as
    /// browsers tell them apart.
    fn decide(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        let Inflate::Start(w, head) = std::mem::replace(self, Inflate::Lost) else {
            return Ok(());
        };
        if head.is_empty() {
            *self = Inflate::Start(w, head);
            return Ok(());
        }
        *self = if plain_document(&head) {
            Inflate::Plain(w)
        } else if head.len() >= 2
            && head[0] & 0x0f == 8
            && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0
        {
            Inflate::Zlib(flate2::write::ZlibDecoder::new(w), 0)
        } else {
            Inflate::Raw(flate2::write::DeflateDecoder::new(w), 0)
        };
        // (Through `write`: the head may hold the end of the data and
        // bytes after it, which are ignored as any others.)
        self.write_all(&head)
    }
}

/// Whether the first bytes of a body are a feed document as written (after
/// a byte-order mark and white space: an XML declaration, a comment, a
/// doctype, an `rss`, `feed` or `rdf` root, or a JSON object's first member)
/// rather than compressed data, which may start with `<` or `{` too.
fn plain_document(head: &[u8]) -> bool {
    let head = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
    let head = head.trim_ascii_start().to_ascii_lowercase();
    // A root with a prefix too: `<atom:feed`, `<rdf:RDF`.
    let root = head.strip_prefix(b"<").map(|r| {
        let end = r
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.')))
            .unwrap_or(r.len());
        let name = &r[..end];
        name.rsplit(|&b| b == b':').next().unwrap_or(name).to_vec()
    });
    [&b"<?xml"[..], b"<!--", b"<!doctype"]
        .iter()
        .any(|p| head.starts_with(p))
        || root.is_some_and(|n| matches!(n.as_slice(), b"rss" | b"feed" | b"rdf"))
        || head
            .strip_prefix(b"{")
            .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"\""))
}

impl<W: std::io::Write> std::io::Write for Inflate<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Inflate::Start(_, head) = self {
            let take = (INFLATE_HEAD_MAX - head.len()).min(buf.len());
            head.extend_from_slice(&buf[..take]);
            // (White space waits for more, wherever it stands: a PHP
            // page's blank lines before `<?xml`, a JSON object's spaces
            // before its first member. Compressed data has enough other
            // bytes to be decided after 16 of them.)
            let significant = head.iter().filter(|b| !b.is_ascii_whitespace()).count();
            if significant >= INFLATE_HEAD || head.len() >= INFLATE_HEAD_MAX {
                self.decide()?;
            }
            return Ok(take);
        }
        let (n, ignored) = match self {
            Inflate::Plain(w) => return w.write(buf),
            Inflate::Zlib(d, ignored) => (d.write(buf)?, ignored),
            Inflate::Raw(d, ignored) => (d.write(buf)?, ignored),
            _ => return Err(writer_lost()),
        };
        if n > 0 {
            return Ok(n);
        }
        // The data ended: what follows is ignored.
        *ignored += buf.len();
        if *ignored > MAX_AFTER_GZIP {
            return Err(std::io::Error::other(
                "more than 64 KiB after the end of the deflate data",
            ));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Inflate::Zlib(d, _) => d.flush(),
            Inflate::Raw(d, _) => d.flush(),
            Inflate::Plain(w) => w.flush(),
            _ => Ok(()),
        }
    }
}

/// Gzip members one after another (a file appended to, or compressed in
/// pieces, is one body), into `W`; bytes after a member that do not start
/// another (padding, trailing garbage) are ignored, as `gzip -d` does (a
/// feed padded with NULs was refused).
struct Members<W: std::io::Write> {
    member: Option<flate2::write::GzDecoder<W>>,
    /// The writer once a member ended and no other followed.
    done: Option<W>,
    /// Bytes ignored after the last member: at most [`MAX_AFTER_GZIP`] (an
    /// endless padding was read until the timeout, and inside a second layer
    /// each ignored byte cost the outer layer's inflating).
    ignored: usize,
}

/// Most bytes taken after a body's last gzip member.
const MAX_AFTER_GZIP: usize = 64 * 1024;

/// A decoder whose writer went with a failed write: nothing more is read.
fn writer_lost() -> std::io::Error {
    std::io::Error::other("gzip data that ends where another member seemed to begin")
}

impl<W: std::io::Write> Members<W> {
    fn new(w: W) -> Members<W> {
        Members {
            member: Some(flate2::write::GzDecoder::new(w)),
            done: None,
            ignored: 0,
        }
    }

    /// The writer (`None` only after a failed write, which ends the body).
    fn get_mut(&mut self) -> Option<&mut W> {
        match (&mut self.member, &mut self.done) {
            (Some(m), _) => Some(m.get_mut()),
            (None, w) => w.as_mut(),
        }
    }

    /// The end of the body: the last member must be whole.
    fn finish(self) -> std::io::Result<W> {
        match (self.member, self.done) {
            (Some(m), _) => m.finish(),
            (None, Some(w)) => Ok(w),
            (None, None) => Err(writer_lost()),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Members<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(member) = &mut self.member else {
            if self.done.is_none() {
                return Err(writer_lost());
            }
            self.ignored += buf.len();
            if self.ignored > MAX_AFTER_GZIP {
                return Err(std::io::Error::other(
                    "more than 64 KiB after the end of the gzip data",
                ));
            }
            return Ok(buf.len());
        };
        if buf.is_empty() {
            return Ok(0);
        }
        match member.write(buf)? {
            // The member ended: its checksum is checked, then what follows
            // is another member or ignored.
            0 => {
                member.try_finish()?;
                let w = self.member.take().expect("a member").finish()?;
                if buf[0] == 0x1f && buf.get(1).is_none_or(|&b| b == 0x8b) {
                    let mut next = flate2::write::GzDecoder::new(w);
                    let n = next.write(buf)?;
                    self.member = Some(next);
                    Ok(n)
                } else {
                    self.done = Some(w);
                    self.write(buf)
                }
            }
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.member {
            Some(m) => m.flush(),
            None => Ok(()),
        }
    }
}

/// Where decoded bytes land: refuses any past `cap` in all, so that no step
/// holds more than that (two layers made 1 KiB into 1 GiB at once).
struct Capped {
    out: Vec<u8>,
    total: u64,
    cap: u64,
    /// Shared with [`Gunzip`], which must tell after a failed write, when a
    /// decoder may have dropped this writer.
    over: Arc<std::sync::atomic::AtomicBool>,
}

/// [`Capped`]'s error.
#[derive(Debug)]
struct OverCap;

impl std::fmt::Display for OverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decoded body over max_body")
    }
}

impl std::error::Error for OverCap {}

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.total + b.len() as u64 > self.cap {
            self.over.store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(std::io::Error::other(OverCap));
        }
        self.total += b.len() as u64;
        self.out.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Gunzip {
    fn new(layers: Option<Layers>, cap: u64) -> Option<Gunzip> {
        let over = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let capped = Capped {
            out: Vec::new(),
            total: 0,
            cap,
            over: over.clone(),
        };
        match layers? {
            Layers::Deflate => Some(Gunzip::Deflate(
                Box::new(Inflate::Start(capped, Vec::new())),
                over,
            )),
            Layers::Gzip(0) => None,
            Layers::Gzip(1) => Some(Gunzip::One(Box::new(Members::new(capped)), over)),
            Layers::Gzip(_) => Some(Gunzip::Two(
                Box::new(Members::new(Members::new(capped))),
                over,
            )),
        }
    }

    /// Whether the decoded body went past its cap (the error is that).
    fn over(&self) -> bool {
        match self {
            Gunzip::One(_, over) | Gunzip::Two(_, over) | Gunzip::Deflate(_, over) => {
                over.load(std::sync::atomic::Ordering::Relaxed)
            }
        }
    }

    /// Decodes `encoded`; returns what came out of it.
    fn feed(&mut self, encoded: &[u8]) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        match self {
            Gunzip::One(d, _) => {
                d.write_all(encoded)?;
                let capped = d.get_mut().ok_or_else(writer_lost)?;
                Ok(std::mem::take(&mut capped.out))
            }
            Gunzip::Two(d, _) => {
                d.write_all(encoded)?;
                let capped = d
                    .get_mut()
                    .and_then(Members::get_mut)
                    .ok_or_else(writer_lost)?;
                Ok(std::mem::take(&mut capped.out))
            }
            Gunzip::Deflate(d, _) => {
                d.write_all(encoded)?;
                let capped = d.get_mut().ok_or_else(writer_lost)?;
                Ok(std::mem::take(&mut capped.out))
            }
        }
    }

    /// The end of the body: what is left to come out; `Err(None)` when it
    /// goes past the cap.
    fn finish(self) -> Result<Vec<u8>, Option<std::io::Error>> {
        let done = match self {
            Gunzip::One(d, _) => (*d).finish(),
            Gunzip::Two(d, _) => (*d).finish().and_then(|inner| inner.finish()),
            Gunzip::Deflate(d, _) => (*d).finish(),
        };
        // (On an error the writer is gone: past the cap is told by the error.)
        match done {
            Ok(c) => Ok(c.out),
            Err(e) if e.get_ref().is_some_and(|x| x.is::<OverCap>()) => Err(None),
            Err(e) => Err(Some(e)),
        }
    }
}

/// The compression a body carries for feedloom to decode (the client decodes
/// only a `Content-Encoding` of exactly `br`): gzip layers, or `deflate`
/// alone. RFC 9110 makes `x-gzip` gzip, codings case-insensitive, `identity`
/// no coding, and lets codings be listed on one line (`gzip, gzip`) or on
/// several. Several gzip members in a row are one body. `None` for anything
/// else (the body is then taken as sent, and a compressed one is told apart
/// by the reader, or named by [`undecodable_coding`]).
fn undecoded(h: &reqwest::header::HeaderMap) -> Option<Layers> {
    let mut gzip = 0;
    let mut deflate = 0;
    for line in h.get_all(header::CONTENT_ENCODING) {
        let line = line.to_str().ok()?;
        for coding in line.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip += 1;
            } else if coding.eq_ignore_ascii_case("deflate") {
                deflate += 1;
            } else if !coding.eq_ignore_ascii_case("identity") {
                return None;
            }
        }
    }
    match (gzip, deflate) {
        (0, 0) => None,
        (n, 0) => Some(Layers::Gzip(n.min(2))),
        (0, 1) => Some(Layers::Deflate),
        _ => None,
    }
}

/// Whether a body starts as a feed document does (after a byte-order mark
/// and whitespace: `<` or `{`, or UTF-16 with a byte-order mark).
fn looks_like_a_document(body: &[u8]) -> bool {
    if body.starts_with(&[0xfe, 0xff]) || body.starts_with(&[0xff, 0xfe]) {
        return true;
    }
    // Whitespace, NULs (UTF-16 or UTF-32 without a mark) and a UTF-8 mark,
    // in any order, then markup or JSON.
    let mut rest = body;
    loop {
        let next = rest.trim_ascii_start();
        let next = next.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(next);
        let next = next.strip_prefix(&[0]).unwrap_or(next);
        if next.len() == rest.len() {
            break;
        }
        rest = next;
    }
    matches!(rest.first(), Some(b'<' | b'{'))
}

/// A compression left on the response that nothing decodes: the HTTP client
/// decodes a `Content-Encoding` of exactly `br` and removes the header,
/// feedloom gzip and deflate (see [`undecoded`]); `zstd`, `gzip, br`,
/// `compress` and the like are left. Values that name no compression
/// (`utf-8`, `none`, `binary`, `text`: servers write such things) are
/// ignored, as they were: the body is as sent.
fn undecodable_coding(h: &reqwest::header::HeaderMap) -> Option<String> {
    const COMPRESSIONS: &[&str] = &[
        "br",
        "deflate",
        "zstd",
        "compress",
        "x-compress",
        "pack200-gzip",
        "exi",
        "aes128gcm",
    ];
    h.get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|line| {
            String::from_utf8_lossy(line.as_bytes())
                .split(',')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .find(|c| COMPRESSIONS.iter().any(|z| c.eq_ignore_ascii_case(z)))
}

/// When a fetch runs out of `fetch.timeout`: moved later by the time spent
/// waiting for things that are not the server's doing.
struct Deadline {
    at: tokio::time::Instant,
    limit: Duration,
}

impl Deadline {
    /// Runs `f` (a step on the network, `waiting` for what) until the
    /// deadline.
    async fn run<T>(
        &self,
        url: &Url,
        waiting: Option<Waiting>,
        f: impl Future<Output = T>,
    ) -> Result<T, FetchError> {
        tokio::time::timeout_at(self.at, f)
            .await
            .map_err(|_| FetchError::Timeout {
                url: url.to_string(),
                after: self.limit,
                waiting,
            })
    }
}

/// The `Accept` header of every request: the feed formats first. (Not
/// `application/json` above the rest: a server that negotiates content sent
/// its API's JSON for a page, where it had sent the page that names the
/// feed; a JSON Feed served so comes through `*/*`.)
pub const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// How long establishing a connection may take: `fetch.timeout`, at most 10 s.
fn connect_timeout(cfg: &FetchConfig) -> Duration {
    cfg.timeout.0.min(Duration::from_secs(10))
}

/// Adds a feed's own headers and credentials to a request to its host.
fn with_access(mut req: reqwest::RequestBuilder, access: &Access) -> reqwest::RequestBuilder {
    for (name, value) in &access.headers {
        if let Ok(mut v) = header::HeaderValue::from_str(value.expose()) {
            v.set_sensitive(value.is_external());
            req = req.header(name.as_str(), v);
        }
    }
    match &access.auth {
        None => req,
        Some(Auth::Basic { user, password }) => {
            req.basic_auth(user.expose(), password.as_ref().map(|p| p.expose()))
        }
        Some(Auth::Bearer(token)) => req.bearer_auth(token.expose()),
    }
}

/// Reads a local feed under the same size limit. Its modification time and size
/// stand in for validators, so an unchanged file is "not modified".
async fn fetch_file(
    url: &Url,
    v: &Validators,
    max: u64,
    budget: &Arc<Budget>,
) -> Result<FetchOutcome, FetchError> {
    use tokio::io::AsyncReadExt;
    let path = url.to_file_path().map_err(|_| FetchError::File {
        path: url.path().into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a local path"),
    })?;
    let io = |source| FetchError::File {
        path: path.clone(),
        source,
    };
    // A FIFO's open waits for a writer for ever (the fetch timed out, and the
    // process could not exit while the open still waited): plain files only.
    let kind = tokio::fs::metadata(&path).await.map_err(io)?;
    if !kind.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a plain file (a pipe, a device or a folder)",
        )));
    }
    let file = tokio::fs::File::open(&path).await.map_err(io)?;
    let meta = file.metadata().await.map_err(io)?;
    if meta.len() > max {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit: max,
        });
    }
    let stamp = meta.modified().ok().map(|m| {
        let secs = m
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("\"{secs}-{}\"", meta.len())
    });
    if stamp.is_some() && stamp == v.etag {
        return Ok(FetchOutcome::NotModified {
            status: 304,
            hints: CacheHints::default(),
            redirect: None,
            validators: Validators::default(),
        });
    }
    let mut body = BodyBuf::new(budget, Some(meta.len()));
    let mut file = file.take(max + 1);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        if body.len() as u64 + n as u64 > max {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: max,
            });
        }
        body.extend(&chunk[..n]).await;
    }
    Ok(FetchOutcome::Fetched(Box::new(Fetched {
        status: 200,
        body: body.finish(),
        charset: None,
        content_type: None,
        validators: Validators {
            etag: stamp,
            last_modified: None,
        },
        hints: CacheHints::default(),
        final_url: url.clone(),
        redirect: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_location_is_read_as_a_browser_reads_it() {
        assert_eq!(location_text("/feed/café".as_bytes()), "/feed/café");
        assert_eq!(location_text(b"/caf\xE9?a=1"), "/caf%E9?a=1");
        assert_eq!(location_text(b"  /next  "), "/next");
        assert_eq!(location_text(b"   "), "");
    }

    /// Decodes `body` a KiB at a time as a fetch does: the bytes each step
    /// gave, and whether it ended past the cap.
    fn decode(g: &mut Option<Gunzip>, body: &[u8]) -> (Vec<usize>, bool) {
        let mut steps = Vec::new();
        for piece in body.chunks(1024) {
            let d = g.as_mut().unwrap();
            match d.feed(piece) {
                Ok(data) => steps.push(data.len()),
                Err(_) => return (steps, d.over()),
            }
        }
        match g.take().unwrap().finish() {
            Ok(rest) => {
                steps.push(rest.len());
                (steps, false)
            }
            Err(e) => (steps, e.is_none()),
        }
    }

    /// A body gzipped twice expands by the product of both layers: no step
    /// may come out as more than the cap (a step of 1 KiB came out as ~1 GiB),
    /// and the body is refused as too large.
    #[test]
    fn documents_are_told_from_compressed_bodies() {
        for doc in [
            &b"<rss/>"[..],
            b"\n\xef\xbb\xbf<rss/>",
            b"\0<\0r\0s\0s",
            b"<\0r\0",
            b"\0\0\0<",
            b"  {\"version\": 1}",
            b"\xff\xfe<\0",
        ] {
            assert!(looks_like_a_document(doc), "{doc:?}");
        }
        for packed in [&b"\x28\xb5\x2f\xfd"[..], b"\x1f\x8b\x08", b"\x78\x9c", b""] {
            assert!(!looks_like_a_document(packed), "{packed:?}");
        }
    }

    #[test]
    fn two_gzip_layers_never_decode_past_the_cap() {
        let cap = 256 << 10;
        for layers in [1, 2] {
            let mut bomb = vec![0u8; 16 << 20];
            for _ in 0..layers {
                bomb = gzip(&bomb);
            }
            let (steps, over) = decode(&mut Gunzip::new(Some(Layers::Gzip(layers)), cap), &bomb);
            assert!(over, "{layers} layers: a 16 MiB body passed a 256 KiB cap");
            assert!(
                steps.iter().sum::<usize>() as u64 <= cap,
                "{layers} layers: {steps:?}"
            );
        }
        // Under the cap, both layers decode whole.
        let doc = b"<rss version=\"2.0\"><channel><title>t</title></channel></rss>".repeat(100);
        let mut g = Gunzip::new(Some(Layers::Gzip(2)), cap).unwrap();
        let mut got = g.feed(&gzip(&gzip(&doc))).unwrap();
        got.extend(g.finish().unwrap());
        assert_eq!(got, doc);
    }

    /// `deflate` is read zlib-wrapped (RFC 9110) and raw (as some servers
    /// send it and browsers read it), fed a byte at a time or whole, with
    /// bytes after the end ignored; a bomb stops at the cap.
    #[test]
    fn deflate_is_read_wrapped_and_raw() {
        use std::io::Write;
        let doc = b"<rss version=\"2.0\"><channel><title>t</title></channel></rss>".repeat(50);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&doc).unwrap();
        let zlib = zlib.finish().unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&doc).unwrap();
        let mut raw = raw.finish().unwrap();
        raw.extend_from_slice(b"\r\n\0\0");
        for (name, body) in [("zlib", &zlib), ("raw", &raw)] {
            for step in [1, 2, 7, body.len()] {
                let mut g = Gunzip::new(Some(Layers::Deflate), 1 << 20).unwrap();
                let mut got = Vec::new();
                for piece in body.chunks(step) {
                    got.extend(g.feed(piece).unwrap());
                }
                got.extend(g.finish().unwrap());
                assert_eq!(got, doc, "{name}, {step} bytes at a time");
            }
        }
        // A document under the label, not compressed at all, is read as
        // sent (it was before feedloom decoded deflate itself).
        let json =
            b"\xef\xbb\xbf { \"version\": \"https://jsonfeed.org/version/1\", \"items\": []}"
                .to_vec();
        let mut blank_lines = b"\xef\xbb\xbf".to_vec();
        blank_lines.extend(b"\r\n".repeat(6));
        blank_lines.extend(b"            <?xml version=\"1.0\"?><rss/>");
        let spaced_json = format!("{{{}\"version\": 1}}", " ".repeat(20)).into_bytes();
        let prefixed = b"<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\"/>".to_vec();
        for plain in [
            doc.clone(),
            json,
            b"<?xml version=\"1.0\"?><rss/>".to_vec(),
            blank_lines,
            spaced_json,
            prefixed,
        ] {
            for step in [1, 3, plain.len()] {
                let mut g = Gunzip::new(Some(Layers::Deflate), 1 << 20).unwrap();
                let mut got = Vec::new();
                for piece in plain.chunks(step) {
                    got.extend(g.feed(piece).unwrap());
                }
                got.extend(g.finish().unwrap());
                assert_eq!(got, plain, "{step} bytes at a time");
            }
        }
        let mut bomb = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        bomb.write_all(&vec![b' '; 16 << 20]).unwrap();
        let bomb = bomb.finish().unwrap();
        let (steps, over) = decode(&mut Gunzip::new(Some(Layers::Deflate), 256 << 10), &bomb);
        assert!(
            over && steps.iter().sum::<usize>() <= 256 << 10,
            "{steps:?}"
        );
    }

    /// A fetcher that replaces another on a reload shares its holds: a
    /// Retry-After that a fetch still running on the old one brings holds
    /// the server for the new one too.
    #[test]
    fn a_new_fetcher_shares_the_old_ones_holds() {
        let cfg = FetchConfig::default();
        let old = Fetcher::new(&cfg).unwrap();
        let mut new = Fetcher::new(&cfg).unwrap();
        new.keep_slots_of(&old);
        let url = Url::parse("http://busy.example/f").unwrap();
        old.slots.hold(&url, Duration::from_secs(60), true);
        assert!(new.slots.held(&url).is_some());
    }

    /// A reload that changes `[fetch]` keeps counting the requests in flight
    /// and waiting on the old fetcher: a host with `per_host = 1` took one
    /// request from each at once (and twice as often as `host_gap` allows).
    #[tokio::test]
    async fn a_reload_keeps_each_hosts_requests_in_flight() {
        let cfg = FetchConfig {
            per_host: 1,
            host_gap: crate::config::Dur(Duration::ZERO),
            ..FetchConfig::default()
        };
        let old = Fetcher::new(&cfg).unwrap();
        let url = Url::parse("http://one.example/a").unwrap();
        let first = old.acquire(&url).await;
        let mut new = Fetcher::new(&FetchConfig {
            timeout: crate::config::Dur(Duration::from_secs(11)),
            ..cfg.clone()
        })
        .unwrap();
        new.keep_slots_of(&old);
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let second = tokio::spawn({
            let new = new.clone();
            let url = url.clone();
            async move {
                let slot = new.acquire(&url).await;
                let _ = tx.send(());
                slot
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            rx.try_recv().is_err(),
            "the old fetcher's request still counts"
        );
        drop(first);
        let slot = second.await.unwrap();
        assert!(!slot.is_held());
        // A larger cap lets a second request in at once.
        let mut wider = Fetcher::new(&FetchConfig {
            per_host: 2,
            ..cfg.clone()
        })
        .unwrap();
        wider.keep_slots_of(&new);
        let third = tokio::time::timeout(Duration::from_secs(10), wider.acquire(&url)).await;
        assert!(third.is_ok());
        drop(slot);
    }

    /// Reloads that lower `per_host` and raise it again while requests are
    /// in flight and waiting never let more than the cap in (7 of 4 went).
    #[tokio::test]
    async fn reloads_in_a_row_never_exceed_the_cap() {
        let cfg = |per_host| FetchConfig {
            per_host,
            host_gap: crate::config::Dur(Duration::ZERO),
            ..FetchConfig::default()
        };
        let old = Fetcher::new(&cfg(4)).unwrap();
        let url = Url::parse("http://one.example/a").unwrap();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(old.acquire(&url).await);
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let (f, url, tx) = (old.clone(), url.clone(), tx.clone());
                tokio::spawn(async move {
                    let slot = f.acquire(&url).await;
                    let _ = tx.send(());
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(slot);
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut lower = Fetcher::new(&cfg(1)).unwrap();
        lower.keep_slots_of(&old);
        let mut again = Fetcher::new(&cfg(4)).unwrap();
        again.keep_slots_of(&lower);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.try_recv().is_err(), "a fifth request went in");
        held.pop();
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the freed slot is taken");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.try_recv().is_err(), "a fifth request went in");
        for w in waiting {
            w.abort();
        }
    }

    #[test]
    fn codings_feedloom_decodes() {
        let h = |values: &[&str]| {
            let mut m = reqwest::header::HeaderMap::new();
            for v in values {
                m.append(header::CONTENT_ENCODING, v.parse().unwrap());
            }
            m
        };
        assert_eq!(undecoded(&h(&["Deflate"])), Some(Layers::Deflate));
        assert_eq!(undecoded(&h(&["identity, deflate"])), Some(Layers::Deflate));
        assert_eq!(undecoded(&h(&["x-gzip", "GZIP"])), Some(Layers::Gzip(2)));
        assert_eq!(undecoded(&h(&["gzip, deflate"])), None);
        assert_eq!(undecoded(&h(&["deflate, deflate"])), None);
        assert_eq!(undecoded(&h(&["br"])), None);
        assert_eq!(undecoded(&h(&[])), None);
    }
}
