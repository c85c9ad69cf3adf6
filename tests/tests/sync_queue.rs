//! grove-sync's queue family: gevent's documented behaviour, FIFO waiters,
//! close, and no item lost or duplicated to timeouts or kills across hubs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{
    Builder, Channel, GetError, JoinableQueue, LifoQueue, PriorityQueue, PutError, Queue, Runtime,
};
use grove_tests::{debug_count, until};

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn a_full_bounded_queue_blocks_put_until_a_get() {
    let rt = rt2();
    let q = Arc::new(Queue::bounded(2));
    q.put(1).unwrap();
    q.put(2).unwrap();
    let q2 = q.clone();
    let putter = rt.spawn(move || q2.put(3));
    until("the put waits", || debug_count(&*q, "putters") == 1);
    assert!(!putter.is_ready());
    assert_eq!(q.get(), Ok(1));
    putter.join().unwrap().unwrap();
    assert_eq!((q.get(), q.get()), (Ok(2), Ok(3)));
    assert_eq!(
        q.put_timeout(4, Duration::from_millis(1))
            .and_then(|()| q.put_timeout(5, Duration::from_millis(1)))
            .and_then(|()| q.put_timeout(6, Duration::from_millis(5))),
        Err(PutError::Timeout(6))
    );
}

#[test]
fn getters_and_putters_are_served_in_fifo_order() {
    let rt = rt2();
    let q = Arc::new(Queue::bounded(1));
    let got = Arc::new(Mutex::new(Vec::new()));
    let getters: Vec<_> = (0..10)
        .map(|i| {
            let (q2, got) = (q.clone(), got.clone());
            let g = rt.spawn(move || {
                let v = q2.get().unwrap();
                got.lock().unwrap().push((i, v));
            });
            until("getter queued", || debug_count(&*q, "getters") == i + 1);
            g
        })
        .collect();
    for v in 100..110 {
        q.put(v).unwrap();
    }
    getters.into_iter().for_each(|g| g.join().unwrap());
    let got = got.lock().unwrap().clone();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..10).zip(100..110).collect::<Vec<_>>(),
        "first getter gets the first item"
    );

    // Putters: fill, then queue putters in a known order.
    q.put(0).unwrap();
    let putters: Vec<_> = (1..6)
        .map(|v| {
            let q2 = q.clone();
            let p = rt.spawn(move || q2.put(v).unwrap());
            until("putter queued", || debug_count(&*q, "putters") == v);
            p
        })
        .collect();
    let out: Vec<usize> = (0..6).map(|_| q.get().unwrap()).collect();
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    putters.into_iter().for_each(|p| p.join().unwrap());
}

