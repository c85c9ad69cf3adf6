//! Loom models of the queue's hand-offs (`src/queue/state.rs`): a bounded
//! queue's put and get on two threads, and a channel's rendezvous racing
//! with a getter that gives up.
#![cfg(loom)]

mod loom_common;

use grove_sync::wait::WaitList;
use grove_sync::{Fifo, GetRefused, Handoff, PutRefused, QueueState, Store};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_common::{killed_while_waiting, me, wait_handed, Waker};

type Q<S> = QueueState<u32, S, Waker>;

/// A blocking put, as `GenericQueue::put` does it.
fn put<S: Store<u32>>(q: &Mutex<Q<S>>, item: u32) {
    let (waker, parker) = me();
    let ticket = {
        let mut s = q.lock().unwrap();
        match s.put_now(item) {
            Ok(wake) => {
                drop(s);
                wake.into_iter().for_each(Waker::wake);
                return;
            }
            Err(PutRefused::Full(item)) => s.putters.push(waker, item),
            Err(PutRefused::Closed(_)) => panic!("nobody closes it"),
        }
    };
    let accepted = wait_handed(q, ticket, |s| &mut s.putters, &parker);
    assert!(accepted.is_ok(), "a put is accepted, not refused");
}

/// A blocking get, as `GenericQueue::get` does it.
fn get<S: Store<u32>>(q: &Mutex<Q<S>>) -> u32 {
    let (waker, parker) = me();
    let ticket = {
        let mut s = q.lock().unwrap();
        match s.get_now() {
            Ok((item, wake)) => {
                drop(s);
                wake.into_iter().for_each(Waker::wake);
                return item;
            }
            Err(GetRefused::Empty) => s.getters.push(waker, ()),
            Err(GetRefused::Closed) => panic!("nobody closes it"),
        }
    };
    wait_handed(q, ticket, |s| &mut s.getters, &parker).expect("an item, not a close")
}

/// Model 7b: a bounded queue (capacity 1) across two threads. The producer
/// puts 1 and 2; the consumer gets once, which makes room, so the producer's
/// second put must finish (the get admits the waiting putter) whatever the
/// interleaving; then 2 is next. Items arrive once, in order.
#[test]
fn bounded_put_and_get_across_threads_admit_the_waiting_putter() {
    loom::model(|| {
        let q = Arc::new(Mutex::new(Q::new(Fifo::default(), Some(1))));
        let qp = q.clone();
        let producer = thread::spawn(move || {
            put(&qp, 1);
            put(&qp, 2);
        });
        assert_eq!(get(&q), 1);
        producer.join().unwrap();
        let mut s = q.lock().unwrap();
        assert_eq!(s.get_now().map(|(item, _)| item), Ok(2));
        assert_eq!(s.unfinished, 2);
        assert!(s.getters.is_empty() && s.putters.is_empty());
    });
}

fn getters(s: &mut Q<Handoff<u32>>) -> &mut WaitList<(), Option<u32>, Waker> {
    &mut s.getters
}

/// Model 7c: a channel's rendezvous racing with a getter that gives up. The
/// getter waits; a putter brings 7 just as the getter is killed and leaves
/// the line (passing on an item handed to it at that moment, as the drop
/// guard of `wait_for` does). Whatever the order, a getter receives 7 (the
/// one giving up, if the item reached it before it parked; else the next)
/// and the putter finishes.
#[test]
fn channel_rendezvous_races_a_getter_giving_up_no_item_lost() {
    loom::model(|| {
        let q = Arc::new(Mutex::new(Q::new(Handoff::default(), Some(0))));
        let (waker, _parker) = me();
        let ticket = q.lock().unwrap().getters.push(waker, ());
        let qp = q.clone();
        let putter = thread::spawn(move || put(&qp, 7));
        let got = match killed_while_waiting(&q, ticket, getters, Q::pass_item_on) {
            Some(item) => item.expect("an item, not a close"),
            None => get(&q),
        };
        assert_eq!(got, 7, "the item reaches a getter");
        putter.join().unwrap();
        let s = q.lock().unwrap();
        assert!(s.items.is_empty() && s.getters.is_empty() && s.putters.is_empty());
    });
}
