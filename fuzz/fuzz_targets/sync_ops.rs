//! Random programs over a grove-sync queue and semaphore, from green threads
//! on two hubs and an OS thread, checked against a sequential model; see
//! grove_tests::fuzz::sync_ops.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    grove_tests::fuzz::sync_ops(data);
});
