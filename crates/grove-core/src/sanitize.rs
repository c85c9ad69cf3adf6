//! Telling memory and thread checkers about green-thread stacks.
//!
//! AddressSanitizer, ThreadSanitizer and valgrind each assume that a thread
//! runs on one stack. A hub switches stacks at every run of a green thread,
//! which, untold, makes them report errors that are not there (valgrind) or
//! crash (ASan's fake stacks), or miss the ones that are (TSan treats every
//! green thread of a hub as one thread). This module tells them, at the only
//! two places a stack switch happens (`switch.rs`: the hub's
//! `run_task` into a green thread, and `switch_out` back):
//!
//! * **ASan**: `__sanitizer_start_switch_fiber` just before every switch,
//!   with the stack being switched to, and `__sanitizer_finish_switch_fiber`
//!   just after, on the new stack. A green thread learns its hub's stack
//!   from the second call (the stack it came from), and keeps it in a
//!   thread-local for its next switch back. When a green thread ends, its
//!   stack's shadow is cleared before the stack is reused: its last frames
//!   never returned, and their poisoned red zones would otherwise be blamed
//!   on the next green thread that runs on it.
//! * **TSan**: every green thread is a TSan fiber (`__tsan_create_fiber` at its
//!   start, `__tsan_destroy_fiber` at its end), and every switch is a
//!   `__tsan_switch_to_fiber`. TSan then sees each green thread's accesses as
//!   its own, and checks that what passes between green threads is ordered
//!   by grove's own hand-offs, as between OS threads.
//! * **valgrind**: every stack a green thread runs on is registered
//!   (`VALGRIND_STACK_REGISTER`) while it runs there, so memcheck knows a
//!   switch onto it for what it is.
//!
//! The hooks that switch a checker's idea of the current stack are
//! `#[inline(always)]` and called directly next to the real switch, with no
//! function call in between: ThreadSanitizer keeps a shadow call stack per
//! fiber, and a call entered on one fiber and returned from on the other
//! unbalances both (a crash after some thousands of switches).
//!
//! Off by default: every function here is empty and vanishes. Each checker
//! is turned on by its own `cfg` with the matching compiler flags, as
//! `docs/verification.md` shows:
//!
//! ```text
//! RUSTFLAGS='-Zsanitizer=address --cfg grove_sanitize="address"'   (nightly)
//! RUSTFLAGS='-Zsanitizer=thread --cfg grove_sanitize="thread"'     (nightly)
//! RUSTFLAGS='--cfg grove_sanitize="valgrind"'                      (x86_64)
//! ```

#[cfg(all(grove_sanitize = "valgrind", not(target_arch = "x86_64")))]
compile_error!("grove_sanitize=\"valgrind\" is written for x86_64 only");

use crate::stack::Stack;

/// What the checkers keep for one green thread, from its start to its end.
pub(crate) struct Fiber {
    #[cfg(grove_sanitize = "thread")]
    tsan: *mut core::ffi::c_void,
    #[cfg(grove_sanitize = "valgrind")]
    valgrind: usize,
    #[cfg(grove_sanitize = "address")]
    bounds: (*const u8, usize),
}

/// Where a green thread keeps its [`Fiber`]: an `Option` under a checker;
/// under none, nothing at all (every hook is empty, so no green thread pays
/// a byte for them).
#[derive(Default)]
pub(crate) struct Slot {
    #[cfg(any(
        grove_sanitize = "address",
        grove_sanitize = "thread",
        grove_sanitize = "valgrind"
    ))]
    fiber: Option<Fiber>,
}

impl Slot {
    /// Keeps `fiber` (a green thread got its stack).
    #[inline(always)]
    #[allow(unused_variables)]
    pub(crate) fn put(&mut self, fiber: Fiber) {
        #[cfg(any(
            grove_sanitize = "address",
            grove_sanitize = "thread",
            grove_sanitize = "valgrind"
        ))]
        {
            self.fiber = Some(fiber);
        }
    }

    /// The fiber, if one is kept.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&Fiber> {
        #[cfg(any(
            grove_sanitize = "address",
            grove_sanitize = "thread",
            grove_sanitize = "valgrind"
        ))]
        return self.fiber.as_ref();
        #[cfg(not(any(
            grove_sanitize = "address",
            grove_sanitize = "thread",
            grove_sanitize = "valgrind"
        )))]
        None
    }

    /// Takes the fiber out (its green thread finished).
    #[inline(always)]
    pub(crate) fn take(&mut self) -> Option<Fiber> {
        #[cfg(any(
            grove_sanitize = "address",
            grove_sanitize = "thread",
            grove_sanitize = "valgrind"
        ))]
        return self.fiber.take();
        #[cfg(not(any(
            grove_sanitize = "address",
            grove_sanitize = "thread",
            grove_sanitize = "valgrind"
        )))]
        None
    }
}

