//! `report.html`: one self-contained page of headings, paragraphs, tables and inline SVG
//! charts. It refers to nothing outside itself (no stylesheet, script, image or font file, no
//! network), so it can be mailed, archived or opened from a USB stick and look the same.
//! All text is escaped; SVG is inlined only if it carries no script and no reference out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::analysis::summary::{Estimate, Report};
use crate::report::atomic;
use crate::report::plots::style::{human_hours, human_minutes_per_year};

/// An HTML report under construction. (Named `Document`, not `Report`, to stay apart from the
/// simulation's `analysis::summary::Report` that it usually presents.)
#[derive(Debug, Clone, Default)]
pub struct Document {
    title: String,
    blocks: Vec<Block>,
}

#[derive(Debug, Clone)]
enum Block {
    Section(String),
    Subsection(String),
    Paragraph(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Figure {
        svg: String,
        caption: String,
    },
}

impl Document {
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            blocks: Vec::new(),
        }
    }

    /// Starts a section (`<h2>`).
    pub fn section(&mut self, heading: &str) -> &mut Document {
        self.blocks.push(Block::Section(heading.to_string()));
        self
    }

    /// Starts a subsection (`<h3>`).
    pub fn subsection(&mut self, heading: &str) -> &mut Document {
        self.blocks.push(Block::Subsection(heading.to_string()));
        self
    }

    pub fn paragraph(&mut self, text: &str) -> &mut Document {
        self.blocks.push(Block::Paragraph(text.to_string()));
        self
    }

    /// A table; rows shorter than the header are padded with empty cells, and a `\n` in a
    /// cell breaks the line.
    pub fn table<S: AsRef<str>>(&mut self, header: &[S], rows: Vec<Vec<String>>) -> &mut Document {
        self.blocks.push(Block::Table {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            rows,
        });
        self
    }

    /// An SVG chart inlined from its markup (an XML prolog or doctype is dropped). Refused
    /// with `InvalidInput` if it is not an `<svg>` element or could reach outside the page.
    pub fn svg(&mut self, markup: &str, caption: &str) -> io::Result<&mut Document> {
        let svg = inline_svg(markup)?;
        self.blocks.push(Block::Figure {
            svg,
            caption: caption.to_string(),
        });
        Ok(self)
    }

    /// An SVG chart inlined from a file, such as one the plots module wrote.
    pub fn svg_file(&mut self, path: &Path, caption: &str) -> io::Result<&mut Document> {
        let markup = std::fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        self.svg(&markup, caption)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(out, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
        let _ = writeln!(out, "<h1>{}</h1>", escape(&self.title));
        for block in &self.blocks {
            match block {
                Block::Section(h) => {
                    let _ = writeln!(out, "<h2>{}</h2>", escape(h));
                }
                Block::Subsection(h) => {
                    let _ = writeln!(out, "<h3>{}</h3>", escape(h));
                }
                Block::Paragraph(p) => {
                    let _ = writeln!(out, "<p>{}</p>", escape(p));
                }
                Block::Table { header, rows } => render_table(&mut out, header, rows),
                Block::Figure { svg, caption } => {
                    let _ = writeln!(
                        out,
                        "<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>",
                        escape(caption)
                    );
                }
            }
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    /// Writes the page atomically: `path` holds the old report or the whole new one.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        atomic::write(path, self.render().as_bytes())
    }
}

/// Plain, printable, readable on a laptop: system fonts only (nothing to download).
const STYLE: &str = "
body { margin: 0; background: #f6f6f4; color: #222;
  font: 16px/1.45 'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 8px; }
h2 { font-size: 22px; margin: 36px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 18px; margin: 24px 0 6px; }
div.table { overflow-x: auto; margin: 8px 0 16px; }
/* Cells wrap at spaces so that a wide comparison fits a laptop screen
   instead of hiding columns behind a sideways scroll. */
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f0ee; font-weight: 600; }
.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafaf8; }
figure { margin: 16px 0 28px; }
figure svg { display: block; width: 100%; height: auto; max-width: 1000px; }
figcaption { color: #555; font-size: 14px; margin-top: 4px; }
";

/// Does a cell hold a number (or the "-" of a missing one)? Numbers are right-aligned so
/// their digits line up; words stay left.
fn is_numeric(cell: &str) -> bool {
    cell == "-" || cell.starts_with(|c: char| c.is_ascii_digit())
}

fn render_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let width = rows.iter().map(Vec::len).fold(header.len(), usize::max);
    let cell = |row: &Vec<String>, i: usize| row.get(i).map_or("", String::as_str).to_string();
    let numeric: Vec<bool> = (0..width)
        .map(|i| !rows.is_empty() && rows.iter().all(|r| is_numeric(&cell(r, i))))
        .collect();
    let open = |tag: &str, i: usize| {
        if numeric[i] {
            format!("<{tag} class=\"num\">")
        } else {
            format!("<{tag}>")
        }
    };
    out.push_str("<div class=\"table\"><table>\n<thead><tr>");
    for i in 0..width {
        let h = header.get(i).map_or("", String::as_str);
        let _ = write!(out, "{}{}</th>", open("th", i), escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for i in 0..width {
            // A line break in a cell (a value over its interval) stays a line break.
            let text = escape(&cell(row, i)).replace('\n', "<br>");
            let _ = write!(out, "{}{text}</td>", open("td", i));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// Text as HTML: the five characters that could open markup or end an attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<svg>` element of `markup`, checked to be inert: no script, no event handler, no
/// link or resource (`href`, `src`, `url(`, `@import`, foreign content).
fn inline_svg(markup: &str) -> io::Result<String> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
    let start = markup
        .find("<svg")
        .ok_or_else(|| invalid("not an SVG document: no <svg> element"))?;
    let prolog = &markup[..start];
    if prolog.contains('<')
        && !prolog.split('<').skip(1).all(|tag| {
            tag.starts_with('?') || tag.starts_with("!DOCTYPE") || tag.starts_with("!--")
        })
    {
        return Err(invalid("content before the <svg> element"));
    }
    let end = markup
        .rfind("</svg>")
        .ok_or_else(|| invalid("the <svg> element is not closed"))?
        + "</svg>".len();
    let svg = &markup[start..end];
    // Text between tags is escaped markup and harmless; every tag is checked.
    for tag in svg.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("").to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "script" | "style" | "image" | "use" | "foreignobject" | "a" | "iframe" | "feimage"
        ) {
            return Err(invalid(&format!("the SVG has a <{name}> element")));
        }
        for banned in ["href", "src", "url(", "javascript:", "@import"] {
            if tag.contains(banned) {
                return Err(invalid(&format!(
                    "the SVG refers outside the page (`{banned}`)"
                )));
            }
        }
        let handler = tag.split_whitespace().any(|token| {
            let attribute = token.split('=').next().unwrap_or("");
            attribute.len() > 2
                && attribute.starts_with("on")
                && attribute[2..].chars().all(|c| c.is_ascii_alphabetic())
        });
        if handler {
            return Err(invalid("the SVG has an event handler"));
        }
    }
    let mut out = svg.to_string();
    out.push('\n');
    Ok(out)
}

fn percent(x: f64) -> String {
    // As in the terminal report: enough digits to tell 99.999% from 99.9999%.
    super::numbers::percent(x, 5)
}

fn interval(e: &Estimate, f: impl Fn(f64) -> String) -> String {
    match e.ci95 {
        Some([lo, hi]) => format!("{}\n[{} .. {}]", f(e.mean), f(lo), f(hi)),
        None => format!("{} (no interval)", f(e.mean)),
    }
}

fn optional_hours(h: Option<f64>) -> String {
    h.map_or("no outage".to_string(), human_hours)
}

/// The standard tables of a run or a comparison: the runs, then per service the headline
/// figures (availability, nines, downtime per year with intervals, MTBF, MTTR, outages) and
/// downtime by cause, one column per scenario.
pub fn standard_tables(doc: &mut Document, reports: &[(&str, &Report)]) {
    doc.section("Runs");
    let rows = reports
        .iter()
        .map(|(label, r)| {
            let method = if r.method == "simulation" {
                format!(
                    "simulation: {} replications x {:.0} h (warmup {:.0} h)",
                    r.replications, r.horizon_hours, r.warmup_hours
                )
            } else {
                r.method.clone()
            };
            vec![
                label.to_string(),
                r.scenario.clone(),
                method,
                r.seed.to_string(),
            ]
        })
        .collect();
    doc.table(&["label", "scenario", "method", "seed"], rows);

    let services: BTreeSet<&String> = reports
        .iter()
        .flat_map(|(_, r)| r.services.keys())
        .collect();
    for service in services {
        doc.section(&format!("Service {service}"));
        let rows = reports
            .iter()
            .map(|(label, r)| match r.services.get(service) {
                None => vec![label.to_string(), "(no such service)".to_string()],
                Some(s) => vec![
                    label.to_string(),
                    interval(&s.availability, percent),
                    s.nines.map_or("perfect".to_string(), super::numbers::nines),
                    interval(&s.downtime_minutes_per_year, |m| format!("{m:.2} min")),
                    optional_hours(s.mtbf_hours),
                    optional_hours(s.mttr_hours),
                    s.outages.to_string(),
                ],
            })
            .collect();
        doc.table(
            &[
                "scenario",
                "availability (95% CI)",
                "nines",
                "downtime per year (95% CI)",
                "MTBF",
                "MTTR",
                "outages",
            ],
            rows,
        );

        let present: Vec<_> = reports
            .iter()
            .map(|(_, r)| r.services.get(service))
            .collect();
        let causes: BTreeSet<&String> = present
            .iter()
            .flatten()
            .flat_map(|s| s.downtime_by_cause_minutes_per_year.keys())
            .collect();
        let mut header = vec!["downtime by cause (min/yr)".to_string()];
        header.extend(reports.iter().map(|(label, _)| label.to_string()));
        let cell = |s: Option<&&crate::analysis::summary::ServiceReport>, cause: &str| {
            let Some(s) = s else {
                return "-".to_string();
            };
            let total: f64 = s.downtime_by_cause_minutes_per_year.values().sum();
            match s.downtime_by_cause_minutes_per_year.get(cause) {
                None => "-".to_string(),
                Some(m) if total > 0.0 => format!("{m:.3} ({:.1}%)", m / total * 100.0),
                Some(m) => format!("{m:.3}"),
            }
        };
        let mut rows: Vec<Vec<String>> = causes
            .iter()
            .map(|cause| {
                let mut row = vec![cause.to_string()];
                row.extend(present.iter().map(|s| cell(s.as_ref(), cause)));
                row
            })
            .collect();
        let mut total = vec!["total".to_string()];
        total.extend(present.iter().map(|s| {
            s.map_or("-".to_string(), |s| {
                human_minutes_per_year(s.downtime_by_cause_minutes_per_year.values().sum())
            })
        }));
        rows.push(total);
        doc.table(&header, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::summary::ServiceReport;
    use std::collections::BTreeMap;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut doc = Document::new("A <b> & \"c\"");
        doc.section("<script>")
            .paragraph("x < y & 'z'")
            .table(&["<h>"], vec![vec!["<td>".to_string()]]);
        let html = doc.render();
        assert!(html.contains("<title>A &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(html.contains("<h2>&lt;script&gt;</h2>"));
        assert!(html.contains("<p>x &lt; y &amp; &#39;z&#39;</p>"));
        assert!(html.contains("<th>&lt;h&gt;</th>"));
        let mut numbers = Document::new("t");
        numbers.table(
            &["x", "n"],
            vec![vec!["a".into(), "1.5".into()], vec!["b".into(), "-".into()]],
        );
        assert!(numbers.render().contains("<th class=\"num\">n</th>"));
        assert!(html.contains("<td>&lt;td&gt;</td>"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn svg_is_inlined_without_prolog_and_only_when_inert() {
        let mut doc = Document::new("t");
        doc.svg(
            "<?xml version=\"1.0\"?>\n<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" \
             xmlns=\"http://www.w3.org/2000/svg\"><text x=\"1\" y=\"1\">one</text></svg>\n",
            "a chart",
        )
        .unwrap();
        let html = doc.render();
        assert!(html.contains("<figure>\n<svg width=\"10\""));
        assert!(!html.contains("<?xml"));
        assert!(html.contains("<figcaption>a chart</figcaption>"));
        for bad in [
            "<p>not svg</p>",
            "<svg><script>alert(1)</script></svg>",
            "<svg><image href=\"x.png\"/></svg>",
            "<svg onload=\"alert(1)\"></svg>",
            "<svg><rect style=\"fill:url(http://x)\"/></svg>",
            "<div></div><svg></svg>",
            "<svg>",
        ] {
            let e = Document::new("t").svg(bad, "").map(|_| ()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        // Words in text are text, not attributes.
        Document::new("t")
            .svg("<svg><text> online = yes, src=here</text></svg>", "")
            .unwrap();
    }

    #[test]
    fn standard_tables_cover_every_service_and_mark_missing_ones() {
        let service = |mean: f64| ServiceReport {
            availability: Estimate {
                mean,
                ci95: Some([mean - 1e-4, mean + 1e-4]),
            },
            downtime_minutes_per_year: Estimate {
                mean: 10.0,
                ci95: None,
            },
            outages: 3,
            mtbf_hours: Some(4416.0),
            mttr_hours: None,
            nines: Some(2.0),
            downtime_by_cause_minutes_per_year: BTreeMap::from([
                ("shared_disk".to_string(), 7.5),
                ("dns".to_string(), 2.5),
            ]),
            ..ServiceReport::default()
        };
        let report = |services: BTreeMap<String, ServiceReport>| Report {
            scenario: "s".into(),
            method: "simulation".into(),
            seed: 42,
            replications: 10,
            horizon_hours: 8760.0,
            warmup_hours: 0.0,
            data_loss_seconds: Default::default(),
            yearly_downtime_minutes: Default::default(),
            sla: None,
            cost: None,
            services,
        };
        let a = report(BTreeMap::from([("vm1".to_string(), service(0.99))]));
        let b = report(BTreeMap::from([("vm2".to_string(), service(0.999))]));
        let mut doc = Document::new("compare");
        standard_tables(&mut doc, &[("a", &a), ("b", &b)]);
        let html = doc.render();
        assert!(html.contains("<h2>Service vm1</h2>") && html.contains("<h2>Service vm2</h2>"));
        assert!(html.contains("(no such service)"));
        assert!(html.contains("99.00000%<br>[98.99000% .. 99.01000%]"));
        assert!(html.contains("<td class=\"num\">7.500 (75.0%)</td>"));
        assert!(html.contains("4416 h (184 d)"));
        assert!(html.contains(">no outage</td>"));
        assert!(html.contains("10.00 min (no interval)"));
    }

    #[test]
    fn the_page_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        Document::new("t").paragraph("p").write(&path).unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
