//! Child processes for green threads (gevent's `subprocess`): waits and pipe
//! reads park only the green thread; stdin and stdout move at once without
//! deadlock; errors and timeouts as std's.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs `f` on a one-hub runtime beside a ticker on the same hub, and
/// returns `f`'s value and how many 2 ms ticks happened meanwhile.
fn with_ticker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, usize) {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = grove_tests::ticker(rt.handle(), ticks.clone(), stop.clone());
    let v = rt.handle().spawn(f).join().unwrap();
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
    rt.shutdown();
    (v, ticks.load(Ordering::SeqCst))
}

#[test]
fn waiting_for_a_child_parks_only_the_green_thread() {
    let (ok, ticks) = with_ticker(|| {
        let mut c = grove::process::spawn(Command::new("sleep").arg("0.2")).unwrap();
        c.wait().unwrap().success()
    });
    assert!(ok);
    assert!(
        ticks >= 10,
        "the hub was blocked while waiting ({ticks} ticks)"
    );
}

#[test]
fn reading_a_slow_child_parks_only_the_green_thread() {
    let (out, ticks) = with_ticker(|| {
        let out = grove::process::output(Command::new("sh").args(["-c", "sleep 0.2; echo done"]));
        out.unwrap().stdout
    });
    assert_eq!(out, b"done\n");
    assert!(
        ticks >= 10,
        "the hub was blocked while reading ({ticks} ticks)"
    );
}

#[test]
fn stdin_and_stdout_stream_at_once_without_deadlock() {
    // More than any pipe buffer: writing it all before reading would stall.
    let data: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
    let expect = data.clone();
    let got = grove::spawn(move || {
        let mut c = grove::process::spawn(
            Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        )
        .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let writer = grove::spawn(move || stdin.write_all(&data));
        let mut out = Vec::new();
        c.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        writer.join().unwrap().unwrap();
        assert!(c.wait().unwrap().success());
        out
    })
    .join()
    .unwrap();
    assert!(got == expect, "cat's output differs");
}

#[test]
fn output_status_kill_and_timeouts() {
    grove::spawn(|| {
        let out =
            grove::process::output(Command::new("sh").args(["-c", "echo o; echo e >&2; exit 3"]))
                .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"o\n"[..], &b"e\n"[..])
        );

        assert!(grove::process::status(&mut Command::new("true"))
            .unwrap()
            .success());

        let mut c = grove::process::spawn(Command::new("sleep").arg("60")).unwrap();
        assert!(c.wait_timeout(Duration::from_millis(10)).unwrap().is_none());
        assert!(grove::with_timeout(Duration::from_millis(10), || c.wait()).is_err());
        c.kill().unwrap();
        assert!(!c.wait().unwrap().success());

        let missing = grove::process::spawn(&mut Command::new("/nonexistent/program"));
        assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    })
    .join()
    .unwrap();
}

#[test]
fn many_children_at_once_from_many_green_threads() {
    let gs: Vec<_> = (0..32)
        .map(|i| {
            grove::spawn(move || {
                let out = grove::process::output(Command::new("echo").arg(i.to_string())).unwrap();
                String::from_utf8(out.stdout)
                    .unwrap()
                    .trim()
                    .parse::<usize>()
                    .unwrap()
            })
        })
        .collect();
    let got: Vec<usize> = gs.into_iter().map(|g| g.join().unwrap()).collect();
    assert_eq!(got, (0..32).collect::<Vec<_>>());
}
