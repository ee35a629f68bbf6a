//! Streaming CSV output of a run: a row per replication and service, and optionally a row
//! per outage. Rows arrive in replication order, so the files are reproducible byte for byte.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use super::atomic::AtomicFile;
use crate::metrics::{OutageRecord, CAUSES};
use crate::model::ReplicationResult;
use crate::scenario::Scenario;
use crate::time::{hours, MICROS_PER_MINUTE};

/// The rows are built here, a line at a time, rather than field by field through the `csv`
/// crate: the numbers never need quoting, and the names (which may) are quoted once, by the
/// `csv` crate itself, when the file is created. The bytes are those the `csv` crate writes.
pub struct RunCsv {
    replications: AtomicFile,
    outages: Option<AtomicFile>,
    /// The results' services (the scenario's services, then its VMs), each as its CSV field.
    services: Vec<Vec<u8>>,
    /// Each cause's name as its CSV field, in `CAUSES` order.
    causes: Vec<Vec<u8>>,
    /// The row being built: one allocation for the whole run.
    row: Vec<u8>,
}

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// `fields` as one CSV record, as the `csv` crate writes it.
fn record<I, F>(fields: I) -> io::Result<Vec<u8>>
where
    I: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields).map_err(csv_err)?;
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// `text` as a field in the middle of a record, as the `csv` crate writes it (quoted if it
/// needs to be). Written with a second field after it: a record of one empty field is `""`.
fn field(text: &str) -> io::Result<Vec<u8>> {
    let mut line = record([text, ""])?;
    let end = line.len() - b",\n".len();
    debug_assert_eq!(&line[end..], b",\n");
    line.truncate(end);
    Ok(line)
}

/// 2^53: from here on every double is an integer, and not every integer a double.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Appends `value` as `Display` formats it (the shortest digits that read back to the same
/// double, never an exponent), at a fraction of the cost: `ryu` finds the same shortest
/// digits. The two differ only when two shortest candidates are equally near (`ryu` rounds
/// the tie to even, `Display` up), which needs a double of at most 18 significant digits;
/// those, and integers from 2^53 and non-finite values, are left to `Display`.
fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0"
        } else {
            b"0"
        });
    } else if value.abs() < EXACT_INTEGERS && (value as i64) as f64 == value {
        if value < 0.0 {
            out.push(b'-');
        }
        push_u64(out, value.abs() as u64);
    } else if value.is_finite() && no_tie(value) {
        push_ryu(out, ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        let mut text = String::new();
        write!(text, "{value}").expect("formatting into a String cannot fail");
        out.extend_from_slice(text.as_bytes());
    }
}

/// True if `value` (finite, not an integer) has more than 18 significant decimal digits, so
/// that no two shortest representations of it can be equally near: as `m * 2^-k` with `m`
/// odd, its digits are those of `m * 5^k`.
fn no_tie(value: f64) -> bool {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, power) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, exponent - 1075)
    };
    let zeros = mantissa.trailing_zeros();
    let (odd, power) = (mantissa >> zeros, power + zeros as i32);
    if power >= 0 {
        return false;
    }
    let k = (-power) as u32;
    // 5^27 > 10^18 already, whatever the odd mantissa.
    k >= 27 || u128::from(odd) * 5u128.pow(k) >= 1_000_000_000_000_000_000
}

/// Appends `ryu`'s output in `Display`'s layout: `ryu` writes `1.5e-7` for what `Display`
/// writes as `0.00000015`. (An integer, the other case in which they differ, never comes
/// here.)
fn push_ryu(out: &mut Vec<u8>, text: &[u8]) {
    let Some(e) = text.iter().position(|&b| b == b'e') else {
        out.extend_from_slice(text);
        return;
    };
    let (mantissa, negative) = match text[..e].strip_prefix(b"-") {
        Some(rest) => (rest, true),
        None => (&text[..e], false),
    };
    let exponent: i32 = std::str::from_utf8(&text[e + 1..])
        .ok()
        .and_then(|x| x.parse().ok())
        .expect("ryu writes a decimal exponent");
    if negative {
        out.push(b'-');
    }
    // `mantissa` is `d` or `d.ddd`: the digits, and the point after `exponent + 1` of them.
    let digits = mantissa.iter().copied().filter(|&b| b != b'.');
    let point = exponent + 1;
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend(digits);
    } else {
        let count = digits.clone().count();
        let point = point as usize;
        if point >= count {
            out.extend(digits);
            out.extend(std::iter::repeat_n(b'0', point - count));
        } else {
            out.extend(digits.clone().take(point));
            out.push(b'.');
            out.extend(digits.skip(point));
        }
    }
}

fn push_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// The end of a field, and of a record on the last one.
fn comma(out: &mut Vec<u8>) {
    out.push(b',');
}

