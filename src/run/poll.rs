//! Following an asynchronous edit's record until it is done: when to ask, and what each
//! answer means. Free of the browser, so the policy and every transition are tested
//! natively with a fake clock and a fake network.

use std::rc::Rc;

use flexedit_api::{ApiError, EditOutcome, RecordId, Stage};

use crate::transport::LocalFuture;
pub use crate::transport::Polled;

/// When to ask the provider about a record.
///
/// The provider's limit is per key and shared by every person behind one proxy, and each
/// poll counts against it. So polls start after a few seconds (no edit is done sooner),
/// stay steady while an edit is likely to finish, then thin out in proportion to how long
/// the edit has taken; a lost poll backs off, a `Retry-After` is honoured, and the polls of
/// all the runs of one page together stay under `page_polls_per_minute`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub first_ms: f64,
    pub interval_ms: f64,
    /// The share of the time the edit has taken so far that the next wait lasts, once that
    /// is longer than `interval_ms`.
    pub proportion: f64,
    pub max_interval_ms: f64,
    /// The first wait after a lost poll; it doubles with each further loss.
    pub error_ms: f64,
    pub max_error_ms: f64,
    pub page_polls_per_minute: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            first_ms: 3_000.0,
            interval_ms: 3_000.0,
            proportion: 0.1,
            max_interval_ms: 15_000.0,
            error_ms: 2_000.0,
            max_error_ms: 30_000.0,
            // A third of the provider's per-key limit: room for uploads, submits and the
            // other people behind the same key.
            page_polls_per_minute: 60.0,
        }
    }
}

impl Policy {
    /// How long to wait before the next poll. `elapsed_ms`: since the edit was submitted;
    /// `polls`: answered so far; `losses`: lost polls in a row; `retry_after_ms`: what the
    /// last answer asked; `in_flight`: the runs this page is following now.
    pub fn delay_ms(
        &self,
        elapsed_ms: f64,
        polls: u32,
        losses: u32,
        retry_after_ms: Option<f64>,
        in_flight: usize,
    ) -> f64 {
        let steady = if polls == 0 {
            (self.first_ms - elapsed_ms).max(0.0)
        } else {
            (elapsed_ms * self.proportion).clamp(self.interval_ms, self.max_interval_ms)
        };
        let lost = match losses {
            0 => 0.0,
            n => (self.error_ms * 2f64.powi(n.min(16) as i32 - 1)).min(self.max_error_ms),
        };
        let shared = in_flight.max(1) as f64 * 60_000.0 / self.page_polls_per_minute;
        let paced = if polls == 0 && losses == 0 {
            steady
        } else {
            steady.max(shared)
        };
        paced.max(lost).max(retry_after_ms.unwrap_or(0.0))
    }

    /// The requests one edit that takes `edit_ms` costs upstream with `in_flight` runs
    /// followed at once: the submit and every poll until the one that sees it done.
    pub fn requests_for(&self, edit_ms: f64, in_flight: usize) -> u32 {
        let mut at = 0.0;
        let mut polls = 0;
        loop {
            at += self.delay_ms(at, polls, 0, None, in_flight);
            polls += 1;
            if at >= edit_ms || polls > 10_000 {
                return 1 + polls;
            }
        }
    }
}

/// Time, and what the page's state lets a run do: the browser's in the page, a fake in tests.
pub trait Waits {
    /// Unix milliseconds.
    fn now_ms(&self) -> f64;
    /// Resolves after `ms`, or sooner when the page comes online, goes offline, is shown,
    /// is hidden, or the run is cancelled (`f64::INFINITY`: only then).
    fn wait(&self, ms: f64) -> LocalFuture<()>;
    /// Why polling should not go on now, if it should not.
    fn paused(&self) -> Option<Pause>;
    fn cancelled(&self) -> bool;
}

/// Why a run is not polling for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    Offline,
    Hidden,
    /// Direct mode with no key in memory (after a reload): it is asked for in words.
    NeedsKey,
}

/// What a followed run tells while it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    /// Polling, or waiting for the next poll.
    Waiting,
    Paused(Pause),
}

/// How following a record ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// A definite answer: the result, or a failure that ends the run.
    Done(EditOutcome),
    Cancelled,
}

