//! Command-line interface.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a policy or drift finding
  2  bad input or usage (recipe, manifests, lock file, command line)
  3  registry or network failure";

/// Container image bill of materials for Kubernetes distributions.
///
/// imagebom reads a recipe (Helm charts and manifests), finds every container image the
/// distribution deploys, pins each to a digest, and writes CycloneDX 1.6 and SPDX 2.3 SBOMs
/// and a markdown inventory.
#[derive(Debug, Parser)]
#[command(name = "imagebom", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). `IMAGEBOM_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the BOMs of a recipe (offline and deterministic with its lock file).
    #[command(after_help = "\
Examples:
  imagebom generate
  imagebom generate --recipe recipes/registry.yaml --out dist/ --format cyclonedx,spdx
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) imagebom generate   # reproducible timestamps

Outputs (in --out): bom.cdx.json (CycloneDX 1.6), bom.spdx.json (SPDX 2.3), inventory.md.
The lock file imagebom.lock beside the recipe supplies digests; `imagebom lock` writes it.

Exit codes:
  0  success
  1  a policy or drift finding
  2  bad input or usage (recipe, manifests, lock file, command line)
  3  registry or network failure")]
    Generate(GenerateArgs),
    /// List the image references in rendered manifest streams.
    #[command(after_help = "\
Examples:
  helm template my-chart | imagebom images -
  imagebom images --normalize rendered/*.yaml
  imagebom images --json --all manifests.yaml | jq '.images[].occurrences'

By default the images workloads and custom resources declare (pod specs, CR `image`
fields and triplets) are listed; --all adds images found in env values, args and
embedded YAML/JSON, and with --chart the images the chart declares in Chart.yaml.

Exit codes:
  0  success
  2  bad input (unreadable file, malformed YAML)")]
    Images(ImagesArgs),
    /// Render a Helm chart natively, as `helm template` does (no helm binary needed), or
    /// build a kustomization, as `kubectl kustomize` does (--kustomize DIR).
    #[command(after_help = "\
Examples:
  imagebom render ./charts/redis
  imagebom render --kustomize config/default
  imagebom images --kustomize overlays/production
  imagebom render ingress-nginx --repo https://kubernetes.github.io/ingress-nginx --version 4.15.1
  imagebom render oci://registry-1.docker.io/bitnamicharts/redis --version 23.1.1 -f values.yaml
  imagebom render ./charts/app --set image.tag=v2 --release web -n apps | imagebom images -

Prints the manifest stream with a `# Source:` header per template (NOTES.txt is rendered,
so a `fail` there fails the render, but not printed; crds/ only with --include-crds).
With --kustomize, prints the built stream as `kubectl kustomize DIR` does (keys sorted,
documents separated by `---`); the chart options are refused with it.

Exit codes:
  0  success
  2  bad input (chart, values, template error; kustomization error, naming the file)
  3  the chart could not be fetched (network or registry)")]
    Render(RenderCmdArgs),
    /// Re-resolve every image and report drift against the lock; --write updates lock and outputs.
    #[command(after_help = "\
Examples:
  imagebom refresh                       # report only; exit 1 when anything drifted
  imagebom refresh --write --out dist/   # also update imagebom.lock and the BOMs

The weekly scheduled workflow in docs/examples/weekly-refresh.yml runs this and opens a pull
request with the refreshed inventory.

Exit codes:
  0  no drift
  1  drift
  2  bad input
  3  a registry failed")]
    Refresh(RefreshArgs),
    /// Drift between two BOMs (CycloneDX or SPDX JSON; any tool writing pkg:oci or pkg:docker
    /// purls), two variants of a union BOM, or two variants of a recipe.
    #[command(after_help = "\
Examples:
  imagebom diff old/bom.cdx.json dist/bom.cdx.json
  imagebom diff --format json old/bom.spdx.json dist/bom.spdx.json
  imagebom diff --recipe recipes/registry.yaml --variant cpu --variant gpu
  imagebom diff dist/bom.cdx.json --variant cpu --variant gpu
  imagebom diff old/bom.cdx.json dist/bom.cdx.json --variant gpu

Reports images added and removed, digests changed under the same tag, platforms changed and
component (chart) versions changed. Markdown output fits a pull-request body.

Variants: with --recipe, the two variants are built as `generate --variant` builds them (with
the recipe's lock; --offline for cached and local charts only) and nothing is written; with one BOM (a `generate
--union` BOM), its images of the first variant are compared with those of the second; with
two BOMs, one --variant narrows both to it, two narrow OLD to the first and NEW to the second.

Exit codes:
  0  no drift
  1  drift
  2  bad input (unreadable or not a BOM)")]
    Diff(DiffArgs),
    /// Merge partial BOMs of one recipe (from separate CI jobs) into one, deterministically.
    #[command(after_help = "\
Examples:
  imagebom merge dist/bom.cdx.json job-a/bom.cdx.json job-b/bom.cdx.json
  imagebom merge dist/bom.spdx.json job-*/bom.spdx.json