impl RunCsv {
    pub fn create(dir: &Path, scenario: &Scenario, with_outages: bool) -> io::Result<RunCsv> {
        let mut replications = AtomicFile::create(&dir.join("replications.csv"))?;
        let mut header = vec![
            "replication".to_string(),
            "service".to_string(),
            "availability".to_string(),
            "downtime_minutes".to_string(),
            "outages".to_string(),
            "up_hours".to_string(),
            "down_hours".to_string(),
        ];
        header.extend(CAUSES.iter().map(|c| format!("{}_minutes", c.name())));
        replications.write_all(&record(&header)?)?;
        let outages = if with_outages {
            let mut w = AtomicFile::create(&dir.join("outages.csv"))?;
            w.write_all(&record([
                "replication",
                "service",
                "start_hours",
                "end_hours",
                "duration_hours",
                "cause",
                "censored",
            ])?)?;
            Some(w)
        } else {
            None
        };
        Ok(RunCsv {
            replications,
            outages,
            services: crate::run::service_names(scenario)
                .iter()
                .map(|name| field(name))
                .collect::<io::Result<_>>()?,
            causes: CAUSES
                .iter()
                .map(|c| field(c.name()))
                .collect::<io::Result<_>>()?,
            row: Vec::new(),
        })
    }

    pub fn write(&mut self, result: &ReplicationResult) -> io::Result<()> {
        let minutes = |us: u64| us as f64 / MICROS_PER_MINUTE as f64;
        for (name, service) in self.services.iter().zip(&result.services) {
            let t = &service.totals;
            let row = &mut self.row;
            row.clear();
            push_u64(row, result.index);
            comma(row);
            row.extend_from_slice(name);
            comma(row);
            push_f64(row, t.availability());
            comma(row);
            push_f64(row, minutes(t.down));
            comma(row);
            push_u64(row, t.outages);
            comma(row);
            push_f64(row, hours(t.up));
            comma(row);
            push_f64(row, hours(t.down));
            for &d in &t.down_by_cause {
                comma(row);
                push_f64(row, minutes(d));
            }
            row.push(b'\n');
            self.replications.write_all(row)?;
            if let Some(w) = self.outages.as_mut() {
                for o in &service.outages {
                    outage_row(row, result.index, name, &self.causes, o);
                    w.write_all(row)?;
                }
            }
        }
        Ok(())
    }

    /// Publishes the files under their final names.
    pub fn commit(self) -> io::Result<()> {
        self.replications.commit()?;
        if let Some(w) = self.outages {
            w.commit()?;
        }
        Ok(())
    }
}

/// One line of `outages.csv` into `row`.
fn outage_row(row: &mut Vec<u8>, index: u64, name: &[u8], causes: &[Vec<u8>], o: &OutageRecord) {
    row.clear();
    push_u64(row, index);
    comma(row);
    row.extend_from_slice(name);
    comma(row);
    push_f64(row, hours(o.start));
    comma(row);
    push_f64(row, hours(o.end));
    comma(row);
    push_f64(row, hours(o.end - o.start));
    comma(row);
    row.extend_from_slice(&causes[o.cause.index()]);
    comma(row);
    row.extend_from_slice(if o.censored { b"true" } else { b"false" });
    row.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles of every kind, from a fixed generator: random bit patterns, fractions, the
    /// magnitudes of the CSV's minutes and hours, near powers of two, and integers.
    fn doubles() -> impl Iterator<Item = f64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        (0..400_000u64).map(move |i| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
            match i % 8 {
                0 => f64::from_bits(z),
                1 => unit,
                2 => unit * 1e6,
                3 => (z % 100_000_000_000) as f64 / MICROS_PER_MINUTE as f64,
                4 => f64::from_bits((z & 0xFFF0_0000_0000_0000) | (z & 0x3F)),
                5 => f64::from_bits(z | 0x000F_FFFF_FFFF_FFC0),
                6 => (z % 1_000_000) as f64 * if z & 1 == 0 { 1.0 } else { -1.0 },
                _ => unit * 1e-9,
            }
        })
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            1e-7,
            1.5e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            EXACT_INTEGERS,
            EXACT_INTEGERS - 1.0,
            1e16,
            1e21,
            123_456_789.125,
            0.3,
            2.0f64.powi(50) + 0.25,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut out = Vec::new();
        for value in specials.into_iter().chain(doubles()) {
            out.clear();
            push_f64(&mut out, value);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                value.to_string(),
                "{:#x}",
                value.to_bits()
            );
        }
        for value in [0, 7, 10, 1234, u64::MAX] {
            out.clear();
            push_u64(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
    }

    /// A tie is left to `Display`: the double 158904016829658.625 lies halfway between two
    /// shortest candidates, which `ryu` rounds to even and `Display` up.
    #[test]
    fn a_tie_between_two_shortest_digits_is_not_given_to_ryu() {
        let value = f64::from_bits(4_819_432_930_197_609_300);
        assert_eq!(
            ryu::Buffer::new().format_finite(value),
            "158904016829658.62"
        );
        assert!(!no_tie(value));
        let mut out = Vec::new();
        push_f64(&mut out, value);
        assert_eq!(out, b"158904016829658.63");
        assert!(no_tie(0.1) && no_tie(1234.5678));
    }

    /// Names are quoted as the `csv` crate quotes them in a record.
    #[test]
    fn names_are_fields_as_the_csv_crate_writes_them() {
        for name in ["app", "", "a,b", "say \"hi\"", "two\nlines", " spaced "] {
            let mut ours = field(name).unwrap();
            ours.extend_from_slice(b",1\n");
            assert_eq!(ours, record([name, "1"]).unwrap(), "{name:?}");
        }
    }
}
