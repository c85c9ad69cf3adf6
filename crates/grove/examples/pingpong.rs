//! Two actors, each a green thread with an inbox `Queue`, passing a ball
//! back and forth (the classic gevent actor sketch).
//!
//!     cargo run --example pingpong -- 100000

use std::sync::Arc;
use std::time::Instant;

use grove::Queue;

/// What an actor's inbox holds.
pub enum Msg {
    /// The ball, with the number of hits so far.
    Ball(u64),
    /// The game is over.
    Stop,
}

/// An actor: its inbox, and a loop that handles one message at a time.
pub struct Actor {
    inbox: Arc<Queue<Msg>>,
}

impl Actor {
    fn new() -> Actor {
        Actor {
            inbox: Arc::new(Queue::new()),
        }
    }

    fn send(&self, m: Msg) {
        // The inbox is never closed while the game runs.
        let _ = self.inbox.put(m);
    }
}

/// Plays `rounds` hits between two actors on green threads and returns
/// the number of hits counted by each side (ping's, pong's).
pub fn play(rounds: u64) -> (u64, u64) {
    let (ping, pong) = (Actor::new(), Actor::new());
    let (ping_in, pong_in) = (ping.inbox.clone(), pong.inbox.clone());
    let pong_side = {
        let ping_in = ping_in.clone();
        grove::spawn(move || {
            let mut hits = 0;
            for m in pong_in.iter() {
                match m {
                    Msg::Ball(n) => {
                        hits += 1;
                        let _ = ping_in.put(Msg::Ball(n + 1));
                    }
                    Msg::Stop => break,
                }
            }
            hits
        })
    };
    let ping_side = grove::spawn(move || {
        let mut hits = 0;
        pong.send(Msg::Ball(0));
        for m in ping_in.iter() {
            match m {
                Msg::Ball(n) if n + 1 >= rounds => {
                    hits += 1;
                    pong.send(Msg::Stop);
                    break;
                }
                Msg::Ball(n) => {
                    hits += 1;
                    pong.send(Msg::Ball(n + 1));
                }
                Msg::Stop => break,
            }
        }
        hits
    });
    let ping_hits = ping_side.join().expect("ping");
    let pong_hits = pong_side.join().expect("pong");
    drop(ping);
    (ping_hits, pong_hits)
}

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let t = Instant::now();
    let (a, b) = play(rounds);
    let took = t.elapsed();
    println!(
        "{} hits in {:?} ({:.0} ns per hit)",
        a + b,
        took,
        took.as_nanos() as f64 / (a + b).max(1) as f64
    );
}
