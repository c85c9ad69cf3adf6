//! What a hub's sleep costs as hubs are added: N hubs (default 16), each
//! with a listening socket registered with its reactor and a green thread
//! that sleeps 1 ms 200 times, so every hub goes to sleep about 200 times.
//! Count the system calls, not the time:
//!
//!     cargo build --release --example hub_sleeps
//!     strace -f -c target/release/examples/hub_sleeps 16
//!
//! `epoll_ctl` per `epoll_pwait2` is the reactor work per sleep
//! (docs/benchmarks.md).
use std::time::Duration;
fn main() {
    let hubs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let rt = grove::Runtime::builder().workers(hubs).build().unwrap();
    let h = rt.handle().clone();
    let gs: Vec<_> = (0..hubs)
        .map(|i| {
            grove::Builder::new()
                .hub(i)
                .spawn_on(&h, move || {
                    let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
                    l.set_nonblocking(true).unwrap();
                    let _ = l.accept(); // registers it with this hub's reactor
                    for _ in 0..200 {
                        grove::sleep(Duration::from_millis(1));
                    }
                })
                .unwrap()
        })
        .collect();
    for g in gs {
        g.join().unwrap();
    }
    rt.shutdown();
}
