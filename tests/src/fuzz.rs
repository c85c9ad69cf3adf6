//! The fuzz targets' logic, shared by `fuzz/` (libFuzzer, nightly) and the
//! stable replay test `tests/tests/fuzz_replay.rs` over the committed corpus.
//!
//! `scheduler_ops` decodes its input into a program: a few dozen green
//! threads, each running a short script (yield, sleep, park, spin, spawn and
//! join a child, panic, park with a timeout, unpark a sibling), and a driver
//! (a plain OS thread or a green thread, per the input) that unparks, kills
//! and waits for them. It checks that every green thread finishes exactly
//! once, every join returns the right value or error, every destructor runs
//! exactly once, and nothing hangs (a watchdog aborts a case that takes too
//! long).

use std::panic;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grove::{Error, Greenlet, Runtime, Thread};

pub use crate::fuzz_sync::sync_ops;

/// The message of the panics the programs cause on purpose.
pub const DELIBERATE: &str = "grove-fuzz: deliberate panic";

/// How long one case may take before the watchdog aborts the process.
pub const CASE_LIMIT: Duration = Duration::from_secs(30);

pub(crate) static CASE_STARTED_MS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The runtime every case runs on (2 hubs, as on the CI machines), the quiet
/// panic hook, and the watchdog, set up once per process.
pub(crate) fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let deliberate = info.payload().downcast_ref::<&str>() == Some(&DELIBERATE);
            if !deliberate {
                previous(info);
            }
        }));
        std::thread::Builder::new()
            .name("grove-fuzz-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_millis(200));
                let started = CASE_STARTED_MS.load(Ordering::SeqCst);
                if started != 0 && now_ms().saturating_sub(started) > CASE_LIMIT.as_millis() as u64
                {
                    eprintln!("grove-fuzz: a case ran longer than {CASE_LIMIT:?}: hang");
                    std::process::abort();
                }
            })
            .expect("watchdog thread");
    });
    RT.get_or_init(|| Runtime::builder().workers(2).build().expect("runtime"))
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Yield,
    Sleep(u64),
    Park,
    Spin(u32),
    Child,
    Panic,
    ParkTimeout(u64),
    Unpark(usize),
}

#[derive(Clone, Copy, Debug)]
enum Drive {
    Unpark(usize),
    Kill(usize),
    Wait(usize),
    Pause,
}

struct Program {
    scripts: Vec<Vec<Step>>,
    drive: Vec<Drive>,
    green_driver: bool,
}

pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Bytes<'_> {
    pub(crate) fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    pub(crate) fn or0(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }
}

fn decode(data: &[u8]) -> Program {
    let mut b = Bytes(data);
    let head = b.or0();
    let n = 2 + (head % 31) as usize;
    let green_driver = head & 0x80 != 0;
    let mut scripts = Vec::with_capacity(n);
    for _ in 0..n {
        let len = (b.or0() % 6) as usize;
        let mut script = Vec::with_capacity(len);
        for _ in 0..len {
            let op = b.or0();
            let arg = b.or0();
            script.push(match op % 8 {
                0 => Step::Yield,
                1 => Step::Sleep(u64::from(arg % 200)),
                2 => Step::Park,
                3 => Step::Spin(u32::from(arg) * 10),
                4 => Step::Child,
                5 => Step::Panic,
                6 => Step::ParkTimeout(u64::from(arg) * 2),
                _ => Step::Unpark(arg as usize % n),
            });
        }
        scripts.push(script);
    }
    let mut drive = Vec::new();
    while let (Some(op), Some(arg)) = (b.next(), b.next()) {
        let j = arg as usize % n;
        drive.push(match op % 4 {
            0 => Drive::Unpark(j),
            1 => Drive::Kill(j),
            2 => Drive::Wait(j),
            _ => Drive::Pause,
        });
        if drive.len() >= 64 {
            break;
        }
    }
    Program {
        scripts,
        drive,
        green_driver,
    }
}

/// Counts its own drops; the test checks each runs exactly once.
struct Counted(Arc<[AtomicUsize]>, usize);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0[self.1].fetch_add(1, Ordering::SeqCst);
    }
}

fn expected(i: usize) -> u64 {
    i as u64 * 7 + 1
}

