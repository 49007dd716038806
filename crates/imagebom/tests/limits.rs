//! Every limit on untrusted input, end to end through `imagebom generate --out DIR`: the run
//! fails with the documented exit code, the error names the file (or reference) and the
//! limit, and DIR receives no output at all (nor the lock beside the recipe).

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

const HEAD: &str =
    "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n";

/// A scratch recipe directory: `recipe.yaml` with one component reading `manifests`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.path(name), text).unwrap();
        self
    }

    /// A recipe whose one component reads `manifest`.
    fn recipe_with_manifest(&self, manifest: &str) -> &Self {
        self.write(
            "recipe.yaml",
            format!("{HEAD}components:\n  - name: c\n    manifests: [{manifest}]\n"),
        )
    }

    fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// Runs `imagebom generate --recipe recipe.yaml --out out` with `extra` arguments.
    fn generate(&self, extra: &[&str]) -> (i32, String) {
        let out = Command::cargo_bin("imagebom")
            .unwrap()
            .current_dir(self.dir.path())
            .env("SOURCE_DATE_EPOCH", "1764000000")
            .env("IMAGEBOM_CACHE", self.path("cache"))
            .args(["generate", "--recipe", "recipe.yaml", "--out", "out"])
            .args(extra)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `imagebom ARGS` in the case directory under `prlimit` (2 GiB of address space,
    /// 60 s of CPU) and a 120 s timeout, so a regression fails instead of eating the machine.
    /// Returns the exit code and stderr.
    fn run_limited(&self, args: &[&str]) -> (i32, String) {
        let mut cmd = std::process::Command::new("prlimit");
        cmd.args(["--as=2147483648", "--cpu=60", "--"])
            .arg(assert_cmd::cargo::cargo_bin("imagebom"))
            .args(args)
            .current_dir(self.dir.path())
            .env("SOURCE_DATE_EPOCH", "1764000000")
            .env("IMAGEBOM_CACHE", self.path("cache"));
        let out = Command::from_std(cmd)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Asserts the run failed with `code`, that stderr says each of `needles`, and that
    /// nothing was written: no output directory content, no lock beside the recipe.
    fn fails(&self, extra: &[&str], code: i32, needles: &[&str]) -> String {
        let (got, stderr) = self.generate(extra);
        assert_eq!(got, code, "exit code; stderr:\n{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "stderr lacks {n:?}:\n{stderr}");
        }
        assert_eq!(
            files_in(&self.out()),
            Vec::<String>::new(),
            "outputs written"
        );
        assert!(!self.path("imagebom.lock").exists(), "lock written");
        stderr
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

const LOL: &str = r#"kind: ConfigMap
metadata: {name: lol}
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;

#[test]
fn manifest_alias_expansion() {
    // Billion laughs: serde_yaml_ng's repetition limit stops it.
    let c = Case::new();
    c.recipe_with_manifest("m.yaml").write("m.yaml", LOL);
    c.fails(&[], 2, &["m.yaml:1:1: repetition limit exceeded"]);
    // Quadratic (one big anchor aliased many times, under the repetition limit): the node
    // budget (Limits::max_nodes = 500000) stops it.
    let mut quad = String::from("kind: ConfigMap\nmetadata: {name: q}\ndata:\n  a: &a [");
    quad.push_str(&"x,".repeat(2000));
    quad.push_str("]\n  b: [");
    quad.push_str(&"*a,".repeat(50_000));
    quad.push_str("]\n");
    let c = Case::new();
    c.recipe_with_manifest("m.yaml").write("m.yaml", quad);
    c.fails(
        &[],
        2,
        &["m.yaml:", "more than 500000 nodes (alias expansion?)"],
    );
}

#[test]
fn manifest_document_size() {
    let c = Case::new();
    // One document of 9 MiB (a long string): over Limits::max_document_bytes (8 MiB).
    let doc = format!(
        "kind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  x: \"{}\"\n",
        "x".repeat(9 << 20)
    );
    c.recipe_with_manifest("m.yaml")
        .write("m.yaml", format!("kind: A\n---\n{doc}"));
    c.fails(
        &[],
        2,
        &["m.yaml:3:", "larger than the limit of 8388608 bytes"],
    );
}

#[test]
fn manifest_document_count() {
    let c = Case::new();
    c.recipe_with_manifest("m.yaml")
        .write("m.yaml", "a: 1\n---\n".repeat(100_001));
    c.fails(&[], 2, &["m.yaml:200001: more than 100000 YAML documents"]);
}

#[test]
fn manifest_file_size() {
    // A 65 MiB manifest (sparse) is refused at MAX_MANIFEST_BYTES (64 MiB), read no further.
    let c = Case::new();
    std::fs::File::create(c.path("big.yaml"))
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    c.recipe_with_manifest("big.yaml");
    c.fails(
        &[],
        2,
        &["big.yaml: manifest is larger than the 67108864-byte limit"],
    );
}

#[test]
fn manifest_nesting_depth() {
    let block: String = (0..150)
        .map(|i| format!("{}k:\n", "  ".repeat(i)))
        .collect();
    let flow = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let json = format!("{{\"a\": {}1{}}}\n", "[".repeat(500), "]".repeat(500));
    for (text, needle) in [
        (block, "nested deeper than 100 levels"),
        (
            flow,
            "flow collections (`[`, `{`) nested deeper than 100 levels",
        ),
        (
            json,
            "flow collections (`[`, `{`) nested deeper than 100 levels",
        ),
    ] {
        let c = Case::new();
        c.recipe_with_manifest("m.yaml").write("m.yaml", &text);
        c.fails(&[], 2, &["m.yaml:", needle]);
    }
}

#[test]
fn recipe_file_size() {
    let c = Case::new();
    std::os::unix::fs::symlink("/dev/zero", c.path("recipe.yaml")).unwrap();
    c.fails(
        &[],
        2,
        &["recipe.yaml: recipe is larger than the 4194304-byte limit"],
    );
}

#[test]
fn recipe_values_nesting_depth() {
    // Inline chart values nested 200 deep: serde_yaml_ng's recursion limit (128).
    let c = Case::new();
    let values = format!("{}1{}", "{a: ".repeat(200), "}".repeat(200));
    c.write(
        "recipe.yaml",
        format!(
            "{HEAD}components:\n  - name: c\n    helm: {{repository: ./chart, chart: c, version: 1.0.0, values: {values}}}\n"
        ),
    );
    c.fails(&[], 2, &["recipe.yaml:", "recursion limit exceeded"]);
}

#[test]
fn recipe_alias_expansion() {
    let c = Case::new();
    let values: String = LOL
        .lines()
        .skip(3)
        .map(|l| format!("        {}\n", l.trim_start()))
        .collect();
    c.write(
        "recipe.yaml",
        format!(
            "{HEAD}components:\n  - name: c\n    helm:\n      repository: ./chart\n      chart: c\n      version: 1.0.0\n      values:\n{values}"
        ),
    );
    c.fails(&[], 2, &["recipe.yaml:", "repetition limit exceeded"]);
}

#[test]
fn lock_file_size() {
    let c = Case::new();
    c.recipe_with_manifest("m.yaml")
        .write("m.yaml", "kind: Pod\nmetadata: {name: p}\n");
    c.fails(
        &["--lock", "/dev/zero"],
        2,
        &["/dev/zero: lock file is larger than the 268435456-byte limit"],
    );
}

/// How the fake registry answers a manifest `GET`.
#[derive(Clone, Copy)]
enum Answer {
    /// A body of this many bytes with its `Content-Length`.
    Sized(usize),
    /// A body of this many bytes, chunked (no length announced).
    Chunked(usize),
    /// `302` to the same URL, forever.
    RedirectLoop,
}

/// A registry on loopback that needs no token (`GET /v2/` is 200) and answers every
/// manifest request with `answer`. Returns its `host:port`.
fn fake_registry(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = serve(conn, answer);
            });
        }
    });
    addr
}

