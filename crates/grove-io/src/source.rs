//! A descriptor a green thread can wait on: registered lazily with the
//! reactor of the hub where it is first waited on (and again with another
//! if that hub's runtime shuts down), deregistered on drop (before its owner
//! closes it). A plain OS thread waits with `poll(2)`
//! instead, blocking itself.

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::reactor::{self, Core, Direction, Entry};
use grove_core::wait::Ticket;
use grove_core::WaitReason;

/// A descriptor and, once waited on by a green thread, its registration.
pub(crate) struct Source {
    fd: RawFd,
    reg: Mutex<Option<(Arc<Core>, Arc<Entry>)>>,
}

impl Source {
    /// Wraps `fd`, which its owner keeps open for as long as this lives (it
    /// must drop this before closing it).
    pub(crate) fn new(fd: RawFd) -> Source {
        reactor::install();
        Source {
            fd,
            reg: Mutex::new(None),
        }
    }

    /// The reactor this descriptor is registered with, registering it with
    /// the calling hub's (or the fallback) if it is not registered yet, or
    /// if the reactor it was registered with has stopped (its runtime shut
    /// down): nobody would ever poll that one again.
    fn registration(&self) -> io::Result<(Arc<Core>, Arc<Entry>)> {
        let mut reg = self.reg.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((core, entry)) = &*reg {
            if !core.is_closed() {
                return Ok((core.clone(), entry.clone()));
            }
            core.deregister(entry);
            *reg = None;
        }
        let core = reactor::current()?;
        // SAFETY: the owner keeps `fd` open while `self` lives, and `Drop`
        // deregisters it first.
        let entry = unsafe { core.register(self.fd)? };
        *reg = Some((core.clone(), entry.clone()));
        Ok((core, entry))
    }

    /// Waits until the descriptor is ready in `dir` (or closed, or in
    /// error), or `deadline` passes (`TimedOut`).
    pub(crate) fn wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        let why = match dir {
            Direction::Read => WaitReason::Read { fd: self.fd },
            Direction::Write => WaitReason::Write { fd: self.fd },
        };
        self.wait_for(dir, why, deadline)
    }

    /// [`wait`](Source::wait), shown in snapshots as waiting for `why`
    /// (an accept, a connect).
    pub(crate) fn wait_for(
        &self,
        dir: Direction,
        why: WaitReason,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        let me = grove_core::wait::waker();
        if !me.is_green() {
            return poll_fd(self.fd, dir, deadline);
        }
        let (core, entry) = self.registration()?;
        let entry = &*entry;
        let ticket = {
            let mut w = entry.waiters();
            if w.take_ready(dir) {
                // An edge since the last wait: retry the I/O first.
                return Ok(());
            }
            if core.is_closed() {
                // Its hub stopped since we looked (and woke the waiters
                // then): retry the I/O, whose next wait registers anew.
                return Ok(());
            }
            let ticket = w.list(dir).push(me, ());
            core.arm(entry, &w)?;
            ticket
        };
        // Leaves the list on every way out: timeout, error, or a kill.
        let _leave = Leave { entry, dir, ticket };
        loop {
            if entry.waiters().list(dir).take_handed(ticket).is_some() {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out());
            }
            grove_core::wait::park_until(why, deadline);
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let reg = self.reg.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((core, entry)) = reg.take() {
            core.deregister(&entry);
        }
    }
}

struct Leave<'a> {
    entry: &'a Entry,
    dir: Direction,
    ticket: Ticket,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let _ = self.entry.waiters().list(self.dir).cancel(self.ticket);
    }
}

/// The error a green wait reports when its timeout passes.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the socket")
}

/// An OS thread's wait: `poll(2)` on the one descriptor.
fn poll_fd(fd: RawFd, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
    let events = match dir {
        Direction::Read => libc::POLLIN,
        Direction::Write => libc::POLLOUT,
    };
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timed_out());
                }
                // Round up, so a wait never ends before its deadline.
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid pollfd for the duration of the call, and
        // the count (1) matches.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match n {
            n if n > 0 => return Ok(()),
            0 => {}
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
