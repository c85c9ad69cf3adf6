#!/usr/bin/env bash
# Shows that each loom model can fail: builds grove-core with one rule broken
# on purpose (--cfg grove_loom_weaken="…", see grove-core's src/park.rs,
# src/registry.rs, src/idle.rs, src/inbox.rs, src/handoff.rs, src/completion.rs and grove-sync's src/wait.rs, src/event.rs,
# src/async_result.rs, src/queue/state.rs) and runs the model that guards
# that rule, expecting the model to report the bug with the failure that
# names the property. Exits non-zero if any model passes against its
# weakened build, or fails for another reason. An optional argument runs only the cases
# whose line contains it (e.g. `grove-sync`). See docs/verification.md.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# weakening | test file | model | crate | what the model must report
# The last column is the text of the failure that names the property: an
# assertion's message, or loom's own report when the property is loom's
# (a lost wakeup is a deadlock; an unordered hand-off of the context or the
# outcome is a causality violation). Any other failure (a branch limit, a
# build error) does not count as caught.
cases=(
    "commit_relaxed | loom_park | unpark_races_park_resumes_exactly_once | grove-core | Causality violation"
    "unpark_blind | loom_park | two_unparks_schedule_once | grove-core | not scheduled exactly once"
    "kill_blind | loom_park | kill_races_unpark_schedules_once_and_keeps_the_kill | grove-core | the kill was neither delivered nor left pending"
    "timeout_blind | loom_park | timeout_races_unpark_one_outcome | grove-core | timed out and lost the unpark's token"
    "take_kill_keeps | loom_completion | kill_races_completion_killer_wakes | grove-core | killed, and the kill still pending"
    "insert_checks_outside | loom_registry | spawn_races_shutdown_refused_or_seen | grove-core | an insert was neither refused nor seen by shutdown"
    "drain_check_early | loom_registry | last_exits_on_two_shards_wake_shutdown | grove-core | deadlock; threads"
    "kill_blind | loom_park | timeout_races_kill_one_resume_and_the_kill_wins | grove-core | a kill racing a timeout was lost"
    "in_place_scheduled | loom_park | in_place_park_is_woken_once | grove-core | not woken exactly once"
    "timeout_ignores_gen | loom_park | a_stale_timer_never_ends_a_later_park | grove-core | a stale timer ended a later park"
    "remote_no_notify | loom_handoff | sleeping_hub_races_a_push_and_is_not_lost | grove-core | deadlock; threads"
    "idle_skip_recheck | loom_handoff | one_task_wakes_at_most_one_hub | grove-core | deadlock; threads"
    "pending_skips_stealers | loom_handoff | work_queued_on_a_busy_hub_is_stolen_by_a_sleeping_one | grove-core | deadlock; threads"
    "timer_no_notify | loom_handoff | a_shared_timer_armed_while_a_hub_sleeps_is_fired | grove-core | deadlock; threads"
    "stop_no_unpark | loom_handoff | stop_ends_every_hub_loop_asleep_or_not | grove-core | deadlock; threads"
    "inbox_skip_recheck | loom_handoff | bound_wake_from_another_hub_and_an_os_thread_reaches_home_once | grove-core | deadlock; threads"
    "record_skip_recheck | loom_record | a_reader_sees_one_whole_write_or_nothing | grove-core | a read mixed two writes"
    "completion_relaxed | loom_completion | join_races_completion_hands_the_result_over_once | grove-core | Causality violation"
    "links_once | loom_completion | links_added_while_completing_each_run_once | grove-core | a link did not run exactly once"
    "cancel_ignores_handed | loom_semaphore | release_races_a_killed_acquire_no_permit_lost | grove-sync | the released permit was lost"
    "get_skips_putters | loom_queue | bounded_put_and_get_across_threads_admit_the_waiting_putter | grove-sync | deadlock; threads"
    "give_back_drops | loom_queue | channel_rendezvous_races_a_getter_giving_up_no_item_lost | grove-sync | deadlock; threads"
    "event_raise_no_hand | loom_notify | event_set_then_clear_races_a_parking_waiter_it_wakes | grove-sync | deadlock; threads"
    "result_store_no_hand | loom_notify | async_result_set_races_two_gets_both_see_the_value | grove-sync | deadlock; threads"
)

trim() {
    local v="$1"
    v="${v#"${v%%[![:space:]]*}"}"
    printf '%s' "${v%"${v##*[![:space:]]}"}"
}

failed=0
only="${1:-}"
for case in "${cases[@]}"; do
    [[ -z "$only" || "$case" == *"$only"* ]] || continue
    IFS='|' read -r weaken file model crate expect <<<"$case"
    weaken=$(trim "$weaken") file=$(trim "$file") model=$(trim "$model")
    crate=$(trim "$crate") expect=$(trim "$expect")
    log="target/loom-weakened-$weaken.log"
    mkdir -p target
    if RUSTFLAGS="--cfg loom --cfg grove_loom_weaken=\"$weaken\"" \
        cargo test --release --target-dir "target/loom-weak" -p "$crate" \
        --test "$file" -- --exact "$model" >"$log" 2>&1; then
        echo "FAIL: $model passed with $weaken: the model cannot see that bug"
        failed=1
    elif grep -qF -- "$expect" "$log"; then
        echo "ok: $model caught $weaken ($expect)"
    else
        echo "FAIL: $model with $weaken failed, but not with \"$expect\" (see $log)"
        failed=1
    fi
done
exit "$failed"