/// Asks about `record` until a definite answer. Lost polls (a reset, a 5xx, a gateway's
/// page, a rate limit) are asked again; nothing is ever sent to the features route here,
/// so an edit is never sent twice. `submitted_ms` is when the provider named the record
/// (Unix ms), so a resumed run keeps its pace.
pub async fn follow(
    record: &RecordId,
    submitted_ms: f64,
    policy: Policy,
    waits: &dyn Waits,
    in_flight: &dyn Fn() -> usize,
    poll: &dyn Fn(&RecordId) -> LocalFuture<Polled>,
    tell: &dyn Fn(Following),
) -> Followed {
    let mut polls = 0u32;
    let mut losses = 0u32;
    let mut retry_after = None;
    let mut told = None;
    let mut say = |what: Following| {
        if told != Some(what) {
            told = Some(what);
            tell(what);
        }
    };
    loop {
        let elapsed = (waits.now_ms() - submitted_ms).max(0.0);
        let due =
            waits.now_ms() + policy.delay_ms(elapsed, polls, losses, retry_after, in_flight());
        let mut was_paused = false;
        // Always waits once, even for no time, so a poll never follows another in the same
        // task of the page.
        let mut waited = false;
        // Waits out the delay; a pause stops the clock, and coming back polls at once.
        loop {
            if waits.cancelled() {
                return Followed::Cancelled;
            }
            if let Some(pause) = waits.paused() {
                say(Following::Paused(pause));
                was_paused = true;
                waits.wait(f64::INFINITY).await;
                continue;
            }
            say(Following::Waiting);
            let remaining = due - waits.now_ms();
            if was_paused || (waited && remaining <= 0.0) {
                break;
            }
            waits.wait(remaining.max(0.0)).await;
            waited = true;
        }
        let polled = poll(record).await;
        if waits.cancelled() {
            return Followed::Cancelled;
        }
        retry_after = polled.retry_after_ms;
        match polled.outcome {
            EditOutcome::Processing { .. } => {
                polls += 1;
                losses = 0;
            }
            EditOutcome::Failed(error) if error.poll_again() => {
                losses += 1;
            }
            EditOutcome::Failed(ApiError::Cancelled { .. }) => return Followed::Cancelled,
            outcome => return Followed::Done(outcome),
        }
    }
}

/// What an edit's first answer means for the run.
#[derive(Debug, Clone, PartialEq)]
pub enum FirstAnswer {
    /// The provider named the record to follow.
    Record(RecordId),
    /// The answer is final: a failure, or a finished record from a provider that ignored
    /// `async`.
    Final(EditOutcome),
}

/// Reads an edit's first answer.
pub fn first_answer(outcome: EditOutcome) -> FirstAnswer {
    match outcome {
        EditOutcome::Processing { uuid: Some(uuid) } => match RecordId::parse(&uuid) {
            Ok(record) => FirstAnswer::Record(record),
            Err(_) => FirstAnswer::Final(EditOutcome::Failed(ApiError::MissingResult)),
        },
        // Accepted, but with nothing to ask about: the edit may run and bill.
        EditOutcome::Processing { uuid: None } => {
            FirstAnswer::Final(EditOutcome::Failed(ApiError::Network {
                stage: Stage::Edit,
            }))
        }
        outcome => FirstAnswer::Final(outcome),
    }
}

/// Shared counter of the runs a page follows, for [`Policy::delay_ms`].
#[derive(Debug, Clone, Default)]
pub struct InFlight(Rc<std::cell::Cell<usize>>);

impl InFlight {
    pub fn count(&self) -> usize {
        self.0.get()
    }

    /// Counts one run until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.0.set(self.0.get() + 1);
        InFlightGuard(self.0.clone())
    }
}

