// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-guest-tests`: the tests that need a TERN device, run in the VM by
//! `scripts/guest-test.sh`. Prints KTAP; exits 1 when a test fails.
//!
//! Usage: `tern-guest-tests [FILTER...]` runs the tests whose name contains one of the FILTERs.

mod batch;
mod bo;
mod exporters;
mod fence;
mod isolation;
mod jobqueue;
mod jobs;
mod ktap;
mod lifetime;
mod node;
mod pci;
mod platform;
mod priority;
mod query;
mod raw;
mod recovery;
mod sharing;
mod sync;

/// Every guest test, in run order: the driver-independent ones first.
const TESTS: &[(&str, ktap::TestFn)] = &[
    ("pci_function_present", pci::function_present),
    ("pci_driver_bound", pci::driver_bound),
    ("msix_interrupt_delivered", pci::msix_delivered),
    (
        "selftest_measures_the_floor",
        platform::selftest_measures_the_floor,
    ),
    (
        "jobs_queued_together_share_an_interrupt",
        platform::jobs_queued_together_share_an_interrupt,
    ),
    ("accel_node_discovered", node::accel_node_discovered),
    ("version_ioctl", node::version_ioctl),
    ("open_wrong_node_refused", node::open_wrong_node_refused),
    ("master_ioctls_refused", node::master_ioctls_refused),
    ("query_reports_device", query::query_reports_device),
    (
        "query_rejects_flags_and_pad",
        query::query_rejects_flags_and_pad,
    ),
    ("bo_lifecycle_and_mmap", bo::bo_lifecycle_and_mmap),
    (
        "bo_create_rejects_bad_values",
        bo::bo_create_rejects_bad_values,
    ),
    (
        "bo_info_rejects_bad_handles",
        bo::bo_info_rejects_bad_handles,
    ),
    (
        "dmabuf_export_and_self_import",
        bo::dmabuf_export_and_self_import,
    ),
    ("nop_job_completes", jobs::nop_job_completes),
    ("copy_job_matches_cpu", jobs::copy_job_matches_cpu),
    ("vadd_job_matches_cpu", jobs::vadd_job_matches_cpu),
    ("gemm_job_matches_cpu", jobs::gemm_job_matches_cpu),
    (
        "faulting_and_illegal_jobs_report_status",
        jobs::faulting_and_illegal_jobs_report_status,
    ),
    (
        "wait_times_out_then_watchdog",
        jobs::wait_times_out_then_watchdog,
    ),
    ("submit_rejects_bad_values", jobs::submit_rejects_bad_values),
    (
        "submit_batch_runs_jobs_in_order",
        batch::submit_batch_runs_jobs_in_order,
    ),
    (
        "submit_batch_rejects_bad_values",
        batch::submit_batch_rejects_bad_values,
    ),
    (
        "submit_batch_stops_at_the_failing_entry",
        batch::submit_batch_stops_at_the_failing_entry,
    ),
    ("wait_rejects_bad_values", jobs::wait_rejects_bad_values),
    (
        "results_of_the_last_4096_jobs_are_kept",
        jobs::results_of_the_last_4096_jobs_are_kept,
    ),
    ("processes_are_isolated", isolation::processes_are_isolated),
    (
        "closed_buffer_va_not_reused_while_job_runs",
        lifetime::closed_buffer_va_not_reused_while_job_runs,
    ),
    (
        "second_handle_keeps_the_mapping",
        lifetime::second_handle_keeps_the_mapping,
    ),
    (
        "syncobj_chain_across_queues_and_files",
        sync::syncobj_chain_across_queues_and_files,
    ),
    (
        "timeline_points_signal_in_order",
        sync::timeline_points_signal_in_order,
    ),
    (
        "dependency_that_never_signals",
        sync::dependency_that_never_signals,
    ),
    (
        "errors_propagate_to_dependents",
        sync::errors_propagate_to_dependents,
    ),
    (
        "implicit_sync_between_processes",
        sync::implicit_sync_between_processes,
    ),
    (
        "fdinfo_reports_usage_stats",
        sync::fdinfo_reports_usage_stats,
    ),
    ("import_from_dma_heap", sharing::import_from_dma_heap),
    ("import_from_udmabuf", sharing::import_from_udmabuf),
    (
        "import_from_vgem_waits_for_its_fence",
        sharing::import_from_vgem_waits_for_its_fence,
    ),
    (
        "import_from_other_tern_device",
        sharing::import_from_other_tern_device,
    ),
    (
        "readonly_export_stays_readonly",
        sharing::readonly_export_stays_readonly,
    ),
    (
        "exporter_closed_while_a_job_uses_the_import",
        sharing::exporter_closed_while_a_job_uses_the_import,
    ),
    ("import_rejects_bad_fds", sharing::import_rejects_bad_fds),
    (
        "import_dmabufs_outlive_an_unbind",
        sharing::dmabufs_outlive_an_unbind,
    ),
    (
        "full_ring_does_not_fail_submit",
        jobqueue::full_ring_does_not_fail_submit,
    ),
    (
        "waiting_jobs_are_bounded_per_file",
        jobqueue::waiting_jobs_are_bounded_per_file,
    ),
    (
        "syncobj_and_sync_file_across_processes",
        sync::syncobj_and_sync_file_across_processes,
    ),
    (
        "wait_deadline_survives_signals",
        sync::wait_deadline_survives_signals,
    ),
    (
        "priority_set_checks_values_and_privilege",
        priority::set_priority_checks_values_and_privilege,
    ),
    (
        "priority_high_queue_runs_first",
        priority::high_priority_queue_runs_first,
    ),
    (
        "recovery_hung_job_is_stopped_and_the_queue_goes_on",
        recovery::hung_job_is_stopped_and_the_queue_goes_on,
    ),
    (
        "recovery_long_job_that_progresses_is_not_stopped",
        recovery::long_job_that_progresses_is_not_stopped,
    ),
    (
        "recovery_firmware_crash_resets_the_device",
        recovery::firmware_crash_resets_the_device,
    ),
    (
        "recovery_failed_reboot_is_retried",
        recovery::failed_reboot_during_recovery_is_retried,
    ),
    (
        "recovery_mmu_fault_storm_bans_only_its_file",
        recovery::mmu_fault_storm_bans_only_its_file,
    ),
    (
        "recovery_resets_while_other_processes_submit",
        recovery::resets_while_other_processes_submit,
    ),
    (
        "recovery_removal_with_jobs_in_flight",
        recovery::removal_with_jobs_in_flight,
    ),
    (
        "recovery_unrecoverable_device_is_wedged_until_rebind",
        recovery::unrecoverable_device_is_wedged_until_rebind,
    ),
    ("many_files_open", lifetime::many_files_open),
    (
        "buffers_per_file_are_bounded",
        lifetime::buffers_per_file_are_bounded,
    ),
];

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--isolation-child") {
        std::process::exit(isolation::child());
    }
    // Each argument selects the tests whose name contains it.
    let filters: Vec<String> = std::env::args().skip(1).collect();
    let tests: Vec<ktap::Test> = TESTS
        .iter()
        .map(|&(name, run)| ktap::Test { name, run })
        .collect();
    let failed = ktap::run(&tests, &filters);
    std::process::exit(i32::from(failed > 0));
}
