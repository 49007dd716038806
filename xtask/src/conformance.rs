//! `cargo xtask conformance [--update|--check]`: the template/chart conformance suite's expected
//! outputs, produced by the real implementations (oracles), never by hand.
//!
//! - Vectors: `tests/conformance/**/*.yaml` (format in `tests/conformance/README.md`). Each vector
//!   names its oracle: `go` (Go 1.19 `text/template`, `tests/oracle/gotmpl`, stdlib only, built into
//!   `target/oracle/`) or `helm` (the Helm v4 Go SDK through `helm-python-sdk`,
//!   `tests/oracle/helm_oracle.py`, run with `.venv/bin/python`).
//! - Fixture charts: every application chart `fixtures/charts/<name>` is rendered by the Helm
//!   oracle into `fixtures/charts/expected/<name>.yaml` (`helm_render.py`'s stream format).
//!   Vendored copies `fixtures/charts/*/charts/<dep>` of a chart that also lives at
//!   `fixtures/charts/<dep>` must be identical to it (`--update` copies them).
//!
//! `--update` rewrites only the generated fields (`expected`, `error`, `error_location`,
//! `error_message`) in place, keeping the hand-written text (comments included) byte for byte.
//! `--check` (the default) regenerates into memory and fails listing every vector, fixture or
//! vendored copy that differs from the committed files.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Keys written by the oracles; always the last keys of a vector.
const GENERATED: [&str; 4] = ["expected", "error", "error_location", "error_message"];
/// Keys a vector may be written with by hand.
const HAND: [&str; 7] = [
    "name", "oracle", "template", "data", "files", "values", "note",
];

struct VectorFile {
    rel: String,
    path: PathBuf,
    text: String,
    vectors: Vec<Map<String, Json>>,
}

