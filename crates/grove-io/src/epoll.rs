//! A thin epoll poller: the part of `polling::Poller`'s interface that the
//! reactor uses, in one system call per wait.
//!
//! `polling` makes every wait cost five system calls on Linux (arm a timerfd
//! and re-register it, `epoll_wait`, drain its eventfd and re-register it),
//! whatever the timeout: a busy hub's look at its reactor and an idle hub's
//! look while it spins paid that each time. Here a wait is one
//! `epoll_pwait2` (with a nanosecond timeout; `epoll_wait` rounded up to
//! milliseconds on kernels before 5.11), and the eventfd that `notify`
//! writes is registered level-triggered and read only when it is reported.
//!
//! Keys are `usize`; `usize::MAX` is the notifier's own.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The notifier's key: never handed out as an event.
const NOTIFY_KEY: u64 = u64::MAX;

const READ_FLAGS: u32 =
    (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;
const WRITE_FLAGS: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

/// Interest in (or readiness of) one descriptor, under its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

impl Event {
    pub(crate) fn all(key: usize) -> Event {
        Event {
            key,
            readable: true,
            writable: true,
        }
    }
    pub(crate) fn readable(key: usize) -> Event {
        Event {
            key,
            readable: true,
            writable: false,
        }
    }
    pub(crate) fn writable(key: usize) -> Event {
        Event {
            key,
            readable: false,
            writable: true,
        }
    }
    pub(crate) fn none(key: usize) -> Event {
        Event {
            key,
            readable: false,
            writable: false,
        }
    }
}

/// How a registration reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollMode {
    /// Once, then disabled until modified.
    Oneshot,
    /// Each time it becomes ready.
    Edge,
}

/// A buffer for the events one wait returns.
pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            list: vec![libc::epoll_event { events: 0, u64: 0 }; 1024],
            len: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list[..self.len]
            .iter()
            .filter(|e| e.u64 != NOTIFY_KEY)
            .map(|e| {
                let flags = e.events;
                Event {
                    key: e.u64 as usize,
                    readable: flags & READ_FLAGS != 0,
                    writable: flags & WRITE_FLAGS != 0,
                }
            })
    }
}

/// An epoll instance with an eventfd to wake its waits.
pub(crate) struct Poller {
    epoll: OwnedFd,
    notifier: OwnedFd,
    /// `epoll_pwait2` is missing (kernel before 5.11) or refused (a seccomp
    /// filter): use `epoll_wait`, rounding timeouts up to milliseconds.
    no_pwait2: AtomicBool,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: no pointers; the result is checked and owned at once.
        let epoll =
            unsafe { OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let notifier = unsafe {
            OwnedFd::from_raw_fd(check(libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ))?)
        };
        let p = Poller {
            epoll,
            notifier,
            no_pwait2: AtomicBool::new(false),
        };
        p.ctl(
            libc::EPOLL_CTL_ADD,
            p.notifier.as_raw_fd(),
            libc::EPOLLIN as u32,
            NOTIFY_KEY,
        )?;
        Ok(p)
    }

    /// Edge-triggered registrations are always available on Linux.
    pub(crate) fn supports_edge(&self) -> bool {
        true
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, key: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: key };
        // SAFETY: `ev` is a valid epoll_event for the call's duration; the
        // kernel checks the descriptors.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    fn flags(ev: Event, mode: PollMode) -> (u32, u64) {
        let mut flags = 0u32;
        if ev.readable {
            flags |= (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) as u32;
        }
        if ev.writable {
            flags |= libc::EPOLLOUT as u32;
        }
        match mode {
            PollMode::Oneshot => flags |= libc::EPOLLONESHOT as u32,
            PollMode::Edge => flags |= libc::EPOLLET as u32,
        }
        (flags, ev.key as u64)
    }

    /// Registers `fd` (which must stay open until [`delete`](Poller::delete)).
    ///
    /// # Safety
    /// `fd` must stay open until it is deleted from this poller.
    pub(crate) unsafe fn add_with_mode(
        &self,
        fd: RawFd,
        ev: Event,
        mode: PollMode,
    ) -> io::Result<()> {
        let (flags, key) = Self::flags(ev, mode);
        self.ctl(libc::EPOLL_CTL_ADD, fd, flags, key)
    }

    /// [`add_with_mode`](Poller::add_with_mode), one-shot.
    ///
    /// # Safety
    /// As for `add_with_mode`.
    pub(crate) unsafe fn add(&self, fd: RawFd, ev: Event) -> io::Result<()> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.add_with_mode(fd, ev, PollMode::Oneshot) }
    }

    pub(crate) fn modify_with_mode(
        &self,
        fd: BorrowedFd<'_>,
        ev: Event,
        mode: PollMode,
    ) -> io::Result<()> {
        let (flags, key) = Self::flags(ev, mode);
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), flags, key)
    }

    pub(crate) fn modify(&self, fd: BorrowedFd<'_>, ev: Event) -> io::Result<()> {
        self.modify_with_mode(fd, ev, PollMode::Oneshot)
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0, 0)
    }

    /// Waits for events, at most `timeout` (`None`: until one comes or
    /// `notify`), replacing what `events` held. A notification ends the
    /// wait and is consumed here.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.wait_as(events, timeout, true)
    }

    /// Looks for events without waiting and leaves a notification where it
    /// is: for a thread that polls this set on its owner's behalf, which
    /// must not take the wakeup meant for the owner's next wait.
    pub(crate) fn look_leaving_notify(&self, events: &mut Events) -> io::Result<()> {
        self.wait_as(events, Some(Duration::ZERO), false)
    }

    fn wait_as(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        take_notify: bool,
    ) -> io::Result<()> {
        events.len = 0;
        let cap = events.list.len() as libc::c_int;
        let buf = events.list.as_mut_ptr();
        let n = match self.wait_once(buf, cap, timeout) {
            // A signal: a spurious wake, which every caller tolerates.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            r => r?,
        };
        events.len = n as usize;
        if take_notify
            && events.list[..events.len]
                .iter()
                .any(|e| e.u64 == NOTIFY_KEY)
        {
            let mut v = 0u64;
            // SAFETY: reads 8 bytes into `v` from our own non-blocking eventfd.
            let _ = unsafe {
                libc::read(
                    self.notifier.as_raw_fd(),
                    (&mut v as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
        }
        Ok(())
    }

    fn wait_once(
        &self,
        buf: *mut libc::epoll_event,
        cap: libc::c_int,
        timeout: Option<Duration>,
    ) -> io::Result<libc::c_int> {
        let ms = |t: Duration| -> libc::c_int {
            // Rounded up, so a wait never ends before its deadline.
            let ms = t.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        };
        match timeout {
            Some(t) if t.is_zero() || self.no_pwait2.load(Ordering::Relaxed) => {
                // SAFETY: `buf` holds `cap` events for the kernel to fill.
                check(unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), buf, cap, ms(t)) })
            }
            None => {
                // SAFETY: as above.
                check(unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), buf, cap, -1) })
            }
            Some(t) => {
                let ts = libc::timespec {
                    tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                    tv_nsec: t.subsec_nanos() as _,
                };
                // SAFETY: `buf` holds `cap` events; `ts` lives across the
                // call; no signal mask (null).
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.epoll.as_raw_fd(),
                        buf,
                        cap,
                        &ts as *const libc::timespec,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    // Missing (before 5.11), or refused by a seccomp
                    // filter that predates it: `epoll_wait` from now on.
                    if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
                        self.no_pwait2.store(true, Ordering::Relaxed);
                        return self.wait_once(buf, cap, Some(t));
                    }
                    return Err(e);
                }
                Ok(r as libc::c_int)
            }
        }
    }

    /// Ends the current or the next wait.
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64;
        // SAFETY: writes 8 bytes from `one` to our own eventfd.
        let r = unsafe {
            libc::write(
                self.notifier.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // A full counter still wakes the waiter.
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
        }
        Ok(())
    }
}

