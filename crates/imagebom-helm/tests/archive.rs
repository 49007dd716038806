//! Chart archives: good ones read, hostile ones (built here, in memory) refused with an error
//! that names the archive, the entry and the limit — never a panic.

use flate2::write::GzEncoder;
use flate2::Compression;
use imagebom_helm::archive::{
    read_chart_archive, read_named_chart_archive, ArchiveErrorKind, ArchiveLimits,
};
use std::io::Write;

/// One tar entry: raw name bytes (no validation, so hostile paths can be written), type,
/// link target and content.
struct E {
    name: Vec<u8>,
    kind: tar::EntryType,
    link: Option<&'static str>,
    data: Vec<u8>,
}

fn file(name: &str, data: &[u8]) -> E {
    E {
        name: name.as_bytes().to_vec(),
        kind: tar::EntryType::Regular,
        link: None,
        data: data.to_vec(),
    }
}

fn dir(name: &str) -> E {
    E {
        name: name.as_bytes().to_vec(),
        kind: tar::EntryType::Directory,
        link: None,
        data: Vec::new(),
    }
}

fn link(name: &str, kind: tar::EntryType, target: &'static str) -> E {
    E {
        name: name.as_bytes().to_vec(),
        kind,
        link: Some(target),
        data: Vec::new(),
    }
}

fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name = [0; 100];
            gnu.name[..e.name.len()].copy_from_slice(&e.name);
        }
        h.set_entry_type(e.kind);
        h.set_mode(0o644);
        h.set_size(e.data.len() as u64);
        if let Some(t) = e.link {
            h.set_link_name(t).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn tgz(entries: &[E]) -> Vec<u8> {
    gz(&tar_bytes(entries))
}

fn kind(bytes: &[u8], limits: &ArchiveLimits) -> ArchiveErrorKind {
    *read_chart_archive(bytes, limits).unwrap_err().kind
}

#[test]
fn reads_a_chart_and_strips_the_top_directory() {
    let long = format!("mychart/templates/{}.yaml", "x".repeat(150));
    let mut b = tar::Builder::new(Vec::new());
    // A long path goes through a GNU long-name entry.
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"long"[..]).unwrap();
    let mut inner = tar_bytes(&[
        dir("mychart/"),
        file(
            "mychart/Chart.yaml",
            b"\xEF\xBB\xBFapiVersion: v2\nname: mychart\nversion: 1.0.0\n",
        ),
        file("./mychart/values.yaml", b"a: 1\n"),
        dir("mychart/templates/"),
        file("mychart/templates/deploy.yaml", b"kind: Deployment\n"),
    ]);
    // Drop the first archive's end-of-archive blocks and append the long-name entry.
    inner.truncate(inner.len() - 1024);
    inner.extend(b.into_inner().unwrap());
    let files = read_chart_archive(&gz(&inner), &ArchiveLimits::default()).unwrap();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Chart.yaml",
            "templates/deploy.yaml",
            &long["mychart/".len()..],
            "values.yaml"
        ]
    );
    // Helm's loader drops a UTF-8 byte-order mark.
    assert!(files["Chart.yaml"].starts_with(b"apiVersion: v2"));
    assert_eq!(files["values.yaml"], b"a: 1\n");
}

