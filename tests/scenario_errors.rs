//! Every class of broken scenario input exits 2 with a located message, and no mutation of a
//! valid file makes the parser panic.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

const VALID: &str = r#"[simulation]
horizon = "1y"
replications = 10
seed = 1

[[cluster]]
name = "cluster1"
servers = ["a", "b"]
server_ttf = { dist = "exponential", mean = "1000h" }
server_ttr = { dist = "uniform", min = "1h", max = "3h" }
heartbeat_timeout = "30s"
group_start = "1m"

[[service]]
name = "app"
cluster = "cluster1"
"#;

/// Runs `ecxsim validate` on `contents` and returns (exit code, stdout + stderr).
fn validate(contents: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, contents).unwrap();
    validate_path(&path)
}

fn validate_path(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .arg("validate")
        .arg(path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

/// The valid file with one substitution; the substitution must apply.
fn broken(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from}");
    VALID.replacen(from, to, 1)
}

/// Asserts exit 2 and a message `broken.toml:LINE:COL: `KEY`: ...` containing `expect`.
fn assert_located(contents: &str, line: usize, key: &str, expect: &str) {
    let (code, text) = validate(contents.as_bytes());
    assert_eq!(code, 2, "{text}");
    let prefix = format!("broken.toml:{line}:");
    assert!(text.contains(&prefix), "expected {prefix} in: {text}");
    assert!(
        text.contains(&format!("`{key}`")),
        "expected key {key} in: {text}"
    );
    assert!(text.contains(expect), "expected {expect:?} in: {text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn valid_file_passes() {
    let (code, text) = validate(VALID.as_bytes());
    assert_eq!(code, 0, "{text}");
}

#[test]
fn unknown_key() {
    let text = broken(
        "group_start = \"1m\"",
        "group_start = \"1m\"\nheartbeat = \"5s\"",
    );
    assert_located(
        &text,
        13,
        "cluster.cluster1.heartbeat",
        "unknown key `heartbeat`; expected one of",
    );
}

#[test]
fn unknown_key_inside_a_distribution() {
    let text = broken("mean = \"1000h\"", "mean = \"1000h\", rate = 2");
    assert_located(
        &text,
        9,
        "cluster.cluster1.server_ttf.rate",
        "unknown key `rate`",
    );
}

#[test]
fn wrong_type() {
    let text = broken("replications = 10", "replications = \"ten\"");
    assert_located(
        &text,
        3,
        "simulation.replications",
        "expected a whole number",
    );
}

#[test]
fn bad_duration() {
    let text = broken(
        "heartbeat_timeout = \"30s\"",
        "heartbeat_timeout = \"30 seconds\"",
    );
    assert_located(
        &text,
        11,
        "cluster.cluster1.heartbeat_timeout",
        "expected a duration with a unit",
    );
}

#[test]
fn negative_mean() {
    let text = broken("mean = \"1000h\"", "mean = \"-1000h\"");
    assert_located(
        &text,
        9,
        "cluster.cluster1.server_ttf.mean",
        "cannot be negative",
    );
}

#[test]
fn zero_mean() {
    let text = broken("mean = \"1000h\"", "mean = \"0h\"");
    assert_located(
        &text,
        9,
        "cluster.cluster1.server_ttf.mean",
        "greater than zero",
    );
}

#[test]
fn zero_time_to_failure() {
    let text = broken(
        "server_ttf = { dist = \"exponential\", mean = \"1000h\" }",
        "server_ttf = \"0s\"",
    );
    assert_located(&text, 9, "cluster.cluster1.server_ttf", "greater than zero");
}

#[test]
fn unknown_distribution() {
    let text = broken("dist = \"exponential\"", "dist = \"poisson\"");
    assert_located(
        &text,
        9,
        "cluster.cluster1.server_ttf.dist",
        "unknown distribution \"poisson\"",
    );
}

#[test]
fn min_above_max() {
    let text = broken("min = \"1h\", max = \"3h\"", "min = \"4h\", max = \"3h\"");
    assert_located(
        &text,
        10,
        "cluster.cluster1.server_ttr.max",
        "`min` must not exceed `max`",
    );
}

#[test]
fn unknown_reference() {
    let text = broken("cluster = \"cluster1\"", "cluster = \"cluster9\"");
    assert_located(
        &text,
        16,
        "service.app.cluster",
        "unknown cluster \"cluster9\"",
    );
}

#[test]
fn duplicate_server() {
    let text = broken("[\"a\", \"b\"]", "[\"a\", \"a\"]");
    assert_located(&text, 8, "cluster.cluster1.servers", "duplicate name \"a\"");
}

#[test]
fn server_in_two_clusters() {
    let text = format!(
        "{VALID}\n[[cluster]]\nname = \"cluster2\"\nservers = [\"b\"]\nserver_ttf = \"1y\"\nserver_ttr = \"1h\"\nheartbeat_timeout = \"1s\"\ngroup_start = \"1s\"\n"
    );
    assert_located(&text, 20, "cluster.cluster2.servers", "already used");
}

#[test]
fn empty_server_list() {
    let text = broken("[\"a\", \"b\"]", "[]");
    assert_located(&text, 8, "cluster.cluster1.servers", "empty list");
}

#[test]
fn missing_required_key() {
    let text = broken("group_start = \"1m\"\n", "");
    assert_located(
        &text,
        6,
        "cluster.cluster1.group_start",
        "missing required key `group_start`",
    );
}

#[test]
fn missing_simulation_section() {
    let text = VALID.replacen("[simulation]", "[simulations]", 1);
    let (code, out) = validate(text.as_bytes());
    assert_eq!(code, 2);
    assert!(out.contains("missing the [simulation] section"), "{out}");
}

#[test]
fn invalid_toml() {
    let text = broken("seed = 1", "seed = = 1");
    assert_located_toml(&text, 4);
}

fn assert_located_toml(text: &str, line: usize) {
    let (code, out) = validate(text.as_bytes());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("broken.toml:{line}:")), "{out}");
    assert!(out.contains("invalid TOML"), "{out}");
}