Inputs are CycloneDX 1.6 or SPDX 2.3 JSON documents of the same recipe, all of one format.
Components (packages) are joined by bom-ref (SPDXID), properties and dependencies are unions,
and the output is byte-identical whatever the order of the inputs. The same image with
different digests in two inputs is an error naming both files. Written via temp file + rename.

Exit codes:
  0  success
  2  bad input (unreadable, not a BOM, mixed formats, conflicting digests)")]
    Merge(MergeArgs),
    /// Release gates: check the recipe's charts and images against the policy.
    #[command(after_help = "\
Examples:
  imagebom check
  imagebom check --policy policy.yaml --format sarif --out imagebom.sarif

Rules (severity error, warning or off, set in the policy file):
  chart-pinned        chart versions are exact semantic versions           (error)
  digest-pinned       images pinned by sha256 digest, or exempted          (error)
  no-tag-or-digest    images carry a tag or a digest                       (error)
  stale-exemption     every exemption still matches an image               (warning)
  latest-tag          no image is tagged latest                            (off)
  registry-allowlist  images come from allowedRegistries                   (off; error with a list)
  signature-verified  signatures verify, by a signer the recipe trusts     (error*)
  signature-covered   unverified images have an owner or admission policy  (warning*)
  * on once the recipe has a trust policy (verify, owner, admissionPolicy) or the policy
    file names the rule. They read the lock's verification record: an image never verified
    is reported as unknown (a warning at most), never passed.

Policy file:
  rules: {latest-tag: error, stale-exemption: error}
  allowedRegistries: [registry.k8s.io, nvcr.io]

Exit codes:
  0  no error findings
  1  error findings
  2  bad input (recipe, manifests, policy file)")]
    Check(CheckArgs),
    /// Air-gap mirror lists of a recipe's images (offline, from the lock).
    #[command(after_help = "\
Examples:
  imagebom mirror --format list
  imagebom mirror --format skopeo-sync --out sync.yaml
  skopeo sync --all --src yaml --dest docker sync.yaml mirror.example:5000/airgap
  imagebom mirror --format skopeo-copy --target mirror.example:5000/airgap | sh
  imagebom mirror --format mapping --target mirror.example:5000/airgap

Images are copied by digest when the lock (or the reference) knows it; images known only by
tag are listed by tag and named on stderr. A target receives each repository under its last
path component, as `skopeo sync` lays them out; two repositories that would collide are an
error.