/// Runs the command; `update` rewrites the committed files, otherwise they are checked.
pub fn run(root: &Path, update: bool) -> Result<()> {
    let started = Instant::now();
    let files = load_vectors(&root.join("tests/conformance"))?;
    let mut names = BTreeSet::new();
    let mut go_jobs = Vec::new();
    let mut helm_jobs = Vec::new();
    // (file index, vector index) per job, in job order.
    let mut go_refs = Vec::new();
    let mut helm_refs = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for (vi, v) in f.vectors.iter().enumerate() {
            let name = validate(v).with_context(|| format!("{} vector #{}", f.rel, vi + 1))?;
            if !names.insert(name.clone()) {
                bail!("{}: vector name {name:?} is used twice in the suite", f.rel);
            }
            let oracle = v.get("oracle").and_then(Json::as_str).unwrap_or_default();
            let data = v.get("data").cloned().unwrap_or(Json::Null);
            if oracle == "go" {
                go_jobs.push(json!({"name": name, "template": v["template"], "data": data}));
                go_refs.push((fi, vi));
            } else if let Some(t) = v.get("template") {
                helm_jobs.push(json!({"kind": "template", "name": name, "template": t,
                    "values_text": values_text(&data)}));
                helm_refs.push((fi, vi));
            } else {
                helm_jobs.push(json!({"kind": "chart", "name": name, "files": v["files"],
                    "values": v.get("values").cloned().unwrap_or(Json::Null)}));
                helm_refs.push((fi, vi));
            }
        }
    }
    let fixtures = fixture_charts(&root.join("fixtures/charts"))?;
    let fixture_base = helm_jobs.len();
    for (name, dir) in &fixtures {
        helm_jobs.push(json!({"kind": "fixture", "name": format!("fixture:{name}"),
            "dir": dir.to_string_lossy()}));
    }

    let go_bin = build_go_oracle(root)?;
    let python = root.join(".venv/bin/python");
    let helm_script = root.join("tests/oracle/helm_oracle.py");
    let (go_out, helm_out) = std::thread::scope(|s| {
        let go = s.spawn(|| run_oracle(Command::new(&go_bin), &Json::Array(go_jobs.clone())));
        let mut cmd = Command::new(&python);
        cmd.arg(&helm_script);
        let helm = run_oracle(cmd, &Json::Array(helm_jobs.clone()));
        let go = go
            .join()
            .map_err(|_| anyhow!("go oracle thread panicked"))?;
        Ok::<_, anyhow::Error>((go, helm))
    })?;
    let go_out = go_out.context("go oracle (tests/oracle/gotmpl)")?;
    let helm_out = helm_out.with_context(|| {
        format!(
            "helm oracle ({}); run `make test` once to create .venv",
            helm_script.display()
        )
    })?;
    if go_out.len() != go_jobs.len() || helm_out.len() != helm_jobs.len() {
        bail!("an oracle returned a different number of results than it was given jobs");
    }

    // Generated fields per vector.
    let mut generated: BTreeMap<(usize, usize), Map<String, Json>> = BTreeMap::new();
    for (r, at) in go_out.iter().zip(&go_refs) {
        generated.insert(*at, generated_fields(r)?);
    }
    for (r, at) in helm_out.iter().zip(&helm_refs) {
        generated.insert(*at, generated_fields(r)?);
    }

    let mut differ = Vec::new();
    let mut total = 0;
    let mut per_topic: BTreeMap<String, usize> = BTreeMap::new();
    for (fi, f) in files.iter().enumerate() {
        let mut changed = false;
        for (vi, v) in f.vectors.iter().enumerate() {
            total += 1;
            *per_topic.entry(f.rel.clone()).or_default() += 1;
            let want = &generated[&(fi, vi)];
            let have: Map<String, Json> = GENERATED
                .iter()
                .filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone())))
                .collect();
            if &have != want {
                changed = true;
                differ.push(format!("{}: {}", f.rel, v["name"].as_str().unwrap_or("?")));
            }
        }
        if update && changed {
            let gens: Vec<&Map<String, Json>> = (0..f.vectors.len())
                .map(|vi| &generated[&(fi, vi)])
                .collect();
            let text = rewrite(f, &gens)?;
            write_atomic(&f.path, text.as_bytes())?;
        }
    }

    // Fixture renders.
    for (k, (name, _)) in fixtures.iter().enumerate() {
        let r = &helm_out[fixture_base + k];
        let Some(text) = r.get("output").and_then(Json::as_str) else {
            bail!(
                "fixture chart {name} fails to render with Helm: {}",
                r["error"]
            );
        };
        let path = root.join(format!("fixtures/charts/expected/{name}.yaml"));
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != text {
            if update {
                std::fs::create_dir_all(path.parent().unwrap_or(root))?;
                write_atomic(&path, text.as_bytes())?;
            }
            differ.push(format!("fixtures/charts/expected/{name}.yaml"));
        }
    }
    differ.extend(sync_vendored(&root.join("fixtures/charts"), update)?);

    for (topic, n) in &per_topic {
        println!("{n:5}  {topic}");
    }
    println!(
        "{total:5}  vectors ({} go, {} helm), {} fixture charts; oracles run in {:.1?}",
        go_refs.len(),
        helm_refs.len(),
        fixtures.len(),
        started.elapsed()
    );
    if differ.is_empty() {
        println!("conformance expectations match the oracles");
        return Ok(());
    }
    if update {
        println!("updated {} entries:", differ.len());
        for d in &differ {
            println!("  {d}");
        }
        return Ok(());
    }
    for d in &differ {
        eprintln!("  differs from the oracle: {d}");
    }
    bail!(
        "{} conformance entries differ from what the oracles print (run `cargo xtask conformance --update`)",
        differ.len()
    )
}

/// The text of `values.yaml` for a helm template vector: the data as compact JSON.
fn values_text(data: &Json) -> String {
    let data = if data.is_null() { &json!({}) } else { data };
    format!("{}\n", serde_json::to_string(data).unwrap_or_default())
}

fn load_vectors(dir: &Path) -> Result<Vec<VectorFile>> {
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let vectors = parse_vectors(&text).with_context(|| format!("parsing {rel}"))?;
        out.push(VectorFile {
            rel,
            path,
            text,
            vectors,
        });
    }
    if out.is_empty() {
        bail!("no vector files under {}", dir.display());
    }
    Ok(out)
}