#[test]
fn random_bytes() {
    let bytes: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (code, out) = validate(&bytes);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("broken.toml:"), "{out}");
    assert!(
        out.contains("not UTF-8") || out.contains("invalid TOML"),
        "{out}"
    );
}

#[test]
fn missing_file() {
    let (code, out) = validate_path(Path::new("/nonexistent/scenario.toml"));
    assert_eq!(code, 2);
    assert!(
        out.contains("/nonexistent/scenario.toml: cannot read the scenario file"),
        "{out}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["run", "x.toml", "--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Mutations of a valid file: deletions, duplications, and replacements of a byte range with
/// tokens that are plausible in TOML. The parser must answer Ok or a located error, never panic.
fn mutate(base: &str, start: usize, len: usize, token: &str) -> String {
    let bytes = base.as_bytes();
    let start = start % bytes.len();
    let end = (start + len).min(bytes.len());
    let mut out = bytes[..start].to_vec();
    out.extend_from_slice(token.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
    #[test]
    fn mutated_scenarios_never_panic(
        start in 0usize..1000,
        len in 0usize..12,
        token in prop::sample::select(vec![
            "", "\"", "=", "[", "]]", "{", "}", ",", "\n", "-", "0", "1e309", "\"0s\"", "\"-1h\"",
            "\"99999999y\"", "[[cluster]]", "[[service]]", "dist", "\"weibull\"", "\"empirical\"",
            "file = \"missing.csv\"", "shape = 0", "sigma = -1", "true", "[]", "{}", "é", "\u{0}",
            "repair_crews = 0", "failback = true", "shared_disk = {}", "warmup = \"2y\"",
        ]),
    ) {
        let text = mutate(VALID, start, len, token);
        if let Err(e) = ecxsim::scenario::parse(Path::new("mutated.toml"), text) {
            let message = e.to_string();
            prop_assert!(message.starts_with("mutated.toml:"), "unlocated: {}", message);
            prop_assert!(e.position.is_some(), "no line/column: {}", message);
        }
    }
}

#[test]
fn a_malformed_duration_in_an_expectation_says_expected_once() {
    let text = format!(
        "{VALID}\n[[expect]]\nmetric = \"unprotected\"\nop = \"<=\"\nvalue = \"5 minutes\"\n"
    );
    let (code, out) = validate(text.as_bytes());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("expected a duration with a unit"), "{out}");
    assert!(!out.contains("expected expected"), "{out}");
}

/// Two clusters, a VM replicated between them with churn, and the link that carries it.
const LINKED: &str = r#"[simulation]
horizon = "1y"
replications = 10
seed = 1

[[cluster]]
name = "site1"
servers = ["a1", "a2"]
server_ttf = "1y"
server_ttr = "1h"
heartbeat_timeout = "30s"
group_start = "1m"

[[cluster]]
name = "site2"
servers = ["b1", "b2"]
server_ttf = "1y"
server_ttr = "1h"
heartbeat_timeout = "30s"
group_start = "1m"

[[vm]]
name = "db"
cluster = "site1"
replica_cluster = "site2"
replication_interval = "5m"
churn = "2MB/s"

[[link]]
name = "wan"
clusters = ["site1", "site2"]
bandwidth = "100Mbit/s"
"#;

fn linked(from: &str, to: &str) -> String {
    assert!(LINKED.contains(from), "{from}");
    LINKED.replacen(from, to, 1)
}

#[test]
fn a_linked_cluster_set_passes() {
    let (code, text) = validate(LINKED.as_bytes());
    assert_eq!(code, 0, "{text}");
}

#[test]
fn churn_is_a_rate_per_second() {
    let amount = linked("churn = \"2MB/s\"", "churn = \"2MB\"");
    assert_located(&amount, 27, "vm.db.churn", "is an amount, not a rate");
    let ambiguous = linked("churn = \"2MB/s\"", "churn = \"2Mb/s\"");
    assert_located(
        &ambiguous,
        27,
        "vm.db.churn",
        "write \"MB/s\" (bytes) or \"Mbit/s\" (bits)",
    );
    let in_a_distribution = linked(
        "churn = \"2MB/s\"",
        "churn = { dist = \"lognormal\", median = \"2MB\", sigma = 0.5 }",
    );
    assert_located(&in_a_distribution, 27, "vm.db.churn.median", "is an amount");
    let number = linked("churn = \"2MB/s\"", "churn = 2");
    assert_located(
        &number,
        27,
        "vm.db.churn",
        "expected a rate such as \"2MB/s\"",
    );
}

#[test]
fn a_link_s_bandwidth_is_a_positive_rate() {
    for (bad, expect) in [
        ("\"-100Mbit/s\"", "cannot be negative"),
        ("\"0Mbit/s\"", "greater than zero"),
        ("-100", "expected a rate with its unit"),
        ("\"100mbps\"", "leaves bits and bytes to guesswork"),
    ] {
        let text = linked("bandwidth = \"100Mbit/s\"", &format!("bandwidth = {bad}"));
        assert_located(&text, 32, "link.wan.bandwidth", expect);
    }
    let missing = linked("bandwidth = \"100Mbit/s\"\n", "");
    assert_located(
        &missing,
        29,
        "link.wan.bandwidth",
        "missing required key `bandwidth`",
    );
}

#[test]
fn a_link_joins_two_known_different_clusters_once() {
    let unknown = linked("[\"site1\", \"site2\"]", "[\"site1\", \"site3\"]");
    assert_located(
        &unknown,
        31,
        "link.wan.clusters",
        "unknown cluster \"site3\"",
    );
    let twice = linked("[\"site1\", \"site2\"]", "[\"site1\", \"site1\"]");
    assert_located(&twice, 31, "link.wan.clusters", "duplicate name \"site1\"");
    let one = linked("[\"site1\", \"site2\"]", "[\"site1\"]");
    assert_located(
        &one,
        31,
        "link.wan.clusters",
        "expected the names of two clusters",
    );
    let second = format!(
        "{LINKED}\n[[link]]\nname = \"backup\"\nclusters = [\"site2\", \"site1\"]\nbandwidth = \"1Gbit/s\"\n"
    );
    assert_located(
        &second,
        36,
        "link.backup.clusters",
        "link \"wan\" already joins \"site2\" and \"site1\"",
    );
    let same_name = second.replace("name = \"backup\"", "name = \"wan\"");
    assert_located(
        &same_name,
        35,
        "link[1].name",
        "duplicate link name \"wan\"",
    );
}

#[test]
fn a_script_timeout_must_be_a_positive_duration() {
    let backend = |value: &str| format!("{LINKED}\n[backend]\nscript_timeout = {value}\n");
    let (code, text) = validate(backend("\"30m\"").as_bytes());
    assert_eq!(code, 0, "{text}");
    assert_located(
        &backend("\"0s\""),
        35,
        "backend.script_timeout",
        "expected a duration longer than zero",
    );
    assert_located(
        &backend("\"soon\""),
        35,
        "backend.script_timeout",
        "duration",
    );
}
