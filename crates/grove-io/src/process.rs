//! Child processes for green threads (gevent's `subprocess`): build the
//! command with `std::process::Command`, start it with [`spawn`] (or run it
//! with [`output`] / [`status`]); its pipes are green streams and
//! [`Child::wait`] parks only the calling green thread.
//!
//! The pipes are put in non-blocking mode and waited on through the
//! reactor, like sockets. The child's exit is waited on through a pidfd
//! (`pidfd_open(2)`, Linux 5.3 and later), which becomes readable when the
//! child exits; where there is none, `wait` polls `try_wait` with a
//! backoff from 1 to 50 ms.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::net::Io;

/// Starts `command` (gevent's `subprocess.Popen`). Pipes set up with
/// `Stdio::piped()` come back as green streams in the [`Child`]'s `stdin`,
/// `stdout` and `stderr`.
///
/// ```
/// use std::io::Read;
/// use std::process::{Command, Stdio};
///
/// let mut child = grove::process::spawn(
///     Command::new("echo").arg("hello").stdout(Stdio::piped()),
/// )
/// .unwrap();
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
/// assert_eq!(out, "hello\n");
/// assert!(child.wait().unwrap().success());
/// ```
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    let mut child = command.spawn()?;
    let stdin = child.stdin.take().map(|p| green(p.into())).transpose()?;
    let stdout = child.stdout.take().map(|p| green(p.into())).transpose()?;
    let stderr = child.stderr.take().map(|p| green(p.into())).transpose()?;
    let pidfd = pidfd_open(child.id());
    Ok(Child {
        child,
        pidfd,
        stdin: stdin.map(|io| ChildStdin { io }),
        stdout: stdout.map(|io| ChildStdout { io }),
        stderr: stderr.map(|io| ChildStderr { io }),
    })
}

/// Runs `command` to its end and collects everything it writes to standard
/// output and standard error (std's `Command::output`, gevent's
/// `check_output` without the check): standard input is empty, unless the
/// command sets it.
///
/// ```
/// use std::process::Command;
/// let out = grove::process::output(Command::new("printf").arg("a\\nb")).unwrap();
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"a\nb");
/// ```
pub fn output(command: &mut Command) -> io::Result<Output> {
    let child = spawn(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )?;
    child.wait_with_output()
}

/// Runs `command` to its end, its standard streams inherited, and returns
/// how it exited (std's `Command::status`, gevent's `subprocess.call`).
///
/// ```
/// use std::process::Command;
/// assert!(!grove::process::status(&mut Command::new("false")).unwrap().success());
/// ```
pub fn status(command: &mut Command) -> io::Result<ExitStatus> {
    spawn(command)?.wait()
}

/// A running child process, started by [`spawn`] (std's `Child`, with green
/// pipes and a wait that parks only the green thread).
///
/// Dropping it does not kill or wait for the process, as in std.
#[derive(Debug)]
pub struct Child {
    child: std::process::Child,
    pidfd: Option<OwnedFd>,
    /// Its standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// Its standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// Its standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The process id.
    ///
    /// ```
    /// let mut c = grove::process::spawn(&mut std::process::Command::new("true")).unwrap();
    /// assert!(c.id() > 0);
    /// c.wait().unwrap();
    /// ```
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends it `SIGKILL` (std's `Child::kill`).
    ///
    /// ```
    /// let mut c = grove::process::spawn(std::process::Command::new("sleep").arg("60")).unwrap();
    /// c.kill().unwrap();
    /// assert!(!c.wait().unwrap().success());
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        self.child.kill()
    }

    /// How it exited, if it has, without waiting.
    ///
    /// ```
    /// let mut c = grove::process::spawn(std::process::Command::new("sleep").arg("60")).unwrap();
    /// assert!(c.try_wait().unwrap().is_none());
    /// c.kill().unwrap();
    /// c.wait().unwrap();
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for it to exit: a green thread parks (its hub runs the
    /// others), an OS thread blocks. Its standard input, if piped, is
    /// closed first, as in std, so a child that reads to the end can finish.
    ///
    /// ```
    /// let mut c = grove::process::spawn(&mut std::process::Command::new("true")).unwrap();
    /// assert!(c.wait().unwrap().success());
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.wait_until(None)
            .map(|s| s.expect("an untimed wait ends with the exit"))
    }