fn run_script(i: usize, script: &[Step], siblings: &OnceLock<Vec<Thread>>) -> u64 {
    for step in script {
        match *step {
            Step::Yield => grove::yield_now(),
            Step::Sleep(us) => grove::sleep(Duration::from_micros(us)),
            Step::Park => grove::park(),
            Step::Spin(n) => {
                let mut x = 1u64;
                for _ in 0..n {
                    x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
                }
            }
            Step::Child => {
                let child = grove::spawn(move || expected(i) * 1000);
                assert_eq!(child.join().expect("child result"), expected(i) * 1000);
            }
            Step::Panic => panic::panic_any(DELIBERATE),
            Step::ParkTimeout(us) => {
                let _ = grove::park_timeout(Duration::from_micros(us));
            }
            Step::Unpark(j) => {
                if let Some(s) = siblings.get() {
                    s[j].unpark();
                }
            }
        }
    }
    expected(i)
}

/// Runs one `scheduler_ops` case; panics if any check fails.
pub fn scheduler_ops(data: &[u8]) {
    let rt = runtime();
    let program = decode(data);
    CASE_STARTED_MS.store(now_ms(), Ordering::SeqCst);
    let n = program.scripts.len();
    let finished: Arc<[AtomicUsize]> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    let dropped: Arc<[AtomicUsize]> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    let siblings: Arc<OnceLock<Vec<Thread>>> = Arc::new(OnceLock::new());

    let greenlets: Vec<Greenlet<u64>> = program
        .scripts
        .iter()
        .enumerate()
        .map(|(i, script)| {
            let script = script.clone();
            let capture = Counted(dropped.clone(), i);
            let finished = finished.clone();
            let siblings = siblings.clone();
            rt.spawn(move || {
                let _capture = capture;
                let _finish = Counted(finished, i);
                run_script(i, &script, &siblings)
            })
        })
        .collect();
    let _ = siblings.set(greenlets.iter().map(Greenlet::thread).collect());

    let (killed, greenlets) = if program.green_driver {
        let drive = program.drive.clone();
        rt.block_on(move || (drive_program(&greenlets, &drive), greenlets))
    } else {
        (drive_program(&greenlets, &program.drive), greenlets)
    };
    check(&program, greenlets, &killed, &finished, &dropped);
    CASE_STARTED_MS.store(0, Ordering::SeqCst);
}

/// Runs the driver's ops, then unparks every green thread until all finish.
/// Returns which ones were sent a kill.
fn drive_program(gs: &[Greenlet<u64>], drive: &[Drive]) -> Vec<bool> {
    let mut killed = vec![false; gs.len()];
    for op in drive {
        match *op {
            Drive::Unpark(j) => gs[j].thread().unpark(),
            Drive::Kill(j) => {
                killed[j] = true;
                assert!(gs[j].kill_timeout(CASE_LIMIT), "kill of {j} did not finish");
            }
            Drive::Wait(j) => {
                let _ = gs[j].wait_timeout(Duration::from_micros(200));
            }
            Drive::Pause => grove::sleep(Duration::from_micros(50)),
        }
    }
    let deadline = Instant::now() + CASE_LIMIT;
    for g in gs {
        while !g.wait_timeout(Duration::from_millis(1)) {
            assert!(Instant::now() < deadline, "a green thread never finished");
            g.thread().unpark();
        }
    }
    killed
}

fn check(
    program: &Program,
    gs: Vec<Greenlet<u64>>,
    killed: &[bool],
    finished: &[AtomicUsize],
    dropped: &[AtomicUsize],
) {
    for (i, g) in gs.into_iter().enumerate() {
        let panics = program.scripts[i].iter().any(|s| matches!(s, Step::Panic));
        let result = g.join();
        match &result {
            Ok(v) => assert_eq!(*v, expected(i), "green thread {i} returned a wrong value"),
            Err(Error::Killed) => {
                assert!(killed[i], "green thread {i} killed but nobody killed it")
            }
            Err(Error::Panicked(_)) => {
                assert!(panics, "green thread {i} panicked: {result:?}")
            }
            Err(e) => panic!("green thread {i}: unexpected error {e}"),
        }
        if result.is_ok() {
            assert!(!panics, "green thread {i} returned past its panic");
        }
        let ran = finished[i].load(Ordering::SeqCst);
        assert!(ran <= 1, "green thread {i} finished {ran} times");
        if !matches!(result, Err(Error::Killed)) {
            assert_eq!(ran, 1, "green thread {i} finished {ran} times");
        }
        // Its closure (and what it captured) is dropped exactly once, even
        // when it was killed before it started. The drop happens on the
        // green thread just before its result is published.
        assert_eq!(
            dropped[i].load(Ordering::SeqCst),
            1,
            "green thread {i}'s captures dropped wrongly"
        );
    }
}
