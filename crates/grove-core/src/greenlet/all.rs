//! Functions over many green threads: [`joinall`], [`try_joinall`],
//! [`killall`].

use std::time::{Duration, Instant};

use super::Greenlet;
use crate::ready::{iwait, Waitable};

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

/// Waits for every green thread in `greenlets` to finish, but stops at the
/// first that fails (gevent's `joinall(raise_error=True)`): `Err(index)` of
/// that one (its error is still in its handle, for `join`), `Ok(true)` if
/// all finished successfully, `Ok(false)` if `timeout` passed first.
///
/// ```
/// let gs = vec![
///     grove::spawn(|| grove::sleep(std::time::Duration::from_secs(60))),
///     grove::spawn(|| panic!("bad input")),
/// ];
/// assert_eq!(grove::try_joinall(&gs, None), Err(1));
/// gs[0].kill();
/// ```
pub fn try_joinall<T: Send + 'static>(
    greenlets: &[Greenlet<T>],
    timeout: Option<Duration>,
) -> Result<bool, usize> {
    let objects: Vec<&dyn Waitable> = greenlets.iter().map(|g| g as &dyn Waitable).collect();
    let mut finished = 0;
    for i in iwait(&objects, timeout) {
        if greenlets[i].is_failed() {
            return Err(i);
        }
        finished += 1;
    }
    Ok(finished == greenlets.len())
}

/// Kills every green thread in `greenlets` (all are asked first, so they
/// unwind at once, then waited for) and waits until they have finished or
/// `timeout` passes (gevent's `killall(greenlets, timeout=...)`). Returns
/// true if all finished. With `Some(Duration::ZERO)` it does not wait
/// (gevent's `block=False`). The caller's own handle in the list is
/// skipped.
///
/// ```
/// let gs: Vec<_> = (0..5).map(|_| grove::spawn(grove::park)).collect();
/// assert!(grove::killall(&gs, None));
/// assert!(gs.iter().all(|g| g.is_ready()));
/// ```
pub fn killall<T>(greenlets: &[Greenlet<T>], timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    for g in greenlets {
        if !g.target.is_current() {
            g.target.request_kill(None);
        }
    }
    greenlets
        .iter()
        .filter(|g| !g.target.is_current())
        .all(|g| g.target.wait_until(deadline))
}
