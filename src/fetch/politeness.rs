//! Politeness: a cap on requests in flight to one host, a minimum gap between
//! two requests to it, and a cap on requests in flight overall; and whether a
//! host is busy enough for its connection to be kept for the next request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// How long a server that answered 429 Too Many Requests without a
/// Retry-After is held: its other feeds are not requested for this long (at
/// most `max_backoff`). The feed that got the 429 is not asked before
/// either (nor before its usual backoff).
pub(super) const UNASKED_HOLD: Duration = Duration::from_secs(60);

/// The host and global slots of one [`super::Fetcher`].
pub(super) struct Slots {
    /// The limits, which a reload may change ([`Slots::reconfigure`]).
    per_host: AtomicUsize,
    host_gap_ms: AtomicU64,
    concurrency: AtomicUsize,
    global: Arc<Semaphore>,
    /// Permits a smaller `concurrency` still takes back, as requests end.
    global_debt: Arc<AtomicUsize>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// Servers that answered 429 or 503 with a Retry-After, or 429 without
    /// one, by origin (`scheme://host:port`): no request to them before then
    /// (see [`Slots::hold`]).
    holds: Arc<Mutex<HashMap<String, Hold>>>,
    /// The longest such a hold lasts, in ms (`[defaults] max_backoff`).
    max_hold_ms: AtomicU64,
}

/// Politeness towards one host: a cap on requests in flight and a minimum gap.
struct Host {
    slots: Arc<Semaphore>,
    /// Permits a smaller `per_host` still takes back, as requests end.
    debt: Arc<AtomicUsize>,
    pace: tokio::sync::Mutex<Pace>,
    /// Another request to the host is waiting or in flight, or the last one
    /// started less than [`super::IDLE_CONNECTION`] before the latest: the
    /// host's connection is worth keeping (see [`Slots::busy`]).
    busy: AtomicBool,
}

/// A server's hold: until when, and whether the server asked for it (a
/// Retry-After) or feedloom chose it (a 429 without one).
#[derive(Clone, Copy)]
struct Hold {
    until: Instant,
    asked: bool,
}

struct Pace {
    /// When the next request may start (the last one's start + the gap).
    next_start: Instant,
    /// When the last request started.
    last_start: Option<Instant>,
}

/// Held while a request is in flight; releases the host and global slots on drop.
/// Empty (no permits) for a request to a held server, which is not sent.
pub struct Slot {
    /// The host and global permits (`None` only while moving to another),
    /// with the debts each pays first when released.
    _permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    debts: Option<(Arc<AtomicUsize>, Arc<AtomicUsize>)>,
}

impl Slot {
    /// Whether this is the empty slot of a held server ([`Slots::acquire`]).
    pub(super) fn is_held(&self) -> bool {
        self._permits.is_none()
    }

    fn empty() -> Slot {
        Slot {
            _permits: None,
            debts: None,
        }
    }

    /// Gives the permits back, or to a smaller cap that still takes some
    /// back ([`Slots::reconfigure`]).
    fn release(&mut self) {
        let pay = |debt: &AtomicUsize| {
            debt.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| d.checked_sub(1))
                .is_ok()
        };
        if let (Some((host, global)), Some((host_debt, global_debt))) =
            (self._permits.take(), self.debts.as_ref())
        {
            if pay(host_debt) {
                host.forget();
            }
            if pay(global_debt) {
                global.forget();
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.release();
    }
}

impl Slots {
    pub(super) fn new(concurrency: usize, per_host: usize, host_gap: Duration) -> Slots {
        Slots {
            per_host: AtomicUsize::new(per_host),
            host_gap_ms: AtomicU64::new(u64::try_from(host_gap.as_millis()).unwrap_or(u64::MAX)),
            concurrency: AtomicUsize::new(concurrency),
            global: Arc::new(Semaphore::new(concurrency)),
            global_debt: Arc::default(),
            hosts: Mutex::default(),
            holds: Arc::default(),
            max_hold_ms: AtomicU64::new(24 * 3600 * 1000),
        }
    }

    /// How long [`Slots::hold`] holds a host at most.
    pub(super) fn max_hold(&self) -> Duration {
        Duration::from_millis(self.max_hold_ms.load(Ordering::Relaxed))
    }

    /// Caps how long [`Slots::hold`] holds a host.
    pub(super) fn set_max_hold(&self, max: Duration) {
        let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        self.max_hold_ms.store(ms, Ordering::Relaxed);
        // Holds set under a longer cap end by the new one.
        if let Some(latest) = Instant::now().checked_add(max) {
            let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
            for hold in holds.values_mut() {
                hold.until = hold.until.min(latest);
            }
        }
    }

