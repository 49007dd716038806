//! Release chores: `cargo xtask repro` (two release builds must give the same binary) and
//! `cargo xtask sbom` (imagebom's own CycloneDX 1.6 SBOM, `dist/imagebom.cdx.json`).
//!
//! # Reproducible build
//!
//! The release binary is built from a copy of the source (`--head`: the committed tree, as a
//! release is; by default the checkout's files as they are), `--locked`, with
//! `SOURCE_DATE_EPOCH` set to the commit time, `CARGO_INCREMENTAL=0`, the release profile's
//! `codegen-units = 1`, and every build path remapped (`--remap-path-prefix` for Rust,
//! `-ffile-prefix-map` for the C code of `aws-lc-sys` and `ring`): source → `/src`, target
//! directory → `/target`, `$CARGO_HOME` → `/cargo`. The binary is static: the musl target when
//! it is installed, else the GNU target with `-C target-feature=+crt-static`. [`repro`] builds it
//! twice, from two copies of the source at different paths into two target directories, and
//! fails unless both sha256 sums agree. The `Dockerfile` uses the same flags
//! ([`rustflags`]).

use anyhow::{bail, Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const GNU: &str = "x86_64-unknown-linux-gnu";
const MUSL: &str = "x86_64-unknown-linux-musl";

/// The target of the release binary: musl when installed, else GNU with a static C runtime.
pub fn release_target() -> &'static str {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == MUSL)
        })
        .unwrap_or(false);
    if installed {
        MUSL
    } else {
        GNU
    }
}

/// `RUSTFLAGS` of a release build from `src` into `target` (see the module documentation).
pub fn rustflags(src: &Path, target_dir: &Path, cargo_home: &Path) -> String {
    format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/src --remap-path-prefix={}=/target --remap-path-prefix={}=/cargo",
        src.display(),
        target_dir.display(),
        cargo_home.display()
    )
}

/// `CFLAGS` of the same build: the C code of `aws-lc-sys` and `ring` embeds file paths too.
fn cflags(src: &Path, target_dir: &Path, cargo_home: &Path) -> String {
    format!(
        "-ffile-prefix-map={}=/src -ffile-prefix-map={}=/target -ffile-prefix-map={}=/cargo",
        src.display(),
        target_dir.display(),
        cargo_home.display()
    )
}

fn cargo_home() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    home.canonicalize().unwrap_or(home)
}

/// The commit time of `HEAD`: the release's `SOURCE_DATE_EPOCH` unless one is set.
fn source_date_epoch(root: &Path) -> Result<String> {
    if let Ok(e) = std::env::var("SOURCE_DATE_EPOCH") {
        return Ok(e);
    }
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .output()
        .context("git log")?;
    if !out.status.success() {
        bail!("git log -1 failed: not a git checkout?");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Copies the source into `dst` (emptied first): the committed tree (`git archive HEAD`) with
/// `head`, else the checkout's files as they are (tracked and untracked, minus ignored ones).
fn snapshot(root: &Path, dst: &Path, head: bool) -> Result<()> {
    if dst.exists() {
        std::fs::remove_dir_all(dst).with_context(|| format!("{}", dst.display()))?;
    }
    std::fs::create_dir_all(dst)?;
    let copy = if head {
        format!(
            "git archive --format=tar HEAD | tar -x -C '{}'",
            dst.display()
        )
    } else {
        format!(
            "git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -x -C '{}'",
            dst.display()
        )
    };
    let status = Command::new("sh")
        .arg("-c")
        .arg(copy)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("copying the source into {} failed", dst.display());
    }
    Ok(())
}

/// Copies the tree `from` to `to` (emptied first), byte for byte.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to).with_context(|| format!("{}", to.display()))?;
    }
    std::fs::create_dir_all(to)?;
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()?;
    if !status.success() {
        bail!("copying {} to {} failed", from.display(), to.display());
    }
    Ok(())
}

