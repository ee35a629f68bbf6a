//! SLA risk and cost, held to cases whose answer is known: a deterministic unit whose downtime
//! in each year follows from arithmetic, and a single exponential unit whose yearly downtime
//! (the occupation time of an alternating renewal process) has a closed form.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ecxsim::run::{run, RunOptions};
use statrs::distribution::{ContinuousCDF, Discrete, Gamma, Poisson};

/// A year of the scenario format (365 days), in hours.
const YEAR_H: f64 = 8760.0;

fn ecxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// One server that is up `up_h` hours, down `down_h` hours, again and again (fixed times,
/// instantaneous failover steps): the service is down exactly while the server is.
fn alternating(
    name: &str,
    horizon: &str,
    warmup: &str,
    ttf: &str,
    ttr: &str,
    extra: &str,
) -> String {
    format!(
        r#"[simulation]
name = "{name}"
horizon = "{horizon}"
warmup = "{warmup}"
replications = 3
seed = 11

[[cluster]]
name = "c1"
servers = ["a"]
server_ttf = {ttf}
server_ttr = {ttr}
heartbeat_timeout = "0s"
group_start = "0s"
server_sync_wait = "0s"

[[service]]
name = "app"
cluster = "c1"
{extra}"#
    )
}

/// Hours of downtime in each whole year after `warmup_h` of a unit up `up_h`, down `down_h`,
/// periodically from time 0 (up first), up to `horizon_h`: interval arithmetic, independent of
/// the simulator.
fn periodic_down_by_year(up_h: f64, down_h: f64, warmup_h: f64, horizon_h: f64) -> Vec<f64> {
    let years = ((horizon_h - warmup_h) / YEAR_H).floor() as usize;
    (0..years)
        .map(|k| {
            let (a, b) = (
                warmup_h + k as f64 * YEAR_H,
                warmup_h + (k + 1) as f64 * YEAR_H,
            );
            let mut down = 0.0;
            let mut start = up_h;
            while start < b {
                let end = start + down_h;
                down += (end.min(b) - start.max(a)).max(0.0);
                start += up_h + down_h;
            }
            down
        })
        .collect()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The nearest-rank quantile of `values`.
fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

#[test]
fn a_deterministic_unit_gives_its_yearly_downtime_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // Up 1000 h, down 70 h: outages cross year boundaries; a quarter-year warmup shifts the
    // years; the horizon leaves a trailing half year, which does not count.
    let (up, down, warmup, horizon) = (1000.0, 70.0, 2190.0, 5.75 * YEAR_H);
    let expected = periodic_down_by_year(up, down, warmup, horizon);
    assert_eq!(expected.len(), 5);
    let minutes: Vec<f64> = expected.iter().map(|h| h * 60.0).collect();
    // A budget between the years' downtimes: some years breach it, some do not.
    let mut sorted = minutes.clone();
    sorted.sort_by(f64::total_cmp);
    let budget_min = (sorted[1] + sorted[2]) / 2.0;
    let breaching = minutes.iter().filter(|&&m| m > budget_min).count() as u64;
    assert!(breaching > 0 && breaching < 5, "{minutes:?}");
    let text = alternating(
        "deterministic",
        "50370h",
        "2190h",
        "\"1000h\"",
        "\"70h\"",
        &format!("\n[sla]\ndowntime = \"{budget_min}m\"\n"),
    );
    let file = write(dir.path(), "d.toml", &text);
    let report = json(&ecxsim(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]));
    let app = &report["services"]["app"];
    // Three identical replications of five whole years each.
    let sla = &app["sla_breach_probability"];
    assert_eq!(sla["years"], 15);
    assert_eq!(sla["breaching_years"], 3 * breaching);
    assert_eq!(sla["mean"].as_f64().unwrap(), breaching as f64 / 5.0);
    let [lo, hi] = [0, 1].map(|i| sla["ci95"][i].as_f64().unwrap());
    assert!(lo < breaching as f64 / 5.0 && hi > breaching as f64 / 5.0);
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        let got = app["downtime_per_year_quantiles"][key].as_f64().unwrap();
        let want = nearest_rank(&minutes, q);
        // Read off a log-bucket histogram: within half a bucket.
        assert!((got / want - 1.0).abs() < 0.006, "{key}: {got} vs {want}");
    }
    // Without [sla] the common budgets: every year here is far over 99.9% (525.6 min).
    assert_eq!(
        app["breach_probability_by_budget"]["99.9%"]["breaching_years"],
        15
    );
    assert_eq!(
        report["sla"]["downtime_minutes_per_year"].as_f64().unwrap(),
        budget_min
    );
    assert!(report["cost"].is_null());
    // The text report says the same.
    let out = ecxsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.path().join("t").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("P(year breaches) (95% CI)"), "{text}");
    assert!(
        text.contains(&format!("{} of 15 years over", 3 * breaching)),
        "{text}"
    );
    assert!(dir.path().join("t/yearly-downtime-app.svg").exists());
}

