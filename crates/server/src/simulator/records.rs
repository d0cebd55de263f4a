//! Records of asynchronous edits: made when the edit is accepted, finished by a task of
//! their own (so a client that goes away cancels nothing, as upstream), and kept for a
//! while for `GET /api/results/{uuid}`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

struct Entry {
    /// The whole answer of a poll: `{"aiRecord": {...}}`.
    body: Value,
    /// When the record is forgotten.
    until: Instant,
}

/// The records and a count of those finished, which tests wait on instead of sleeping.
pub struct RecordBook {
    entries: Mutex<HashMap<String, Entry>>,
    keep: Duration,
    finished: watch::Sender<u64>,
    /// Records accepted and not yet finished, now and at most so far: what a test reads to
    /// check how many edits a client keeps at the provider at once.
    working: Mutex<(u64, u64)>,
}

impl RecordBook {
    pub fn new(keep: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            keep,
            finished: watch::Sender::new(0),
            working: Mutex::new((0, 0)),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A record map cannot be left half-written by a panic elsewhere: keep going.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `body` as the record `uuid` says now; the time it is kept starts again, as a
    /// finished record is kept from when it finished.
    fn put(&self, uuid: &str, body: Value) {
        let now = Instant::now();
        let mut entries = self.entries();
        entries.retain(|_, entry| entry.until > now);
        entries.insert(
            uuid.to_owned(),
            Entry {
                body,
                until: now + self.keep,
            },
        );
    }

    /// A record accepted and not yet done.
    pub fn accept(&self, uuid: &str, body: Value) {
        self.put(uuid, body);
        let mut working = self.working();
        working.0 += 1;
        working.1 = working.1.max(working.0);
    }

    fn working(&self) -> std::sync::MutexGuard<'_, (u64, u64)> {
        self.working
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records at work now, and the most that were at once.
    pub fn concurrency(&self) -> (u64, u64) {
        *self.working()
    }

    /// The record's final state. A record forgotten meanwhile (it vanished) stays gone.
    pub fn finish(&self, uuid: &str, body: Value) {
        if self.entries().contains_key(uuid) {
            self.put(uuid, body);
        }
        {
            let mut working = self.working();
            working.0 = working.0.saturating_sub(1);
        }
        self.finished.send_modify(|count| *count += 1);
    }

    /// The record as a poll answers it, while it is kept.
    pub fn get(&self, uuid: &str) -> Option<Value> {
        let now = Instant::now();
        let entries = self.entries();
        entries
            .get(uuid)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.body.clone())
    }

    /// Forgets a record, as one the provider lost.
    pub fn forget(&self, uuid: &str) -> bool {
        self.entries().remove(uuid).is_some()
    }

    pub fn finished(&self) -> u64 {
        *self.finished.borrow()
    }

    /// Waits until at least `count` records have finished, or `longest` has passed.
    pub async fn wait_until_finished(&self, count: u64, longest: Duration) -> u64 {
        let mut finished = self.finished.subscribe();
        let _ = tokio::time::timeout(longest, finished.wait_for(|n| *n >= count)).await;
        self.finished()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn records_are_kept_for_the_configured_time_from_their_last_change() {
        let book = RecordBook::new(Duration::from_secs(60));
        book.accept("a", json!({"status": "PROCESSING"}));
        tokio::time::advance(Duration::from_secs(50)).await;
        book.finish("a", json!({"status": "SUCCESS"}));
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(book.get("a"), Some(json!({"status": "SUCCESS"})));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(book.get("a"), None);
        assert_eq!(book.finished(), 1);
        assert_eq!(book.concurrency(), (0, 1));
    }

    #[tokio::test]
    async fn a_forgotten_record_stays_gone_when_it_finishes() {
        let book = RecordBook::new(Duration::from_secs(60));
        book.accept("a", json!(1));
        assert!(book.forget("a"));
        book.finish("a", json!(2));
        assert_eq!(book.get("a"), None);
        assert_eq!(book.wait_until_finished(1, Duration::from_secs(5)).await, 1);
    }
}