containerd (--format containerd) cannot rename repositories: it expects the scoped layout
<target>/<registry>/<repository> that `skopeo sync --scoped` writes, and needs one hosts.toml
per source registry. With --out DIR each lands in DIR/<registry>/hosts.toml (point --out at
containerd's config_path, e.g. /etc/containerd/certs.d); without --out they are printed one
after another, each after a `# file: <registry>/hosts.toml` line:
  skopeo sync --scoped --all --src yaml --dest docker sync.yaml m.example:5000/air
  imagebom mirror --format containerd --target m.example:5000/air --out /etc/containerd/certs.d

Charts: every chart and subchart the recipe renders is in --format charts (source, version,
archive digest, mirror location oci://<target>/charts/<name>:<version>) and chart-copy (a
script: skopeo copy for OCI charts, curl/helm pull + helm push for chart repositories), and
in hauler, zarf and oc-mirror; the image-only formats say that charts need their own step.
  imagebom mirror --format chart-copy --target m.example:5000/air | sh
  imagebom mirror --format hauler --out hauler.yaml && hauler store sync --filename hauler.yaml
  imagebom mirror --format zarf --out zarf.yaml

--platform linux/amd64 (repeatable) keeps only the matching platform manifests of each index
in the lock: they are listed and copied by their own digest (the index digest is recorded in
comments and in --format plan); an index with no matching platform is an error unless
--allow-missing-platform leaves it out.

Exit codes:
  0  success
  1  an image has no platform matching --platform
  2  bad input (recipe, lock, missing --target)")]
    Mirror(MirrorArgs),
    /// Admission policies that enforce the BOM at deploy time (Kyverno, policy-controller).
    #[command(after_help = "\
Examples:
  imagebom policy --format kyverno --out verify-images.yaml
  imagebom policy --format policy-controller | kubectl apply -f -

Every image whose component (or imagePolicies entry) has `verify` identities or keys is
enforced: its repository must be signed by one of them (Kyverno: verifyImages with
verifyDigest, mutateDigest and required; policy-controller: keyless / key authorities), and
with `verify.provenance` carry an SLSA provenance attestation from the same signers. Images
without signers are listed with their reason in the header comment and the
imagebom.dev/not-enforced annotation.

Exit codes:
  0  success
  2  bad input (recipe, lock), or no image has a signer to enforce")]
    Policy(AdmissionArgs),
    /// Write the lock file (imagebom.lock beside the recipe), optionally resolving against registries.
    #[command(after_help = "\
Examples:
  imagebom lock --recipe recipes/registry.yaml
  imagebom lock --resolve
  imagebom lock --resolve --refresh --insecure-registry localhost:5000

Entries already in the lock are kept when the image is still used; digest-pinned
references are recorded as `pinned`; stale entries are dropped. With --resolve every
image not yet resolved against its registry is looked up (one manifest GET each, digest
verified over the body); credentials come from the Docker config or REGISTRY_AUTH_FILE.

With --resolve --provenance every image with a digest is also checked for a cosign
signature (tag sha256-<hex>.sig), attestations (.att), an attached SBOM (.sbom) and OCI 1.1
referrers (referrers API, else the sha256-<hex> tag schema index): one request each, with the
same credentials, mirrors, bounds, retries and cache. The result is recorded in the lock
(`provenance`, null = could not be checked) and shown in the BOMs and the inventory page.

Exit codes:
  0  success
  2  bad input
  3  a registry failed or an image could not be resolved (lock left unchanged)")]
    Lock(LockArgs),
    /// Generate each image's own SBOM with Syft or Trivy (by digest) and record it in the lock.
    #[command(after_help = "\
Examples:
  imagebom sboms --generator syft --out dist/
  imagebom sboms --generator trivy --format cyclonedx,spdx --platform --jobs 4
  imagebom sboms --generator syft --insecure-registry localhost:5000

Each image with a digest is scanned by digest (Syft: `syft scan registry:REPO@DIGEST`,
Trivy: `trivy image REPO@DIGEST`); with --platform each platform of an index is scanned by
its own manifest digest. Results land in --out as
sboms/<registry>/<repository>@sha256-<hex>.<cdx|spdx>.json and are recorded in the lock
(path, digest, size, format, tool and version, source: generated), so a later offline
`generate --out` the same directory links them from the image components, byte-identically.

Exit codes:
  0  success (with --keep-going: also when some images failed, each named in a warning)
  2  bad input (recipe, lock, the scanner is not installed)
  3  the scanner failed on an image (the error names it)")]
    Sboms(SbomsArgs),
    /// Scanner inputs: every image by digest, as a CI matrix, plain lines or a Dependency-Track layout.
    #[command(after_help = "\
Examples:
  imagebom export --format refs | xargs -n1 trivy image
  imagebom export --format matrix --per-platform          # GitHub Actions: fromJSON(...)
  imagebom export --format dependency-track --out dt/ && DT_URL=… DT_API_KEY=… sh dt/upload.sh
  imagebom export --format refs --changed old/bom.cdx.json dist/bom.cdx.json

Only images with a digest are exported (offline, from the lock). --changed OLD NEW keeps the
images `imagebom diff OLD NEW` reports as added or changed (digest or platforms).

Exit codes:
  0  success
  2  bad input (recipe, lock, BOMs, a missing SBOM)")]
    Export(ExportArgs),
}

