//! Sprig's date functions, enough for what charts use. A Go `time.Time` is carried as
//! a string in Go's `Time.String()` form (`2006-01-02 15:04:05.999999999 -0700 MST`);
//! date functions also take integers (Unix seconds). Zones are the IANA database's
//! (`chrono-tz`); `Local` is UTC.

use alloc::format;
use alloc::string::{String, ToString};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Offset, TimeZone, Timelike, Utc};

use super::{err, vstr};
use crate::FuncMap;
use crate::error::Result;
use crate::function::add_fn;
use crate::value::Value;

const GO_STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// A time argument: our time strings, RFC 3339, or Unix seconds; anything else is
/// "now", as Sprig's `formatDate` does for values that are not times.
fn to_time(v: &Value) -> DateTime<FixedOffset> {
    match v.untyped() {
        Value::Int(n) => Utc
            .timestamp_opt(*n, 0)
            .single()
            .map_or_else(now, |t| t.fixed_offset()),
        Value::String(s) => parse_layout(GO_STRING_LAYOUT, s)
            .or_else(|| DateTime::parse_from_rfc3339(s).ok())
            .unwrap_or_else(now),
        _ => now(),
    }
}

/// `t` in the zone Go's `time.LoadLocation(name)` finds (the IANA database;
/// `""`, `UTC` and `Local` are UTC; an unknown name is UTC, as Sprig falls back),
/// with the zone's abbreviation when it has one (`JST`).
fn in_zone(t: &DateTime<FixedOffset>, name: &str) -> (DateTime<FixedOffset>, Option<String>) {
    use chrono_tz::OffsetName;
    let utc = || (t.with_timezone(&Utc.fix()), None);
    match name {
        "" | "UTC" | "Local" => utc(),
        _ => match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => {
                let z = t.with_timezone(&tz);
                let abbrev = z.offset().abbreviation().map(String::from);
                (z.fixed_offset(), abbrev)
            }
            Err(_) => utc(),
        },
    }
}

fn zone_abbrev(t: &DateTime<FixedOffset>) -> String {
    let secs = t.offset().local_minus_utc();
    if secs == 0 {
        "UTC".into()
    } else {
        let sign = if secs < 0 { '-' } else { '+' };
        let a = secs.abs();
        if a % 3600 == 0 {
            format!("{sign}{:02}", a / 3600)
        } else {
            format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
        }
    }
}

/// The Go layout tokens, longest first.
const TOKENS: &[&str] = &[
    "January",
    "Monday",
    "-07:00:00",
    "Z07:00:00",
    "-07:00",
    "Z07:00",
    "-0700",
    "Z0700",
    "2006",
    "Jan",
    "Mon",
    "MST",
    "002",
    "-07",
    "Z07",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "15",
    "_2",
    "PM",
    "pm",
    "1",
    "2",
    "3",
    "4",
    "5",
];

/// Go's `Time.Format(layout)`.
pub(crate) fn format_layout(layout: &str, t: &DateTime<FixedOffset>) -> String {
    format_in(layout, t, None)
}