impl Fiber {
    /// A green thread is about to start on `stack`.
    #[inline(always)]
    #[allow(unused_variables)]
    pub(crate) fn new(stack: &Stack) -> Fiber {
        Fiber {
            // SAFETY: creating a fiber has no preconditions; it is destroyed
            // once, in `end`, after the last switch away from it.
            #[cfg(grove_sanitize = "thread")]
            tsan: unsafe { ffi::__tsan_create_fiber(0) },
            #[cfg(grove_sanitize = "valgrind")]
            valgrind: valgrind::stack_register(stack.bottom() as usize, stack.size()),
            #[cfg(grove_sanitize = "address")]
            bounds: (stack.bottom(), stack.size()),
        }
    }

    /// The green thread has made its last switch; its stack is about to be
    /// pooled or freed.
    #[inline(always)]
    pub(crate) fn end(self) {
        // SAFETY: `self.tsan` was created by `new`, is not the running fiber
        // (the hub is back on its own), and is destroyed only here.
        #[cfg(grove_sanitize = "thread")]
        unsafe {
            ffi::__tsan_destroy_fiber(self.tsan)
        };
        #[cfg(grove_sanitize = "valgrind")]
        valgrind::stack_deregister(self.valgrind);
        // SAFETY: the stack is mapped and no frame on it is live any more;
        // clearing its shadow only forgets stale red zones.
        #[cfg(grove_sanitize = "address")]
        unsafe {
            ffi::__asan_unpoison_memory_region(self.bounds.0.cast(), self.bounds.1)
        };
    }
}

// SAFETY: the fields are handles the checkers hand out; they are only used by
// the hub that owns the green thread, wherever the Fiber itself is moved.
unsafe impl Send for Fiber {}

/// What the hub keeps across one run of a green thread.
pub(crate) struct HubSide {
    #[cfg(grove_sanitize = "address")]
    fake: *mut core::ffi::c_void,
}

/// The hub is about to switch into the green thread of `fiber`.
#[inline(always)]
#[allow(unused_variables)]
pub(crate) fn to_green(fiber: &Fiber) -> HubSide {
    #[cfg(grove_sanitize = "thread")]
    // SAFETY: both fibers are live: the current one is the hub's, the other
    // was created in `Fiber::new` and not yet destroyed.
    unsafe {
        tls::HUB_FIBER.set(ffi::__tsan_get_current_fiber());
        ffi::__tsan_switch_to_fiber(fiber.tsan, 0);
    }
    #[cfg(grove_sanitize = "address")]
    {
        let mut fake = core::ptr::null_mut();
        // SAFETY: the bounds are the green thread's mapped stack, which the
        // switch that follows moves onto.
        unsafe {
            ffi::__sanitizer_start_switch_fiber(&mut fake, fiber.bounds.0.cast(), fiber.bounds.1)
        };
        HubSide { fake }
    }
    #[cfg(not(grove_sanitize = "address"))]
    HubSide {}
}

