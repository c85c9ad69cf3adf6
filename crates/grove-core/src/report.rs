//! Panics name the green thread: a panic hook, installed once when the
//! first runtime starts, that adds which green thread panicked (id, name,
//! hub) to the message of whatever hook was there before.

use std::sync::Once;

use crate::error::panic_text;
use crate::hub::current_hub;

static INSTALL: Once = Once::new();

/// Wraps the current panic hook (std's, or the program's own if it set one
/// first). A panic outside green threads goes to it untouched; one in a
/// green thread is first announced on standard error as
/// `grove: green thread 12 'worker-7' (hub 0) panicked:`, then the previous
/// hook prints its message (std's names the OS thread, `grove-hub-0`).
pub(crate) fn install_panic_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(hub) = current_hub() {
                if let Some(task) = hub.running() {
                    let text = panic_text(info.payload());
                    crate::trace::panic(task, text);
                    match &task.name {
                        Some(n) => eprintln!(
                            "grove: green thread {} '{n}' (hub {}) panicked:",
                            task.id, hub.index
                        ),
                        None => eprintln!(
                            "grove: green thread {} (hub {}) panicked:",
                            task.id, hub.index
                        ),
                    }
                }
            }
            previous(info);
        }));
    });
}