#[test]
fn refuses_path_traversal_and_absolute_paths() {
    let l = ArchiveLimits::default();
    for (name, reason) in [
        ("mychart/../../etc/passwd", "traversal"),
        ("mychart/templates/../../x", "traversal"),
        ("/etc/passwd", "absolute"),
        ("mychart\\..\\..\\x", "traversal"),
        ("mychart/c:/windows/x", "drive"),
    ] {
        let a = tgz(&[file("mychart/Chart.yaml", b"x"), file(name, b"evil")]);
        match kind(&a, &l) {
            ArchiveErrorKind::BadPath { entry, reason: r } => {
                assert_eq!(entry, name);
                assert!(r.contains(reason), "{name}: {r}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn refuses_links_devices_and_fifos() {
    let l = ArchiveLimits::default();
    let sym = tgz(&[
        file("mychart/Chart.yaml", b"x"),
        link(
            "mychart/values.yaml",
            tar::EntryType::Symlink,
            "/etc/passwd",
        ),
    ]);
    let e = read_named_chart_archive("evil-1.0.0.tgz", &sym, &l).unwrap_err();
    assert!(matches!(
        *e.kind,
        ArchiveErrorKind::Link {
            kind: "symbolic link",
            ..
        }
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("evil-1.0.0.tgz")
            && msg.contains("mychart/values.yaml")
            && msg.contains("/etc/passwd"),
        "{msg}"
    );
    // Even a link inside the chart.
    let hard = tgz(&[
        file("mychart/Chart.yaml", b"x"),
        link(
            "mychart/copy.yaml",
            tar::EntryType::Link,
            "mychart/Chart.yaml",
        ),
    ]);
    assert!(matches!(
        kind(&hard, &l),
        ArchiveErrorKind::Link {
            kind: "hard link",
            ..
        }
    ));
    for t in [
        tar::EntryType::Char,
        tar::EntryType::Block,
        tar::EntryType::Fifo,
    ] {
        let a = tgz(&[
            file("mychart/Chart.yaml", b"x"),
            E {
                name: b"mychart/dev".to_vec(),
                kind: t,
                link: None,
                data: Vec::new(),
            },
        ]);
        assert!(
            matches!(kind(&a, &l), ArchiveErrorKind::Special { .. }),
            "{t:?}"
        );
    }
}

#[test]
fn refuses_entries_outside_the_top_directory() {
    let l = ArchiveLimits::default();
    let a = tgz(&[
        file("mychart/Chart.yaml", b"x"),
        file("other/Chart.yaml", b"y"),
    ]);
    assert_eq!(
        kind(&a, &l),
        ArchiveErrorKind::OutsideTopDir {
            entry: "other/Chart.yaml".into(),
            top: "mychart".into()
        }
    );
    let a = tgz(&[file("Chart.yaml", b"x")]);
    assert!(matches!(kind(&a, &l), ArchiveErrorKind::BadPath { .. }));
    let a = tgz(&[file("mychart/a", b"x"), file("mychart/a", b"y")]);
    assert!(matches!(kind(&a, &l), ArchiveErrorKind::Duplicate { .. }));
    let a = tgz(&[dir("mychart/")]);
    assert_eq!(kind(&a, &l), ArchiveErrorKind::Empty);
}

#[test]
fn stops_a_gzip_bomb_at_the_limit() {
    // 64 MiB of zeros compress to ~64 KiB; the reader must stop at 1 MiB, whatever the
    // headers say.
    let zeros = vec![0u8; 64 << 20];
    let bomb = tgz(&[
        file("mychart/Chart.yaml", b"x"),
        file("mychart/zeros", &zeros),
    ]);
    assert!(bomb.len() < 1 << 20);
    let limits = ArchiveLimits {
        max_uncompressed: 1 << 20,
        max_file: u64::MAX,
        ..ArchiveLimits::default()
    };
    let e = read_named_chart_archive("bomb.tgz", &bomb, &limits).unwrap_err();
    assert_eq!(
        *e.kind,
        ArchiveErrorKind::UncompressedTooLarge {
            entry: "mychart/zeros".into(),
            limit: 1 << 20
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("bomb.tgz") && msg.contains("1048576") && msg.contains("max_uncompressed"),
        "{msg}"
    );
    // A stream that ends exactly at the limit is fine.
    let exact = tgz(&[file("mychart/Chart.yaml", b"x")]);
    let size = flate2::read::GzDecoder::new(exact.as_slice()).bytes_len();
    let limits = ArchiveLimits {
        max_uncompressed: size,
        ..ArchiveLimits::default()
    };
    assert!(read_chart_archive(&exact, &limits).is_ok());
    let limits = ArchiveLimits {
        max_uncompressed: size - 1,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        kind(&exact, &limits),
        ArchiveErrorKind::UncompressedTooLarge { .. }
    ));
}

trait BytesLen {
    fn bytes_len(self) -> u64;
}

impl<R: std::io::Read> BytesLen for R {
    fn bytes_len(mut self) -> u64 {
        std::io::copy(&mut self, &mut std::io::sink()).unwrap()
    }
}

#[test]
fn enforces_file_entry_and_compressed_limits() {
    let a = tgz(&[
        file("mychart/Chart.yaml", b"x"),
        file("mychart/big", &[b'a'; 1000]),
    ]);
    let limits = ArchiveLimits {
        max_file: 999,
        ..ArchiveLimits::default()
    };
    assert_eq!(
        kind(&a, &limits),
        ArchiveErrorKind::FileTooLarge {
            entry: "mychart/big".into(),
            limit: 999
        }
    );
    let many: Vec<E> = (0..10)
        .map(|i| file(&format!("mychart/f{i}"), b"x"))
        .collect();
    let limits = ArchiveLimits {
        max_entries: 5,
        ..ArchiveLimits::default()
    };
    let e = read_named_chart_archive("many.tgz", &tgz(&many), &limits).unwrap_err();
    assert_eq!(
        *e.kind,
        ArchiveErrorKind::TooManyEntries {
            entry: "mychart/f5".into(),
            limit: 5
        }
    );
    assert!(e.to_string().contains("max_entries"));
    let limits = ArchiveLimits {
        max_compressed: 10,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        kind(&a, &limits),
        ArchiveErrorKind::CompressedTooLarge { limit: 10, .. }
    ));
}

#[test]
fn refuses_what_is_not_a_gzip_tar_and_truncated_archives() {
    let l = ArchiveLimits::default();
    assert!(matches!(kind(b"", &l), ArchiveErrorKind::NotGzip { .. }));
    assert!(matches!(
        kind(b"hello world", &l),
        ArchiveErrorKind::NotGzip { .. }
    ));
    // An uncompressed tar is not a chart archive.
    let plain = tar_bytes(&[file("mychart/Chart.yaml", b"x")]);
    assert!(matches!(kind(&plain, &l), ArchiveErrorKind::NotGzip { .. }));
    // gzip of something that is not a tar.
    assert!(matches!(
        kind(&gz(&[7u8; 600]), &l),
        ArchiveErrorKind::Corrupt { .. }
    ));
    // Cut short at every length: always an error, never a panic.
    let good = tgz(&[
        file("mychart/Chart.yaml", b"apiVersion: v2\n"),
        file("mychart/values.yaml", &[b'v'; 3000]),
    ]);
    for cut in 0..good.len() {
        let e = read_chart_archive(&good[..cut], &l);
        assert!(
            e.is_err(),
            "accepted an archive cut at {cut} of {}",
            good.len()
        );
    }
    // A corrupted byte in the middle.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    assert!(read_chart_archive(&bad, &l).is_err());
    assert!(read_chart_archive(&good, &l).is_ok());
}

#[test]
fn any_single_corrupted_byte_gives_a_result_never_a_panic() {
    let l = ArchiveLimits::default();
    let good = tgz(&[
        dir("mychart/"),
        file("mychart/Chart.yaml", b"apiVersion: v2\nname: mychart\n"),
        file("mychart/templates/a.yaml", &[b'a'; 700]),
    ]);
    let mut refused = 0;
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            if read_chart_archive(&bad, &l).is_err() {
                refused += 1;
            }
        }
    }
    // The gzip CRC catches nearly everything (a few header bytes, such as the mtime, are free).
    assert!(
        refused >= good.len() * 3 - 3 * 12,
        "{refused} of {}",
        good.len() * 3
    );
}
