//! Variants through the CLI: the union's page and SPDX (validated by the SPDX tools), and
//! `diff` of two variants of a recipe, of a union BOM, and of two BOMs.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

mod common;
use common::setup;

fn imagebom(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("imagebom")
        .unwrap()
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const CUDA: &str = "nvcr.io/nvidia/cuda:12.4";

#[test]
fn diff_two_variants_of_a_recipe_of_a_union_bom_and_of_two_boms() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let json = |o: &std::process::Output| -> Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)))
    };
    // Two variants of the recipe, built on the fly; nothing is written.
    let o = imagebom(
        d.path(),
        &[
            "diff",
            "--recipe",
            "recipe.yaml",
            "--variant",
            "cpu",
            "--variant",
            "gpu",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let from_recipe = json(&o);
    assert_eq!(from_recipe["added"], serde_json::json!([CUDA]));
    assert_eq!(from_recipe["removed"], serde_json::json!([]));
    assert!(!d.path().join("dist").exists());
    let o = imagebom(
        d.path(),
        &[
            "diff",
            "--recipe",
            "recipe.yaml",
            "--variant",
            "gpu",
            "--variant",
            "cpu",
        ],
    );
    assert!(text(&o.stdout).contains(&format!("### Removed (1)\n\n- `{CUDA}`")));
    let o = imagebom(
        d.path(),
        &[
            "diff",
            "--recipe",
            "recipe.yaml",
            "--variant",
            "cpu",
            "--variant",
            "cpu",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // The same from a union BOM, in both formats, and from two single-variant BOMs.
    let o = imagebom(
        d.path(),
        &[
            "generate",
            "--recipe",
            "recipe.yaml",
            "--all-variants",
            "--union",
            "--out",
            "u",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    for f in ["u/bom.cdx.json", "u/bom.spdx.json"] {
        let o = imagebom(
            d.path(),
            &[
                "diff",
                f,
                "--variant",
                "cpu",
                "--variant",
                "gpu",
                "--format",
                "json",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{f}: {}", text(&o.stderr));
        assert_eq!(json(&o), from_recipe, "{f}");
    }
    let o = imagebom(
        d.path(),
        &[
            "generate",
            "--recipe",
            "recipe.yaml",
            "--all-variants",
            "--out",
            "each",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = imagebom(
        d.path(),
        &[
            "diff",
            "each/cpu/bom.cdx.json",
            "each/gpu/bom.cdx.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&o), from_recipe);
    // One --variant narrows both BOMs: the union's gpu images are the gpu BOM's.
    let o = imagebom(
        d.path(),
        &[
            "diff",
            "u/bom.cdx.json",
            "each/gpu/bom.cdx.json",
            "--variant",
            "gpu",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));

    // Bad uses are exit 2 with the reason.
    for (args, says) in [
        (
            &["diff", "--recipe", "recipe.yaml", "--variant", "cpu"][..],
            "give two --variant",
        ),
        (
            &[
                "diff",
                "--recipe",
                "recipe.yaml",
                "--variant",
                "cpu",
                "--variant",
                "arm",
            ],
            "no variant \"arm\" (variants: cpu, gpu)",
        ),
        (
            &[
                "diff",
                "u/bom.cdx.json",
                "--variant",
                "cpu",
                "--variant",
                "arm",
            ],
            "no variant \"arm\" in this BOM (variants: cpu, gpu)",
        ),
        (&["diff", "u/bom.cdx.json"], "give two --variant"),
        (&["diff"], "give two BOMs"),
        (
            &[
                "diff",
                "--variant",
                "a",
                "--variant",
                "b",
                "--variant",
                "c",
                "u/bom.cdx.json",
            ],
            "at most two --variant",
        ),
    ] {
        let o = imagebom(d.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            text(&o.stderr).contains(says),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn the_union_page_and_spdx_show_each_variant() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let o = imagebom(
        d.path(),
        &[
            "generate",
            "--recipe",
            "recipe.yaml",
            "--all-variants",
            "--union",
            "--out",
            "u",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(d.path().join("u/inventory.md")).unwrap();
    assert!(
        page.contains("| `cpu` | 1 | 0 |\n| `gpu` | 2 | 1 |"),
        "{page}"
    );
    let cuda_row = page
        .lines()
        .find(|l| l.starts_with(&format!("| `{CUDA}`")))
        .unwrap();
    assert!(cuda_row.ends_with("| `gpu` |"), "{cuda_row}");

    let spdx: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("u/bom.spdx.json")).unwrap()).unwrap();
    let cuda = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "nvcr.io/nvidia/cuda")
        .unwrap();
    let notes: Vec<&str> = cuda["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["comment"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "imagebom:variant=gpu",
            "imagebom:occurrence-variants=gpu|web|m/gpu.yaml|Pod/p|spec/containers/0/image|pod"
        ]
    );

    // The SPDX tools' own validator accepts the annotations.
    let Some(python) = imagebom_testkit::venv_python() else {
        return;
    };
    let tool = python.with_file_name("pyspdxtools");
    let o = std::process::Command::new(&tool)
        .arg("-i")
        .arg(d.path().join("u/bom.spdx.json"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}