#[test]
fn compare_pairs_breaches_by_year_and_prices_each_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let (warmup, horizon) = (0.0, 4.0 * YEAR_H);
    let budget_min = 100.0 * 60.0;
    let cost =
        "\n[cost]\ndowntime_per_minute = 2\nserver_per_year = 1000\ncluster_per_year = 500\n";
    let sla = format!("\n[sla]\ndowntime = \"{budget_min}m\"\n");
    let base = alternating(
        "slow-repair",
        "35040h",
        "0s",
        "\"1000h\"",
        "\"30h\"",
        &(sla.clone() + cost),
    );
    let other = alternating(
        "fast-repair",
        "35040h",
        "0s",
        "\"1000h\"",
        "\"10h\"",
        &(sla + cost),
    );
    let breaches = |down: f64| {
        periodic_down_by_year(1000.0, down, warmup, horizon)
            .iter()
            .map(|h| (h * 60.0 > budget_min) as u64)
            .collect::<Vec<_>>()
    };
    let (b, o) = (breaches(30.0), breaches(10.0));
    let diff = (o.iter().sum::<u64>() as f64 - b.iter().sum::<u64>() as f64) / 4.0;
    assert!(diff < 0.0, "{b:?} {o:?}");
    let files = [
        write(dir.path(), "b.toml", &base),
        write(dir.path(), "o.toml", &other),
    ];
    let report = json(&ecxsim(&[
        "compare",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--json",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]));
    let d = &report["differences"][0];
    let p = &d["services"]["app"]["sla_breach_probability"];
    assert!((p["mean"].as_f64().unwrap() - diff).abs() < 1e-12, "{p}");
    // Every replication is the same deterministic history: the yearly cost is exact, the
    // infrastructure the same, and the difference the downtime's alone.
    let yearly_down = |down: f64| {
        let d = periodic_down_by_year(1000.0, down, warmup, horizon);
        // Priced on the whole observed window (all of it, whole years here).
        d.iter().sum::<f64>() * 60.0 / 4.0 * 2.0
    };
    for (i, down) in [(0, 30.0), (1, 10.0)] {
        let c = &report["scenarios"][i]["cost"];
        assert_eq!(c["infrastructure_per_year"].as_f64().unwrap(), 1500.0);
        let total = c["total_per_year"]["mean"].as_f64().unwrap();
        assert!((total - 1500.0 - yearly_down(down)).abs() < 1e-6, "{total}");
    }
    let dc = d["cost_per_year"]["mean"].as_f64().unwrap();
    assert!(
        (dc - (yearly_down(10.0) - yearly_down(30.0))).abs() < 1e-6,
        "{dc}"
    );
}

/// P(downtime in `t` hours <= `x` hours) of a unit with exponential up (rate `l`) and down
/// (rate `m`) times, in steady state at the start: the up time reaches `t - x` after
/// Poisson(l (t - x)) failures, each followed by an exponential repair; the downtime is at
/// most `x` when those repairs (plus the residual repair if the unit starts down) fit in `x`.
fn occupation_cdf(l: f64, m: f64, t: f64, x: f64) -> f64 {
    if x >= t {
        return 1.0;
    }
    let failures = Poisson::new(l * (t - x)).unwrap();
    let repairs_fit = |n: u64| {
        if n == 0 {
            1.0
        } else {
            Gamma::new(n as f64, m).unwrap().cdf(x)
        }
    };
    let p_down = l / (l + m);
    (0..200u64)
        .map(|n| failures.pmf(n) * ((1.0 - p_down) * repairs_fit(n) + p_down * repairs_fit(n + 1)))
        .sum()
}

#[test]
fn a_single_exponential_unit_matches_the_alternating_renewal_distribution() {
    // MTTF 2000 h, MTTR 8 h: about 4.4 outages and 35 h of downtime a year; an SLA of 48 h a
    // year is breached in about a quarter of the years.
    let (mttf, mttr, budget_h) = (2000.0, 8.0, 48.0);
    let (l, m) = (1.0 / mttf, 1.0 / mttr);
    let text = alternating(
        "exponential-unit",
        "88600h",
        "1000h",
        "{ dist = \"exponential\", mean = \"2000h\" }",
        "{ dist = \"exponential\", mean = \"8h\" }",
        "\n[sla]\ndowntime = \"48h\"\n",
    )
    .replace("replications = 3", "replications = 1000");
    let scenario = ecxsim::scenario::parse(Path::new("unit.toml"), text).unwrap();
    let report = run(&scenario, &RunOptions::from_scenario(&scenario), |_| Ok(())).unwrap();
    let app = &report.services["app"];
    let sla = app.sla_breach_probability.as_ref().unwrap();
    // 1000 replications of ten whole years after a warmup of 125 repair times (the state at
    // each year's start is the steady state).
    assert_eq!(sla.years, 10_000);
    let exact = 1.0 - occupation_cdf(l, m, YEAR_H, budget_h);
    assert!((0.2..0.35).contains(&exact), "{exact}");
    let se = (exact * (1.0 - exact) / sla.years as f64).sqrt();
    assert!(
        (sla.mean - exact).abs() < 4.0 * se,
        "{} vs {exact}",
        sla.mean
    );
    assert!(
        sla.ci95[0] < exact && exact < sla.ci95[1],
        "{:?} vs {exact}",
        sla.ci95
    );
    // Each quantile sits where the exact distribution has that share of years below it.
    let q = app.downtime_per_year_quantiles.as_ref().unwrap();
    for (share, minutes) in [(0.5, q.p50), (0.9, q.p90), (0.99, q.p99)] {
        let at = occupation_cdf(l, m, YEAR_H, minutes / 60.0);
        let tolerance = 4.0 * (share * (1.0 - share) / sla.years as f64).sqrt()
            // half a histogram bucket, as a share of years
            + 0.006 * minutes / 60.0 * occupation_density(l, m, minutes / 60.0);
        assert!(
            (at - share).abs() < tolerance,
            "p{share}: F({minutes} min) = {at}"
        );
    }
    // The mean of the yearly samples is the exact mean downtime, t * l / (l + m).
    let mean_min = YEAR_H * l / (l + m) * 60.0;
    let got = app.downtime_minutes_per_year.mean;
    assert!((got / mean_min - 1.0).abs() < 0.03, "{got} vs {mean_min}");
}

/// The density of the yearly downtime at `x` hours, by a central difference of the CDF.
fn occupation_density(l: f64, m: f64, x: f64) -> f64 {
    let h = 0.01;
    (occupation_cdf(l, m, YEAR_H, x + h) - occupation_cdf(l, m, YEAR_H, (x - h).max(0.0)))
        / (2.0 * h)
}

#[test]
fn bad_sla_and_cost_values_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 8] = [
        (
            "[sla]\navailability = 1.5\n",
            "sla.availability",
            "between 0 and 1",
        ),
        (
            "[sla]\navailability = 99.95\n",
            "sla.availability",
            "such as 0.9995",
        ),
        (
            "[sla]\navailability = 0.999\ndowntime = \"4h\"\n",
            "sla.downtime",
            "not both",
        ),
        ("[sla]\n", "sla.availability", "missing required key"),
        ("[sla]\ndowntime = \"2y\"\n", "sla.downtime", "shorter than"),
        (
            "[cost]\nserver_per_year = -5\n",
            "cost.server_per_year",
            "zero or more",
        ),
        (
            "[cost]\nserver_per_yaer = 5\n",
            "cost.server_per_yaer",
            "did you mean `server_per_year`",
        ),
        (
            "[sla]\navailability = 0.999\nbudget = 3\n",
            "sla.budget",
            "unknown key",
        ),
    ];
    for (i, (section, key, says)) in cases.iter().enumerate() {
        let text = alternating(
            "bad",
            "2y",
            "0s",
            "\"1000h\"",
            "\"10h\"",
            &format!("\n{section}"),
        );
        let file = write(dir.path(), &format!("bad{i}.toml"), &text);
        let out = ecxsim(&["run", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{section}: {err}");
        // file:line:column, the key, what is wrong
        let name = file.to_string_lossy();
        let location = err.split(&format!("{name}:")).nth(1).unwrap_or_default();
        let mut parts = location.splitn(3, ':');
        for what in ["line", "column"] {
            let n = parts.next().unwrap_or_default();
            assert!(n.parse::<u32>().is_ok_and(|n| n > 0), "no {what} in {err}");
        }
        assert!(err.contains(key), "{section}: {err}");
        assert!(err.contains(says), "{section}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // An SLA needs a whole year after the warmup: without one, a warning.
    let text = alternating(
        "short",
        "200d",
        "0s",
        "\"1000h\"",
        "\"10h\"",
        "\n[sla]\navailability = 0.999\n",
    );
    let out = ecxsim(&[
        "run",
        write(dir.path(), "short.toml", &text).to_str().unwrap(),
        "--out",
        dir.path().join("short-out").to_str().unwrap(),
    ]);
    // It runs (a quick look at a short horizon is useful), says why the SLA figures are
    // empty, and leaves them empty.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("judged per whole year"));
}

#[test]
fn compare_of_the_examples_shows_breach_probability_and_cost_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = ecxsim(&[
        "compare",
        root.join("scenarios/standalone_ecx.toml").to_str().unwrap(),
        root.join("scenarios/cluster_set.toml").to_str().unwrap(),
        "--replications",
        "20",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |label: &str| {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row in\n{text}"));
        // A cell per scenario: two percentages or amounts, neither missing.
        assert!(
            !line.contains(" - ") && !line.contains("no [cost]"),
            "{line}"
        );
        line.to_string()
    };
    assert_eq!(row("P(year breaches SLA)").matches('%').count(), 2);
    assert!(text.contains("\ncost per year "), "{text}");
    row("total");
    assert!(text.contains("vm1: P(year breaches SLA) "), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("  cost per year ")),
        "{text}"
    );
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("Downtime in one year and the SLA")
            && html.contains("Expected cost per year")
    );
}