#[test]
fn lifo_and_priority_orders() {
    let l = LifoQueue::new();
    let p = PriorityQueue::bounded(10);
    for v in [3, 1, 2] {
        l.put(v).unwrap();
        p.put(v).unwrap();
    }
    assert_eq!(l.iter().take(3).collect::<Vec<_>>(), [2, 1, 3]);
    assert_eq!(p.iter().take(3).collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn joinable_queue_join_returns_only_after_every_task_done() {
    let rt = rt2();
    let q = Arc::new(JoinableQueue::new());
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..50 {
        q.put(i).unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            rt.spawn(move || {
                while let Ok(_job) = q.get() {
                    grove::sleep(Duration::from_micros(100));
                    done.fetch_add(1, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    let q2 = q.clone();
    let d2 = done.clone();
    let seen_at_join = rt.block_on(move || {
        q2.join();
        d2.load(Ordering::SeqCst)
    });
    assert_eq!(seen_at_join, 50);
    assert!(q.task_done().is_err(), "more task_done than puts");
    q.close();
    workers.into_iter().for_each(|w| w.join().unwrap());
}

#[test]
fn close_lets_getters_drain_then_reports_closed_to_everyone() {
    let rt = rt2();
    let q = Arc::new(Queue::bounded(1));
    q.put("left").unwrap();
    let q2 = q.clone();
    let blocked_putter = rt.spawn(move || q2.put("late"));
    until("putter waits", || debug_count(&*q, "putters") == 1);
    q.close();
    assert_eq!(
        blocked_putter.join().unwrap(),
        Err(PutError::Closed("late"))
    );
    assert_eq!(q.put("after"), Err(PutError::Closed("after")));
    assert_eq!(q.get(), Ok("left"));
    assert_eq!(q.get(), Err(GetError::Closed));

    // Waiting getters are woken by close.
    let e = Arc::new(Queue::<u8>::new());
    let gs: Vec<_> = (0..5)
        .map(|_| {
            let e = e.clone();
            rt.spawn(move || e.get())
        })
        .collect();
    until("getters wait", || debug_count(&*e, "getters") == 5);
    e.close();
    for g in gs {
        assert_eq!(g.join().unwrap(), Err(GetError::Closed));
    }
}

#[test]
fn a_channel_put_waits_until_a_getter_takes_the_item() {
    let rt = rt2();
    let ch = Arc::new(Channel::new());
    assert_eq!(ch.try_put(0), Err(PutError::Full(0)));
    let c = ch.clone();
    let putter = rt.spawn(move || c.put(1));
    until("putter waits", || debug_count(&*ch, "putters") == 1);
    std::thread::sleep(Duration::from_millis(2));
    assert!(!putter.is_ready(), "a channel put returns only once taken");
    assert_eq!(ch.len(), 0);
    assert_eq!(ch.get(), Ok(1));
    putter.join().unwrap().unwrap();
    // A getter that waits first is handed the item directly.
    let c = ch.clone();
    let getter = rt.spawn(move || c.get());
    until("getter waits", || debug_count(&*ch, "getters") == 1);
    ch.try_put(2).unwrap();
    assert_eq!(getter.join().unwrap(), Ok(2));
}

/// Many producers and consumers on both hubs and on OS threads, with short
/// timeouts on both sides (so items are often handed to a getter as it gives
/// up) and kills of blocked getters: every item arrives exactly once.
#[test]
fn no_item_is_lost_or_duplicated_across_hubs_timeouts_and_kills() {
    for cap in [Some(0), Some(3), None] {
        let rt = rt2();
        let q: Arc<Queue<u32>> = Arc::new(match cap {
            Some(c) => Queue::bounded(c),
            None => Queue::new(),
        });
        const PRODUCERS: u32 = 6;
        const EACH: u32 = 300;
        let seen = Arc::new(Mutex::new(vec![0u8; (PRODUCERS * EACH) as usize]));
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let q = q.clone();
            let body = move || {
                for i in 0..EACH {
                    let mut item = p * EACH + i;
                    loop {
                        match q.put_timeout(item, Duration::from_micros(50)) {
                            Ok(()) => break,
                            Err(e) => item = e.into_inner(),
                        }
                    }
                }
            };
            if p % 3 == 2 {
                producers.push(Err(std::thread::spawn(body)));
            } else {
                producers.push(Ok(Builder::new()
                    .hub(p as usize % 2)
                    .spawn_on(rt.handle(), body)
                    .unwrap()));
            }
        }
        let consume = {
            let (q, seen) = (q.clone(), seen.clone());
            move || loop {
                match q.get_timeout(Duration::from_micros(30)) {
                    Ok(v) => seen.lock().unwrap()[v as usize] += 1,
                    Err(GetError::Timeout) => continue,
                    Err(_) => return,
                }
            }
        };
        let consumers: Vec<_> = (0..6)
            .map(|i| {
                Builder::new()
                    .hub(i % 2)
                    .spawn_on(rt.handle(), consume.clone())
                    .unwrap()
            })
            .collect();
        let os_consumer = std::thread::spawn(consume.clone());
        // Blocked getters that get killed mid-wait.
        for _ in 0..20 {
            let q = q.clone();
            let seen = seen.clone();
            let g = rt.spawn(move || {
                if let Ok(v) = q.get() {
                    seen.lock().unwrap()[v as usize] += 1;
                }
            });
            std::thread::sleep(Duration::from_micros(200));
            g.kill();
        }
        for p in producers {
            match p {
                Ok(g) => g.join().unwrap(),
                Err(t) => t.join().unwrap(),
            }
        }
        q.close();
        consumers.into_iter().for_each(|c| c.join().unwrap());
        os_consumer.join().unwrap();
        let seen = seen.lock().unwrap();
        let bad: Vec<_> = seen
            .iter()
            .enumerate()
            .filter(|(_, &n)| n != 1)
            .take(5)
            .collect();
        assert!(
            bad.is_empty(),
            "cap {cap:?}: items not seen exactly once: {bad:?}"
        );
    }
}

// peek, shutdown and the waiting counts (gevent's test__queue.py, and the
// shutdown cases of CPython 3.13's test_queue.py that gevent runs).

#[test]
fn peek_shows_the_next_item_and_leaves_it() {
    // test_send_first, test_peek_empty
    let q = Queue::new();
    assert_eq!(q.try_peek(), Err(GetError::Empty));
    assert_eq!(
        q.peek_timeout(Duration::from_millis(2)),
        Err(GetError::Timeout)
    );
    q.put("hi").unwrap();
    assert_eq!(q.peek(), Ok("hi"));
    assert_eq!(q.try_peek(), Ok("hi"));
    assert_eq!(q.get(), Ok("hi"));
    assert_eq!(q.try_peek(), Err(GetError::Empty));
    // Each kind shows the item its get would take.
    let lifo = LifoQueue::new();
    let prio = PriorityQueue::new();
    for i in [2, 1, 3] {
        lifo.put(i).unwrap();
        prio.put(i).unwrap();
    }
    assert_eq!((lifo.peek(), lifo.get()), (Ok(3), Ok(3)));
    assert_eq!((prio.peek(), prio.get()), (Ok(1), Ok(1)));
    assert_eq!((lifo.len(), prio.len()), (2, 2));
}

#[test]
fn a_waiting_peek_sees_a_put_from_another_hub() {
    // test_peek_multi_greenlet, and test_peek_empty's waiter.
    let rt = rt2();
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let timed_out = rt.spawn(move || q2.peek_timeout(Duration::from_millis(10)));
    assert_eq!(timed_out.join().unwrap(), Err(GetError::Timeout));
    let q2 = q.clone();
    let peeker = rt.spawn(move || q2.peek());
    until("peeker waits", || debug_count(&*q, "peekers") == 1);
    q.put(1).unwrap();
    assert_eq!(peeker.join().unwrap(), Ok(1));
    assert_eq!(q.peek(), Ok(1));
    assert_eq!(q.len(), 1);
}

#[test]
fn a_peek_never_takes_an_item_from_a_getter_in_line_and_a_put_wakes_every_peek() {
    let rt = rt2();
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let getter = rt.spawn(move || q2.get());
    until("getter waits", || q.getters_waiting() == 1);
    let mut peekers: Vec<_> = (0..4)
        .map(|_| {
            let q2 = q.clone();
            rt.spawn(move || q2.peek())
        })
        .collect();
    let q2 = q.clone();
    let os_peeker = std::thread::spawn(move || q2.peek());
    until("five peekers wait", || debug_count(&*q, "peekers") == 5);
    assert_eq!(q.getters_waiting(), 1, "peekers are not getters");
    q.put(1).unwrap();
    assert_eq!(getter.join().unwrap(), Ok(1));
    assert_eq!(
        debug_count(&*q, "peekers"),
        5,
        "the getter's item is not seen"
    );
    assert!(peekers.iter().all(|p| !p.is_ready()));
    q.put(2).unwrap();
    for p in peekers.drain(..) {
        assert_eq!(p.join().unwrap(), Ok(2));
    }
    assert_eq!(os_peeker.join().unwrap(), Ok(2));
    assert_eq!(q.get(), Ok(2));
    // Close wakes waiting peeks with Closed.
    let q2 = q.clone();
    let peeker = rt.spawn(move || q2.peek());
    until("peeker waits", || debug_count(&*q, "peekers") == 1);
    q.close();
    assert_eq!(peeker.join().unwrap(), Err(GetError::Closed));
}

#[test]
fn a_killed_peek_leaves_the_line() {
    let rt = rt2();
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let killed = rt.spawn(move || q2.peek());
    let q2 = q.clone();
    let other = rt.spawn(move || q2.peek_timeout(Duration::from_secs(30)));
    until("two peekers wait", || debug_count(&*q, "peekers") == 2);
    killed.kill();
    assert!(killed.join().is_err());
    assert_eq!(debug_count(&*q, "peekers"), 1);
    q.put('x').unwrap();
    assert_eq!(other.join().unwrap(), Ok('x'));
}

/// CPython's `_shutdown_all_methods_in_one_thread`, as gevent runs it.
fn shutdown_all_methods_in_one_thread(immediate: bool) {
    let q = JoinableQueue::bounded(2);
    q.put("L").unwrap();
    q.try_put("O").unwrap();
    q.shutdown(immediate);
    assert_eq!(q.put("E"), Err(PutError::Closed("E")));
    assert_eq!(q.try_put("W"), Err(PutError::Closed("W")));
    if immediate {
        assert_eq!(q.get(), Err(GetError::Closed));
        assert_eq!(q.try_get(), Err(GetError::Closed));
        assert!(q.task_done().is_err());
        q.join();
    } else {
        assert_eq!(q.get(), Ok("L"));
        q.task_done().unwrap();
        assert_eq!(q.get(), Ok("O"));
        q.task_done().unwrap();
        q.join();
        assert_eq!(q.get(), Err(GetError::Closed));
        assert_eq!(q.try_get(), Err(GetError::Closed));
        assert_eq!(q.get_timeout(Duration::from_secs(1)), Err(GetError::Closed));
    }
}

#[test]
fn shutdown_all_methods_in_one_thread_both_ways() {
    shutdown_all_methods_in_one_thread(false);
    shutdown_all_methods_in_one_thread(true);
    // test_shutdown_allowed_transitions
    let q = Queue::<u8>::new();
    assert!(!q.is_closed());
    q.shutdown(false);
    q.shutdown(true);
    q.shutdown(false);
    assert!(q.is_closed());
    // test_shutdown_nonempty / test_shutdown_immediate
    let q = Queue::new();
    q.put("data").unwrap();
    q.shutdown(false);
    assert_eq!(q.get(), Ok("data"));
    assert_eq!(q.get(), Err(GetError::Closed));
    let q = Queue::new();
    q.put("data").unwrap();
    q.shutdown(true);
    assert_eq!(q.get(), Err(GetError::Closed));
}

/// Counts its drops, to see that a shutdown drops the items it removes.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn an_immediate_shutdown_drops_the_items_and_wakes_every_waiter() {
    let rt = rt2();
    let drops = Arc::new(AtomicUsize::new(0));
    // A full queue: a putter waits, and a joiner.
    let full = Arc::new(Queue::bounded(2));
    full.put(Counted(drops.clone())).unwrap();
    full.put(Counted(drops.clone())).unwrap();
    let f = full.clone();
    let extra = Counted(drops.clone());
    let putter = rt.spawn(move || f.put(extra).map_err(|e| matches!(e, PutError::Closed(_))));
    let f = full.clone();
    let joiner = rt.spawn(move || f.join());
    until("the putter waits", || full.putters_waiting() == 1);
    // An empty queue: getters and peekers wait, on green and OS threads.
    let empty = Arc::new(Queue::<u8>::new());
    let mut getters = Vec::new();
    let mut peekers = Vec::new();
    for _ in 0..3 {
        let (e1, e2) = (empty.clone(), empty.clone());
        getters.push(rt.spawn(move || e1.get()));
        peekers.push(rt.spawn(move || e2.peek()));
    }
    let e = empty.clone();
    let os_getter = std::thread::spawn(move || e.get());
    until("getters and peekers wait", || {
        empty.getters_waiting() == 4 && debug_count(&*empty, "peekers") == 3
    });
    full.shutdown(true);
    empty.shutdown(true);
    // The putter's item comes back to it (and is dropped with the result).
    assert_eq!(putter.join().unwrap(), Err(true));
    joiner.join().unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "two dropped, one given back"
    );
    assert!(full.is_empty());
    assert_eq!(full.unfinished_tasks(), 0);
    for g in getters.into_iter().chain(peekers) {
        assert_eq!(g.join().unwrap(), Err(GetError::Closed));
    }
    assert_eq!(os_getter.join().unwrap(), Err(GetError::Closed));
    assert_eq!((full.putters_waiting(), empty.getters_waiting()), (0, 0));
}

#[test]
fn join_after_an_immediate_shutdown_still_waits_for_items_taken_before() {
    let rt = rt2();
    let q = Arc::new(JoinableQueue::new());
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert_eq!(q.get(), Ok(1)); // taken, not yet done
    let q2 = q.clone();
    let joiner = rt.spawn(move || q2.join());
    until("the joiner waits", || {
        !joiner.is_ready() && q.unfinished_tasks() == 2
    });
    q.shutdown(true);
    assert_eq!(q.unfinished_tasks(), 1, "the dropped item counts as done");
    assert!(!q.join_timeout(Duration::from_millis(5)));
    q.task_done().unwrap();
    joiner.join().unwrap();
}

#[test]
fn waiting_counts_follow_blocked_gets_and_puts() {
    let rt = rt2();
    let q = Arc::new(Queue::bounded(1));
    assert_eq!((q.getters_waiting(), q.putters_waiting()), (0, 0));
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let q2 = q.clone();
            rt.spawn(move || q2.get())
        })
        .collect();
    until("three getters", || q.getters_waiting() == 3);
    let q2 = q.clone();
    let os_getter = std::thread::spawn(move || q2.get_timeout(Duration::from_millis(300)));
    until("four getters", || q.getters_waiting() == 4);
    assert_eq!(os_getter.join().unwrap(), Err(GetError::Timeout));
    assert_eq!(q.getters_waiting(), 3, "a timed-out get leaves the count");
    for i in 0..3 {
        q.put(i).unwrap();
    }
    let mut got: Vec<i32> = getters
        .into_iter()
        .map(|g| g.join().unwrap().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(q.getters_waiting(), 0);
    q.put(10).unwrap();
    let putters: Vec<_> = (11..13)
        .map(|i| {
            let q2 = q.clone();
            let p = rt.spawn(move || q2.put(i));
            until("putter waits", || q.putters_waiting() == (i - 10) as usize);
            p
        })
        .collect();
    assert_eq!(q.getters_waiting(), 0);
    assert_eq!((q.get(), q.get(), q.get()), (Ok(10), Ok(11), Ok(12)));
    putters.into_iter().for_each(|p| p.join().unwrap().unwrap());
    assert_eq!(q.putters_waiting(), 0);
}

/// Peeks that time out as a look reaches them, across both hubs and an OS
/// thread, while items come and go; then every peeker waits on an empty
/// queue, and one put must reach them all (each passes the look on).
#[test]
fn no_look_is_lost_to_peeks_that_time_out() {
    let rt = rt2();
    let q = Arc::new(Queue::new());
    let stop = Arc::new(AtomicUsize::new(0));
    let peek_loop = {
        let (q, stop) = (q.clone(), stop.clone());
        move || {
            while stop.load(Ordering::SeqCst) == 0 {
                let _ = q.peek_timeout(Duration::from_micros(30));
            }
            q.peek_timeout(Duration::from_secs(20))
        }
    };
    let green: Vec<_> = (0..6).map(|_| rt.spawn(peek_loop.clone())).collect();
    let os = std::thread::spawn(peek_loop);
    // The churn runs on an OS thread, so it never waits for a turn on a hub
    // that the peekers keep busy.
    let q2 = q.clone();
    let churn = std::thread::spawn(move || {
        for i in 0..2000u32 {
            q2.put(i).unwrap();
            if i % 3 == 0 {
                std::thread::yield_now();
            }
            assert_eq!(q2.try_get(), Ok(i));
        }
    });
    churn.join().unwrap();
    stop.store(1, Ordering::SeqCst);
    until("every peeker waits", || debug_count(&*q, "peekers") == 7);
    q.put(u32::MAX).unwrap();
    for p in green {
        assert_eq!(p.join().unwrap(), Ok(u32::MAX));
    }
    assert_eq!(os.join().unwrap(), Ok(u32::MAX));
}
