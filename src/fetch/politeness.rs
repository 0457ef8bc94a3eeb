//! Politeness: a cap on requests in flight to one host, a minimum gap between
//! two requests to it, and a cap on requests in flight overall.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// The host and global slots of one [`super::Fetcher`].
pub(super) struct Slots {
    per_host: usize,
    host_gap: Duration,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
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

impl Slots {
    pub(super) fn new(concurrency: usize, per_host: usize, host_gap: Duration) -> Slots {
        Slots {
            per_host,
            host_gap,
            global: Arc::new(Semaphore::new(concurrency)),
            hosts: Mutex::default(),
        }
    }

    /// Waits for a slot on the URL's host (per-host cap and gap), then a global one.
    /// The host slot comes first so that feeds queued behind a slow host never hold
    /// global slots that other hosts could use.
    pub(super) async fn acquire(&self, url: &Url) -> Slot {
        let key = url.host_str().unwrap_or("").to_ascii_lowercase();
        let host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Host {
                        slots: Arc::new(Semaphore::new(self.per_host)),
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
            *next = start + self.host_gap;
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
}
