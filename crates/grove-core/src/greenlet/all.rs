//! Functions over many green threads: [`joinall`].

use std::time::{Duration, Instant};

use super::Greenlet;

/// Waits for every green thread in `greenlets` to finish, or until `timeout`
/// passes (gevent's `joinall`). Returns true if all finished.
///
/// ```
/// let gs: Vec<_> = (0..10).map(|i| grove::spawn(move || i)).collect();
/// assert!(grove::joinall(&gs, None));
/// assert!(gs.iter().all(|g| g.is_ready()));
/// ```
pub fn joinall<T: Send + 'static>(greenlets: &[Greenlet<T>], timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    greenlets.iter().all(|g| match deadline {
        None => {
            g.wait();
            true
        }
        Some(d) => g.wait_timeout(d.saturating_duration_since(Instant::now())),
    })
}
