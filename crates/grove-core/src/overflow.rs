//! Stack overflow reports.
//!
//! A green thread that runs off its stack must not die as a bare SIGSEGV.
//! Guarded stacks fault on their guard page: a SIGSEGV/SIGBUS handler, running
//! on the hub thread's alternate signal stack, checks whether the faulting
//! address lies in the guard page of the green thread its hub is running. If
//! so it writes which green thread overflowed and its stack size, using only
//! `write(2)`, and aborts. Any other fault is handed to the handler that was
//! installed before ours (std's, which reports overflows of OS threads).
//!
//! Unguarded (slab) stacks have no guard page; the hub checks their canary
//! after every switch back and reports the same way ([`report_canary`]).

use std::cell::Cell;
use std::ptr;
use std::sync::{Once, OnceLock};

use crate::task::Task;

#[derive(Clone, Copy)]
struct Running {
    guard_lo: usize,
    guard_hi: usize,
    task: *const Task,
    size: usize,
}

const NOTHING: Running = Running {
    guard_lo: 0,
    guard_hi: 0,
    task: ptr::null(),
    size: 0,
};

thread_local! {
    // Const-initialised and without a destructor, so reading it in a signal
    // handler touches only the thread's static TLS block.
    static RUNNING: Cell<Running> = const { Cell::new(NOTHING) };
}

static INSTALL: Once = Once::new();
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

/// The hub is about to run `task` on a stack of `size` bytes whose guard
/// page, if any, is `guard`.
pub(crate) fn set_running(task: &Task, size: usize, guard: Option<(usize, usize)>) {
    let (guard_lo, guard_hi) = guard.unwrap_or((0, 0));
    RUNNING.set(Running {
        guard_lo,
        guard_hi,
        task,
        size,
    });
}

/// The hub is back on its own stack.
pub(crate) fn clear_running() {
    RUNNING.set(NOTHING);
}

/// Installs the process-wide handler (once).
pub(crate) fn install_handler() {
    INSTALL.call_once(|| {
        let mut previous = [zeroed_action(), zeroed_action()];
        for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            let mut action = zeroed_action();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: both structs are valid; the handler is async-signal-safe.
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, &mut previous[i]);
            }
        }
        let _ = PREVIOUS.set(previous);
    });
}

fn zeroed_action() -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// An alternate signal stack this module installed for a hub thread.
pub(crate) struct AltStack {
    base: *mut libc::c_void,
    len: usize,
}

/// Makes sure the calling (hub) thread has an alternate signal stack, so the
/// handler can run after the stack pointer has hit a guard page. Returns the
/// one it installed, if the thread had none (std installs one for threads it
/// spawns, normally).
pub(crate) fn ensure_altstack() -> Option<AltStack> {
    // SAFETY: querying with a null new-stack pointer only writes `old`.
    let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sigaltstack(ptr::null(), &mut old) };
    if old.ss_flags & libc::SS_DISABLE == 0 {
        return None;
    }
    let len = libc::SIGSTKSZ.max(64 * 1024);
    // SAFETY: a fresh anonymous mapping.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return None;
    }
    let new = libc::stack_t {
        ss_sp: base,
        ss_flags: 0,
        ss_size: len,
    };
    // SAFETY: `new` describes memory we own for as long as the AltStack lives.
    unsafe { libc::sigaltstack(&new, ptr::null_mut()) };
    Some(AltStack { base, len })
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let off = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disables the alternate stack before unmapping it; this runs
        // on the hub thread itself, outside any signal handler.
        unsafe {
            libc::sigaltstack(&off, ptr::null_mut());
            libc::munmap(self.base, self.len);
        }
    }
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let running = RUNNING.try_with(Cell::get).unwrap_or(NOTHING);
    if !running.task.is_null() && addr >= running.guard_lo && addr < running.guard_hi {
        // SAFETY: the hub holds an Arc of the running task while it runs.
        let task = unsafe { &*running.task };
        report(task, running.size, "overflowed its stack");
    }
    // Not ours: restore the previous handler and return; the fault repeats
    // and that handler sees it.
    if let Some(prev) = PREVIOUS.get() {
        let i = usize::from(sig == libc::SIGBUS);
        // SAFETY: restoring a sigaction saved at install time.
        unsafe { libc::sigaction(sig, &prev[i], ptr::null_mut()) };
    }
}

/// The hub found `task`'s stack canary clobbered: report and abort.
pub(crate) fn report_canary(task: &Task, size: usize) -> ! {
    report(
        task,
        size,
        "overflowed its stack (canary clobbered; unguarded stacks)",
    )
}

fn report(task: &Task, size: usize, what: &str) -> ! {
    write_err(b"\ngrove: green thread '");
    write_err(task.name.as_deref().unwrap_or("<unnamed>").as_bytes());
    write_err(b"' (id ");
    write_num(task.id);
    write_err(b") ");
    write_err(what.as_bytes());
    write_err(b" of ");
    write_num(size as u64);
    write_err(
        b" bytes; give it more with grove::Builder::stack_size or \
          RuntimeBuilder::stack_size\n",
    );
    // SAFETY: abort is async-signal-safe and ends the process.
    unsafe { libc::abort() }
}

fn write_err(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing a valid buffer to stderr.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

fn write_num(mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write_err(&buf[i..]);
}
