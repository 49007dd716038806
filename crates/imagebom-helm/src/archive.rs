//! Chart archives (`.tgz`): gzip + tar with one top-level directory named after the chart.
//!
//! Archives come from the network, so every limit is explicit and checked while reading —
//! never from the sizes the headers claim: the compressed size, the bytes that come out of
//! the gzip stream (a gzip bomb stops at the limit), each file's size and the number of
//! entries. Paths that escape the chart (`..`, absolute, drive letters) and every kind of
//! link are refused: Helm refuses links that leave the chart; here all links are refused,
//! since a chart archive made by `helm package` never holds one. Device files and FIFOs are
//! refused too. As Helm's loader does, a UTF-8 byte-order mark at the start of a file is
//! dropped.

use std::collections::BTreeMap;
use std::io::Read;

/// The files of a chart: paths relative to the chart root with `/` separators → contents.
pub type ChartFiles = BTreeMap<String, Vec<u8>>;

/// Limits for reading an archive. The defaults follow Helm's (100 MiB decompressed, 5 MiB a
/// file) and add a compressed-size and an entry-count bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest archive (compressed bytes).
    pub max_compressed: u64,
    /// Most bytes the gzip stream may produce (the tar stream, headers included).
    pub max_uncompressed: u64,
    /// Largest single file.
    pub max_file: u64,
    /// Most tar entries (files, directories and metadata entries alike).
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_compressed: 50 << 20,
            max_uncompressed: 100 << 20,
            max_file: 5 << 20,
            max_entries: 10_000,
        }
    }
}

/// Why an archive was refused. Each message names the archive, the entry and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{archive}: {kind}")]
pub struct ArchiveError {
    /// The archive (file name, URL or reference).
    pub archive: String,
    /// What is wrong (boxed: errors stay small).
    pub kind: Box<ArchiveErrorKind>,
}

/// What is wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveErrorKind {
    /// The compressed archive is larger than the limit.
    #[error("archive is {size} bytes, over the limit of {limit} bytes (max_compressed)")]
    CompressedTooLarge { size: u64, limit: u64 },
    /// The gzip stream produced more than the limit.
    #[error(
        "decompressed content exceeds the limit of {limit} bytes (max_uncompressed) at entry {entry:?}"
    )]
    UncompressedTooLarge { entry: String, limit: u64 },
    /// One file is larger than the limit.
    #[error("entry {entry:?} is larger than the limit of {limit} bytes (max_file)")]
    FileTooLarge { entry: String, limit: u64 },
    /// More entries than the limit.
    #[error("more than {limit} entries (max_entries) at entry {entry:?}")]
    TooManyEntries { entry: String, limit: usize },
    /// Not a gzip stream.
    #[error("not a gzip-compressed chart archive: {detail}")]
    NotGzip { detail: String },
    /// The gzip or tar stream is corrupt or cut short.
    #[error("corrupt or truncated archive{}: {detail}", entry.as_ref().map(|e| format!(" at entry {e:?}")).unwrap_or_default())]
    Corrupt {
        entry: Option<String>,
        detail: String,
    },
    /// A path that leaves the chart or is not usable.
    #[error("entry {entry:?}: {reason}")]
    BadPath { entry: String, reason: String },
    /// A symbolic or hard link.
    #[error(
        "entry {entry:?} is a {kind} to {target:?}: links are refused in chart archives (Helm refuses links out of the chart; imagebom refuses all)"
    )]
    Link {
        entry: String,
        kind: &'static str,
        target: String,
    },
    /// A device file, FIFO or other special entry.
    #[error("entry {entry:?} is a {kind}, not a regular file or directory")]
    Special { entry: String, kind: String },
    /// An entry not under the archive's single top-level directory.
    #[error(
        "entry {entry:?} is outside the archive's top-level directory {top:?} (a chart archive holds one directory)"
    )]
    OutsideTopDir { entry: String, top: String },
    /// The same path twice.
    #[error("entry {entry:?} appears twice")]
    Duplicate { entry: String },
    /// No files at all.
    #[error("no files in the chart archive")]
    Empty,
}

/// Reads a chart archive ([`read_named_chart_archive`] with the name "chart archive").
pub fn read_chart_archive(
    bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<ChartFiles, ArchiveError> {
    read_named_chart_archive("chart archive", bytes, limits)
}

/// Reads a chart archive named `name` (for errors) into its files, the top-level directory
/// stripped.
pub fn read_named_chart_archive(
    name: &str,
    bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<ChartFiles, ArchiveError> {
    read(bytes, limits).map_err(|kind| ArchiveError {
        archive: name.to_string(),
        kind: Box::new(kind),
    })
}

/// Counts what the gzip decoder produces and fails past `limit` (setting `over`, since the
/// tar reader may wrap the error).
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
    over: std::rc::Rc<std::cell::Cell<bool>>,
}

/// Marker inside an `io::Error` for "the uncompressed limit was hit".
#[derive(Debug)]
struct OverLimit;

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit reached")
    }
}

