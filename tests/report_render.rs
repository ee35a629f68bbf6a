//! The charts and the HTML report, rendered from realistic results: every file appears, the
//! same input gives the same bytes, and headless Chromium shows a report that is not blank.
//!
//! Set ECXSIM_PLOT_DIR to keep the rendered files for a look.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ecxsim::analysis::summary::{Estimate, Report, ServiceReport};
use ecxsim::report::{html, plots};

fn report(
    name: &str,
    a: [f64; 3],
    mtbf: Option<f64>,
    mttr: Option<f64>,
    causes: &[(&str, f64)],
) -> Report {
    let down = |x: f64| (1.0 - x) * 525_600.0;
    let service = ServiceReport {
        availability: Estimate {
            mean: a[0],
            ci95: Some([a[1], a[2]]),
        },
        downtime_minutes_per_year: Estimate {
            mean: down(a[0]),
            ci95: Some([down(a[2]), down(a[1])]),
        },
        outages: 39_348,
        mtbf_hours: mtbf,
        mttr_hours: mttr,
        nines: (a[0] < 1.0).then(|| -(1.0 - a[0]).log10()),
        downtime_by_cause_minutes_per_year: causes
            .iter()
            .map(|(c, m)| (c.to_string(), *m))
            .collect(),
        ..ServiceReport::default()
    };
    Report {
        scenario: name.to_string(),
        method: "simulation".to_string(),
        seed: 42,
        replications: 2000,
        horizon_hours: 87_600.0,
        warmup_hours: 0.0,
        data_loss_seconds: Default::default(),
        services: BTreeMap::from([("vm1".to_string(), service)]),
    }
}

fn standalone() -> Report {
    report(
        "standalone-ecx",
        [0.99188, 0.99177, 0.99199],
        Some(4416.0),
        Some(36.0),
        &[
            ("shared_disk", 4222.0),
            ("all_servers_down", 43.0),
            ("server_failover", 2.4),
            ("failback", 0.0),
        ],
    )
}

fn cluster_set() -> Report {
    report(
        "cluster-set",
        [0.99995, 0.99993, 0.99997],
        Some(9000.0),
        Some(0.4),
        &[
            ("cluster_failover", 20.0),
            ("server_failover", 2.1),
            ("dns", 3.0),
            ("all_servers_down", 0.5),
        ],
    )
}

fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("ECXSIM_PLOT_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (None, PathBuf::from(dir))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn assert_written(stem: &Path) {
    for ext in ["png", "svg"] {
        let path = plots::with_extension(stem, ext);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(len > 500, "{} is only {len} bytes", path.display());
    }
}

#[test]
fn availability_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("availability");
    plots::availability_nines(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem)
        .unwrap();
    assert_written(&stem);
}

#[test]
fn mtbf_mttr_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("mtbf_mttr");
    plots::mtbf_mttr(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem).unwrap();
    assert_written(&stem);
}

#[test]
fn downtime_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("downtime_by_cause");
    plots::downtime_by_cause(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem).unwrap();
    assert_written(&stem);
}

/// Seconds of writes lost per failover with asynchronous replication every 5 minutes:
/// deterministic, roughly uniform over the interval.
fn losses(n: usize, interval: f64, shift: u64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| ((i * 7919 + shift) % 1000) as f64 / 1000.0 * interval)
        .collect()
}

#[test]
fn data_loss_chart_is_written_with_and_without_failovers() {
    let (_keep, dir) = out_dir();
    let (a, b) = (losses(500, 300.0, 1), losses(60, 30.0, 3));
    let stem = dir.join("data_loss");
    plots::data_loss(
        &[
            ("standalone-ecx", &[]),
            ("cluster-set 5 min", &a),
            ("cluster-set 30 s", &b),
        ],
        &stem,
    )
    .unwrap();
    assert_written(&stem);
    let none = dir.join("data_loss_none");
    plots::data_loss(&[("standalone-ecx", &[])], &none).unwrap();
    assert_written(&none);
}

/// A race curve with a band of +-0.01 around each share.
fn curve(control: &str, points: &[(f64, f64)]) -> plots::RaceCurve {
    plots::RaceCurve {
        control: control.to_string(),
        points: points
            .iter()
            .map(|&(x, y)| (x, y, (y - 0.01).max(0.0), y + 0.01))
            .collect(),
    }
}

