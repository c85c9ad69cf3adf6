//! Lifecycle events through `tracing` (the `tracing` feature): this file is
//! its own process, so it can install a global subscriber that records
//! every event grove emits.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One event: its message and fields, as text.
type Fields = BTreeMap<String, String>;

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Fields>>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").replace('"', ""),
        );
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == "grove"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut f = Fields::new();
        e.record(&mut Visitor(&mut f));
        f.insert("level".into(), e.metadata().level().to_string());
        self.0.lock().unwrap().push(f);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_lifecycle_event_names_the_green_thread() {
    let rec = Recorder::default();
    tracing::subscriber::set_global_default(rec.clone()).expect("the only subscriber");
    let rt = grove::Runtime::builder()
        .workers(1)
        .stuck_hub_after(Some(Duration::from_millis(50)))
        .on_stuck_hub(|_| {})
        .build()
        .unwrap();
    let sleeper = grove::Builder::new()
        .name("traced")
        .spawn_on(rt.handle(), || grove::sleep(Duration::from_millis(5)))
        .unwrap();
    let id = sleeper.id().as_u64().to_string();
    sleeper.join().unwrap();
    let victim = grove::Builder::new()
        .name("victim")
        .spawn_on(rt.handle(), grove::park)
        .unwrap();
    let vid = victim.id().as_u64().to_string();
    while rt
        .snapshot()
        .thread(victim.id())
        .and_then(|t| t.waits_for)
        .is_none()
    {
        std::thread::yield_now();
    }
    victim.kill();
    let bad = grove::Builder::new()
        .name("bad")
        .spawn_on(rt.handle(), || panic!("traced panic"))
        .unwrap();
    let bid = bad.id().as_u64().to_string();
    assert!(bad.join().is_err());
    let spinner = grove::Builder::new()
        .name("spinner")
        .spawn_on(rt.handle(), || {
            std::thread::sleep(Duration::from_millis(200))
        })
        .unwrap();
    let sid = spinner.id().as_u64().to_string();
    spinner.join().unwrap();
    rt.shutdown();

    let events = rec.0.lock().unwrap().clone();
    let of = |who: &str, what: &str| -> Vec<Fields> {
        events
            .iter()
            .filter(|e| e.get("id").map(String::as_str) == Some(who))
            .filter(|e| e.get("message").map(String::as_str) == Some(what))
            .cloned()
            .collect()
    };
    for what in ["spawn", "start", "park", "wake", "end"] {
        assert!(
            !of(&id, what).is_empty(),
            "no {what} event for {id}: {events:?}"
        );
    }
    assert_eq!(of(&id, "spawn")[0]["name"], "traced");
    assert_eq!(of(&id, "start")[0]["hub"], "0");
    assert_eq!(of(&id, "park")[0]["reason"], "sleep");
    assert_eq!(of(&id, "end")[0]["outcome"], "returned");
    assert_eq!(of(&vid, "kill").len(), 1, "{events:?}");
    assert_eq!(of(&vid, "park")[0]["reason"], "park");
    assert_eq!(of(&vid, "end")[0]["outcome"], "killed");
    let panic = of(&bid, "panic");
    assert_eq!(panic.len(), 1, "{events:?}");
    assert_eq!(panic[0]["payload"], "traced panic");
    assert_eq!(panic[0]["level"], "WARN");
    assert_eq!(of(&bid, "end")[0]["outcome"], "panicked");
    let stuck = of(&sid, "stuck hub");
    assert_eq!(stuck.len(), 1, "{events:?}");
    assert_eq!(stuck[0]["name"], "spinner");
    assert_eq!(stuck[0]["level"], "WARN");
}
