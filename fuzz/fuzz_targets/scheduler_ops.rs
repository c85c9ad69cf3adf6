//! Random programs of spawn / yield / sleep / park / unpark / kill / join over
//! a few dozen green threads on a 2-hub runtime; see grove_tests::fuzz.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    grove_tests::fuzz::scheduler_ops(data);
});