fn serve(mut conn: TcpStream, answer: Answer) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let path = request.split(' ').nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
    }
    if !path.contains("/manifests/") {
        let body = "{}";
        return write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n";
    match answer {
        Answer::RedirectLoop => write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Answer::Sized(n) => {
            write!(conn, "{head}Content-Length: {n}\r\n\r\n")?;
            send_spaces(&mut conn, n, false)
        }
        Answer::Chunked(n) => {
            write!(conn, "{head}Transfer-Encoding: chunked\r\n\r\n")?;
            send_spaces(&mut conn, n, true)?;
            write!(conn, "0\r\n\r\n")
        }
    }
}

/// Writes `n` bytes of JSON whitespace (a valid prefix of a manifest), stopping quietly
/// when the client hangs up.
fn send_spaces(conn: &mut TcpStream, n: usize, chunked: bool) -> std::io::Result<()> {
    let block = vec![b' '; 64 << 10];
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len());
        if chunked {
            write!(conn, "{k:x}\r\n")?;
        }
        conn.write_all(&block[..k])?;
        if chunked {
            conn.write_all(b"\r\n")?;
        }
        left -= k;
    }
    let mut sink = [0u8; 1];
    let _ = conn.read(&mut sink);
    Ok(())
}

fn registry_case(addr: &str) -> Case {
    let c = Case::new();
    c.recipe_with_manifest("m.yaml").write(
        "m.yaml",
        format!(
            "kind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - {{name: a, image: {addr}/app/web:1.0}}\n"
        ),
    );
    c
}

