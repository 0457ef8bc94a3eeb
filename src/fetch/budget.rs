//! The body budget: a bound on the response bytes all fetches together hold in
//! memory (`fetch.max_buffered`), from the first byte read until the body is
//! dropped after parsing.
//!
//! Every fetch in flight may hold a small *allowance* without asking anyone, so
//! small feeds never wait for large ones; at most `concurrency` fetches are in
//! flight, so allowances never exceed `concurrency × allowance`. The rest of the
//! budget is the *large pool*. A body that outgrows its allowance claims, from
//! the large pool and in one piece, all it may ever need: its Content-Length
//! when the server sent one, else `max_body`. Because a body claims its whole
//! need at once and never asks again, no two bodies can each hold part of what
//! the other waits for: there is no deadlock, and a body that got its claim
//! always finishes (or fails) and gives it back. When the body is complete, the
//! part of the claim it did not use goes back at once.
//!
//! Bytes are counted by the buffer's capacity, not its length, so the bound
//! holds for memory actually reserved.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What a fetch may hold without claiming from the large pool, at most.
pub const ALLOWANCE: usize = 256 * 1024;

const KIB: usize = 1024;

/// How far ahead of the bytes that arrived a body's announced length is
/// allocated at once (beyond, the buffer doubles as bytes come).
const AHEAD_OF_ARRIVED: usize = 16 * 1024 * KIB;

/// The shared budget. One per [`super::Fetcher`].
#[derive(Debug)]
pub struct Budget {
    /// The large pool, in KiB.
    large: Arc<Semaphore>,
    large_kib: usize,
    allowance: usize,
    max_body: usize,
    total: usize,
    buffered: AtomicUsize,
    peak: AtomicUsize,
}

/// Bytes held by bodies now and at most so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffered {
    /// Bytes held by bodies (their buffers' capacity).
    pub now: usize,
    pub peak: usize,
    /// The budget (`fetch.max_buffered`).
    pub limit: usize,
    /// Bytes of the large pool claimed by bodies larger than their allowance.
    pub claimed: usize,
    /// The large pool.
    pub pool: usize,
}