impl AsRawFd for Poller {
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    #[test]
    fn a_notify_ends_a_wait_and_is_consumed() {
        let p = Poller::new().unwrap();
        let mut ev = Events::new();
        p.notify().unwrap();
        p.wait(&mut ev, None).unwrap(); // returns: the notification was kept
        assert_eq!(ev.iter().count(), 0, "the notifier is not an event");
        let t = Instant::now();
        p.wait(&mut ev, Some(Duration::from_millis(20))).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(20), "consumed once");
    }

    #[test]
    fn a_look_on_the_owners_behalf_leaves_the_notify() {
        let p = Poller::new().unwrap();
        let mut ev = Events::new();
        p.notify().unwrap();
        p.look_leaving_notify(&mut ev).unwrap();
        p.look_leaving_notify(&mut ev).unwrap();
        // The owner's wait still gets it (else this would wait forever).
        p.wait(&mut ev, None).unwrap();
        assert_eq!(ev.iter().count(), 0, "the notifier is not an event");
    }

    #[test]
    fn an_edge_registration_reports_readiness_once_per_edge() {
        let p = Poller::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        // SAFETY: `a` outlives its registration (deleted below).
        unsafe { p.add_with_mode(a.as_raw_fd(), Event::all(7), PollMode::Edge) }.unwrap();
        let mut ev = Events::new();
        p.wait(&mut ev, Some(Duration::ZERO)).unwrap();
        let first: Vec<Event> = ev.iter().collect();
        assert!(first
            .iter()
            .all(|e| e.key == 7 && e.writable && !e.readable));
        b.write_all(b"x").unwrap();
        p.wait(&mut ev, Some(Duration::from_secs(5))).unwrap();
        assert!(ev.iter().any(|e| e.key == 7 && e.readable));
        p.wait(&mut ev, Some(Duration::ZERO)).unwrap();
        assert_eq!(ev.iter().count(), 0, "no new edge");
        p.delete(std::os::fd::AsFd::as_fd(&a)).unwrap();
    }

    #[test]
    fn a_wait_never_ends_before_its_timeout() {
        let p = Poller::new().unwrap();
        let mut ev = Events::new();
        for micros in [1, 50, 1500] {
            let t = Instant::now();
            p.wait(&mut ev, Some(Duration::from_micros(micros)))
                .unwrap();
            assert!(t.elapsed() >= Duration::from_micros(micros));
        }
    }
}