pub struct InFlightGuard(Rc<std::cell::Cell<usize>>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use flexedit_api::{EditResult, Stage};

    use super::*;

    const UUID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    /// A clock that moves only when waited on, and a page whose state changes at set times.
    struct FakeWaits {
        now: Cell<f64>,
        waits: RefCell<Vec<f64>>,
        /// From when to when (ms after start) the page is paused, and why.
        pauses: Vec<(f64, f64, Pause)>,
        cancel_at: Option<f64>,
    }

    impl FakeWaits {
        fn new() -> Self {
            Self {
                now: Cell::new(0.0),
                waits: RefCell::new(Vec::new()),
                pauses: Vec::new(),
                cancel_at: None,
            }
        }

        /// The next moment the page's state changes after `now`.
        fn next_change(&self) -> f64 {
            let now = self.now.get();
            self.pauses
                .iter()
                .flat_map(|(from, to, _)| [*from, *to])
                .chain(self.cancel_at)
                .filter(|t| *t > now)
                .fold(f64::INFINITY, f64::min)
        }
    }

    impl Waits for FakeWaits {
        fn now_ms(&self) -> f64 {
            self.now.get()
        }

        fn wait(&self, ms: f64) -> LocalFuture<()> {
            let now = self.now.get();
            let until = (now + ms).min(self.next_change());
            assert!(until.is_finite(), "waited forever at {now} ms");
            self.waits.borrow_mut().push(until - now);
            self.now.set(until);
            Box::pin(async {})
        }

        fn paused(&self) -> Option<Pause> {
            let now = self.now.get();
            self.pauses
                .iter()
                .find(|(from, to, _)| (*from..*to).contains(&now))
                .map(|(_, _, why)| *why)
        }

        fn cancelled(&self) -> bool {
            self.cancel_at.is_some_and(|at| self.now.get() >= at)
        }
    }

    fn done() -> EditOutcome {
        EditOutcome::Succeeded(EditResult {
            uuid: Some(UUID.into()),
            display_url: "https://cdn.example/r.png".into(),
            storage_paths: vec!["images/r.png".into()],
            credits: None,
            expires_at: None,
            prompt_object: None,
        })
    }

    fn processing() -> EditOutcome {
        EditOutcome::Processing {
            uuid: Some(UUID.into()),
        }
    }

    /// Follows a record whose polls answer `answers` in turn; returns how it ended, the
    /// times (ms) each poll was sent, and what was told.
    fn run(
        waits: &FakeWaits,
        answers: Vec<Polled>,
        in_flight: usize,
    ) -> (Followed, Vec<f64>, Vec<Following>) {
        let record = RecordId::parse(UUID).unwrap();
        let answers = RefCell::new(answers.into_iter());
        let sent = RefCell::new(Vec::new());
        let told = RefCell::new(Vec::new());
        let poll = |_: &RecordId| -> LocalFuture<Polled> {
            sent.borrow_mut().push(waits.now_ms());
            let answer = answers.borrow_mut().next().expect("polled past the script");
            Box::pin(async move { answer })
        };
        let followed = futures_executor::block_on(follow(
            &record,
            0.0,
            Policy::default(),
            waits,
            &|| in_flight,
            &poll,
            &|what| told.borrow_mut().push(what),
        ));
        (followed, sent.into_inner(), told.into_inner())
    }

    #[test]
    fn polls_start_after_a_few_seconds_and_end_with_the_result() {
        let waits = FakeWaits::new();
        let answers = vec![processing().into(), processing().into(), done().into()];
        let (followed, sent, told) = run(&waits, answers, 1);
        assert_eq!(followed, Followed::Done(done()));
        assert_eq!(sent, vec![3_000.0, 6_000.0, 9_000.0]);
        assert_eq!(told, vec![Following::Waiting]);
    }

    #[test]
    fn lost_polls_are_asked_again_with_backoff_and_retry_after_is_honoured() {
        let waits = FakeWaits::new();
        let lost = |error: ApiError| Polled::from(EditOutcome::Failed(error));
        let answers = vec![
            lost(ApiError::Network { stage: Stage::Poll }),
            lost(ApiError::Gateway {
                status: 502,
                stage: Stage::Poll,
            }),
            Polled {
                outcome: EditOutcome::Failed(ApiError::RateLimited),
                retry_after_ms: Some(20_000.0),
            },
            done().into(),
        ];
        let (followed, sent, _) = run(&waits, answers, 1);
        assert_eq!(followed, Followed::Done(done()));
        // 3 s, then 2 s and 4 s of backoff, then the 20 s the provider asked for.
        assert_eq!(sent, vec![3_000.0, 5_000.0, 9_000.0, 29_000.0]);
    }

    #[test]
    fn a_definite_failure_or_an_unknown_record_ends_the_run() {
        for error in [
            ApiError::UnknownRecord,
            ApiError::Unauthorized,
            ApiError::ProviderFailure {
                code: Some("FAILURE".into()),
                message: None,
            },
        ] {
            let waits = FakeWaits::new();
            let answer = EditOutcome::Failed(error.clone());
            let (followed, sent, _) = run(&waits, vec![answer.clone().into()], 1);
            assert_eq!(followed, Followed::Done(answer), "{error:?}");
            assert_eq!(sent.len(), 1);
        }
    }

    #[test]
    fn offline_pauses_polling_and_coming_back_polls_at_once() {
        let mut waits = FakeWaits::new();
        waits.pauses = vec![(4_000.0, 50_000.0, Pause::Offline)];
        let answers = vec![processing().into(), done().into()];
        let (followed, sent, told) = run(&waits, answers, 1);
        assert_eq!(followed, Followed::Done(done()));
        assert_eq!(sent, vec![3_000.0, 50_000.0]);
        assert_eq!(
            told,
            vec![
                Following::Waiting,
                Following::Paused(Pause::Offline),
                Following::Waiting
            ]
        );
    }

    #[test]
    fn a_hidden_tab_or_a_missing_key_sends_nothing_until_it_changes() {
        for why in [Pause::Hidden, Pause::NeedsKey] {
            let mut waits = FakeWaits::new();
            waits.pauses = vec![(0.0, 120_000.0, why)];
            let (followed, sent, told) = run(&waits, vec![done().into()], 1);
            assert_eq!(followed, Followed::Done(done()));
            assert_eq!(sent, vec![120_000.0], "{why:?}");
            assert_eq!(told[0], Following::Paused(why));
        }
    }

    #[test]
    fn cancel_stops_waiting_without_another_poll() {
        let mut waits = FakeWaits::new();
        waits.cancel_at = Some(7_000.0);
        let answers = vec![processing().into(), processing().into()];
        let (followed, sent, _) = run(&waits, answers, 1);
        assert_eq!(followed, Followed::Cancelled);
        assert_eq!(sent, vec![3_000.0, 6_000.0]);
    }

    #[test]
    fn polls_thin_out_as_an_edit_takes_longer() {
        let policy = Policy::default();
        assert_eq!(policy.delay_ms(0.0, 0, 0, None, 1), 3_000.0);
        assert_eq!(policy.delay_ms(10_000.0, 3, 0, None, 1), 3_000.0);
        assert_eq!(policy.delay_ms(60_000.0, 20, 0, None, 1), 6_000.0);
        assert_eq!(policy.delay_ms(600_000.0, 40, 0, None, 1), 15_000.0);
    }

    #[test]
    fn runs_in_flight_share_one_pace() {
        let policy = Policy::default();
        assert_eq!(policy.delay_ms(10_000.0, 3, 0, None, 4), 4_000.0);
        assert_eq!(policy.delay_ms(10_000.0, 3, 0, None, 10), 10_000.0);
    }

    /// The figures the README gives for one 40-second edit.
    #[test]
    fn requests_one_forty_second_edit_costs_upstream() {
        let policy = Policy::default();
        let one = policy.requests_for(40_000.0, 1);
        let four = policy.requests_for(40_000.0, 4);
        let ten = policy.requests_for(40_000.0, 10);
        assert_eq!((one, four, ten), (15, 12, 6));
    }

    #[test]
    fn a_first_answer_that_is_final_is_the_outcome() {
        assert_eq!(first_answer(done()), FirstAnswer::Final(done()));
        assert_eq!(
            first_answer(processing()),
            FirstAnswer::Record(RecordId::parse(UUID).unwrap())
        );
        assert!(matches!(
            first_answer(EditOutcome::Processing { uuid: None }),
            FirstAnswer::Final(EditOutcome::Failed(ApiError::Network { .. }))
        ));
        assert!(matches!(
            first_answer(EditOutcome::Processing {
                uuid: Some("../admin".into())
            }),
            FirstAnswer::Final(EditOutcome::Failed(ApiError::MissingResult))
        ));
    }

    #[test]
    fn the_in_flight_count_follows_its_guards() {
        let in_flight = InFlight::default();
        let a = in_flight.enter();
        let b = in_flight.enter();
        assert_eq!(in_flight.count(), 2);
        drop(a);
        assert_eq!(in_flight.count(), 1);
        drop(b);
        assert_eq!(in_flight.count(), 0);
    }
}