fn parse_vectors(text: &str) -> Result<Vec<Map<String, Json>>> {
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)?;
    let j: Json = serde_json::to_value(y)?;
    let Json::Array(items) = j else {
        bail!("a vector file is a YAML sequence of vectors");
    };
    items
        .into_iter()
        .map(|v| match v {
            Json::Object(m) => Ok(m),
            _ => bail!("each vector is a mapping"),
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn validate(v: &Map<String, Json>) -> Result<String> {
    for k in v.keys() {
        if !HAND.contains(&k.as_str()) && !GENERATED.contains(&k.as_str()) {
            bail!("unknown key {k:?}");
        }
    }
    let name = v
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| anyhow!("missing `name`"))?;
    if name.is_empty() || name.chars().any(|c| c.is_whitespace()) {
        bail!("vector name {name:?} must be non-empty without spaces");
    }
    let oracle = v.get("oracle").and_then(Json::as_str).unwrap_or_default();
    let has_t = v.get("template").is_some_and(Json::is_string);
    let has_f = v.get("files").is_some_and(Json::is_object);
    match (oracle, has_t, has_f) {
        ("go", true, false) | ("helm", true, false) | ("helm", false, true) => {}
        _ => bail!(
            "{name}: needs `oracle: go` + `template`, or `oracle: helm` + `template` or `files`"
        ),
    }
    if has_f && v.contains_key("data") {
        bail!("{name}: chart vectors take user `values`, not `data`");
    }
    if has_t && v.contains_key("values") {
        bail!("{name}: template vectors take `data`, not `values`");
    }
    if let Some(Json::Object(files)) = v.get("files") {
        for (p, c) in files {
            if !c.is_string() {
                bail!("{name}: file {p:?} must be a string");
            }
        }
    }
    Ok(name.to_string())
}

fn build_go_oracle(root: &Path) -> Result<PathBuf> {
    let out = root.join("target/oracle");
    std::fs::create_dir_all(&out)?;
    let bin = out.join("gotmpl");
    let go = std::env::var_os("GO").unwrap_or_else(|| "go".into());
    let status = Command::new(go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("tests/oracle/gotmpl"))
        .env("GOCACHE", out.join("gocache"))
        .env("GOPATH", out.join("gopath"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .status()
        .context("running `go build` (apt-get install golang-go)")?;
    if !status.success() {
        bail!("building the Go oracle failed");
    }
    Ok(bin)
}

fn run_oracle(mut cmd: Command, jobs: &Json) -> Result<Vec<Json>> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let input = serde_json::to_vec(jobs)?;
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow!("writer thread panicked"))??;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", out.status);
    }
    let v: Json = serde_json::from_slice(&out.stdout).context("oracle output is not JSON")?;
    match v {
        Json::Array(a) => Ok(a),
        _ => bail!("oracle output is not a JSON array"),
    }
}

fn generated_fields(r: &Json) -> Result<Map<String, Json>> {
    let mut m = Map::new();
    if let Some(o) = r.get("output") {
        m.insert("expected".into(), o.clone());
    } else if let Some(Json::String(e)) = r.get("error") {
        m.insert("error".into(), json!(e));
        let (loc, msg) = error_parts(e);
        if let Some(loc) = loc {
            m.insert("error_location".into(), json!(loc));
        }
        m.insert("error_message".into(), json!(msg));
    } else {
        bail!("oracle result without output or error: {r}");
    }
    Ok(m)
}

/// The rule the runners apply to an `error` vector (see tests/conformance/README.md): our error
/// text must contain the oracle's location `NAME:LINE:COL` (or `NAME:LINE` for parse errors)
/// when it has one, and its final message: the last non-blank line with the location and
/// context prefixes (`template: LOC: `, `executing "…" at <…>: `, `execution error at (…): `,
/// `parse error at (…): `, `error calling F: `) removed.
pub fn error_parts(e: &str) -> (Option<String>, String) {
    (error_location(e), error_message(e))
}

fn error_location(e: &str) -> Option<String> {
    // The first `NAME:LINE:COL` or `NAME:LINE` where NAME is a template name (no spaces,
    // quotes, parentheses or colons) right after the start, `template: ` or `(`.
    let starts = std::iter::once(0)
        .chain(e.match_indices("template: ").map(|(i, s)| i + s.len()))
        .chain(e.match_indices('(').map(|(i, _)| i + 1));
    let mut best: Option<(usize, String)> = None;
    for s in starts {
        if let Some(loc) = location_at(&e[s..]) {
            if best.as_ref().is_none_or(|(b, _)| s < *b) {
                best = Some((s, loc));
            }
        }
    }
    best.map(|(_, l)| l)
}

fn location_at(s: &str) -> Option<String> {
    let name_len = s
        .find(|c: char| c.is_whitespace() || "\"'():<>".contains(c))
        .unwrap_or(s.len());
    if name_len == 0 || !s[name_len..].starts_with(':') {
        return None;
    }
    let rest = &s[name_len + 1..];
    let line_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if line_len == 0 {
        return None;
    }
    let mut end = name_len + 1 + line_len;
    let after = &s[end..];
    if let Some(col) = after.strip_prefix(':') {
        let col_len = col.find(|c: char| !c.is_ascii_digit()).unwrap_or(col.len());
        if col_len > 0 {
            end += 1 + col_len;
        }
    }
    Some(s[..end].to_string())
}