/// CycloneDX versions `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CdxSpec {
    /// CycloneDX 1.6.
    #[value(name = "1.6")]
    V16,
    /// CycloneDX 1.5.
    #[value(name = "1.5")]
    V15,
}

/// SBOM generators of `sboms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generator {
    /// Anchore Syft (`syft scan registry:…`).
    Syft,
    /// Aqua Trivy (`trivy image …`).
    Trivy,
}

/// SBOM document formats of `sboms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX JSON (`….cdx.json`).
    Cyclonedx,
    /// SPDX JSON (`….spdx.json`).
    Spdx,
}

#[derive(Debug, Args)]
pub struct SbomsArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Output directory: the SBOMs go to its sboms/ (use the same --out for `generate`).
    #[arg(long, default_value = "dist/")]
    pub out: PathBuf,
    /// The scanner to run.
    #[arg(long, value_enum)]
    pub generator: Generator,
    /// The scanner's executable [default: `syft` or `trivy` on PATH].
    #[arg(long, value_name = "PATH")]
    pub tool: Option<PathBuf>,
    /// SBOM formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cyclonedx")]
    pub format: Vec<SbomFormatArg>,
    /// Scanner runs at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Scan each platform of an index by its own digest (else the index, as the scanner picks).
    #[arg(long)]
    pub platform: bool,
    /// A registry (`host[:port]`) reached over plain HTTP (Syft: SYFT_REGISTRY_INSECURE_USE_HTTP,
    /// Trivy: --insecure). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `{"include": [{"image": "repo@sha256:…", "platform": …}]}` (GitHub Actions, GitLab).
    Matrix,
    /// One `registry/repository@sha256:…` per line.
    Refs,
    /// A Dependency-Track layout in --out: parent and child projects, SBOMs, upload.sh.
    DependencyTrack,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "refs")]
    pub format: ExportFormat,
    /// One entry per platform of an index, by the platform's digest.
    #[arg(long)]
    pub per_platform: bool,
    /// Only images added or changed from the BOM OLD to the BOM NEW (as `imagebom diff`).
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    pub changed: Vec<PathBuf>,
    /// Write to this file instead of stdout; for dependency-track, the layout directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where `imagebom sboms` stored the SBOMs (its --out), for dependency-track.
    #[arg(long, default_value = "dist/")]
    pub sboms: PathBuf,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Output formats of `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Format {
    /// CycloneDX 1.6 JSON (`bom.cdx.json`).
    Cyclonedx,
    /// SPDX 2.3 JSON (`bom.spdx.json`).
    Spdx,
    /// Markdown inventory page (`inventory.md`).
    Markdown,
}

impl Format {
    /// File name of the format's output.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Cyclonedx => "bom.cdx.json",
            Format::Spdx => "bom.spdx.json",
            Format::Markdown => "inventory.md",
        }
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, default_value = "dist/")]
    pub out: PathBuf,
    /// Output formats, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "cyclonedx,spdx,markdown"
    )]
    pub format: Vec<Format>,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// A hand-written page whose region between `<!-- imagebom:begin … -->` and
    /// `<!-- imagebom:end -->` gets the inventory tables; the prose around it stays.
    #[arg(long, value_name = "FILE")]
    pub page: Option<PathBuf>,
    /// Write nothing; exit 1 (with a diff) when the committed --page or the lock is stale.
    #[arg(long)]
    pub check: bool,
    /// Build the BOM of variant NAME (repeatable; `all` for every one): one variant writes to
    /// --out, several to --out/<NAME>/ each, or one BOM with --union.
    #[arg(long, value_name = "NAME")]
    pub variant: Vec<String>,
    /// Every variant of the recipe (as `--variant all`).
    #[arg(long)]
    pub all_variants: bool,
    /// One BOM of the selected variants together, each occurrence naming its variants.
    #[arg(long)]
    pub union: bool,
    /// CycloneDX: nest each image's packages (from the CycloneDX SBOMs `imagebom sboms` stored
    /// in --out, verified by digest) under its container component.
    #[arg(long)]
    pub nest_packages: bool,
    /// CycloneDX specification version of bom.cdx.json (1.5 for older consumers).
    #[arg(long, value_enum, default_value = "1.6")]
    pub spec_version: CdxSpec,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Markdown (a pull-request body).
    Markdown,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Update the lock and write the outputs.
    #[arg(long)]
    pub write: bool,
    /// Output directory, with --write.
    #[arg(long, default_value = "dist/")]
    pub out: PathBuf,
    /// Output formats, with --write.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "cyclonedx,spdx,markdown"
    )]
    pub format: Vec<Format>,
    /// Drift report format (stdout).
    #[arg(long, value_enum, default_value = "markdown")]
    pub report: DiffFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier BOM (or, alone with two --variant, a union BOM).
    pub old: Option<PathBuf>,
    /// The later BOM.
    pub new: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DiffFormat,
    /// Compare variants of this recipe instead of BOMs (two --variant).
    #[arg(long, conflicts_with_all = ["old", "new"])]
    pub recipe: Option<PathBuf>,
    /// Lock file, with --recipe (default: imagebom.lock beside the recipe).
    #[arg(long, requires = "recipe")]
    pub lock: Option<PathBuf>,
    /// A variant to compare (repeatable, at most twice): the old side first, then the new.
    #[arg(long, value_name = "NAME")]
    pub variant: Vec<String>,
    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The merged BOM to write.
    pub out: PathBuf,
    /// The partial BOMs (CycloneDX or SPDX JSON, one format).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `file:line: severity[rule]: message` per finding.
    Text,
    /// SARIF 2.1.0.
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Policy file (YAML): rule severities and allowed registries.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Formats of `mirror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MirrorFormat {
    /// `registry/repository@digest` per line.
    List,
    /// Distinct source registries.
    Registries,
    /// `skopeo sync --src yaml` source file.
    SkopeoSync,
    /// `skopeo copy` commands (needs --target).
    SkopeoCopy,
    /// `source=mirror` repository mapping (needs --target).
    Mapping,
    /// oc-mirror ImageSetConfiguration (additionalImages).
    OcMirror,
    /// OpenShift ImageDigestMirrorSet (needs --target).
    Idms,
    /// OpenShift ImageTagMirrorSet, for tag-only images (needs --target).
    Itms,
    /// containers-registries.conf mirror entries (needs --target).
    RegistriesConf,
    /// containerd hosts.toml per source registry (needs --target; --out is a directory).
    Containerd,
    /// Every chart and subchart: source, version, digest, mirror location (YAML).
    Charts,
    /// Shell script copying every remote chart into oci://TARGET/charts (needs --target).
    ChartCopy,
    /// Hauler content manifests (kind Images and Charts).
    Hauler,
    /// Zarf package definition (zarf.yaml).
    Zarf,
    /// The whole mirror plan as JSON: images, chosen platforms, charts.
    Plan,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "list")]
    pub format: MirrorFormat,
    /// Mirror registry (`registry[:port][/prefix]`), for skopeo-copy, mapping and the
    /// mirror locations of images and charts.
    #[arg(long)]
    pub target: Option<String>,
    /// Write to this file (atomically) instead of stdout; for containerd, a directory that
    /// receives <registry>/hosts.toml.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A registry reached over plain HTTP: `tls-verify: false` for a skopeo-sync source,
    /// `http://` for a containerd server or mirror host. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Keep only this platform of each multi-platform image (`linux/amd64`, `linux/arm64/v8`);
    /// repeatable. Images with no matching platform are an error (exit 1).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", value_parser = parse_platform)]
    pub platform: Vec<imagebom_emit::mirror::platform::PlatformSpec>,
    /// With --platform: leave out images that have no matching platform instead of failing.
    #[arg(long, requires = "platform")]
    pub allow_missing_platform: bool,
    #[command(flatten)]
    pub render: RenderArgs,
}