    /// [`wait`](Child::wait), at most `timeout`: `Ok(None)` if it is still
    /// running.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut c = grove::process::spawn(std::process::Command::new("sleep").arg("60")).unwrap();
    /// assert!(c.wait_timeout(Duration::from_millis(10)).unwrap().is_none());
    /// c.kill().unwrap();
    /// c.wait().unwrap();
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    fn wait_until(&mut self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        drop(self.stdin.take());
        let mut backoff = Duration::from_millis(1);
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(Some(s));
            }
            let Some(left) = crate::wait::time_left(deadline) else {
                return Ok(None);
            };
            match &self.pidfd {
                Some(fd) => match crate::wait::wait_readable(fd, left) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                    Err(e) => return Err(e),
                },
                None => {
                    let nap = left.map_or(backoff, |l| l.min(backoff));
                    grove_core::sleep(nap);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
            }
        }
    }

    /// Waits for it to exit while collecting all of its standard output and
    /// standard error (those that were piped), read at the same time so
    /// that neither pipe fills up and stalls the child (std's
    /// `wait_with_output`, gevent's `communicate`).
    ///
    /// ```
    /// use std::process::{Command, Stdio};
    /// let c = grove::process::spawn(
    ///     Command::new("sh").args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped()).stderr(Stdio::piped()),
    /// ).unwrap();
    /// let out = c.wait_with_output().unwrap();
    /// assert_eq!(out.stdout, b"out\n");
    /// assert_eq!(out.stderr, b"err\n");
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let err_reader = self.stderr.take().map(|mut e| {
            grove_core::spawn(move || {
                let mut v = Vec::new();
                e.read_to_end(&mut v).map(|_| v)
            })
        });
        let mut stdout = Vec::new();
        if let Some(mut o) = self.stdout.take() {
            o.read_to_end(&mut stdout)?;
        }
        let stderr = match err_reader {
            Some(g) => g.join().map_err(|e| io::Error::other(e.to_string()))??,
            None => Vec::new(),
        };
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// A pipe end in non-blocking mode, waited on through the reactor.
fn green(fd: OwnedFd) -> io::Result<Io<File>> {
    set_nonblocking(fd.as_raw_fd())?;
    Ok(Io::new(File::from(fd)))
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A pidfd for `pid` (readable once it exits), where the kernel has them.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags, no pointers; the child
        // is not reaped before this (only its `Child` waits for it).
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: a fresh descriptor that nothing else owns.
            return Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
    }
    let _ = pid;
    None
}

/// The standard input of a [`Child`]: a green pipe (`Write`).
pub struct ChildStdin {
    io: Io<File>,
}

/// The standard output of a [`Child`]: a green pipe (`Read`).
pub struct ChildStdout {
    io: Io<File>,
}

/// The standard error of a [`Child`]: a green pipe (`Read`).
pub struct ChildStderr {
    io: Io<File>,
}

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.writing(|mut f| f.write(buf))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.writing(|mut f| f.write_vectored(bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads from a green pipe: what `ChildStdout` and `ChildStderr` share.
fn read_pipe(io: &Io<File>, buf: &mut [u8]) -> io::Result<usize> {
    io.reading(|mut f| f.read(buf))
}

fn read_pipe_vectored(io: &Io<File>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    io.reading(|mut f| f.read_vectored(bufs))
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_pipe(&self.io, buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        read_pipe_vectored(&self.io, bufs)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_pipe(&self.io, buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        read_pipe_vectored(&self.io, bufs)
    }
}

impl AsRawFd for ChildStdin {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsRawFd for ChildStdout {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsRawFd for ChildStderr {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl std::fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildStdin")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl std::fmt::Debug for ChildStdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildStdout")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl std::fmt::Debug for ChildStderr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildStderr")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
