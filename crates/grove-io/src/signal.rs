//! Waiting for Unix signals from green threads (gevent's `signal_handler`):
//! [`Signals`] and [`signal_handler`].
//!
//! The signal handler itself does two async-signal-safe things, through the
//! `signal-hook` crate: it sets the `Signals`' flag for that signal, then
//! writes a byte to the `Signals`' own pipe. A waiting green thread looks at
//! the flags, and if none is set, waits for the pipe's read end to become
//! readable through the reactor (`wait_readable`), so only that green
//! thread waits, never its hub. The flag is set before the byte is written,
//! so a signal that arrives between the look and the wait still finds the
//! pipe readable. Deliveries of one signal between two looks count once, as
//! the kernel coalesces pending signals anyway.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::SigId;

/// A set of Unix signals that green threads can wait for without blocking a
/// hub (the signal part of gevent's `signal_handler`). While it exists, the
/// signals it names no longer have their default effect (`SIGINT` and
/// `SIGTERM` no longer end the process): the program decides, typically by
/// stopping its servers. Dropping it unregisters its handlers; the signals
/// are then ignored rather than restored to their default.
///
/// ```no_run
/// use grove::signals::{SIGINT, SIGTERM};
///
/// let server = grove::StreamServer::bind("127.0.0.1:8080", |_conn, _peer| {}).unwrap();
/// server.start().unwrap();
/// let stop = grove::Signals::new(&[SIGINT, SIGTERM]).unwrap();
/// let sig = grove::spawn(move || stop.wait()).join().unwrap().unwrap();
/// eprintln!("signal {sig}: stopping");
/// server.stop(std::time::Duration::from_secs(10));
/// ```
pub struct Signals {
    flags: Vec<(i32, Arc<AtomicBool>)>,
    ids: Vec<SigId>,
    pipe: UnixStream,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let signals: Vec<i32> = self.flags.iter().map(|(s, _)| *s).collect();
        f.debug_struct("Signals")
            .field("signals", &signals)
            .finish()
    }
}

