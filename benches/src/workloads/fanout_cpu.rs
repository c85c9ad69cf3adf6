//! `fanout_cpu`: 10,000 tasks of about 20 µs of pure CPU each, on 1 worker and
//! on N; wall time, and the speedup from 1 to N.
//!
//! Measures how well a runtime turns more cores into throughput when the work
//! is plentiful and even: the scheduling overhead per task (on 1 worker) and
//! how evenly the work spreads (on N). A gevent server doing real work per
//! request is limited by exactly this on many cores.
//!
//! Every peer gets the batch from outside the runtime (see `cpu_batch.rs`);
//! std threads split it statically, one share per thread, the ideal with no
//! queues. The task length is calibrated once per run (`spin.rs`). Go's
//! goroutines are started from its main goroutine (Go has no outside),
//! with `GOMAXPROCS` the row's workers and the same xorshift chain.

use super::cpu_batch::{self, Start};
use super::{Derived, PeerPlan, Row, RowMedians, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::BenchError;
use crate::go_peer;
use crate::peers::Peer;

/// See the module documentation.
pub struct FanoutCpu;

impl Workload for FanoutCpu {
    fn name(&self) -> &'static str {
        "fanout_cpu"
    }

    fn about(&self) -> &'static str {
        "10,000 tasks of ~20 us CPU each on 1 worker and on N: wall time and speedup"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let n = cfg.pick(10_000, 2_000);
        let mut counts = vec![1];
        if cfg.workers > 1 {
            counts.push(cfg.workers);
        }
        counts
            .into_iter()
            .map(|w| Row {
                key: format!("{w}w"),
                unit: Unit::Millis,
                workers: w,
                isolate: false,
                peers: vec![
                    PeerPlan::new(Peer::Grove, n, "submitted from outside (injector)"),
                    PeerPlan::new(Peer::Tokio, n, "submitted from outside (injector)"),
                    PeerPlan::new(Peer::May, n, "spawned from a plain thread"),
                    PeerPlan::new(Peer::Std, n, format!("{w} threads, static split")),
                    PeerPlan::new(
                        Peer::Go,
                        n,
                        format!("started from the main goroutine; GOMAXPROCS={w}"),
                    ),
                ],
            })
            .collect()
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let (w, n, it) = (row.workers, plan.count, cfg.spin_iters);
        let run = match plan.peer {
            Peer::Grove => cpu_batch::grove(w, n, it, Start::Outside)?,
            Peer::Tokio => cpu_batch::tokio(w, n, it, Start::Outside)?,
            Peer::May => cpu_batch::may(w, n, it, Start::Outside)?,
            Peer::Std => cpu_batch::std_split(w, n, it)?,
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample {
            value: run.took.as_secs_f64() * 1e3,
            note: run.note,
        })
    }

    fn derived(&self, rows: &[RowMedians<'_>]) -> Vec<Derived> {
        let (Some(one), Some(many)) = (rows.first(), rows.get(1)) else {
            return Vec::new();
        };
        Peer::ALL
            .into_iter()
            .filter_map(|p| {
                Some(Derived {
                    label: format!("speedup {} -> {}", one.key, many.key),
                    peer: p,
                    value: one.of(p)? / many.of(p)?,
                    lower_is_better: false,
                })
            })
            .collect()
    }
}
