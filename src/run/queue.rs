//! Many edits at once. Every press of the run button adds its jobs (variations, images of
//! a batch) to one queue; at most `limit` of them are at the provider at a time and the
//! rest wait their turn, so the form is free while they run.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use flexedit_api::EditParams;

use super::{Place, RunEvent, RunHandle, Runner, new_run_id};
use crate::source::Source;
use crate::transport::Connection;

/// One edit of a press: the image, the parameters (its own seed among them), and its place
/// among the press's jobs.
#[derive(Clone)]
pub struct JobSpec {
    pub source: Source,
    pub params: EditParams,
    pub place: Place,
}

struct Waiting {
    id: String,
    spec: JobSpec,
    connection: Connection,
    max_pixels: u64,
}

struct Inner {
    runner: Runner,
    limit: Cell<usize>,
    waiting: RefCell<VecDeque<Waiting>>,
    running: RefCell<Vec<RunHandle>>,
}

/// The queue of one editor, as a cheap handle.
#[derive(Clone)]
pub struct Queue(Rc<Inner>);

impl Queue {
    pub fn new(runner: Runner, limit: usize) -> Self {
        let inner = Rc::new(Inner {
            runner,
            limit: Cell::new(limit.max(1)),
            waiting: RefCell::new(VecDeque::new()),
            running: RefCell::new(Vec::new()),
        });
        // Weak: the runner's listeners must not keep the queue that owns the runner alive.
        let queue = Rc::downgrade(&inner);
        inner
            .runner
            .events()
            .subscribe(Rc::new(move |id: &str, event: &RunEvent| {
                let ended = matches!(
                    event,
                    RunEvent::Succeeded { .. } | RunEvent::Failed(_) | RunEvent::Cancelled { .. }
                );
                if ended && let Some(inner) = Weak::upgrade(&queue) {
                    let queue = Queue(inner);
                    queue.0.running.borrow_mut().retain(|run| run.id != id);
                    queue.pump();
                }
            }));
        Queue(inner)
    }

    pub fn runner(&self) -> &Runner {
        &self.0.runner
    }

    /// How many edits may be at the provider at once, from now on.
    pub fn set_limit(&self, limit: usize) {
        self.0.limit.set(limit.max(1));
        self.pump();
    }

    /// Adds the jobs of one press; each is told as queued at once and starts when a place
    /// is free. Returns their run ids, in order.
    pub fn push(&self, jobs: Vec<JobSpec>, connection: Connection, max_pixels: u64) -> Vec<String> {
        let mut ids = Vec::with_capacity(jobs.len());
        for spec in jobs {
            let id = new_run_id();
            self.enqueue(id.clone(), spec, connection.clone(), max_pixels);
            ids.push(id);
        }
        self.pump();
        ids
    }

    /// Puts back a job that was waiting when the page closed, under its own id.
    pub fn restore(&self, id: String, spec: JobSpec, connection: Connection, max_pixels: u64) {
        self.enqueue(id, spec, connection, max_pixels);
        self.pump();
    }

    fn enqueue(&self, id: String, spec: JobSpec, connection: Connection, max_pixels: u64) {
        self.0.runner.events().emit(
            &id,
            RunEvent::Queued {
                source: spec.source.clone(),
                params: super::params_for(Some(&spec.source), &spec.params),
                connection: connection.clone(),
                place: spec.place.clone(),
            },
        );
        self.0.waiting.borrow_mut().push_back(Waiting {
            id,
            spec,
            connection,
            max_pixels,
        });
    }

    /// Counts a run started elsewhere (one followed again after a reload) as in flight.
    pub fn adopt(&self, run: RunHandle) {
        self.0.running.borrow_mut().push(run);
    }

    /// Starts waiting jobs while there is room.
    fn pump(&self) {
        loop {
            let room = self.0.running.borrow().len() < self.0.limit.get();
            if !room {
                return;
            }
            let Some(next) = self.0.waiting.borrow_mut().pop_front() else {
                return;
            };
            let run = self.0.runner.start_as(
                next.id,
                next.connection,
                next.spec.source,
                next.spec.params,
                next.max_pixels,
                Some(next.spec.place),
            );
            self.0.running.borrow_mut().push(run);
        }
    }

    /// Cancels one job: a waiting one never starts, a running one stops being waited for.
    pub fn cancel(&self, id: &str) {
        let waiting = {
            let mut waiting = self.0.waiting.borrow_mut();
            let found = waiting.iter().position(|w| w.id == id);
            found.and_then(|at| waiting.remove(at))
        };
        if waiting.is_some() {
            self.0
                .runner
                .events()
                .emit(id, RunEvent::Cancelled { after_send: false });
            return;
        }
        let run = self
            .0
            .running
            .borrow()
            .iter()
            .find(|run| run.id == id)
            .cloned();
        if let Some(run) = run {
            run.cancel();
        }
    }

    /// Cancels every waiting job and stops waiting for the running ones.
    pub fn cancel_all(&self) {
        // Taken out first, so a place freed meanwhile starts none of them.
        let waiting: Vec<Waiting> = self.0.waiting.borrow_mut().drain(..).collect();
        for job in waiting {
            self.0
                .runner
                .events()
                .emit(&job.id, RunEvent::Cancelled { after_send: false });
        }
        let running: Vec<RunHandle> = self.0.running.borrow().clone();
        for run in running {
            run.cancel();
        }
    }

    /// Whether the job `id` waits for its turn.
    pub fn is_waiting(&self, id: &str) -> bool {
        self.0.waiting.borrow().iter().any(|w| w.id == id)
    }

    /// Jobs waiting and jobs at the provider.
    pub fn counts(&self) -> (usize, usize) {
        (self.0.waiting.borrow().len(), self.0.running.borrow().len())
    }
}

/// The seeds of `n` variations: from `first` on, one apart, when the seed is locked (so a
/// person can name each one again); otherwise `first` and then fresh ones from `random`,
/// all distinct.
pub fn seeds(first: u32, n: usize, locked: bool, mut random: impl FnMut() -> u32) -> Vec<u32> {
    let mut seeds = Vec::with_capacity(n);
    let mut next = first;
    while seeds.len() < n {
        if !seeds.contains(&next) {
            seeds.push(next);
        }
        next = if locked {
            next.wrapping_add(1)
        } else {
            random()
        };
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_seeds_count_up_from_the_seed() {
        assert_eq!(seeds(42, 4, true, || 0), vec![42, 43, 44, 45]);
        assert_eq!(seeds(u32::MAX, 2, true, || 0), vec![u32::MAX, 0]);
        assert_eq!(seeds(7, 1, true, || 0), vec![7]);
    }

    #[test]
    fn free_seeds_are_distinct_even_when_the_generator_repeats() {
        let mut script = [5, 5, 9, 5, 11].into_iter();
        let got = seeds(5, 3, false, || script.next().unwrap_or(0));
        assert_eq!(got, vec![5, 9, 11]);
    }
}
