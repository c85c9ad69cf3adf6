//! The work-stealing queues, behind a facade like `sync.rs`'s.
//!
//! A normal build uses `crossbeam-deque` as it is: a hub's stealable queue is
//! a FIFO [`Worker`] whose [`Stealer`]s other hubs take halves from, and the
//! runtime's injector and every hub's inbox are [`Injector`]s.
//!
//! Loom cannot look inside crossbeam's atomics, so a build with
//! `--cfg loom` swaps in a queue with the same methods built on loom's
//! `Mutex`: each operation is one step that loom may interleave with every
//! other thread's, and pushing and taking are ordered as a lock orders them.
//! The models (`tests/loom_handoff.rs`) then check grove's own protocol
//! around the queues (who looks after whom, and who is woken), not
//! crossbeam's algorithm, which that project verifies.
//!
//! What the protocol needs from crossbeam is one ordering: a push, then a
//! `SeqCst` fence, on one side; a `SeqCst` fence, then `is_empty`, on the
//! other; then one of the two sees the other (`idle.rs`). crossbeam's
//! `Worker::push` publishes its new back index with a release store,
//! `Stealer::is_empty` and `Injector::is_empty` load both ends after the
//! caller's fence, so by the fence rule of the C++ memory model the look
//! after the later fence sees the push before the earlier one. The mock's
//! lock gives at least that.

#[cfg(not(loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
pub use crossbeam_deque::Steal;
#[cfg(loom)]
pub use mock::{Injector, Stealer, Worker};

#[cfg(loom)]
mod mock {
    use std::collections::VecDeque;

    use loom::sync::{Arc, Mutex};

    use super::Steal;

    type Deque<T> = Arc<Mutex<VecDeque<T>>>;

    /// Takes half of `from` (at least one, if any).
    fn half<T>(from: &Mutex<VecDeque<T>>) -> VecDeque<T> {
        let mut from = from.lock().unwrap();
        let n = from.len().div_ceil(2);
        from.drain(..n).collect()
    }

    /// Moves half of `from` into `to` and returns one more.
    fn take_half<T>(from: &Mutex<VecDeque<T>>, to: &Worker<T>) -> Steal<T> {
        let mut taken = half(from);
        match taken.pop_front() {
            None => Steal::Empty,
            Some(first) => {
                if !taken.is_empty() {
                    to.0.lock().unwrap().extend(taken);
                }
                Steal::Success(first)
            }
        }
    }

    /// The mock of `crossbeam_deque::Injector`: a FIFO any thread pushes to.
    #[derive(Debug)]
    pub struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> Default for Injector<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<T> Injector<T> {
        /// An empty queue.
        pub fn new() -> Self {
            Injector(Mutex::new(VecDeque::new()))
        }

        /// Appends `t`.
        pub fn push(&self, t: T) {
            self.0.lock().unwrap().push_back(t);
        }

        /// Whether nothing waits.
        pub fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
        }

        /// How many wait.
        pub fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }

        /// Takes the first.
        pub fn steal(&self) -> Steal<T> {
            match self.0.lock().unwrap().pop_front() {
                Some(t) => Steal::Success(t),
                None => Steal::Empty,
            }
        }

        /// Moves a batch into `to`.
        pub fn steal_batch(&self, to: &Worker<T>) -> Steal<()> {
            let taken = half(&self.0);
            if taken.is_empty() {
                return Steal::Empty;
            }
            to.0.lock().unwrap().extend(taken);
            Steal::Success(())
        }

        /// Moves a batch into `to` and returns one more.
        pub fn steal_batch_and_pop(&self, to: &Worker<T>) -> Steal<T> {
            take_half(&self.0, to)
        }
    }

    /// The mock of a FIFO `crossbeam_deque::Worker`: its owner pushes and
    /// pops, [`Stealer`]s take from the same end.
    #[derive(Debug)]
    pub struct Worker<T>(Deque<T>);

    impl<T> Worker<T> {
        /// An empty FIFO queue.
        pub fn new_fifo() -> Self {
            Worker(Arc::new(Mutex::new(VecDeque::new())))
        }

        /// A handle other threads steal with.
        pub fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }

        /// Appends `t`.
        pub fn push(&self, t: T) {
            self.0.lock().unwrap().push_back(t);
        }

        /// Takes the oldest.
        pub fn pop(&self) -> Option<T> {
            self.0.lock().unwrap().pop_front()
        }

        /// How many wait.
        pub fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }

        /// Whether nothing waits.
        pub fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
        }
    }

    /// The mock of `crossbeam_deque::Stealer`.
    #[derive(Debug)]
    pub struct Stealer<T>(Deque<T>);

    impl<T> Stealer<T> {
        /// Whether nothing waits.
        pub fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
        }

        /// How many wait.
        pub fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }

        /// Moves half into `to` and returns one more.
        pub fn steal_batch_and_pop(&self, to: &Worker<T>) -> Steal<T> {
            take_half(&self.0, to)
        }
    }
}