/// One release build of the source in `src` into `target_dir`; returns the binary's path.
fn build(src: &Path, target_dir: &Path, epoch: &str) -> Result<PathBuf> {
    let target = release_target();
    let home = cargo_home();
    println!(
        "building {} in {} (target dir {})",
        target,
        src.display(),
        target_dir.display()
    );
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "imagebom",
            "--target",
            target,
        ])
        .current_dir(src)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("SOURCE_DATE_EPOCH", epoch)
        .env("CARGO_INCREMENTAL", "0")
        .env("RUSTFLAGS", rustflags(src, target_dir, &home))
        .env("CFLAGS", cflags(src, target_dir, &home))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .status()?;
    if !status.success() {
        bail!("release build in {} failed", src.display());
    }
    Ok(target_dir.join(target).join("release").join("imagebom"))
}

/// `cargo xtask repro [--head] [--keep] [--reuse-first]`: two release builds from two paths
/// must give the same binary. `--head` builds the committed tree (a release), else the checkout
/// as it is; `--reuse-first` keeps a first build left by `--keep` and builds only the second.
pub fn repro(root: &Path, args: &[String]) -> Result<()> {
    let head = args.iter().any(|x| x == "--head");
    // Canonical paths: the remapped prefixes must be the paths rustc and cc actually see.
    let root = &root.canonicalize()?;
    let epoch = source_date_epoch(root)?;
    let base = root.join("target").join("repro");
    // Different paths, and of different lengths, so that any leaked path changes the binary.
    let a = (base.join("a").join("src"), base.join("a").join("target"));
    let b = (
        base.join("second-copy").join("nested").join("imagebom"),
        base.join("second-copy").join("out"),
    );
    // One snapshot of the source, copied: the checkout may change while the builds run.
    let reuse = args.iter().any(|x| x == "--reuse-first");
    let start = std::time::Instant::now();
    let bin_a = if reuse && a.0.exists() {
        println!("reusing the first build in {}", a.1.display());
        let target = release_target();
        a.1.join(target).join("release").join("imagebom")
    } else {
        snapshot(root, &a.0, head)?;
        build(&a.0, &a.1, &epoch)?
    };
    let first = start.elapsed();
    copy_tree(&a.0, &b.0)?;
    let bin_b = build(&b.0, &b.1, &epoch)?;
    let (ha, hb) = (sha256_file(&bin_a)?, sha256_file(&bin_b)?);
    println!("SOURCE_DATE_EPOCH={epoch}");
    println!("{ha}  {}", bin_a.display());
    println!("{hb}  {}", bin_b.display());
    println!(
        "build times: {:.0} s and {:.0} s",
        first.as_secs_f64(),
        (start.elapsed() - first).as_secs_f64()
    );
    if !args.iter().any(|x| x == "--keep") {
        for dir in [base.join("a"), base.join("second-copy")] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if ha != hb {
        bail!("the two release builds differ: not reproducible");
    }
    println!("reproducible: both builds give sha256 {ha}");
    Ok(())
}

// ---------------------------------------------------------------- SBOM

/// `name@version` → sha256 checksum, from `Cargo.lock`.
pub fn lock_checksums(lock: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for block in lock.split("[[package]]") {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                let (key, v) = l.split_once(" = ")?;
                (key.trim() == k).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if let (Some(n), Some(v), Some(c)) = (field("name"), field("version"), field("checksum")) {
            out.insert(format!("{n}@{v}"), c);
        }
    }
    out
}

/// The packages linked into `root_pkg`'s binary: normal dependencies only (no dev or build
/// dependencies), and not proc-macro crates (they run in the compiler, not in the binary).
pub fn linked_packages<'a>(metadata: &'a Value, root_pkg: &str) -> Result<Vec<&'a Value>> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let is_proc_macro = |p: &Value| {
        p["targets"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
            })
        })
    };
    let start = packages
        .iter()
        .find(|(_, p)| p["name"] == root_pkg && p["source"].is_null())
        .map(|(id, _)| *id)
        .with_context(|| format!("cargo metadata: no workspace package {root_pkg}"))?;
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for d in node["deps"].as_array().into_iter().flatten() {
            let normal = d["dep_kinds"]
                .as_array()
                .is_some_and(|ks| ks.iter().any(|k| k["kind"].is_null()));
            let Some(dep) = d["pkg"].as_str() else {
                continue;
            };
            if normal && packages.get(dep).is_some_and(|p| !is_proc_macro(p)) {
                todo.push(dep);
            }
        }
    }
    Ok(seen
        .iter()
        .filter_map(|id| packages.get(id).copied())
        .collect())
}

