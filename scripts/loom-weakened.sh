#!/usr/bin/env bash
# Shows that each loom model can fail: builds grove-core with one rule broken
# on purpose (--cfg grove_loom_weaken="…", see grove-core's src/park.rs,
# src/idle.rs, src/inbox.rs, src/completion.rs and grove-sync's src/wait.rs, src/event.rs,
# src/async_result.rs, src/queue/state.rs) and runs the model that guards
# that rule, expecting loom to report the bug. Exits non-zero if any model
# passes against its weakened build. An optional argument runs only the cases
# whose line contains it (e.g. `grove-sync`). See docs/verification.md.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# weakening  test-file  model
cases=(
    "commit_relaxed      loom_park        unpark_races_park_resumes_exactly_once"
    "unpark_blind        loom_park        two_unparks_schedule_once"
    "kill_blind          loom_park        kill_races_unpark_schedules_once_and_keeps_the_kill"
    "timeout_blind       loom_park        timeout_races_unpark_one_outcome"
    "idle_skip_recheck   loom_idle        one_task_wakes_at_most_one_hub"
    "inbox_skip_recheck  loom_wake        bound_wake_from_another_hub_and_an_os_thread_reaches_home_once"
    "record_skip_recheck loom_record      a_reader_sees_one_whole_write_or_nothing"
    "completion_relaxed  loom_completion  join_races_completion_hands_the_result_over_once"
    "cancel_ignores_handed  loom_semaphore  release_races_a_timing_out_acquire_no_permit_lost  grove-sync"
    "get_skips_putters     loom_queue   bounded_put_and_get_across_threads_admit_the_waiting_putter  grove-sync"
    "give_back_drops       loom_queue   channel_rendezvous_races_a_getter_giving_up_no_item_lost  grove-sync"
    "event_raise_no_hand   loom_notify  event_set_then_clear_races_a_parking_waiter_it_wakes  grove-sync"
    "result_store_no_hand  loom_notify  async_result_set_races_two_gets_both_see_the_value  grove-sync"
)

failed=0
only="${1:-}"
for case in "${cases[@]}"; do
    [[ -z "$only" || "$case" == *"$only"* ]] || continue
    read -r weaken file model crate <<<"$case"
    crate="${crate:-grove-core}"
    log="target/loom-weakened-$weaken.log"
    mkdir -p target
    if RUSTFLAGS="--cfg loom --cfg grove_loom_weaken=\"$weaken\"" \
        cargo test --release --target-dir "target/loom-weak" -p "$crate" \
        --test "$file" -- --exact "$model" >"$log" 2>&1; then
        echo "FAIL: $model passed with $weaken: the model cannot see that bug"
        failed=1
    elif grep -qE "panicked|deadlock|Causality violation|assertion" "$log"; then
        echo "ok: $model caught $weaken"
    else
        echo "FAIL: $model with $weaken did not run (see $log)"
        failed=1
    fi
done
exit "$failed"