fn error_message(e: &str) -> String {
    let mut m = e
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    loop {
        let before = m.clone();
        if let Some(rest) = m.strip_prefix("template: ") {
            if let Some(loc) = location_at(rest) {
                if let Some(r) = rest[loc.len()..].strip_prefix(": ") {
                    m = r.to_string();
                }
            }
        }
        if m.starts_with("executing \"") {
            if let Some(i) = m.find(">: ") {
                m = m[i + 3..].to_string();
            }
        }
        for p in ["execution error at (", "parse error at ("] {
            if let Some(rest) = m.strip_prefix(p) {
                if let Some(i) = rest.find("): ") {
                    m = rest[i + 3..].to_string();
                }
            }
        }
        if let Some(rest) = m.strip_prefix("error calling ") {
            if let Some(i) = rest.find(": ") {
                if !rest[..i].contains(' ') {
                    m = rest[i + 2..].to_string();
                }
            }
        }
        if m == before {
            return m;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-place rewrite of generated fields.

fn rewrite(f: &VectorFile, gens: &[&Map<String, Json>]) -> Result<String> {
    for quote_all in [false, true] {
        let text = splice(&f.text, gens, quote_all)?;
        let back = parse_vectors(&text).with_context(|| format!("re-reading {}", f.rel))?;
        let ok = back.len() == f.vectors.len()
            && back.iter().zip(&f.vectors).zip(gens).all(|((b, orig), g)| {
                HAND.iter().all(|k| b.get(*k) == orig.get(*k))
                    && GENERATED.iter().all(|k| b.get(*k) == g.get(*k))
            });
        if ok {
            return Ok(text);
        }
    }
    bail!(
        "{}: could not rewrite the generated fields faithfully (keep `expected`/`error*` as the last keys of each vector)",
        f.rel
    )
}

fn splice(text: &str, gens: &[&Map<String, Json>], quote_all: bool) -> Result<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("- "))
        .collect();
    if starts.len() != gens.len() {
        bail!(
            "found {} lines starting with `- ` but {} vectors (start every vector with `- ` at column 0)",
            starts.len(),
            gens.len()
        );
    }
    let mut out: String = lines[..starts.first().copied().unwrap_or(lines.len())].concat();
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(lines.len());
        let block = &lines[s..e];
        // Trailing separator lines (blank or column-0 comments) stay after the vector.
        let mut body_end = block.len();
        while body_end > 1 {
            let l = block[body_end - 1];
            if l.trim().is_empty() || l.starts_with('#') {
                body_end -= 1;
            } else {
                break;
            }
        }
        let gen_start = (1..body_end)
            .find(|&i| {
                GENERATED
                    .iter()
                    .any(|g| block[i].starts_with(&format!("  {g}:")))
            })
            .unwrap_or(body_end);
        let mut body: String = block[..gen_start].concat();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        out.push_str(&body);
        for g in GENERATED {
            if let Some(v) = gens[k].get(g) {
                out.push_str(&format!("  {g}:"));
                emit_value(&mut out, v, 2, quote_all);
            }
        }
        out.push_str(&block[body_end..].concat());
    }
    Ok(out)
}

/// Appends ` value\n` (scalars) or `\n` + a nested block mapping for `v`, for a key at `indent`.
fn emit_value(out: &mut String, v: &Json, indent: usize, quote_all: bool) {
    match v {
        Json::String(s) => {
            out.push_str(&emit_str(s, indent, quote_all));
            out.push('\n');
        }
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            for (k, v) in m {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&dq(k));
                out.push(':');
                emit_value(out, v, indent + 2, quote_all);
            }
        }
        other => {
            out.push(' ');
            out.push_str(&serde_json::to_string(other).unwrap_or_default());
            out.push('\n');
        }
    }
}

