//! The port of the published scripts, held to what the scripts do line by line: the calls
//! they make and in what order, their exit bitmasks, and PowerShell's string comparison.

use std::path::Path;

use ecxsim::backend::hyperv_types::same_host;
use ecxsim::control::ScriptName;
use ecxsim::model::cluster_set::trace_replication;
use ecxsim::model::scripted::{run_test, scripted_faults};
use ecxsim::scenario::load;
use ecxsim::world::TraceKind;

/// The calls `server` makes in a move within cluster1 (test plan 3), in order: c1s1 gives the
/// group up (Stop.ps1), c1s2 takes it (ChangePrimary).
fn move_calls(server: &str) -> Vec<String> {
    let sc = load(Path::new("scenarios/test_plan/3_move_within_cluster1.toml")).unwrap();
    let faults = scripted_faults(&sc);
    trace_replication(&sc, sc.simulation.seed, 0, &faults)
        .into_iter()
        .filter(|e| e.kind == TraceKind::Call && e.server == server)
        .map(|e| e.text.split(" -> ").next().unwrap_or_default().to_string())
        .collect()
}

fn change_primary_calls() -> Vec<String> {
    move_calls("c1s2")
}

#[test]
fn stop_guards_the_local_removal_with_an_unfiltered_listing() {
    let calls = move_calls("c1s1");
    let removal = calls
        .iter()
        .position(|c| c == "Remove-VMReplication TestVM1 -ComputerName c1s1")
        .unwrap_or_else(|| panic!("no local removal in {calls:#?}"));
    // `$PriInfo = Get-VMReplication -ComputerName $OwnPriSrv`, no VM named.
    assert_eq!(
        calls[removal - 1],
        "Get-VMReplication -ComputerName c1s1",
        "{calls:#?}"
    );
}

#[test]
fn change_primary_reads_replication_three_times_and_the_vm_once_before_the_checkpoint_poll() {
    let calls = change_primary_calls();
    let start = calls
        .iter()
        .position(|c| c.starts_with("Start-VMInitialReplication"))
        .expect("an initial replication");
    let listing = "Get-VMReplication -ComputerName c1s2";
    let get_vm = "Get-VM TestVM1 -ComputerName c1s2";
    // `$(Get-VMReplication).State`, `.PrimaryServer`, `$repstate`, `$vminfo = Get-VM`, then
    // the poll on "Creating checkpoint".
    assert_eq!(
        calls[start + 1..start + 6],
        [listing, listing, listing, get_vm, get_vm],
        "{calls:#?}"
    );
    // After Start-VM, `$repstate` once more.
    let started = calls
        .iter()
        .rposition(|c| c.starts_with("Start-VM "))
        .unwrap();
    assert_eq!(calls[started + 1..], [listing], "{calls:#?}");
}

#[test]
fn change_replica_removes_locally_even_where_no_relationship_exists() {
    let sc = load(Path::new(
        "scenarios/regression/change_replica_local_removal.toml",
    ))
    .unwrap();
    let run = run_test(&sc, 0, true);
    let results: Vec<(String, u32)> = run
        .scripts
        .iter()
        .filter(|s| s.script == ScriptName::ChangeReplica)
        .map(|s| (s.server.clone(), s.bitmask))
        .collect();
    assert_eq!(
        results,
        [("c2s2".to_string(), 2), ("c2s1".to_string(), 0)],
        "{}",
        run.timeline()
    );
}

#[test]
fn host_names_compare_as_powershell_does() {
    // COMPUTERNAME is upper case; a partner is reported as the FQDN replication was enabled
    // with.
    assert!(same_host("C1S1", "c1s1.corp.example"));
    assert!(same_host("c2s1.corp.example", "C2S1.other.example"));
    assert!(!same_host("c1s1", "c1s2"));
    assert!(!same_host("", "c1s1"));
}

/// The Enable-VMReplication a move within cluster1 makes, as the trace shows it.
fn enable_call(control: &str) -> String {
    let path =
        format!("scenarios/test_plan/3_move_within_cluster1.toml@simulation.control={control}");
    let sc = ecxsim::sweep::load_variant(&path).unwrap();
    let faults = scripted_faults(&sc);
    trace_replication(&sc, sc.simulation.seed, 0, &faults)
        .into_iter()
        .find(|e| e.kind == TraceKind::Call && e.text.contains("-ReplicaServerName"))
        .map(|e| e.text)
        .expect("an Enable-VMReplication")
}

#[test]
fn the_published_scripts_re_point_without_a_frequency_and_fall_back_to_five_minutes() {
    let shipped = enable_call("as-shipped");
    assert!(!shipped.contains("-ReplicationFrequencySec"), "{shipped}");
    let coordinated = enable_call("coordinated");
    assert!(
        coordinated.contains("-ReplicationFrequencySec 30 "),
        "{coordinated}"
    );
}