/// Go's `Time.Format(layout)` with the zone's abbreviation, if it has one (`MST`).
fn format_in(layout: &str, t: &DateTime<FixedOffset>, abbrev: Option<&str>) -> String {
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        // Fractional seconds: .000 / .999 (or , separator).
        if (rest.starts_with('.') || rest.starts_with(','))
            && rest.len() > 1
            && matches!(rest.as_bytes()[1], b'0' | b'9')
        {
            let d = rest.as_bytes()[1];
            let n = rest[1..].bytes().take_while(|b| *b == d).count();
            let after = rest.as_bytes().get(1 + n);
            if !after.is_some_and(|b| b.is_ascii_digit()) {
                let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let digits = &nanos[..n.min(9)];
                if d == b'0' {
                    out.push(rest.as_bytes()[0] as char);
                    out.push_str(digits);
                } else {
                    let trimmed = digits.trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push(rest.as_bytes()[0] as char);
                        out.push_str(trimmed);
                    }
                }
                rest = &rest[1 + n..];
                continue;
            }
        }
        let Some(tok) = TOKENS.iter().find(|tk| rest.starts_with(**tk)) else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let off = t.offset().local_minus_utc();
        let (sign, oh, om, os) = (
            if off < 0 { '-' } else { '+' },
            off.abs() / 3600,
            (off.abs() % 3600) / 60,
            off.abs() % 60,
        );
        let s = match *tok {
            "January" => t.format("%B").to_string(),
            "Monday" => t.format("%A").to_string(),
            "Jan" => t.format("%b").to_string(),
            "Mon" => t.format("%a").to_string(),
            "MST" => abbrev.map_or_else(|| zone_abbrev(t), String::from),
            "2006" => format!("{:04}", t.year()),
            "06" => format!("{:02}", t.year() % 100),
            "01" => format!("{:02}", t.month()),
            "1" => t.month().to_string(),
            "02" => format!("{:02}", t.day()),
            "2" => t.day().to_string(),
            "_2" => format!("{:>2}", t.day()),
            "002" => format!("{:03}", t.ordinal()),
            "15" => format!("{:02}", t.hour()),
            "03" => format!("{:02}", t.hour12().1),
            "3" => t.hour12().1.to_string(),
            "04" => format!("{:02}", t.minute()),
            "4" => t.minute().to_string(),
            "05" => format!("{:02}", t.second()),
            "5" => t.second().to_string(),
            "PM" => if t.hour() >= 12 { "PM" } else { "AM" }.into(),
            "pm" => if t.hour() >= 12 { "pm" } else { "am" }.into(),
            z if z.starts_with('Z') && off == 0 => "Z".into(),
            "-0700" | "Z0700" => format!("{sign}{oh:02}{om:02}"),
            "-07:00" | "Z07:00" => format!("{sign}{oh:02}:{om:02}"),
            "-07" | "Z07" => format!("{sign}{oh:02}"),
            _ => format!("{sign}{oh:02}:{om:02}:{os:02}"),
        };
        out.push_str(&s);
        rest = &rest[tok.len()..];
    }
    out
}

