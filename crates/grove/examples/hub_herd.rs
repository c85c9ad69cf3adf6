//! How many sleeping hubs one event wakes: N hubs (default 16); hub 0 is
//! kept busy by a green thread that computes and yields, while another
//! green thread on hub 0 reads a loopback connection that an OS thread
//! writes one byte to every millisecond, 200 times. The other hubs have
//! nothing to do and sleep. Count the system calls, not the time:
//!
//!     cargo build --release --example hub_herd
//!     strace -f -c -e trace=epoll_pwait2,epoll_wait,epoll_ctl target/release/examples/hub_herd 16
//!
//! `epoll_pwait2` (or `epoll_wait`) calls per byte written is the number of
//! waits that each event ends (docs/benchmarks.md).
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENTS: usize = 200;

fn main() {
    let hubs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let rt = grove::Runtime::builder().workers(hubs).build().unwrap();
    let h = rt.handle().clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let reader = grove::Builder::new()
        .hub(0)
        .spawn_on(&h, move || {
            let listener = grove::TcpListener::from_std(listener).unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = 0;
            let mut buf = [0u8; 64];
            while got < EVENTS {
                match conn.read(&mut buf).unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            d.store(true, Ordering::Release);
            got
        })
        .unwrap();
    let d = done.clone();
    let busy = grove::Builder::new()
        .hub(0)
        .spawn_on(&h, move || {
            // Computes in 200 us slices, never sleeping: hub 0 stays busy.
            while !d.load(Ordering::Acquire) {
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(200) {
                    std::hint::spin_loop();
                }
                grove::yield_now();
            }
        })
        .unwrap();
    let writer = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        for _ in 0..EVENTS {
            s.write_all(&[1]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    writer.join().unwrap();
    assert_eq!(reader.join().unwrap(), EVENTS);
    busy.join().unwrap();
    rt.shutdown();
}
