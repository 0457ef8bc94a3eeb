//! The HTTP and file client: conditional GET, bounded bodies, manual redirects (so
//! permanent ones can be told from temporary ones), and per-host politeness.
//!
//! `Fetcher::fetch` never decodes text: the body goes to the parser as raw bytes,
//! with the Content-Type charset alongside.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::config::FetchConfig;
use crate::error::FetchError;

/// What the feed's row remembers from its last successful response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

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
    },
    Fetched(Fetched),
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
    pub body: Vec<u8>,
    /// The charset parameter of Content-Type, if any.
    pub charset: Option<String>,
    pub validators: Validators,
    pub hints: CacheHints,
    /// The URL the body came from (base for relative links).
    pub final_url: Url,
    pub redirect: Option<Redirect>,
}

/// The shared client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: Arc<FetchConfig>,
    global: Arc<Semaphore>,
    hosts: Arc<Mutex<HashMap<String, Arc<Host>>>>,
}

/// Politeness towards one host: a cap on requests in flight and a minimum gap.
struct Host {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

/// Held while a request is in flight; releases the host and global slots on drop.
pub struct Slot {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Fetcher {
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(cfg.per_host)
            .build()?;
        Ok(Fetcher {
            client,
            cfg: Arc::new(cfg.clone()),
            global: Arc::new(Semaphore::new(cfg.concurrency)),
            hosts: Arc::default(),
        })
    }

    /// Waits for a slot on the URL's host (per-host cap and gap), then a global one.
    /// The host slot comes first so that feeds queued behind a slow host never hold
    /// global slots that other hosts could use.
    pub async fn acquire(&self, url: &Url) -> Slot {
        let key = url.host_str().unwrap_or("").to_ascii_lowercase();
        let host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Host {
                        slots: Arc::new(Semaphore::new(self.cfg.per_host)),
                        next_start: tokio::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        let host_permit = host
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        if url.scheme() != "file" {
            let mut next = host.next_start.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + self.cfg.host_gap.0;
            drop(next);
            tokio::time::sleep_until(start).await;
        }
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        Slot {
            _host: host_permit,
            _global: global,
        }
    }

    /// Fetches `url` under the configured limits, sending the validators it has.
    /// The caller holds a [`Slot`] for the URL.
    pub async fn fetch(&self, url: &Url, v: &Validators) -> Result<FetchOutcome, FetchError> {
        let limit = self.cfg.timeout.0;
        match tokio::time::timeout(limit, self.fetch_inner(url, v)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_string(),
                after: limit,
            }),
        }
    }

    async fn fetch_inner(&self, url: &Url, v: &Validators) -> Result<FetchOutcome, FetchError> {
        if url.scheme() == "file" {
            return fetch_file(url, v, self.cfg.max_body.0).await;
        }
        let mut current = url.clone();
        let mut permanent = true;
        let mut hops = 0usize;
        loop {
            let mut req = self.client.get(current.clone());
            if let Some(etag) = &v.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| request_error(&current, e, limit_of(&self.cfg)))?;
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok());
                let Some(next) = location else {
                    return Err(FetchError::Status {
                        url: current.to_string(),
                        status,
                        retry_after: None,
                    });
                };
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
                return Ok(FetchOutcome::NotModified {
                    status,
                    hints,
                    redirect,
                });
            }
            if !resp.status().is_success() {
                return Err(FetchError::Status {
                    url: current.to_string(),
                    status,
                    retry_after: retry_after(resp.headers()),
                });
            }
            let headers = resp.headers().clone();
            let max = self.cfg.max_body.0;
            if resp.content_length().is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge {
                    url: current.to_string(),
                    limit: max,
                });
            }
            let mut body = Vec::new();
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| request_error(&current, e, limit_of(&self.cfg)))?;
                if body.len() as u64 + chunk.len() as u64 > max {
                    return Err(FetchError::TooLarge {
                        url: current.to_string(),
                        limit: max,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(FetchOutcome::Fetched(Fetched {
                status,
                body,
                charset: charset(&headers),
                validators: Validators {
                    etag: header_string(&headers, header::ETAG),
                    last_modified: header_string(&headers, header::LAST_MODIFIED),
                },
                hints,
                final_url: current,
                redirect,
            }));
        }
    }
}

fn limit_of(cfg: &FetchConfig) -> Duration {
    cfg.timeout.0
}

fn request_error(url: &Url, e: reqwest::Error, after: Duration) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout {
            url: url.to_string(),
            after,
        }
    } else {
        FetchError::Request {
            url: url.to_string(),
            source: e,
        }
    }
}

/// Reads a local feed under the same size limit. Its modification time and size
/// stand in for validators, so an unchanged file is "not modified".
async fn fetch_file(url: &Url, v: &Validators, max: u64) -> Result<FetchOutcome, FetchError> {
    use tokio::io::AsyncReadExt;
    let path = url.to_file_path().map_err(|_| FetchError::File {
        path: url.path().into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a local path"),
    })?;
    let io = |source| FetchError::File {
        path: path.clone(),
        source,
    };
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
        });
    }
    let mut body = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut body)
        .await
        .map_err(io)?;
    if body.len() as u64 > max {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit: max,
        });
    }
    Ok(FetchOutcome::Fetched(Fetched {
        status: 200,
        body,
        charset: None,
        validators: Validators {
            etag: stamp,
            last_modified: None,
        },
        hints: CacheHints::default(),
        final_url: url.clone(),
        redirect: None,
    }))
}

fn header_string(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
        .map(str::to_string)
}

/// The `charset` parameter of Content-Type.
fn charset(h: &HeaderMap) -> Option<String> {
    let ct = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Cache-Control max-age (or s-maxage), else Expires relative to Date/now.
pub fn cache_hints(h: &HeaderMap) -> CacheHints {
    let from_cc = h
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|cc| {
            cc.split(',').find_map(|d| {
                let (k, v) = d.split_once('=')?;
                let k = k.trim().to_ascii_lowercase();
                (k == "max-age" || k == "s-maxage")
                    .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
                    .flatten()
            })
        })
        .map(Duration::from_secs);
    let fresh_for = from_cc.or_else(|| {
        let expires = http_date(h.get(header::EXPIRES)?)?;
        let now = h
            .get(header::DATE)
            .and_then(http_date)
            .unwrap_or_else(chrono::Utc::now);
        (expires - now).to_std().ok()
    });
    CacheHints { fresh_for }
}

/// Retry-After in seconds or as an HTTP date.
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(header::RETRY_AFTER)?;
    let s = v.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    Some((at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

fn http_date(v: &HeaderValue) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = v.to_str().ok()?.trim();
    chrono::DateTime::parse_from_rfc2822(s)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn charset_parameter() {
        let h = headers(&[("content-type", "text/xml; Charset=\"windows-1251\"")]);
        assert_eq!(charset(&h).as_deref(), Some("windows-1251"));
        assert_eq!(charset(&headers(&[("content-type", "text/xml")])), None);
    }

    #[test]
    fn cache_control_and_expires() {
        let h = headers(&[("cache-control", "public, max-age=600")]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::from_secs(600)));
        let h = headers(&[
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("expires", "Wed, 21 Oct 2015 08:28:00 GMT"),
        ]);
        assert_eq!(cache_hints(&h).fresh_for, Some(Duration::from_secs(3600)));
        assert_eq!(cache_hints(&HeaderMap::new()).fresh_for, None);
    }

    #[test]
    fn retry_after_forms() {
        let h = headers(&[("retry-after", "120")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }
}