/// imagebom's own CycloneDX 1.6 SBOM from `cargo metadata` output and `Cargo.lock`.
pub fn sbom_document(metadata: &Value, lock: &str, timestamp: &str) -> Result<String> {
    use serde_cyclonedx::cyclonedx::v_1_6 as cdx;
    let checksums = lock_checksums(lock);
    let linked = linked_packages(metadata, "imagebom")?;
    let purl = |p: &Value| {
        format!(
            "pkg:cargo/{}@{}",
            p["name"].as_str().unwrap_or_default(),
            p["version"].as_str().unwrap_or_default()
        )
    };
    let component = |p: &Value, type_: &str| -> Result<cdx::Component> {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let version = p["version"].as_str().unwrap_or_default().to_string();
        let mut c = cdx::ComponentBuilder::default()
            .type_(type_)
            .name(name.clone())
            .version(version.clone())
            .bom_ref(purl(p))
            .purl(purl(p))
            .build()?;
        if let Some(l) = p["license"].as_str() {
            // Cargo still accepts the legacy `MIT/Apache-2.0` for `MIT OR Apache-2.0`.
            let expression = l.split('/').map(str::trim).collect::<Vec<_>>().join(" OR ");
            c.licenses = Some(cdx::LicenseChoice::Variant1(vec![
                cdx::LicenseChoiceUrlVariant1ItemLicense {
                    expression,
                    bom_ref: None,
                    acknowledgement: None,
                },
            ]));
        }
        if let Some(sum) = checksums.get(&format!("{name}@{version}")) {
            c.hashes = Some(vec![cdx::Hash {
                alg: cdx::HashAlg::Sha256,
                content: sum.clone(),
            }]);
        }
        c.description = p["description"].as_str().map(str::to_string);
        Ok(c)
    };
    let root = linked
        .iter()
        .find(|p| p["name"] == "imagebom" && p["source"].is_null())
        .context("no imagebom package")?;
    let ids: BTreeSet<&str> = linked.iter().filter_map(|p| p["id"].as_str()).collect();
    let mut components = Vec::new();
    for p in &linked {
        if p["id"] != root["id"] {
            components.push(component(p, "library")?);
        }
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .context("no resolve")?;
    let by_id: BTreeMap<&str, &Value> = linked
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, *p)))
        .collect();
    let mut deps = Vec::new();
    for n in nodes {
        let Some(id) = n["id"].as_str().filter(|id| ids.contains(id)) else {
            continue;
        };
        let mut on: Vec<String> = n["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["pkg"].as_str())
            .filter(|d| ids.contains(d))
            .filter_map(|d| by_id.get(d).map(|p| purl(p)))
            .collect();
        on.sort();
        on.dedup();
        deps.push(cdx::Dependency {
            ref_: purl(by_id[id]),
            depends_on: Some(on),
            provides: None,
        });
    }
    deps.sort_by(|a, b| a.ref_.cmp(&b.ref_));
    let subject = component(root, "application")?;
    let mut tool = cdx::ComponentBuilder::default()
        .type_("application")
        .name("imagebom xtask sbom")
        .build()?;
    tool.version = root["version"].as_str().map(str::to_string);
    let metadata_doc = cdx::Metadata {
        timestamp: Some(timestamp.to_string()),
        tools: Some(cdx::MetadataTools::Variant0(cdx::MetadataToolsVariant0 {
            components: Some(vec![tool]),
            services: None,
        })),
        component: Some(subject),
        ..Default::default()
    };
    let mut doc = cdx::CycloneDxBuilder::default()
        .schema("http://cyclonedx.org/schema/bom-1.6.schema.json")
        .bom_format("CycloneDX")
        .spec_version("1.6")
        .version(1)
        .metadata(metadata_doc)
        .components(components)
        .dependencies(deps)
        .build()?;
    let content = serde_json::to_vec(&doc)?;
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"https://imagebom.dev/");
    doc.serial_number = Some(format!("urn:uuid:{}", uuid::Uuid::new_v5(&ns, &content)));
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