fn resolve_args(addr: &str) -> Vec<String> {
    [
        "--resolve",
        "--insecure-registry",
        addr,
        "--retries",
        "0",
        "--timeout",
        "20",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn registry_manifest_over_the_size_limit() {
    // MAX_MANIFEST_BYTES is 4 MiB: one announced by Content-Length, one streamed without.
    for answer in [Answer::Sized(5 << 20), Answer::Chunked(64 << 20)] {
        let addr = fake_registry(answer);
        let c = registry_case(&addr);
        let args = resolve_args(&addr);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.fails(
            &args,
            3,
            &[
                &format!("{addr}/app/web:1.0"),
                "larger than the limit of 4194304 bytes (MAX_MANIFEST_BYTES)",
            ],
        );
    }
}

#[test]
fn registry_redirect_loop() {
    let addr = fake_registry(Answer::RedirectLoop);
    let c = registry_case(&addr);
    let args = resolve_args(&addr);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    c.fails(
        &args,
        3,
        &[
            &format!("{addr}/app/web:1.0"),
            "more than 10 redirects (MAX_REDIRECTS)",
        ],
    );
}

#[test]
fn registry_manifest_under_the_limit_is_read() {
    // The control: a body just under the limit is read whole (and then fails as JSON that
    // is not a manifest, not on size).
    let addr = fake_registry(Answer::Sized((4 << 20) - 1));
    let c = registry_case(&addr);
    let args = resolve_args(&addr);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stderr = c.fails(
        &args,
        3,
        &[&format!("{addr}/app/web:1.0"), "not a manifest"],
    );
    assert!(!stderr.contains("MAX_MANIFEST_BYTES"), "{stderr}");
}

// --- charts: template engine and archive limits ---------------------------------------------

/// A recipe with one chart component `c` whose chart is `repository` (a directory or a
/// `.tgz`, relative to the recipe).
fn chart_recipe(c: &Case, repository: &str) {
    c.write(
        "recipe.yaml",
        format!(
            "{HEAD}components:\n  - name: c\n    helm: {{repository: {repository}, chart: c, version: 1.0.0}}\n"
        ),
    );
}

/// Writes chart `c` 1.0.0 into `dir` (relative to the case) with `templates`.
fn write_chart(c: &Case, dir: &str, templates: &[(&str, &str)]) {
    std::fs::create_dir_all(c.path(dir).join("templates")).unwrap();
    c.write(
        &format!("{dir}/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    );
    for (name, text) in templates {
        c.write(&format!("{dir}/templates/{name}"), text);
    }
}

#[test]
fn chart_include_depth() {
    // A self-including template: Helm's recursion bound (1000 nested includes of one name).
    let c = Case::new();
    write_chart(
        &c,
        "chart",
        &[(
            "loop.yaml",
            "{{- define \"loop\" }}{{ include \"loop\" . }}{{ end }}kind: A\nx: {{ include \"loop\" . }}\n",
        )],
    );
    chart_recipe(&c, "./chart");
    c.fails(
        &[],
        2,
        &[
            "templates/loop.yaml",
            "rendering template has a nested reference name: loop",
        ],
    );
}

#[test]
fn chart_template_output_size() {
    // 100,000 × 1 KiB: past the 64 MiB output limit of one execution.
    let c = Case::new();
    write_chart(
        &c,
        "chart",
        &[(
            "big.yaml",
            "kind: A\ndata: |\n{{- range until 100000 }}\n  {{ \"x\" | repeat 1024 }}\n{{- end }}\n",
        )],
    );
    chart_recipe(&c, "./chart");
    c.fails(
        &[],
        2,
        &[
            "templates/big.yaml",
            "output exceeds the limit of 67108864 bytes (max_output_bytes)",
        ],
    );
}

#[test]
fn chart_range_over_a_huge_integer() {
    // Go 1.22 range-over-int with a trillion iterations: the range iteration budget.
    let c = Case::new();
    write_chart(
        &c,
        "chart",
        &[(
            "huge.yaml",
            "kind: A\n{{- range 1000000000000 }}{{ end }}\n",
        )],
    );
    chart_recipe(&c, "./chart");
    c.fails(
        &[],
        2,
        &[
            "templates/huge.yaml",
            "range iterations exceed the limit of 10000000 (max_range_iters)",
        ],
    );
}

/// `tar czf NAME -C DIR c` (GNU tar), with entries under `c/`.
fn tgz(c: &Case, name: &str, dir: &str) {
    let ok = std::process::Command::new("tar")
        .arg("czf")
        .arg(c.path(name))
        .arg("-C")
        .arg(c.path(dir))
        .arg("c")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar failed");
}

#[test]
fn chart_archive_entry_count() {
    // 10,001 files in one archive: over ArchiveLimits::max_entries (10,000).
    let c = Case::new();
    write_chart(&c, "src/c", &[("a.yaml", "kind: A\n")]);
    let files = c.path("src/c/files");
    std::fs::create_dir_all(&files).unwrap();
    for i in 0..10_001 {
        std::fs::write(files.join(format!("f{i}.txt")), "x").unwrap();
    }
    tgz(&c, "c-1.0.0.tgz", "src");
    chart_recipe(&c, "./c-1.0.0.tgz");
    c.fails(
        &[],
        2,
        &["c-1.0.0.tgz", "more than 10000 entries (max_entries)"],
    );
}

#[test]
fn chart_archive_total_size() {
    // 26 files of 4 MiB (each under the 5 MiB file limit), 104 MiB in all: over
    // ArchiveLimits::max_uncompressed (100 MiB), though the archive is a few hundred KB.
    let c = Case::new();
    write_chart(&c, "src/c", &[("a.yaml", "kind: A\n")]);
    let files = c.path("src/c/files");
    std::fs::create_dir_all(&files).unwrap();
    for i in 0..26 {
        std::fs::File::create(files.join(format!("f{i}.bin")))
            .unwrap()
            .set_len(4 << 20)
            .unwrap();
    }
    tgz(&c, "c-1.0.0.tgz", "src");
    assert!(std::fs::metadata(c.path("c-1.0.0.tgz")).unwrap().len() < 1 << 20);
    chart_recipe(&c, "./c-1.0.0.tgz");
    c.fails(
        &[],
        2,
        &[
            "c-1.0.0.tgz",
            "decompressed content exceeds the limit of 104857600 bytes (max_uncompressed)",
        ],
    );
}

#[test]
fn chart_values_nesting_and_aliases() {
    // A chart's values.yaml nested 200 deep, and one that is a billion-laughs bomb.
    let deep = format!("a: {}1{}\n", "{a: ".repeat(200), "}".repeat(200));
    let bomb: String = LOL
        .lines()
        .skip(3)
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    for (values, needle) in [
        (deep, "nesting deeper than the limit of 128"),
        (bomb, "more than the limit of 2000000 nodes"),
    ] {
        let c = Case::new();
        write_chart(&c, "chart", &[("a.yaml", "kind: A\n")]);
        c.write("chart/values.yaml", &values);
        chart_recipe(&c, "./chart");
        c.fails(&[], 2, &["values.yaml", needle]);
    }
}

/// Runs the binary in `c`'s directory with `stdin`; returns the exit code and stderr.
fn run_in(c: &Case, args: &[&str], stdin: std::process::Stdio) -> (i32, String) {
    let started = std::time::Instant::now();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("imagebom"))
        .current_dir(c.dir.path())
        .env("IMAGEBOM_CACHE", c.path("cache"))
        .args(args)
        .stdin(stdin)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{args:?} took {:?}",
        started.elapsed()
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn endless_stdin_policy_and_page_are_cut_at_their_limits() {
    let c = Case::new();
    c.recipe_with_manifest("m.yaml")
        .write("m.yaml", "kind: ConfigMap\n");
    let zero = || std::process::Stdio::from(std::fs::File::open("/dev/zero").unwrap());
    let none = std::process::Stdio::null;
    let cases: [(&[&str], std::process::Stdio, &str); 3] = [
        (
            &["images", "-"],
            zero(),
            "<stdin>: manifest stream is larger than the 67108864-byte limit",
        ),
        (
            &["check", "--recipe", "recipe.yaml", "--policy", "/dev/zero"],
            none(),
            "/dev/zero: policy is larger than the 4194304-byte limit",
        ),
        (
            &[
                "generate",
                "--recipe",
                "recipe.yaml",
                "--out",
                "out",
                "--page",
                "/dev/zero",
            ],
            none(),
            "/dev/zero: page is larger than the 16777216-byte limit",
        ),
    ];
    for (args, stdin, needle) in cases {
        let (code, stderr) = run_in(&c, args, stdin);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    assert_eq!(files_in(&c.out()), Vec::<String>::new(), "outputs written");
}

#[test]
fn merge_inputs_over_the_total_limit() {
    // Two sparse files of 150 MiB: each under the 256 MiB limit for one BOM, together over it.
    let c = Case::new();
    for name in ["a.json", "b.json"] {
        std::fs::File::create(c.path(name))
            .unwrap()
            .set_len(150 << 20)
            .unwrap();
    }
    let (code, stderr) = run_in(
        &c,
        &["merge", "m.json", "a.json", "b.json"],
        std::process::Stdio::null(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "the input BOMs total 314572800 bytes, more than the 268435456-byte limit for a merge"
        ),
        "{stderr}"
    );
    assert!(!c.path("m.json").exists());
}

// --- manifest globs ---------------------------------------------------------------------------

const POD: &str = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: x, image: docker.io/library/nginx:1.27}\n";

#[test]
fn manifest_glob_symlink_loops() {
    // Two links to the parent (out of the walk root), one to the root itself, one back into
    // an ancestor and one to a sibling: the walk ends and the file counts once, by its own path.
    let c = Case::new();
    std::fs::create_dir_all(c.path("a/sub")).unwrap();
    c.write("a/sub/m.yaml", POD);
    for (link, target) in [
        ("a/l1", ".."),
        ("a/l2", ".."),
        ("a/self", "."),
        ("a/sub/back", ".."),
        ("a/alias", "sub"),
    ] {
        std::os::unix::fs::symlink(target, c.path(link)).unwrap();
    }
    c.recipe_with_manifest("\"a/**/*.yaml\"");
    let (code, stderr) = c.run_limited(&["generate", "--recipe", "recipe.yaml", "--out", "out"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    let bom = std::fs::read_to_string(c.out().join("bom.cdx.json")).unwrap();
    let evidence: Vec<&str> = bom.matches("m.yaml|").collect();
    assert_eq!(evidence.len(), 1, "{bom}");
    assert!(bom.contains("\"c|a/sub/m.yaml|Pod/p|"), "{bom}");
}

#[test]
fn manifest_glob_depth_and_entries() {
    // 70 nested directories: past the walk's depth limit (64).
    let c = Case::new();
    let deep = format!("a/{}", "d/".repeat(70));
    std::fs::create_dir_all(c.path(&deep)).unwrap();
    c.write(&format!("{deep}m.yaml"), POD);
    c.recipe_with_manifest("\"a/**/*.yaml\"");
    c.fails(
        &[],
        2,
        &[
            "recipe.yaml:",
            "glob \"a/**/*.yaml\": the walk descends deeper than the limit of 64 directories",
        ],
    );
    // Ten directories, each with links to all ten: inside the root and never an ancestor, so
    // followed, until the entry limit (100000) stops the walk.
    let c = Case::new();
    for i in 0..10 {
        std::fs::create_dir_all(c.path(&format!("a/{i}"))).unwrap();
    }
    for i in 0..10 {
        for j in 0..10 {
            std::os::unix::fs::symlink(format!("../{j}"), c.path(&format!("a/{i}/l{j}"))).unwrap();
        }
    }
    c.write("a/0/m.yaml", POD);
    c.recipe_with_manifest("\"a/**/*.yaml\"");
    let (code, stderr) = c.run_limited(&["generate", "--recipe", "recipe.yaml", "--out", "out"]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(
        stderr.contains("the walk visits more than the limit of 100000 entries"),
        "{stderr}"
    );
}

// --- values a chart builds ----------------------------------------------------------------------

/// Doubling a string with `printf`, a list with `concat`, keeping many large strings, a
/// 100,000-deep `dict` or `list` chain: each an error naming the template, line and limit,
/// never an abort; under a 2 GiB rlimit.
#[test]
fn chart_built_values_are_bounded() {
    let cases = [
        (
            "{{- $a := \"x\" }}{{- range until 30 }}{{- $a = printf \"%s%s\" $a $a }}{{- end }}",
            "templates/a.yaml:1:46: printf built a string of 134217728 bytes, over the limit of 67108864 (max_string_bytes)",
        ),
        (
            "{{- $l := list 1 }}{{- range until 30 }}{{- $l = concat $l $l }}{{- end }}",
            "templates/a.yaml:1:49: concat built a list of 1048576 elements, over the limit of 1000000 (max_collection_len)",
        ),
        (
            "{{- $s := repeat 50000000 \"x\" }}{{- $l := list }}{{- range until 100 }}{{- $l = append $l (printf \"%s\" $s) }}{{- end }}",
            "values built exceed the limit of 268435456 bytes (max_alloc_bytes) at printf",
        ),
        (
            "{{- $s := repeat 60000000 \"x\" }}{{- $l := list }}{{- range until 1000 }}{{- $l = append $l $s }}{{- end }}{{- toYaml $l }}",
            "toYaml would build a string of more than 67108864 bytes (max_string_bytes)",
        ),
        (
            "{{- $d := dict }}{{- range until 100000 }}{{- $d = dict \"a\" $d }}{{- end }}",
            "templates/a.yaml:1:51: dict built a value nested 1001 deep, over the limit of 1000 (max_value_depth)",
        ),
        (
            "{{- $l := list }}{{- range until 100000 }}{{- $l = list $l }}{{- end }}",
            "templates/a.yaml:1:51: list built a value nested 1001 deep, over the limit of 1000 (max_value_depth)",
        ),
    ];
    for (body, needle) in cases {
        let c = Case::new();
        write_chart(&c, "chart", &[("a.yaml", &format!("{body}\nkind: A\n"))]);
        let (code, stderr) = c.run_limited(&["render", "chart"]);
        assert_eq!(code, 2, "{body}: stderr:\n{stderr}");
        assert!(
            stderr.contains(needle),
            "{body}: stderr lacks {needle:?}:\n{stderr}"
        );
    }
}

#[test]
fn chart_map_chain_built_with_set() {
    // `set` nests 100,000 maps top-down (no function returns the deep value): the render
    // frees it without overflowing the stack, and serialising it is the encoder's error.
    let chain = "{{- $r := dict }}{{- $n := $r }}{{- range until 100000 }}{{- $c := dict }}{{- $_ := set $n \"a\" $c }}{{- $n = $c }}{{- end }}";
    let c = Case::new();
    write_chart(&c, "chart", &[("a.yaml", &format!("{chain}\nkind: A\n"))]);
    let (code, stderr) = c.run_limited(&["render", "chart"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    let c = Case::new();
    let body = format!("{chain}\nkind: A\nx: {{{{ mustToJson $r }}}}\n");
    write_chart(&c, "chart", &[("a.yaml", &body)]);
    let (code, stderr) = c.run_limited(&["render", "chart"]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    for needle in [
        "c/templates/a.yaml:3:",
        "error calling mustToJson: json: unsupported value: encountered a cycle or nesting deeper than 1000",
    ] {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}:\n{stderr}");
    }
}

#[test]
fn set_list_nesting() {
    // `--set a[0][0]…=1` 30,000 levels deep: an error naming the flag, not a stack overflow.
    let c = Case::new();
    write_chart(&c, "chart", &[("a.yaml", "kind: A\n")]);
    let set = format!("a{}=1", "[0]".repeat(30_000));
    let (code, stderr) = c.run_limited(&["render", "chart", "--set", &set]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(
        stderr.contains("failed parsing --set data")
            && stderr.contains("list index nested level is greater than the limit of 1000"),
        "{stderr}"
    );
}

#[test]
fn keep_going_survives_a_chart_that_builds_too_much() {
    // A chart doubling a string and a good manifest component: with --keep-going the good
    // component's BOM is written and the run exits 2 (not 134).
    let c = Case::new();
    write_chart(
        &c,
        "chart",
        &[(
            "a.yaml",
            "{{- $a := \"x\" }}{{- range until 30 }}{{- $a = printf \"%s%s\" $a $a }}{{- end }}\nkind: A\n",
        )],
    );
    c.write("m.yaml", POD).write(
        "recipe.yaml",
        format!(
            "{HEAD}components:\n  - name: bad\n    helm: {{repository: ./chart, chart: c, version: 1.0.0}}\n  - name: good\n    manifests: [m.yaml]\n"
        ),
    );
    let (code, stderr) = c.run_limited(&[
        "generate",
        "--recipe",
        "recipe.yaml",
        "--out",
        "out",
        "--keep-going",
    ]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(stderr.contains("(max_string_bytes)"), "{stderr}");
    let bom = std::fs::read_to_string(c.out().join("bom.cdx.json")).unwrap();
    assert!(bom.contains("docker.io/library/nginx:1.27"), "{bom}");
}
