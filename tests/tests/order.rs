//! No order traps: whatever a program calls first, the runtimes it gets
//! have per-hub reactors. Each check runs in a fresh child process, where
//! nothing has touched grove yet.

use grove::Runtime;
use grove_tests::run_child;

/// Runs `check` as the first thing a fresh process does with grove.
fn first_thing(test: &str, var: &str, check: fn() -> bool) {
    if std::env::var_os(var).is_some() {
        let reactors = check();
        println!("REACTORS: {reactors}");
        return;
    }
    let out = run_child(test, var);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("REACTORS: true"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_default_runtime_has_reactors_when_handle_current_comes_first() {
    first_thing(
        "the_default_runtime_has_reactors_when_handle_current_comes_first",
        "GROVE_ORDER_HANDLE",
        || {
            let h = grove::Handle::current();
            h.spawn(grove::in_reactor_hub).join().unwrap()
        },
    );
}

#[test]
fn the_default_runtime_has_reactors_when_a_spawn_comes_first() {
    first_thing(
        "the_default_runtime_has_reactors_when_a_spawn_comes_first",
        "GROVE_ORDER_SPAWN",
        || {
            grove::spawn(|| ()).join().unwrap();
            // Every hub, not only the first: each reports its descriptors.
            let snapshot = grove::Handle::current().snapshot();
            let all = snapshot.hubs.iter().all(|h| h.descriptors.is_some());
            all && grove::spawn(grove::in_reactor_hub).join().unwrap()
        },
    );
}

#[test]
fn a_built_runtime_has_reactors_before_any_socket_exists() {
    first_thing(
        "a_built_runtime_has_reactors_before_any_socket_exists",
        "GROVE_ORDER_BUILT",
        || {
            let rt = Runtime::builder().workers(2).build().unwrap();
            rt.block_on(grove::in_reactor_hub)
        },
    );
}