fn parse_platform(s: &str) -> Result<imagebom_emit::mirror::platform::PlatformSpec, String> {
    s.parse()
}

/// Formats of `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdmissionFormat {
    /// Kyverno `kyverno.io/v1` ClusterPolicy with verifyImages.
    Kyverno,
    /// Sigstore policy-controller `policy.sigstore.dev/v1beta1` ClusterImagePolicy.
    PolicyController,
}

#[derive(Debug, Args)]
pub struct AdmissionArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: AdmissionFormat,
    /// Policy name (default: imagebom-<recipe name>).
    #[arg(long)]
    pub name: Option<String>,
    /// Kyverno: audit violations instead of rejecting the pod.
    #[arg(long)]
    pub audit: bool,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Rendered manifest streams: files, or `-` for stdin.
    #[arg(required_unless_present_any = ["chart", "kustomize"])]
    pub paths: Vec<PathBuf>,
    /// Render this chart natively (as `imagebom render` does) and list its images instead.
    #[arg(long, value_name = "CHART", conflicts_with = "paths")]
    pub chart: Option<String>,
    /// Build this kustomization natively (as `imagebom render --kustomize` does) and list its
    /// images instead, each occurrence naming the kustomization and the resource file.
    #[arg(long, value_name = "DIR", conflicts_with_all = IMAGES_CHART_ONLY)]
    pub kustomize: Option<PathBuf>,
    #[command(flatten)]
    pub chart_args: ChartArgs,
    /// Print fully qualified references (`docker.io/library/busybox:latest`).
    #[arg(long)]
    pub normalize: bool,
    /// Print JSON with the evidence of every occurrence.
    #[arg(long)]
    pub json: bool,
    /// Include images found in env values, args and embedded YAML/JSON, and (with --chart)
    /// declared in Chart.yaml annotations.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The recipe.
    #[arg(long, default_value = "recipes/registry.yaml")]
    pub recipe: PathBuf,
    /// Lock file (default: imagebom.lock beside the recipe).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// Registry resolution options, shared by `generate`, `lock` and `refresh`.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Resolve images against their registries.
    #[arg(long)]
    pub resolve: bool,
    /// With --resolve: re-resolve images already resolved in the lock, bypassing the cache.
    #[arg(long, requires = "resolve")]
    pub refresh: bool,
    /// With --resolve: a registry (`host[:port]`) reached over plain HTTP. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// With --resolve: most registry requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// With --resolve: most requests in flight to one registry.
    #[arg(long, default_value_t = 16)]
    pub per_registry: usize,
    /// With --resolve: query MIRROR for REGISTRY (`docker.io=mirror.example:5000`); the BOM keeps
    /// the canonical name. A MIRROR with a path (`quay.io=m.example:5000/quay.io`, the layout
    /// `skopeo sync --scoped` writes) holds the repositories under it. Repeatable.
    #[arg(long, value_name = "REGISTRY=MIRROR", value_parser = parse_mirror)]
    pub mirror: Vec<(String, String)>,
    /// With --resolve: cache directory [default: $IMAGEBOM_CACHE, $XDG_CACHE_HOME/imagebom or ~/.cache/imagebom].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// With --resolve: seconds a cached tag answer stays fresh (0: always ask). Digest-only
    /// references never expire.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub cache_ttl: u64,
    /// With --resolve: write the lock even when some images could not be resolved.
    #[arg(long)]
    pub allow_unresolved: bool,
    /// With --resolve: also discover each image's cosign signature, attestations, attached
    /// SBOM and OCI 1.1 referrers in its registry (4-5 requests per image) and record them.
    #[arg(long, requires = "resolve")]
    pub provenance: bool,
    /// With --provenance: the Sigstore trusted root (`trusted_root.json`: Fulcio, Rekor, CT
    /// and TSA keys) signatures are verified against [default: Sigstore public-good, shipped
    /// with imagebom]. For a private Sigstore, or after the root rotates.
    #[arg(long, value_name = "FILE", requires = "provenance")]
    pub trusted_root: Option<PathBuf>,
}