impl Budget {
    /// A budget of `total` bytes for bodies of at most `max_body` bytes, with at
    /// most `concurrency` fetches in flight. `total >= max_body` (config checks).
    pub fn new(total: u64, max_body: u64, concurrency: usize) -> Budget {
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        let max_body = usize::try_from(max_body).unwrap_or(usize::MAX).min(total);
        let spare = total - max_body;
        let conc = concurrency.max(1);
        let allowance = ALLOWANCE.min(max_body).min(spare / conc) / KIB * KIB;
        // The large pool always has room for one body of max_body.
        let large_kib = ((total - allowance * conc) / KIB).max(max_body.div_ceil(KIB));
        Budget {
            large: Arc::new(Semaphore::new(large_kib.min(Semaphore::MAX_PERMITS))),
            large_kib: large_kib.min(Semaphore::MAX_PERMITS),
            allowance,
            max_body,
            total,
            buffered: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    pub fn buffered(&self) -> Buffered {
        Buffered {
            now: self.buffered.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
            limit: self.total,
            claimed: (self.large_kib - self.large.available_permits()) * KIB,
            pool: self.large_kib * KIB,
        }
    }

    fn count(&self, grow: usize) {
        let now = self.buffered.fetch_add(grow, Ordering::SeqCst) + grow;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
}

/// A body being read under the budget.
pub struct BodyBuf {
    buf: Vec<u8>,
    hold: Hold,
    /// What the body will need, when the server said (Content-Length).
    expected: Option<usize>,
}

/// What a body holds of the budget; given back on drop.
struct Hold {
    budget: Arc<Budget>,
    /// Bytes counted (the buffer's capacity).
    counted: usize,
    /// The large-pool claim, in KiB, once the body outgrew its allowance.
    claim: Option<OwnedSemaphorePermit>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.budget
            .buffered
            .fetch_sub(self.counted, Ordering::SeqCst);
    }
}

impl Hold {
    fn claimed(&self) -> usize {
        self.claim.as_ref().map_or(0, |c| c.num_permits() * KIB)
    }
}

impl BodyBuf {
    /// An empty body; `expected` is the Content-Length, if known.
    pub fn new(budget: &Arc<Budget>, expected: Option<u64>) -> BodyBuf {
        BodyBuf {
            buf: Vec::new(),
            hold: Hold {
                budget: budget.clone(),
                counted: 0,
                claim: None,
            },
            expected: expected.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends `chunk`, waiting for the large pool if the body outgrows its
    /// allowance. The caller has checked `max_body`.
    pub async fn extend(&mut self, chunk: &[u8]) {
        let need = self.buf.len() + chunk.len();
        if need > self.buf.capacity() {
            self.grow_to(need).await;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Makes room for `need` bytes in all.
    async fn grow_to(&mut self, need: usize) {
        let budget = self.hold.budget.clone();
        let cap = self.buf.capacity();
        let mut target = need.max(cap.saturating_mul(2)).max(8 * KIB);
        if let Some(n) = self.expected.filter(|n| *n >= need) {
            // The server said how long the body is: allocate it once, up to
            // what a feed's body plausibly is ahead of what arrived. (A
            // Content-Length of 100 GB under a large `max_body`, then 400 KB
            // sent, aborted the whole process: "memory allocation of
            // 100000000000 bytes failed".)
            target = n.min(need.saturating_add(AHEAD_OF_ARRIVED).max(target));
        }
        let announced = self.expected.filter(|n| *n >= need);
        if self.hold.claim.is_none() {
            if need <= budget.allowance && announced.is_none_or(|n| n <= budget.allowance) {
                target = target.min(budget.allowance);
            } else {
                // Claim all the body may need, in one piece (see the module doc).
                let want = announced.unwrap_or(budget.max_body).max(need);
                let kib = want.div_ceil(KIB);
                tracing::debug!(
                    bytes = want,
                    "body larger than its allowance; claiming from the budget"
                );
                let permit = budget
                    .large
                    .clone()
                    .acquire_many_owned(u32::try_from(kib).unwrap_or(u32::MAX))
                    .await
                    .expect("never closed");
                self.hold.claim = Some(permit);
            }
        }
        if self.hold.claim.is_some() {
            let claimed = self.hold.claimed();
            if need > claimed {
                // Longer than its Content-Length said: the server is lying, and
                // the client will fail the body; until then, claim the rest.
                let extra = (need - claimed).div_ceil(KIB);
                let more = budget
                    .large
                    .clone()
                    .acquire_many_owned(u32::try_from(extra).unwrap_or(u32::MAX))
                    .await
                    .expect("never closed");
                if let Some(c) = self.hold.claim.as_mut() {
                    c.merge(more);
                }
            }
            target = target.min(self.hold.claimed()).max(need);
        }
        // (Room for `need` at least; more only if the allocator has it.)
        if self.buf.try_reserve_exact(target - self.buf.len()).is_err() {
            self.buf.reserve_exact(need - self.buf.len());
        }
        self.recount();
    }

    fn recount(&mut self) {
        let cap = self.buf.capacity();
        if cap > self.hold.counted {
            self.hold.budget.count(cap - self.hold.counted);
        } else {
            self.hold
                .budget
                .buffered
                .fetch_sub(self.hold.counted - cap, Ordering::SeqCst);
        }
        self.hold.counted = cap;
    }

    /// The complete body. The part of the claim it did not use goes back now;
    /// the rest when the body is dropped.
    pub fn finish(mut self) -> Body {
        if let Some(claim) = self.hold.claim.as_mut() {
            let keep = self.buf.capacity().div_ceil(KIB);
            let give_back = claim.num_permits().saturating_sub(keep);
            if give_back > 0 {
                drop(claim.split(give_back));
            }
        }
        Body {
            bytes: self.buf,
            _hold: self.hold,
        }
    }
}

/// A complete response body; it counts against the budget until dropped.
pub struct Body {
    bytes: Vec<u8>,
    _hold: Hold,
}

impl Body {
    /// A body outside any budget (tests, tools).
    pub fn unbudgeted(bytes: Vec<u8>) -> Body {
        let budget = Arc::new(Budget::new(u64::MAX, u64::MAX, 1));
        let hold = Hold {
            budget,
            counted: 0,
            claim: None,
        };
        Body { bytes, _hold: hold }
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Body({} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_bodies_stay_in_their_allowance_and_large_ones_claim() {
        let budget = Arc::new(Budget::new(4 << 20, 1 << 20, 4));
        assert_eq!(budget.allowance, ALLOWANCE);
        let mut small = BodyBuf::new(&budget, None);
        small.extend(&[b'x'; 10_000]).await;
        assert!(small.hold.claim.is_none());
        let mut large = BodyBuf::new(&budget, None);
        for _ in 0..40 {
            large.extend(&[b'y'; 10_000]).await;
        }
        // Unknown length: it claimed max_body, and gives back what it did not use.
        assert_eq!(large.hold.claimed(), 1 << 20);
        let large = large.finish();
        assert_eq!(large.len(), 400_000);
        assert!(large._hold.claimed() < 1 << 20);
        let b = budget.buffered();
        assert!(
            b.now >= 410_000 && b.now <= b.peak && b.peak <= b.limit,
            "{b:?}"
        );
        drop(large);
        drop(small);
        assert_eq!(budget.buffered().now, 0);
        assert_eq!(
            budget.large.available_permits(),
            (4 << 20) / KIB - 4 * ALLOWANCE / KIB
        );
    }

    #[tokio::test]
    async fn a_known_length_is_allocated_and_claimed_once() {
        let budget = Arc::new(Budget::new(4 << 20, 1 << 20, 4));
        let mut b = BodyBuf::new(&budget, Some(300_000));
        b.extend(&[1; 1000]).await;
        assert_eq!(b.buf.capacity(), 300_000);
        assert_eq!(b.hold.claimed(), 300_000usize.div_ceil(KIB) * KIB);
        // A length no body reaches (100 GB announced under a 150 GiB
        // `max_body`) is not allocated at once: the process aborted.
        let budget = Arc::new(Budget::new(200 << 30, 150 << 30, 4));
        let mut b = BodyBuf::new(&budget, Some(100_000_000_000));
        b.extend(&[1; 1000]).await;
        assert!(
            b.buf.capacity() <= AHEAD_OF_ARRIVED + 1000,
            "{}",
            b.buf.capacity()
        );
    }

    #[test]
    fn the_allowances_and_the_large_pool_fit_the_budget() {
        for (total, max_body, conc) in [
            (64u64 << 20, 16u64 << 20, 16usize),
            (16 << 20, 16 << 20, 16),
            (20 << 20, 16 << 20, 1000),
            (8 << 10, 8 << 10, 3),
        ] {
            let b = Budget::new(total, max_body, conc);
            let large = b.large.available_permits() * KIB;
            assert!(large >= max_body as usize, "{total} {max_body} {conc}");
            assert!(large + b.allowance * conc <= total as usize);
        }
    }
}