#[test]
fn race_curve_is_written() {
    let (_keep, dir) = out_dir();
    let offsets: Vec<f64> = (0..=12).map(|i| i as f64 * 5.0).collect();
    let fenced: Vec<(f64, f64)> = offsets
        .iter()
        .map(|&o| (o, if o < 30.0 { 0.02 } else { 0.0 }))
        .collect();
    let naive: Vec<(f64, f64)> = offsets
        .iter()
        .map(|&o| (o, if o < 30.0 { 0.9 - o / 40.0 } else { 0.05 }))
        .collect();
    let stem = dir.join("race");
    plots::race_curve(
        &[curve("no fencing", &naive), curve("disk fencing", &fenced)],
        &stem,
    )
    .unwrap();
    assert_written(&stem);
}

#[test]
fn sweep_lines_are_written() {
    let (_keep, dir) = out_dir();
    let mttr = [1.0, 4.0, 12.0, 24.0, 72.0, 168.0];
    let line = |scale: f64| -> Vec<(f64, f64, f64, f64)> {
        mttr.iter()
            .map(|&h| {
                let m = scale * h;
                (h, m, m * 0.9, m * 1.1)
            })
            .collect()
    };
    let (a, b) = (line(60.0), line(0.8));
    let stem = dir.join("sweep_server_ttr");
    plots::sweep_lines(
        "server MTTR (h)",
        &plots::SWEEP_METRICS[0],
        &[("standalone-ecx", &a), ("cluster-set", &b)],
        &stem,
    )
    .unwrap();
    assert_written(&stem);
}

fn all_charts(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let (a, b) = (standalone(), cluster_set());
    let reports = [("standalone-ecx", &a), ("cluster-set", &b)];
    let loss = losses(500, 300.0, 1);
    let race: Vec<(f64, f64)> = (0..=12)
        .map(|i| (i as f64 * 5.0, (0.9 - i as f64 * 0.1).max(0.0)))
        .collect();
    let sweep: Vec<(f64, f64, f64, f64)> = [1.0, 4.0, 24.0, 72.0]
        .iter()
        .map(|&h| (h, 60.0 * h, 54.0 * h, 66.0 * h))
        .collect();
    let stems = [
        ("availability", "Availability on a nines scale"),
        ("mtbf_mttr", "MTBF and MTTR"),
        ("downtime_by_cause", "Downtime per year by cause"),
        ("data_loss", "Data lost per cross-cluster failover"),
        ("race", "Race curve"),
        ("sweep", "Sweep"),
    ];
    let stem = |name: &str| dir.join(name);
    plots::availability_nines(&reports, "vm1", &stem("availability")).unwrap();
    plots::mtbf_mttr(&reports, "vm1", &stem("mtbf_mttr")).unwrap();
    plots::downtime_by_cause(&reports, "vm1", &stem("downtime_by_cause")).unwrap();
    plots::data_loss(
        &[("standalone-ecx", &[]), ("cluster-set", &loss)],
        &stem("data_loss"),
    )
    .unwrap();
    plots::race_curve(&[curve("no fencing", &race)], &stem("race")).unwrap();
    plots::sweep_lines(
        "server MTTR (h)",
        &plots::SWEEP_METRICS[0],
        &[("standalone-ecx", &sweep)],
        &stem("sweep"),
    )
    .unwrap();
    stems
        .iter()
        .map(|(name, caption)| (stem(name), *caption))
        .collect()
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, second) = (all_charts(one.path()), all_charts(two.path()));
    for ((a, _), (b, _)) in first.iter().zip(&second) {
        for ext in ["png", "svg"] {
            let (pa, pb) = (plots::with_extension(a, ext), plots::with_extension(b, ext));
            assert!(
                std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(),
                "{} differs",
                pa.display()
            );
        }
    }
    // Only the charts: no temporary file is left behind.
    assert_eq!(
        std::fs::read_dir(one.path()).unwrap().count(),
        2 * first.len()
    );
}