/// Chart rendering options, shared by every command that renders a recipe.
#[derive(Debug, Clone, Default, Args)]
pub struct RenderArgs {
    /// Use only cached and local charts; never fetch one from a repository or registry.
    #[arg(long)]
    pub offline: bool,
    /// Render every component even when one fails and report every failure (generate still
    /// writes the outputs of the others, then exits non-zero).
    #[arg(long)]
    pub keep_going: bool,
    /// Chart cache directory [default: $IMAGEBOM_CACHE, $XDG_CACHE_HOME/imagebom or ~/.cache/imagebom].
    #[arg(long, value_name = "DIR")]
    pub chart_cache: Option<PathBuf>,
    /// Fetch the charts under SOURCE (`https://repo[/chart]`, `oci://prefix[/chart]`) from
    /// TARGET instead: a directory of chart folders or `<chart>-<version>.tgz` files, a chart
    /// directory or archive, an `https://` repository or an `oci://` prefix. The BOM keeps
    /// the canonical repository. Repeatable; wins over the recipe's `settings.chartMirrors`.
    #[arg(long = "chart-mirror", value_name = "SOURCE=TARGET", value_parser = parse_chart_mirror)]
    pub chart_mirror: Vec<(String, String)>,
    /// Retries after a transient failure (429, 5xx, timeout, reset, truncated body), for
    /// registries and chart downloads.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// Deadline of each registry or chart request in seconds: connect, headers and the whole
    /// body.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: u64,
}