/// A string value after `key:`: a literal block (explicit indentation indicator, chomping
/// matching the trailing newlines) for readable multi-line text, else a double-quoted scalar.
fn emit_str(s: &str, indent: usize, quote_all: bool) -> String {
    let printable = s
        .chars()
        .all(|c| c == '\n' || c == '\t' || !(c.is_control() || c == '\u{feff}' || c == '\u{85}'));
    if quote_all || !s.contains('\n') || !printable || s.contains('\r') {
        return format!(" {}", dq(s));
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!(" |2{chomp}\n");
    let pad = " ".repeat(indent + 2);
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    out.pop();
    out
}

/// A YAML double-quoted scalar; everything but printable ASCII is escaped.
fn dq(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            ' '..='~' => o.push(c),
            c if (c as u32) <= 0xffff => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    o.push('"');
    o
}

// ---------------------------------------------------------------------------------------------
// Fixture charts.

fn fixture_charts(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in rd {
        let p = e?.path();
        let chart_yaml = p.join("Chart.yaml");
        let Ok(meta) = std::fs::read_to_string(&chart_yaml) else {
            continue;
        };
        let is_library = meta
            .lines()
            .any(|l| l.trim_start().starts_with("type:") && l.contains("library"));
        if !is_library {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, p));
        }
    }
    out.sort();
    Ok(out)
}

/// Vendored copies `fixtures/charts/X/charts/D` of a fixture chart `fixtures/charts/D`.
fn sync_vendored(dir: &Path, update: bool) -> Result<Vec<String>> {
    let mut differ = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(differ);
    };
    let mut charts: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    charts.sort();
    for c in charts {
        let Ok(deps) = std::fs::read_dir(c.join("charts")) else {
            continue;
        };
        for d in deps {
            let vendored = d?.path();
            let Some(base) = vendored.file_name() else {
                continue;
            };
            let source = dir.join(base);
            if !vendored.is_dir() || !source.join("Chart.yaml").is_file() {
                continue;
            }
            if tree(&source)? != tree(&vendored)? {
                let rel = vendored
                    .strip_prefix(dir)
                    .unwrap_or(&vendored)
                    .display()
                    .to_string();
                if update {
                    std::fs::remove_dir_all(&vendored)?;
                    copy_tree(&source, &vendored)?;
                }
                differ.push(format!(
                    "fixtures/charts/{rel} (vendored copy of fixtures/charts/{})",
                    base.to_string_lossy()
                ));
            }
        }
    }
    Ok(differ)
}

fn tree(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p)?;
            Ok((p.strip_prefix(dir).unwrap_or(&p).to_path_buf(), data))
        })
        .collect()
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    for (rel, data) in tree(src)? {
        let p = dst.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(dst))?;
        std::fs::write(&p, data)?;
    }
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_error_parts() {
        let (l, m) = error_parts(
            "template: t:1:5: executing \"t\" at <.x.y>: can't evaluate field y in type interface {}",
        );
        assert_eq!(l.as_deref(), Some("t:1:5"));
        assert_eq!(m, "can't evaluate field y in type interface {}");
        let (l, m) = error_parts("template: t:1: missing value for if");
        assert_eq!(l.as_deref(), Some("t:1"));
        assert_eq!(m, "missing value for if");
        let (l, m) = error_parts(
            "template: t:1:2: executing \"t\" at <index .a 5>: error calling index: index out of range: 5",
        );
        assert_eq!(l.as_deref(), Some("t:1:2"));
        assert_eq!(m, "index out of range: 5");
    }

    #[test]
    fn helm_error_parts() {
        let (l, m) = error_parts("execution error at (t/templates/t.yaml:1:3): boom");
        assert_eq!(l.as_deref(), Some("t/templates/t.yaml:1:3"));
        assert_eq!(m, "boom");
        let (l, m) = error_parts(
            "t/templates/t.yaml:2:10\n  executing \"t/templates/t.yaml\" at <.Values.a.b.c>:\n    can't evaluate field b in type interface {}",
        );
        assert_eq!(l.as_deref(), Some("t/templates/t.yaml:2:10"));
        assert_eq!(m, "can't evaluate field b in type interface {}");
        let (l, m) = error_parts("parse error at (t/templates/t.yaml:1): missing value for if");
        assert_eq!(l.as_deref(), Some("t/templates/t.yaml:1"));
        assert_eq!(m, "missing value for if");
    }

    #[test]
    fn literal_blocks_round_trip() {
        for s in [
            "a\nb",
            "a\nb\n",
            "a\n\n\n",
            "  lead\nx",
            "\n\nx",
            "x\n  \n y\n",
            "\t\tz\n",
            "",
            "- a: 1\n",
        ] {
            let doc = format!("- name: n\n  expected:{}\n", emit_str(s, 2, false));
            let back = parse_vectors(&doc).unwrap();
            assert_eq!(back[0]["expected"], json!(s), "{doc}");
        }
    }
}
