//! Acceptance on the shared corpus: every rendered chart and plain manifest must yield
//! exactly the expected image lists (`expected/<name>.images.txt`) and evidence rows
//! (`expected/<name>.images.annotated.tsv`).
//!
//! The corpus lives at `$IMAGEBOM_CORPUS`, by default `<workspace>/../shared/corpus`. A
//! missing corpus fails the test.

use imagebom_extract::{extract, Extraction, Limits, Origin};
use imagebom_model::Category;
use imagebom_testkit::Need;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::CORPUS];

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Rows of an annotated TSV: (category, kind, template, path, image).
fn tsv(p: &Path) -> Vec<[String; 5]> {
    read(p)
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "{}: bad row {l:?}", p.display());
            [f[0], f[1], f[2], f[3], f[4]].map(str::to_string)
        })
        .collect()
}

fn diff<T: Ord + std::fmt::Debug>(
    report: &mut String,
    what: &str,
    want: &BTreeSet<T>,
    got: &BTreeSet<T>,
) {
    if want == got {
        return;
    }
    let _ = writeln!(report, "  {what}:");
    for m in want.difference(got) {
        let _ = writeln!(report, "    missing:    {m:?}");
    }
    for u in got.difference(want) {
        let _ = writeln!(report, "    unexpected: {u:?}");
    }
}

fn check(name: &str, file: &str, text: &str, expected: &Path) -> String {
    let origin = Origin {
        component: name.to_string(),
        file: file.to_string(),
    };
    let mut report = String::new();
    let x: Extraction = match extract(text, &origin, &Limits::default()) {
        Ok(x) => x,
        Err(e) => return format!("  extract failed: {e}\n"),
    };
    let direct = |c: Category| {
        matches!(
            c,
            Category::Pod | Category::Cr | Category::CrTriplet | Category::CrDisabled
        )
    };

    // The image list.
    let want: BTreeSet<String> = read(&expected.join(format!("{name}.images.txt")))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let got: BTreeSet<String> = x
        .images
        .iter()
        .filter(|(_, o)| direct(o.category))
        .map(|(_, o)| o.original.clone())
        .collect();
    diff(&mut report, "images.txt", &want, &got);

    // The evidence rows.
    let rows = tsv(&expected.join(format!("{name}.images.annotated.tsv")));
    let cat = |c: &str| c.parse::<Category>().ok();
    let want_indirect: BTreeSet<(String, String, String)> = rows
        .iter()
        .filter(|r| matches!(cat(&r[0]), Some(Category::Env | Category::Arg)))
        .map(|r| (r[0].clone(), r[3].clone(), r[4].clone()))
        .collect();
    let got_indirect: BTreeSet<(String, String, String)> = x
        .images
        .iter()
        .filter(|(_, o)| matches!(o.category, Category::Env | Category::Arg))
        .map(|(_, o)| (o.category.to_string(), o.path.clone(), o.original.clone()))
        .collect();
    diff(&mut report, "env/arg rows", &want_indirect, &got_indirect);

    let template = |t: &str| {
        if t == "?" {
            file.to_string()
        } else {
            t.to_string()
        }
    };
    let want_direct: BTreeSet<[String; 5]> = rows
        .iter()
        .filter(|r| cat(&r[0]).is_some_and(direct))
        .map(|r| {
            [
                r[0].clone(),
                r[1].clone(),
                template(&r[2]),
                r[3].clone(),
                r[4].clone(),
            ]
        })
        .collect();
    let got_direct: BTreeSet<[String; 5]> = x
        .images
        .iter()
        .filter(|(_, o)| direct(o.category))
        .map(|(_, o)| {
            [
                o.category.to_string(),
                o.kind.clone(),
                o.source.clone(),
                o.path.clone(),
                o.original.clone(),
            ]
        })
        .collect();
    diff(&mut report, "pod/cr rows", &want_direct, &got_direct);

    // `incomplete` rows are warnings, never images.
    for r in rows.iter().filter(|r| r[0] == "incomplete") {
        if !x
            .warnings
            .iter()
            .any(|w| w.kind == r[1] && w.path == r[3] && w.value == r[4])
        {
            let _ = writeln!(report, "  no warning for incomplete row {r:?}");
        }
    }
    report
}

#[test]
fn corpus_matches_expected_lists() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let dir = Need::CORPUS.path();
    let expected = dir.join("expected");
    let mut cases = Vec::new();
    for p in yaml_files(&dir.join("rendered")) {
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        cases.push((stem.clone(), format!("rendered/{stem}.yaml"), p));
    }
    for p in yaml_files(&dir.join("manifests")) {
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        cases.push((
            format!("manifest-{stem}"),
            format!("manifests/{stem}.yaml"),
            p,
        ));
    }
    assert!(
        cases.len() >= 10,
        "expected at least 10 corpus files, found {}",
        cases.len()
    );
    let mut failures = String::new();
    for (name, file, path) in &cases {
        let report = check(name, file, &read(path), &expected);
        if !report.is_empty() {
            let _ = write!(failures, "{name} ({file}):\n{report}");
        }
    }
    assert!(failures.is_empty(), "corpus mismatches:\n{failures}");
}