/// The tests themselves link the chart code: neither they nor the binary may pull in the system
/// font stack, which a fresh machine does not have.
#[test]
fn no_system_font_library_is_linked() {
    let exe = std::env::current_exe().unwrap();
    let Ok(out) = std::process::Command::new("ldd").arg(&exe).output() else {
        return; // no ldd (not a glibc system): nothing to inspect
    };
    let libs = String::from_utf8_lossy(&out.stdout);
    for lib in ["fontconfig", "freetype"] {
        assert!(
            !libs.contains(lib),
            "{} links {lib}:\n{libs}",
            exe.display()
        );
    }
}

/// Writes the charts and report.html into `dir/name/` (tests run in parallel: each writes its
/// own folder).
fn write_report(dir: &Path, name: &str) -> PathBuf {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (standalone(), cluster_set());
    let charts = all_charts(&dir);
    let mut doc = html::Document::new("ecxsim: standalone-ecx vs cluster-set");
    doc.paragraph("Two designs for service vm1, 2000 replications of 10 years each.");
    html::standard_tables(&mut doc, &[("standalone-ecx", &a), ("cluster-set", &b)]);
    doc.section("Charts");
    for (stem, caption) in &charts {
        doc.svg_file(&plots::with_extension(stem, "svg"), caption)
            .unwrap();
    }
    let path = dir.join("report.html");
    doc.write(&path).unwrap();
    path
}

#[test]
fn standard_charts_cover_every_service() {
    let (_keep, dir) = out_dir();
    let dir = dir.join("standard");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, mut b) = (standalone(), cluster_set());
    let svc = b.services["vm1"].clone();
    b.services.insert("db/primary".to_string(), svc);
    let figures =
        plots::standard_charts(&[("standalone-ecx", &a), ("cluster-set", &b)], &dir).unwrap();
    assert_eq!(figures.len(), 6);
    assert_eq!(figures[0].stem, dir.join("availability-db_primary"));
    for f in &figures {
        assert_written(&f.stem);
    }
}

#[test]
fn the_report_is_self_contained() {
    let (_keep, dir) = out_dir();
    let html = std::fs::read_to_string(write_report(&dir, "self-contained")).unwrap();
    assert!(html.matches("<svg").count() >= 6, "the charts are inline");
    for outside in [
        "src=", "href=", "<link", "<script", "<img", "@import", "url(",
    ] {
        assert!(!html.contains(outside), "report.html contains {outside}");
    }
    // The only address is the SVG namespace name, which is never fetched.
    let addresses = html.matches("http").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(addresses, namespaces);
}

const CHROMIUM: &str = "/usr/bin/chromium";

fn run(program: &str, args: &[&str]) -> bool {
    let mut command = std::process::Command::new(program);
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    match command.status() {
        Ok(status) => status.success(),
        Err(_) => false,
    }
}

