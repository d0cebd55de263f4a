//! The proxy's upstream budget: the provider limits requests per key, and every person
//! behind one proxy shares its key, so the proxy never sends more than the configured
//! number of requests in any minute. A request over the budget waits for a slot when one
//! comes soon, rather than failing; otherwise it is refused with the wait to come back.
//!
//! Each request takes a slot that comes back a minute after it was used: a token bucket
//! whose tokens return one window after they are spent, so no window ever holds more.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The window the provider counts requests in.
pub const WINDOW: Duration = Duration::from_secs(60);

pub struct UpstreamBudget {
    per_window: usize,
    max_wait: Duration,
    /// When each of the last `per_window` requests went (or will go) upstream, oldest first.
    grants: Mutex<VecDeque<Instant>>,
}

/// A request the budget cannot take within the longest wait: come back after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub retry_after: Duration,
}

impl UpstreamBudget {
    /// `per_minute` requests in any minute; a request waits at most `max_wait` for a slot.
    pub fn new(per_minute: u32, max_wait: Duration) -> Self {
        let per_window = usize::try_from(per_minute.max(1)).unwrap_or(usize::MAX);
        Self {
            per_window,
            max_wait,
            grants: Mutex::new(VecDeque::new()),
        }
    }

    /// The requests the budget allows in any minute.
    pub fn per_minute(&self) -> usize {
        self.per_window
    }

    /// The slots free now: requests that could go upstream at once, without waiting.
    pub fn available(&self) -> usize {
        let now = Instant::now();
        let grants = self
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let taken = grants.iter().filter(|at| **at + WINDOW > now).count();
        self.per_window.saturating_sub(taken)
    }

    /// Reserves a slot and waits for it, or refuses when the slot is further away than the
    /// longest wait. A reserved slot stays spent even if the caller goes away meanwhile:
    /// counting it is what keeps the budget safe.
    pub async fn acquire(&self) -> Result<(), OverBudget> {
        let at = self.reserve(Instant::now())?;
        tokio::time::sleep_until(at).await;
        Ok(())
    }

    fn reserve(&self, now: Instant) -> Result<Instant, OverBudget> {
        let mut grants = self
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while grants.len() > self.per_window
            || grants.front().is_some_and(|first| *first + WINDOW <= now)
        {
            grants.pop_front();
        }
        let at = if grants.len() < self.per_window {
            now
        } else {
            // The slot of the oldest request in the window comes back a window after it.
            grants.front().map_or(now, |first| *first + WINDOW).max(now)
        };
        // Later reservations never go before earlier ones, so the queue stays in order.
        let at = grants.back().map_or(at, |last| at.max(*last));
        let wait = at - now;
        if wait > self.max_wait {
            return Err(OverBudget {
                retry_after: Duration::from_secs(
                    wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                ),
            });
        }
        grants.push_back(at);
        if grants.len() > self.per_window {
            grants.pop_front();
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn available_slots_go_with_use_and_come_back_a_window_later() {
        let budget = UpstreamBudget::new(2, Duration::from_secs(1));
        assert_eq!((budget.per_minute(), budget.available()), (2, 2));
        budget.acquire().await.unwrap();
        assert_eq!(budget.available(), 1);
        budget.acquire().await.unwrap();
        assert_eq!(budget.available(), 0);
        tokio::time::advance(WINDOW).await;
        assert_eq!(budget.available(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_queues_briefly_then_refuses_with_the_wait() {
        let budget = UpstreamBudget::new(3, Duration::from_secs(30));
        let start = Instant::now();
        for _ in 0..3 {
            budget.acquire().await.unwrap();
        }
        assert_eq!(Instant::now(), start);
        tokio::time::advance(Duration::from_secs(40)).await;
        // The window is full for another 20 s: within the longest wait, so it waits.
        budget.acquire().await.unwrap();
        assert_eq!(Instant::now(), start + WINDOW);
        // The next two slots come back at 60 s too (used at 0 s); the one after only when
        // the first of these comes back, a window later: too long to wait.
        budget.acquire().await.unwrap();
        budget.acquire().await.unwrap();
        assert_eq!(Instant::now(), start + WINDOW);
        assert_eq!(
            budget.reserve(Instant::now()),
            Err(OverBudget {
                retry_after: WINDOW
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_ever_holds_more_than_the_budget() {
        let budget = std::sync::Arc::new(UpstreamBudget::new(5, Duration::from_secs(120)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..17)
            .map(|_| {
                let budget = budget.clone();
                tokio::spawn(async move { budget.acquire().await.map(|()| Instant::now() - start) })
            })
            .collect();
        let mut sent = Vec::new();
        for task in tasks {
            if let Ok(at) = task.await.unwrap() {
                sent.push(at);
            }
        }
        sent.sort();
        // 5 at once, 5 after a minute, 5 after two; the rest would wait too long.
        assert_eq!(sent.len(), 15);
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent
                .iter()
                .filter(|t| **t >= *at && **t < *at + WINDOW)
                .count();
            assert!(in_window <= 5, "{i}: {sent:?}");
        }
    }

    #[test]
    fn zero_wait_refuses_at_once_when_full() {
        let budget = UpstreamBudget::new(2, Duration::ZERO);
        let now = Instant::now();
        assert!(budget.reserve(now).is_ok());
        assert!(budget.reserve(now).is_ok());
        let refused = budget
            .reserve(now + Duration::from_millis(500))
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(60));
    }
}
