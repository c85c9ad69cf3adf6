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