/// Go's `time.Parse(layout, s)` for common layouts (translated to chrono).
fn parse_layout(layout: &str, s: &str) -> Option<DateTime<FixedOffset>> {
    let mut f = String::new();
    let mut rest = layout;
    let mut has_zone = false;
    while !rest.is_empty() {
        if (rest.starts_with(".0") || rest.starts_with(".9")) && rest.len() > 1 {
            let d = rest.as_bytes()[1];
            let n = rest[1..].bytes().take_while(|b| *b == d).count();
            f.push_str("%.f");
            rest = &rest[1 + n..];
            continue;
        }
        let Some(tok) = TOKENS.iter().find(|tk| rest.starts_with(**tk)) else {
            let c = rest.chars().next().unwrap_or(' ');
            if c == '%' {
                f.push_str("%%");
            } else {
                f.push(c);
            }
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let spec = match *tok {
            "January" => "%B",
            "Monday" => "%A",
            "Jan" => "%b",
            "Mon" => "%a",
            "MST" => "%Z",
            "2006" => "%Y",
            "06" => "%y",
            "01" | "1" => "%m",
            "02" | "2" | "_2" => "%d",
            "002" => "%j",
            "15" => "%H",
            "03" | "3" => "%I",
            "04" | "4" => "%M",
            "05" | "5" => "%S",
            "PM" | "pm" => "%p",
            "-0700" | "Z0700" => {
                has_zone = true;
                "%z"
            }
            "-07:00" | "Z07:00" => {
                has_zone = true;
                "%:z"
            }
            _ => return None,
        };
        f.push_str(spec);
        rest = &rest[tok.len()..];
    }
    // Our own time strings end with a zone abbreviation chrono cannot read; drop it.
    let (f, s) = if let Some(pos) = f.find(" %Z") {
        let words = s.rsplitn(2, ' ').collect::<alloc::vec::Vec<_>>();
        (
            f[..pos].to_string() + &f[pos + 3..],
            words.get(1).copied().unwrap_or(s),
        )
    } else {
        (f, s)
    };
    if has_zone {
        // Go's `Z07:00` reads `Z` for UTC.
        let zulu;
        let s = if layout.contains("Z07") && s.ends_with('Z') {
            zulu = format!("{}+00:00", &s[..s.len() - 1]);
            zulu.as_str()
        } else {
            s
        };
        let f = f.replace("%z", "%:z");
        let z = f.replace("%:z", "%#z");
        DateTime::parse_from_str(s, &z)
            .or_else(|_| DateTime::parse_from_str(s, &f))
            .ok()
    } else {
        NaiveDateTime::parse_from_str(s, &f)
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(s, &f)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .ok()
            .map(|n| n.and_utc().fixed_offset())
    }
}

/// A Go `time.Time` (`typeOf` says so), carried as its `Time.String()` text.
fn time_value(t: &DateTime<FixedOffset>) -> Value {
    Value::typed(
        "time.Time",
        "struct",
        vstr(format_layout(GO_STRING_LAYOUT, t)),
    )
}

/// Go's `Duration.String()`.
pub(crate) fn go_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let mi = (secs_total % 3600) / 60;
        let sfrac = frac(u % 60_000_000_000, 1_000_000_000);
        if h > 0 {
            out.push_str(&format!("{h}h{mi}m"));
        } else if mi > 0 {
            out.push_str(&format!("{mi}m"));
        }
        out.push_str(&sfrac);
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u128, div: u128) -> String {
    let w = v / div;
    let f = v % div;
    if f == 0 {
        return w.to_string();
    }
    let width = div.to_string().len() - 1;
    let fs = format!("{f:0width$}");
    format!("{w}.{}", fs.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`.
fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        let unit = &rest[..u];
        rest = &rest[u..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
    }
    let v = total.round() as i128;
    Some(if neg { -v } else { v })
}

pub(super) fn register(m: &mut FuncMap) {
    date_formatting(m);
    date_arithmetic(m);
    duration_rounding(m);
}

fn date_formatting(m: &mut FuncMap) {
    add_fn(m, "now", || Ok(time_value(&now())));
    add_fn(m, "date", |layout: String, t: Value| {
        Ok(date_in(&layout, &t, "UTC"))
    });
    for name in ["dateInZone", "date_in_zone"] {
        add_fn(m, name, |layout: String, t: Value, zone: String| {
            Ok(date_in(&layout, &t, &zone))
        });
    }
    add_fn(m, "htmlDate", |t: Value| {
        Ok(vstr(format_layout("2006-01-02", &to_time(&t))))
    });
    add_fn(m, "htmlDateInZone", |t: Value, zone: String| {
        let (t, _) = in_zone(&to_time(&t), &zone);
        Ok(vstr(format_layout("2006-01-02", &t)))
    });
    add_fn(m, "toDate", |layout: String, s: String| {
        to_date(&layout, &s, false)
    });
    add_fn(m, "mustToDate", |layout: String, s: String| {
        to_date(&layout, &s, true)
    });
    add_fn(m, "unixEpoch", |t: Value| {
        Ok(vstr(to_time(&t).timestamp().to_string()))
    });
}

/// Sprig's `dateInZone`: `t` formatted with Go's `layout` in `zone`.
fn date_in(layout: &str, t: &Value, zone: &str) -> Value {
    let (t, abbrev) = in_zone(&to_time(t), zone);
    vstr(format_in(layout, &t, abbrev.as_deref()))
}

/// Sprig's `toDate`/`mustToDate` (`must`: a parse failure is Go's error, else the zero time).
fn to_date(layout: &str, s: &str, must: bool) -> Result<Value> {
    match parse_layout(layout, s) {
        Some(t) => Ok(time_value(&t)),
        None if must => {
            // Go names the first layout element it could not read; report
            // the first one (right when the text fails from the start).
            let elem = TOKENS
                .iter()
                .enumerate()
                .filter_map(|(rank, t)| layout.find(t).map(|i| (i, rank, *t)))
                .min()
                .map_or(layout, |(_, _, t)| t);
            Err(err(format!(
                "parsing time {s:?} as {layout:?}: cannot parse {s:?} as {elem:?}"
            )))
        }
        None => Ok(time_value(
            &DateTime::from_timestamp(-62135596800, 0)
                .unwrap_or_default()
                .fixed_offset(),
        )),
    }
}

/// Sprig's `dateModify`/`mustDateModify` (`must`: a bad duration is Go's error,
/// else the time unchanged).
fn date_modify(d: &str, t: &Value, must: bool) -> Result<Value> {
    let t = to_time(t);
    match parse_duration(d) {
        Some(n) => Ok(time_value(
            &(t + chrono::Duration::nanoseconds(n.clamp(i64::MIN as i128, i64::MAX as i128) as i64)),
        )),
        None if must => Err(err(format!("time: invalid duration {d:?}"))),
        None => Ok(time_value(&t)),
    }
}

fn date_arithmetic(m: &mut FuncMap) {
    for name in ["dateModify", "date_modify"] {
        add_fn(m, name, |d: String, t: Value| date_modify(&d, &t, false));
    }
    for name in ["mustDateModify", "must_date_modify"] {
        add_fn(m, name, |d: String, t: Value| date_modify(&d, &t, true));
    }
    add_fn(m, "ago", |t: Value| {
        let secs = (now() - to_time(&t)).num_seconds();
        Ok(vstr(go_duration(i128::from(secs) * 1_000_000_000)))
    });
    add_fn(m, "duration", |v: Value| {
        // Sprig takes only strings and int64 (an `int` argument gives 0s).
        let n: i64 = match &v {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Typed(t) if t.go_type == "int64" => t.value.as_int().unwrap_or(0),
            _ => 0,
        };
        Ok(vstr(go_duration(i128::from(n) * 1_000_000_000)))
    });
}

fn duration_rounding(m: &mut FuncMap) {
    add_fn(m, "durationRound", |v: Value| {
        // Sprig reads strings, int64 (nanoseconds) and a time.Time (the time
        // since it); an `int` argument gives 0s.
        let nanos: i128 = match &v {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Typed(t) if t.go_type == "int64" => i128::from(t.value.as_int().unwrap_or(0)),
            Value::Typed(t) if t.go_type == "time.Time" => (now() - to_time(&t.value))
                .num_nanoseconds()
                .map_or(0, i128::from),
            _ => 0,
        };
        let u = nanos.unsigned_abs();
        let (year, month, day, hour, minute, second) = (
            365 * 24 * 3600 * 1_000_000_000u128,
            30 * 24 * 3600 * 1_000_000_000u128,
            24 * 3600 * 1_000_000_000u128,
            3600 * 1_000_000_000u128,
            60 * 1_000_000_000u128,
            1_000_000_000u128,
        );
        let s = if u > year {
            format!("{}y", u / year)
        } else if u > month {
            format!("{}mo", u / month)
        } else if u > day {
            format!("{}d", u / day)
        } else if u > hour {
            format!("{}h", u / hour)
        } else if u > minute {
            format!("{}m", u / minute)
        } else if u > second {
            format!("{}s", u / second)
        } else {
            "0s".into()
        };
        // Sprig drops the sign.
        Ok(vstr(s))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_durations() {
        let t = DateTime::parse_from_rfc3339("2024-03-05T07:08:09.120Z").unwrap();
        assert_eq!(
            format_layout("2006-01-02T15:04:05Z07:00", &t),
            "2024-03-05T07:08:09Z"
        );
        assert_eq!(
            format_layout("Jan 2, 2006 3:04PM .000", &t),
            "Mar 5, 2024 7:08AM .120"
        );
        assert_eq!(
            format_layout(GO_STRING_LAYOUT, &t),
            "2024-03-05 07:08:09.12 +0000 UTC"
        );
        assert_eq!(to_time(&time_value(&t)), t);
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_500_000_000), "1m30.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(
            parse_layout("2006-01-02", "2024-03-05").map(|t| t.timestamp()),
            Some(1709596800)
        );
    }
}