/// Installs Debian's chromium once per machine: as root directly, otherwise through sudo.
fn ensure_chromium() {
    if Path::new(CHROMIUM).exists() {
        return;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| -> bool {
        // Wait for another apt (a parallel build) instead of failing on its lock.
        let mut full = vec!["-o", "DPkg::Lock::Timeout=600"];
        full.extend_from_slice(args);
        if root {
            run("apt-get", &full)
        } else {
            let mut sudo = vec!["-n", "apt-get"];
            sudo.extend(full);
            run("sudo", &sudo)
        }
    };
    let install = ["install", "-y", "--no-install-recommends", "chromium"];
    if !apt(&install) {
        // The package lists may be missing or stale on a fresh machine.
        let _ = apt(&["update"]);
        apt(&install);
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "this test needs Debian's chromium at {CHROMIUM} and could not install it \
         (`apt-get install chromium` as root{}); install it and run the test again",
        if root {
            ""
        } else {
            ", or with passwordless sudo"
        }
    );
}

/// Screenshots `page` in headless Chromium, giving up after two minutes.
fn screenshot(page: &Path, png: &Path, profile: &Path) {
    let mut child = std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            return;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than two minutes to take a screenshot");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// (pixels that are not near-white, distinct colours, total pixels) of an 8-bit PNG.
fn ink(png_path: &Path) -> (usize, usize, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0;
    let pixels = buf[..info.buffer_size()].chunks_exact(channels);
    let total = pixels.len();
    for p in pixels {
        colours.insert([p[0], p[1], p[2]]);
        if p[..3].iter().any(|&c| c < 230) {
            inked += 1;
        }
    }
    (inked, colours.len(), total)
}

#[test]
fn chromium_renders_the_report() {
    ensure_chromium();
    let (_keep, dir) = out_dir();
    let page = write_report(&dir, "chromium");
    let profile = tempfile::tempdir().unwrap();
    let shot = dir.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    screenshot(&page.canonicalize().unwrap(), &shot, profile.path());
    let (inked, colours, total) = ink(&shot);
    assert_eq!(total, 1200 * 1600, "the screenshot has the window's size");
    // Text, table rules and the first charts: a blank or error page has almost no ink and
    // a handful of colours.
    assert!(
        inked * 100 > total * 3,
        "only {inked} of {total} pixels are not white"
    );
    assert!(colours > 50, "only {colours} colours on the page");
}

/// A perfect record, a single replication (no interval) and a scenario without the service:
/// each must still give a readable chart.
#[test]
fn edge_cases_render() {
    let (_keep, dir) = out_dir();
    let mut perfect = report(
        "perfect",
        [1.0, 1.0, 1.0],
        None,
        None,
        &[("server_failover", 0.0)],
    );
    perfect.services.get_mut("vm1").unwrap().outages = 0;
    let mut single = cluster_set();
    single.services.get_mut("vm1").unwrap().availability.ci95 = None;
    let mut other = standalone();
    let svc = other.services.remove("vm1").unwrap();
    other.services.insert("db".to_string(), svc);
    let reports = [
        ("perfect", &perfect),
        ("one replication", &single),
        ("no vm1", &other),
    ];
    for (name, draw) in [
        (
            "edge_availability",
            plots::availability_nines as fn(&[(&str, &Report)], &str, &Path) -> std::io::Result<()>,
        ),
        ("edge_mtbf_mttr", plots::mtbf_mttr),
        ("edge_downtime", plots::downtime_by_cause),
    ] {
        let stem = dir.join(name);
        draw(&reports, "vm1", &stem).unwrap();
        assert_written(&stem);
        let empty = dir.join(format!("{name}_empty"));
        draw(&[], "vm1", &empty).unwrap();
        assert_written(&empty);
    }
}

/// The tables of `page` wider than their box at a window `width` pixels wide, as headless
/// Chromium lays them out: a copy of the page with a script that lists them.
fn overflowing_tables(page: &Path, width: u32, profile: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(page).unwrap();
    let probe = "<script>document.addEventListener('DOMContentLoaded', () => {
  const wide = [...document.querySelectorAll('div.table')]
    .filter(d => d.scrollWidth > d.clientWidth + 1)
    .map(d => (d.previousElementSibling || {}).textContent || '?');
  const out = document.createElement('pre');
  out.id = 'overflow';
  out.textContent = JSON.stringify(wide);
  document.body.appendChild(out);
});</script>";
    let probed = page.with_file_name("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let out = std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},1600"))
        .arg(format!(
            "file://{}",
            probed.canonicalize().unwrap().display()
        ))
        .stderr(std::process::Stdio::null())
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"overflow\">").expect("the probe ran") + 19;
    let end = start + dom[start..].find("</pre>").unwrap();
    let list = dom[start..end].replace("&quot;", "\"");
    serde_json::from_str(&list).unwrap()
}

#[test]
fn compare_tables_fit_a_1280_pixel_window() {
    ensure_chromium();
    let (_keep, dir) = out_dir();
    let out = dir.join("wide-compare");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = root.join("scenarios/cluster_set.toml");
    let set = set.to_str().unwrap();
    let coordinated = format!("{set}@simulation.control=coordinated");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .arg("compare")
        .arg(root.join("scenarios/standalone_ecx.toml"))
        .args([set, &coordinated, "--replications", "20", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let profile = tempfile::tempdir().unwrap();
    let wide = overflowing_tables(&out.join("report.html"), 1280, profile.path());
    assert!(wide.is_empty(), "tables wider than the page: {wide:?}");
}