    /// The limits of `new` (a reload's), for these slots, which requests
    /// in flight and waiting hold: a reload that changed any `[fetch]` key
    /// had made a second table, and a host took requests from both at once
    /// (twice `per_host`, half `host_gap`) until the old queue was empty.
    /// A cap made smaller takes effect as requests in flight end.
    pub(super) fn reconfigure(&self, new: &Slots) {
        // A larger cap first forgives what a smaller one still takes back;
        // a smaller one takes back the permits free now, and the rest as
        // requests in flight end (before any waiting request gets one).
        let resize = |sem: &Arc<Semaphore>, debt: &AtomicUsize, from: usize, to: usize| {
            if to > from {
                let more = to - from;
                let forgiven = debt
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                        Some(d.saturating_sub(more))
                    })
                    .map_or(0, |d| d.min(more));
                sem.add_permits(more - forgiven);
            } else if to < from {
                let left = (from - to) - sem.forget_permits(from - to);
                debt.fetch_add(left, Ordering::Relaxed);
            }
        };
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let (from, to) = (
            self.per_host.load(Ordering::Relaxed),
            new.per_host.load(Ordering::Relaxed),
        );
        for host in hosts.values() {
            resize(&host.slots, &host.debt, from, to);
        }
        self.per_host.store(to, Ordering::Relaxed);
        drop(hosts);
        let (from, to) = (
            self.concurrency.load(Ordering::Relaxed),
            new.concurrency.load(Ordering::Relaxed),
        );
        resize(&self.global, &self.global_debt, from, to);
        self.concurrency.store(to, Ordering::Relaxed);
        self.host_gap_ms
            .store(new.host_gap_ms.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn host_gap(&self) -> Duration {
        Duration::from_millis(self.host_gap_ms.load(Ordering::Relaxed))
    }

    /// The server answered 429 or 503 with a Retry-After of `wait`: none of
    /// its feeds is requested before then (at most `max_backoff` from now). A
    /// server that asks one feed for time is asking the client, not the URL.
    /// (By origin: another port of the host is another server.)
    /// `asked`: the wait is the server's Retry-After; else feedloom chose it
    /// (a 429 without one, [`UNASKED_HOLD`]).
    pub(super) fn hold(&self, url: &Url, wait: Duration, asked: bool) {
        let max = Duration::from_millis(self.max_hold_ms.load(Ordering::Relaxed));
        let Some(until) = Instant::now().checked_add(wait.min(max)) else {
            return;
        };
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        // (Holds that are over go, so that the table stays small.)
        let now = Instant::now();
        holds.retain(|_, h| h.until > now);
        let held = holds
            .entry(url.origin().ascii_serialization())
            .or_insert(Hold { until, asked });
        if until > held.until {
            *held = Hold { until, asked };
        }
    }

    /// How long the URL's server is still held ([`Slots::hold`]), when it
    /// is (by a second or more), and whether the server asked for it.
    pub(super) fn held(&self, url: &Url) -> Option<(Duration, bool)> {
        let holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        if holds.is_empty() {
            return None;
        }
        let hold = *holds.get(&url.origin().ascii_serialization())?;
        let left = hold.until.saturating_duration_since(Instant::now());
        (left >= Duration::from_secs(1)).then_some((left, hold.asked))
    }

    /// The URL's host's entry, made on first use.
    fn host(&self, url: &Url) -> Arc<Host> {
        let key = host_key(url).into_owned();
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Arc::new(Semaphore::new(self.per_host.load(Ordering::Relaxed))),
                    debt: Arc::default(),
                    pace: tokio::sync::Mutex::new(Pace {
                        next_start: Instant::now(),
                        last_start: None,
                    }),
                    busy: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Waits for a slot on the URL's host (per-host cap and gap), then a global one.
    /// The host slot comes first so that feeds queued behind a slow host never hold
    /// global slots that other hosts could use.
    pub(super) async fn acquire(&self, url: &Url) -> Slot {
        // A server that asked for time: no turn and no slot are taken for a
        // request that will not be sent (the fetch says why at once; each
        // held feed waited a whole `host_gap`, and its host's other servers
        // behind it).
        if self.held(url).is_some() {
            return Slot::empty();
        }
        let host = self.host(url);
        let host_permit = host
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        loop {
            if self.held(url).is_some() {
                return Slot::empty();
            }
            if url.scheme() != "file" {
                // The host's turn, not taken yet...
                let turn = host.pace.lock().await.next_start;
                tokio::time::sleep_until(turn).await;
            }
            let global = self
                .global
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            if url.scheme() == "file" {
                return Slot {
                    _permits: Some((host_permit, global)),
                    debts: Some((host.debt.clone(), self.global_debt.clone())),
                };
            }
            // ... is taken once a global slot is there, if it is still
            // this request's: the gap counts from when requests start. (It
            // was booked before the wait for a global slot, and three
            // requests to one host went out within 45 ms once a slow host
            // freed the only slot.)
            let mut pace = host.pace.lock().await;
            let now = Instant::now();
            if pace.next_start > now {
                // Another request of the host started meanwhile.
                continue;
            }
            let recent = pace
                .last_start
                .is_some_and(|last| now.duration_since(last) <= super::IDLE_CONNECTION);
            pace.next_start = now + self.host_gap();
            pace.last_start = Some(now);
            drop(pace);
            // (The table holds one reference, this request another.)
            let others = Arc::strong_count(&host) > 2;
            host.busy.store(recent || others, Ordering::Relaxed);
            return Slot {
                _permits: Some((host_permit, global)),
                debts: Some((host.debt.clone(), self.global_debt.clone())),
            };
        }
    }

    /// Moves `slot` to the URL's host, for a redirect's next request: the
    /// host's cap and gap apply to it as to any request (the same host's
    /// too: the gap goes between the hops). Nothing is held while waiting, so
    /// that requests waiting for each other's hosts cannot deadlock.
    pub(super) async fn reacquire(&self, slot: &mut Slot, url: &Url) {
        slot.release();
        *slot = self.acquire(url).await;
    }

    /// Whether the URL's host is busy: other requests to it are waiting or in
    /// flight, or the last two started within [`super::IDLE_CONNECTION`] of each
    /// other. A connection to a host that is not (a feed alone on its host, a
    /// host met only through a redirect) is closed after its response instead
    /// of idling in the pool: with thousands of such hosts, idle connections
    /// held a socket and a read buffer each.
    pub(super) fn busy(&self, url: &Url) -> bool {
        let key = host_key(url);
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .get(key.as_ref())
            .is_some_and(|h| h.busy.load(Ordering::Relaxed))
    }
}

/// The URL's host as the table keys it: lowercase (http and https hosts already
/// are, so that looking one up allocates nothing).
fn host_key(url: &Url) -> std::borrow::Cow<'_, str> {
    let host = url.host_str().unwrap_or("");
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        host.to_ascii_lowercase().into()
    } else {
        host.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request to a server that asked for time takes no turn of its
    /// host (nor a slot): it is not sent, and the host's other requests
    /// are not kept waiting behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_server_takes_no_turn() {
        let slots = Slots::new(4, 1, Duration::from_secs(60));
        let held = Url::parse("http://busy.example:81/f").unwrap();
        let first = slots.acquire(&held).await;
        drop(first);
        slots.hold(&held, Duration::from_secs(600), true);
        // The host's next turn is a minute away; a held request does not
        // wait for it.
        let slot = tokio::time::timeout(Duration::from_secs(10), slots.acquire(&held))
            .await
            .expect("no turn waited for");
        assert!(slot._permits.is_none());
        assert!(slots.held(&held).is_some());
        let other_port = Url::parse("http://busy.example:82/f").unwrap();
        assert!(slots.held(&other_port).is_none());
    }

    /// The gap between two requests to a host holds however long they
    /// waited for a global slot: here the only one is held by a slow host
    /// while three requests to another host are due.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_host_gap_holds_after_a_wait_for_a_global_slot() {
        let gap = Duration::from_millis(300);
        let slots = Arc::new(Slots::new(1, 2, gap));
        let slow = Url::parse("http://slow.example/f").unwrap();
        let held = slots.acquire(&slow).await;
        let mut tasks = Vec::new();
        for i in 0..3 {
            let slots = slots.clone();
            let url = Url::parse(&format!("http://busy.example/{i}")).unwrap();
            tasks.push(tokio::spawn(async move {
                let slot = slots.acquire(&url).await;
                let started = Instant::now();
                drop(slot);
                started
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        drop(held);
        let mut starts = Vec::new();
        for t in tasks {
            starts.push(t.await.unwrap());
        }
        starts.sort();
        for pair in starts.windows(2) {
            let apart = pair[1].duration_since(pair[0]);
            assert!(apart >= gap - Duration::from_millis(5), "{apart:?} apart");
        }
    }
}