impl Signals {
    /// Catches `signals` from now on. An error if one cannot be caught
    /// (`SIGKILL`, `SIGSTOP`, and the signals that report faults, such as
    /// `SIGSEGV`), or is not a signal number.
    ///
    /// ```
    /// use grove::signals::SIGUSR2;
    /// let s = grove::Signals::new(&[SIGUSR2]).unwrap();
    /// assert!(grove::Signals::new(&[9]).is_err()); // SIGKILL
    /// assert!(grove::Signals::new(&[0]).is_err());
    /// # drop(s);
    /// ```
    pub fn new(signals: &[i32]) -> io::Result<Signals> {
        for &s in signals {
            if signal_hook::consts::FORBIDDEN.contains(&s) || !(1..=64).contains(&s) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("grove: signal {s} cannot be caught"),
                ));
            }
        }
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let mut me = Signals {
            flags: Vec::new(),
            ids: Vec::new(),
            pipe: read,
        };
        for &s in signals {
            let flag = Arc::new(AtomicBool::new(false));
            // Flag first, then the byte: actions run in registration order.
            me.ids.push(signal_hook::flag::register(s, flag.clone())?);
            me.ids.push(signal_hook::low_level::pipe::register(
                s,
                write.try_clone()?,
            )?);
            me.flags.push((s, flag));
        }
        Ok(me)
    }

    /// A signal that arrived since the last look, if any, without waiting.
    ///
    /// ```
    /// use grove::signals::SIGUSR2;
    /// let s = grove::Signals::new(&[SIGUSR2]).unwrap();
    /// assert_eq!(s.try_wait(), None);
    /// ```
    pub fn try_wait(&self) -> Option<i32> {
        self.flags
            .iter()
            .find(|(_, f)| f.swap(false, Ordering::AcqRel))
            .map(|(s, _)| *s)
    }

    /// Waits for one of the signals and returns its number: a green thread
    /// parks (its hub runs the others), an OS thread blocks. A kill or a
    /// `Timeout` interrupts it like any blocking call.
    ///
    /// ```
    /// use grove::signals::SIGUSR2;
    /// let s = grove::Signals::new(&[SIGUSR2]).unwrap();
    /// let waiter = grove::spawn(move || s.wait());
    /// grove::sleep(std::time::Duration::from_millis(10));
    /// // SAFETY: raise(3) has no preconditions (a program would use libc).
    /// unsafe { libc_raise(SIGUSR2) };
    /// assert_eq!(waiter.join().unwrap().unwrap(), SIGUSR2);
    /// # extern "C" { #[link_name = "raise"] fn libc_raise(sig: i32) -> i32; }
    /// ```
    pub fn wait(&self) -> io::Result<i32> {
        self.wait_until(None)
            .map(|s| s.expect("an untimed wait ends with a signal"))
    }

    /// [`wait`](Signals::wait), at most `timeout`: `Ok(None)` if no signal
    /// came.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = grove::Signals::new(&[grove::signals::SIGUSR2]).unwrap();
    /// assert_eq!(s.wait_timeout(Duration::from_millis(5)).unwrap(), None);
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<i32>> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> io::Result<Option<i32>> {
        loop {
            if let Some(s) = self.try_wait() {
                return Ok(Some(s));
            }
            self.drain()?;
            if let Some(s) = self.try_wait() {
                return Ok(Some(s));
            }
            let Some(left) = crate::wait::time_left(deadline) else {
                return Ok(None);
            };
            match crate::wait::wait_readable(&self.pipe, left) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Empties the pipe (the flags say which signals came).
    fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 64];
        loop {
            match (&self.pipe).read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// What [`signal_handler`] returns: cancel it to stop handling (gevent's
/// `handler.cancel()`); dropping it leaves the handler running.
#[derive(Debug)]
pub struct SignalHandler {
    waiter: grove_core::Greenlet<()>,
}

impl SignalHandler {
    /// Stops handling: the waiting green thread is killed and the signals'
    /// handlers unregistered (the signals are then ignored, see
    /// [`Signals`]). Handlers already running go on.
    ///
    /// ```
    /// let h = grove::signal_handler(grove::signals::SIGUSR2, |_| ()).unwrap();
    /// h.cancel();
    /// ```
    pub fn cancel(self) {
        self.waiter.kill();
    }
}

/// Runs `handler` in a new green thread each time `signal` arrives
/// (gevent's `signal_handler(signum, handler)`), on the caller's runtime (the
/// default runtime outside one). Its waiting costs one parked green
/// thread; nothing blocks a hub.
///
/// ```
/// use std::sync::mpsc;
/// use grove::signals::SIGUSR2;
/// let (tx, rx) = mpsc::channel();
/// let h = grove::signal_handler(SIGUSR2, move |sig| tx.send(sig).unwrap()).unwrap();
/// grove::sleep(std::time::Duration::from_millis(10));
/// // SAFETY: raise(3) has no preconditions (a program would use libc).
/// unsafe { libc_raise(SIGUSR2) };
/// assert_eq!(rx.recv().unwrap(), SIGUSR2);
/// h.cancel();
/// # extern "C" { #[link_name = "raise"] fn libc_raise(sig: i32) -> i32; }
/// ```
pub fn signal_handler<F>(signal: i32, handler: F) -> io::Result<SignalHandler>
where
    F: Fn(i32) + Send + Sync + 'static,
{
    let signals = Signals::new(&[signal])?;
    let handler = Arc::new(handler);
    let waiter = grove_core::Builder::new()
        .name("signal handler")
        .spawn(move || {
            while let Ok(s) = signals.wait() {
                let h = handler.clone();
                grove_core::spawn(move || h(s));
            }
        })
        .map_err(io::Error::other)?;
    Ok(SignalHandler { waiter })
}