impl std::error::Error for OverLimit {}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            // One byte more tells a stream that ends exactly at the limit from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.over.set(true);
                    Err(std::io::Error::other(OverLimit))
                }
            };
        }
        let room = usize::try_from(self.limit - self.read).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let got = self.inner.read(&mut buf[..n])?;
        self.read += got as u64;
        Ok(got)
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn read(bytes: &[u8], limits: &ArchiveLimits) -> Result<ChartFiles, ArchiveErrorKind> {
    use ArchiveErrorKind as K;
    if bytes.len() as u64 > limits.max_compressed {
        return Err(K::CompressedTooLarge {
            size: bytes.len() as u64,
            limit: limits.max_compressed,
        });
    }
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err(K::NotGzip {
            detail: "missing the gzip magic bytes 1f 8b".into(),
        });
    }
    // Go's gzip reader reads concatenated members; so does MultiGzDecoder.
    let over = std::rc::Rc::new(std::cell::Cell::new(false));
    let counted = Counted {
        inner: flate2::read::MultiGzDecoder::new(bytes),
        read: 0,
        limit: limits.max_uncompressed,
        over: over.clone(),
    };
    let mut archive = tar::Archive::new(counted);
    let mut current = String::from("<start of archive>");
    let stream_err = |e: std::io::Error, entry: Option<&str>| {
        if over.get() {
            K::UncompressedTooLarge {
                entry: entry.unwrap_or("<tar header>").to_string(),
                limit: limits.max_uncompressed,
            }
        } else {
            K::Corrupt {
                entry: entry.map(str::to_string),
                detail: e.to_string(),
            }
        }
    };
    let entries = archive.entries().map_err(|e| stream_err(e, None))?;
    let mut files = ChartFiles::new();
    let mut top: Option<String> = None;
    let mut count = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| stream_err(e, Some(&format!("after {current}"))))?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        current = name.clone();
        count += 1;
        if count > limits.max_entries {
            return Err(K::TooManyEntries {
                entry: name,
                limit: limits.max_entries,
            });
        }
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        match kind {
            T::Symlink | T::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                return Err(K::Link {
                    entry: name,
                    kind: if kind == T::Symlink {
                        "symbolic link"
                    } else {
                        "hard link"
                    },
                    target,
                });
            }
            // Metadata entries that the tar crate does not fold into the next entry.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            T::Regular | T::Continuous | T::Directory => {}
            T::Char => return Err(special(name, "character device")),
            T::Block => return Err(special(name, "block device")),
            T::Fifo => return Err(special(name, "FIFO")),
            other => return Err(special(name, &format!("tar entry of type {other:?}"))),
        }
        if std::str::from_utf8(&raw).is_err() {
            return Err(K::BadPath {
                entry: name,
                reason: "the path is not UTF-8".into(),
            });
        }
        let rel = chart_path(&name, &mut top)?;
        if kind == T::Directory {
            continue;
        }
        let Some(rel) = rel else {
            return Err(K::BadPath {
                entry: name,
                reason: "a file where the chart's top-level directory belongs".into(),
            });
        };
        let mut data = Vec::new();
        (&mut entry)
            .take(limits.max_file.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| stream_err(e, Some(&name)))?;
        if data.len() as u64 > limits.max_file {
            return Err(K::FileTooLarge {
                entry: name,
                limit: limits.max_file,
            });
        }
        if data.starts_with(UTF8_BOM) {
            data.drain(..UTF8_BOM.len());
        }
        if files.insert(rel, data).is_some() {
            return Err(K::Duplicate { entry: name });
        }
    }
    // Read to the end of the gzip stream: a cut-off or over-limit tail is an error too.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| stream_err(e, None))?;
    if files.is_empty() {
        return Err(K::Empty);
    }
    Ok(files)
}

fn special(entry: String, kind: &str) -> ArchiveErrorKind {
    ArchiveErrorKind::Special {
        entry,
        kind: kind.to_string(),
    }
}

/// The path of `name` relative to the top-level directory (`None` for the directory itself),
/// after the checks Helm's loader makes and the single-top-directory rule.
fn chart_path(name: &str, top: &mut Option<String>) -> Result<Option<String>, ArchiveErrorKind> {
    use ArchiveErrorKind as K;
    let bad = |reason: &str| K::BadPath {
        entry: name.to_string(),
        reason: reason.to_string(),
    };
    // Helm normalises Windows separators before anything else.
    let norm = name.replace('\\', "/");
    if norm.starts_with('/') {
        return Err(bad("absolute path"));
    }
    if norm.contains('\0') {
        return Err(bad("NUL in the path"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in norm.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(bad("path traversal (`..`)")),
            p => parts.push(p),
        }
    }
    let Some((first, rest)) = parts.split_first() else {
        return Err(bad("empty path"));
    };
    if is_drive(first) || rest.first().is_some_and(|p| is_drive(p)) {
        return Err(bad("Windows drive path"));
    }
    match top {
        None => *top = Some(first.to_string()),
        Some(t) if t != first => {
            return Err(K::OutsideTopDir {
                entry: name.to_string(),
                top: t.clone(),
            });
        }
        Some(_) => {}
    }
    Ok((!rest.is_empty()).then(|| rest.join("/")))
}

/// `c:` and the like: a path that would be absolute on Windows.
fn is_drive(part: &str) -> bool {
    let b = part.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}
