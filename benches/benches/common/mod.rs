//! Helpers the criterion benchmark files share.
#![allow(dead_code)]

/// Spawns `f` on `hub` of the runtime behind `h`, pinned there.
pub fn pinned<T, F>(h: &grove::Handle, hub: usize, f: F) -> grove::Greenlet<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    grove::Builder::new()
        .hub(hub)
        .spawn_on(h, f)
        .expect("spawn a pinned green thread")
}