/// `cargo metadata` of the workspace for the release target's platform.
pub fn cargo_metadata(root: &Path) -> Result<Value> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            release_target(),
        ])
        .current_dir(root)
        .output()
        .context("cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `cargo xtask sbom [--out FILE]`: writes imagebom's own SBOM (default
/// `dist/imagebom.cdx.json`), via temp file + rename.
pub fn sbom(root: &Path, args: &[String]) -> Result<()> {
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--out needs a file")?),
        None => root.join("dist").join("imagebom.cdx.json"),
    };
    let metadata = cargo_metadata(root)?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("Cargo.lock")?;
    let epoch: i64 = source_date_epoch(root)?
        .parse()
        .context("SOURCE_DATE_EPOCH is not a number")?;
    let text = sbom_document(
        &metadata,
        &lock,
        &imagebom_emit::timestamp_from_epoch(epoch),
    )?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    imagebom_model::fsutil::write_atomic(&out, text.as_bytes())
        .with_context(|| format!("{}", out.display()))?;
    let n = serde_json::from_str::<Value>(&text)?["components"]
        .as_array()
        .map_or(0, Vec::len);
    println!("wrote {} ({n} crates)", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn sbom_of_the_real_tree_is_valid_and_complete() {
        let metadata = cargo_metadata(&root()).unwrap();
        let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
        let text = sbom_document(&metadata, &lock, "2025-11-24T16:00:00Z").unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let v = imagebom_emit::validate::Validator::new(
            &root().join("schemas"),
            imagebom_emit::validate::Schema::CycloneDx16,
        )
        .unwrap();
        assert_eq!(v.errors(&doc), Vec::<String>::new());
        let comps = doc["components"].as_array().unwrap();
        let purls: Vec<&str> = comps.iter().filter_map(|c| c["purl"].as_str()).collect();
        // Linked crates are in; proc macros, build and dev dependencies are not.
        for want in [
            "pkg:cargo/reqwest@",
            "pkg:cargo/serde_json@",
            "pkg:cargo/imagebom-model@",
        ] {
            assert!(purls.iter().any(|p| p.starts_with(want)), "{want} missing");
        }
        for unwanted in [
            "pkg:cargo/serde_derive@",
            "pkg:cargo/thiserror-impl@",
            "pkg:cargo/assert_cmd@",
            "pkg:cargo/cc@",
        ] {
            assert!(
                !purls.iter().any(|p| p.starts_with(unwanted)),
                "{unwanted} listed"
            );
        }
        // Every crates.io crate has its Cargo.lock checksum and a license.
        let sums = lock_checksums(&lock);
        for c in comps {
            let key = format!(
                "{}@{}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            );
            if let Some(sum) = sums.get(&key) {
                assert_eq!(
                    c["hashes"][0]["content"].as_str(),
                    Some(sum.as_str()),
                    "{key}"
                );
            }
            assert!(
                c["licenses"][0]["expression"].is_string(),
                "{key} has no license"
            );
        }
        assert_eq!(doc["metadata"]["component"]["name"], "imagebom");
        // Deterministic.
        assert_eq!(
            text,
            sbom_document(&metadata, &lock, "2025-11-24T16:00:00Z").unwrap()
        );
    }

    #[test]
    fn reads_lock_checksums() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\n";
        let m = lock_checksums(lock);
        assert_eq!(m.get("a@1.0.0").map(String::as_str), Some("abc"));
        assert!(!m.contains_key("local@0.1.0"));
    }
}