fn parse_chart_mirror(s: &str) -> Result<(String, String), String> {
    // The source is a URL (`https://…`, `oci://…`): split at the first `=` after its scheme.
    let start = s.find("://").map_or(0, |i| i + 3);
    match s[start..].find('=').map(|i| start + i) {
        Some(i) if i > start && i + 1 < s.len() => Ok((s[..i].to_string(), s[i + 1..].to_string())),
        _ => Err(format!(
            "expected SOURCE=TARGET (e.g. https://charts.example/stable=./mirror), got {s:?}"
        )),
    }
}

/// Where a chart comes from and how to render it (`imagebom render`, `imagebom images --chart`).
#[derive(Debug, Clone, Args)]
pub struct ChartArgs {
    /// Values file (YAML); later files win. Repeatable.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value (`a.b=c`, `list[0]=x`, `a={x,y}`), as `helm --set`; applied after --values. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Release name (`.Release.Name`).
    #[arg(long, default_value = "release-name")]
    pub release: String,
    /// Namespace (`.Release.Namespace`).
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Chart repository URL (`https://…`) when CHART is a chart name.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Chart version (exact or a constraint) for repository and `oci://` charts.
    #[arg(long, default_value = "")]
    pub version: String,
    /// Kubernetes version for `.Capabilities.KubeVersion` [default: Helm's, v1.36.0].
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra API version for `.Capabilities.APIVersions`. Repeatable.
    #[arg(short = 'a', long = "api-versions", value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
    /// Also render the charts' crds/ directories.
    #[arg(long)]
    pub include_crds: bool,
    /// An OCI registry (`host[:port]`) reached over plain HTTP. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    #[command(flatten)]
    pub render: RenderArgs,
}

/// The chart options `--kustomize` refuses (they would be ignored).
const CHART_ONLY: [&str; 8] = [
    "chart",
    "values",
    "set",
    "repo",
    "version",
    "include_crds",
    "kube_version",
    "api_versions",
];

/// [`CHART_ONLY`] and the manifest paths, for `images --kustomize`.
const IMAGES_CHART_ONLY: [&str; 9] = [
    "paths",
    "chart",
    "values",
    "set",
    "repo",
    "version",
    "include_crds",
    "kube_version",
    "api_versions",
];

#[derive(Debug, Args)]
pub struct RenderCmdArgs {
    /// The chart: a directory, a `.tgz`, `oci://host/path/chart`, or a chart name with --repo.
    #[arg(required_unless_present = "kustomize")]
    pub chart: Option<String>,
    /// Build this kustomization directory natively instead and print the stream as
    /// `kubectl kustomize DIR` does (remote bases through --chart-mirror URL=DIR).
    #[arg(long, value_name = "DIR", conflicts_with_all = CHART_ONLY)]
    pub kustomize: Option<PathBuf>,
    #[command(flatten)]
    pub chart_args: ChartArgs,
}

fn parse_mirror(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.starts_with('/') => {
            Ok((a.to_string(), b.trim_end_matches('/').to_string()))
        }
        _ => Err(format!(
            "expected REGISTRY=MIRROR (host[:port][/prefix]), got {s:?}"
        )),
    }
}