/// The hub is back on its own stack after running a green thread.
#[inline(always)]
pub(crate) fn back_in_hub(side: HubSide) {
    // SAFETY: `side.fake` is what `to_green` saved on this stack.
    #[cfg(grove_sanitize = "address")]
    unsafe {
        ffi::__sanitizer_finish_switch_fiber(
            side.fake,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
    let _ = side;
}

/// What a green thread keeps across one switch back to its hub.
pub(crate) struct GreenSide {
    #[cfg(grove_sanitize = "address")]
    fake: *mut core::ffi::c_void,
}

impl GreenSide {
    /// A green thread's first arrival on its stack: nothing saved yet.
    #[inline(always)]
    pub(crate) fn first() -> GreenSide {
        GreenSide {
            #[cfg(grove_sanitize = "address")]
            fake: core::ptr::null_mut(),
        }
    }
}

/// The green thread is running on its stack again (or for the first time).
#[inline(always)]
pub(crate) fn arrived_in_green(side: GreenSide) {
    #[cfg(grove_sanitize = "address")]
    {
        let mut bottom = core::ptr::null();
        let mut size = 0;
        // SAFETY: `side.fake` is what `to_hub` saved on this stack (null on
        // the first arrival); the out-pointers are live locals.
        unsafe { ffi::__sanitizer_finish_switch_fiber(side.fake, &mut bottom, &mut size) };
        // Where we came from is the hub's stack: where the next switch goes.
        tls::HUB_STACK.set((bottom, size));
    }
    let _ = side;
}

/// The green thread is about to switch back to its hub, to run again later.
#[inline(always)]
pub(crate) fn to_hub() -> GreenSide {
    #[cfg(grove_sanitize = "thread")]
    to_hub_fiber();
    #[cfg(grove_sanitize = "address")]
    {
        let mut fake = core::ptr::null_mut();
        let (bottom, size) = tls::HUB_STACK.get();
        // SAFETY: the bounds are the hub's stack, recorded when this green
        // thread last arrived from it; `fake` outlives the call.
        unsafe { ffi::__sanitizer_start_switch_fiber(&mut fake, bottom, size) };
        GreenSide { fake }
    }
    #[cfg(not(grove_sanitize = "address"))]
    GreenSide {}
}

/// The green thread is about to make its last switch back to its hub.
///
/// For ASan this frees the green thread's fake frames, so from here to the
/// switch the caller must not touch a local whose address was taken: such
/// locals live in those frames. Inlined into a caller with no such locals.
#[inline(always)]
pub(crate) fn to_hub_last() {
    #[cfg(grove_sanitize = "thread")]
    to_hub_fiber();
    // SAFETY: the bounds are the hub's stack, recorded when this green
    // thread last arrived from it; a null save frees this green thread's
    // fake frames, which nothing uses after the switch.
    #[cfg(grove_sanitize = "address")]
    unsafe {
        let (bottom, size) = tls::HUB_STACK.get();
        ffi::__sanitizer_start_switch_fiber(core::ptr::null_mut(), bottom, size)
    };
}

#[cfg(grove_sanitize = "thread")]
#[inline(always)]
fn to_hub_fiber() {
    // SAFETY: the hub's fiber is live: the hub recorded it before switching
    // to us and waits, suspended, for this switch.
    unsafe { ffi::__tsan_switch_to_fiber(tls::HUB_FIBER.get(), 0) };
}

#[cfg(any(grove_sanitize = "address", grove_sanitize = "thread"))]
mod tls {
    use std::cell::Cell;

    thread_local! {
        /// The hub's TSan fiber on this OS thread.
        #[cfg(grove_sanitize = "thread")]
        pub(super) static HUB_FIBER: Cell<*mut core::ffi::c_void> =
            const { Cell::new(core::ptr::null_mut()) };
        /// The hub's stack on this OS thread, as ASan last reported it.
        #[cfg(grove_sanitize = "address")]
        pub(super) static HUB_STACK: Cell<(*const core::ffi::c_void, usize)> =
            const { Cell::new((core::ptr::null(), 0)) };
    }
}

#[cfg(any(grove_sanitize = "address", grove_sanitize = "thread"))]
mod ffi {
    use core::ffi::c_void;

    extern "C" {
        #[cfg(grove_sanitize = "address")]
        pub(super) fn __sanitizer_start_switch_fiber(
            fake_stack_save: *mut *mut c_void,
            bottom: *const c_void,
            size: usize,
        );
        #[cfg(grove_sanitize = "address")]
        pub(super) fn __sanitizer_finish_switch_fiber(
            fake_stack_save: *mut c_void,
            bottom_old: *mut *const c_void,
            size_old: *mut usize,
        );
        #[cfg(grove_sanitize = "address")]
        pub(super) fn __asan_unpoison_memory_region(addr: *const c_void, size: usize);
        #[cfg(grove_sanitize = "thread")]
        pub(super) fn __tsan_get_current_fiber() -> *mut c_void;
        #[cfg(grove_sanitize = "thread")]
        pub(super) fn __tsan_create_fiber(flags: u32) -> *mut c_void;
        #[cfg(grove_sanitize = "thread")]
        pub(super) fn __tsan_destroy_fiber(fiber: *mut c_void);
        #[cfg(grove_sanitize = "thread")]
        pub(super) fn __tsan_switch_to_fiber(fiber: *mut c_void, flags: u32);
    }
}

/// valgrind's client requests: a marked instruction sequence that does
/// nothing on a real CPU and that valgrind's CPU recognises.
#[cfg(grove_sanitize = "valgrind")]
mod valgrind {
    const STACK_REGISTER: usize = 0x1501;
    const STACK_DEREGISTER: usize = 0x1502;

    fn request(args: [usize; 6]) -> usize {
        let mut result = 0usize;
        // SAFETY: the four rotations of rdi add up to 128 bits, leaving it as
        // it was; valgrind reads `args` through rax and answers in rdx, and
        // on a real CPU `xchg rbx, rbx` does nothing.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") result,
                options(nostack),
            );
        }
        result
    }

    /// Registers `[bottom, bottom + size)` as a stack; returns its id.
    pub(super) fn stack_register(bottom: usize, size: usize) -> usize {
        request([STACK_REGISTER, bottom, bottom + size - 1, 0, 0, 0])
    }

    /// Forgets a stack registered by [`stack_register`].
    pub(super) fn stack_deregister(id: usize) {
        request([STACK_DEREGISTER, id, 0, 0, 0, 0]);
    }
}
