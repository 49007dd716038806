//! File output: nothing half-written, ever; and bounded reads.
//!
//! An [`OutputSet`] writes the files of one run together. Every file is staged first as a
//! temporary file beside its target (mode `0666 & !umask` for a new file, the replaced file's
//! mode and owner otherwise), flushed to disk and checked; only when all are staged are they
//! renamed over their targets. A rename that fails puts back the files already replaced (each
//! existing target is hard-linked aside first, where the filesystem has hard links), so an
//! error leaves every target as it was.
//! The one window left is a crash (power loss, `SIGKILL`) between two renames, which leaves
//! some targets new and the others old, each file whole.
//!
//! Each directory written into is locked (`flock` on [`LOCK_FILE`] there, removed again on
//! release) for the whole write: a second run writing the same directory waits for the first.
//! Temporary files (`.imagebom-*.tmp`) are removed on every error and on unwinding; those a
//! killed run left behind are removed by the next run that locks the directory.
//!
//! A symlinked target is written through: its final target is replaced atomically and the
//! link stays. A target that is not a regular file (`/dev/stdout`, `/dev/null`, a FIFO, a
//! terminal), or that is reached through `/proc` (`/dev/stdout` → `/proc/self/fd/1`), is
//! written directly after the renames and never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The lock file an [`OutputSet`] holds in each directory it writes into.
pub const LOCK_FILE: &str = ".imagebom-output.lock";

const TMP_PREFIX: &str = ".imagebom-";
const TMP_SUFFIX: &str = ".tmp";

/// Reads at most `limit` bytes of `path`: `Ok(None)` when the file is larger (or endless,
/// like a device), so callers can name the limit instead of exhausting memory.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    read_limited_from(File::open(path)?, limit)
}

/// [`read_limited`] for any reader (stdin, a pipe).
pub fn read_limited_from(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

/// Like [`write_atomic`] without the flush to disk, the lock or the mode of an output: readers
/// never see a partial file, but a crash may lose it. For caches, which are rebuilt on demand.
pub fn write_replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_of(path);
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes one file as an [`OutputSet`] of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut set = OutputSet::new();
    set.add(path, bytes.to_vec());
    set.commit()
        .map(|_| ())
        .map_err(|e| io::Error::new(e.source.kind(), format!("{e}: {}", e.source)))
}

/// Why an [`OutputSet`] was not written; no target was changed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct OutputError {
    /// The output file (as given) or the directory.
    pub path: PathBuf,
    /// What could not be done.
    pub what: &'static str,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Told the directory whose lock another run holds.
type OnWait = Box<dyn Fn(&Path)>;

/// Files written together: all of them, or (on an error) none. See the module documentation.
#[derive(Default)]
pub struct OutputSet {
    files: Vec<(PathBuf, Vec<u8>)>,
    on_wait: Option<OnWait>,
}

/// Where one output goes.
enum Target {
    /// A regular file (or none yet) replaced by rename; the real path behind any symlinks.
    Replace(PathBuf),
    /// A device, FIFO or `/proc` link: opened and written.
    Direct(PathBuf),
}

/// A staged file: its temporary file, and the hard link keeping the file it replaces.
struct Staged {
    given: PathBuf,
    target: PathBuf,
    tmp: Option<tempfile::TempPath>,
    /// Whether `target` existed; if so, `backup` holds it unless it could not be linked.
    existed: bool,
    backup: Option<tempfile::TempPath>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> OutputSet {
        OutputSet::default()
    }

    /// Called with the directory when another run holds its lock, before waiting for it.
    pub fn on_wait(mut self, f: impl Fn(&Path) + 'static) -> OutputSet {
        self.on_wait = Some(Box::new(f));
        self
    }

    /// Adds a file; nothing is written before [`OutputSet::commit`].
    pub fn add(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) {
        self.files.push((path.into(), bytes.into()));
    }

    /// Writes every file; returns the paths written (as given).
    pub fn commit(self) -> Result<Vec<PathBuf>, OutputError> {
        self.commit_with(|| {})
    }

    fn commit_with(self, before_renames: impl FnOnce()) -> Result<Vec<PathBuf>, OutputError> {
        let mut replace = Vec::new();
        let mut direct = Vec::new();
        for (given, bytes) in &self.files {
            match target_of(given).map_err(|e| err(given, "cannot write", e))? {
                Target::Replace(t) => replace.push((given, t, bytes)),
                Target::Direct(t) => direct.push((given, t, bytes)),
            }
        }
        let mut dirs = Vec::with_capacity(replace.len());
        for (_, t, _) in &replace {
            let d = parent_of(t);
            fs::create_dir_all(d)
                .and_then(|_| fs::canonicalize(d))
                .map(|c| dirs.push((c, d.to_path_buf())))
                .map_err(|e| err(d, "cannot create the directory", e))?;
        }
        // One lock per directory however it is spelled (a second would wait for the first),
        // taken in path order, so two runs never wait for each other in a cycle.
        dirs.sort();
        dirs.dedup_by(|a, b| a.0 == b.0);
        let mut locks = Vec::with_capacity(dirs.len());
        for (real, spelled) in &dirs {
            let on_wait = self.on_wait.as_deref();
            let tell = || {
                if let Some(f) = on_wait {
                    f(spelled);
                }
            };
            locks.push(DirLock::acquire(real, tell)?);
        }
        let mut staged = Vec::with_capacity(replace.len());
        for (given, target, bytes) in replace {
            staged.push(stage(given, &target, bytes)?);
        }
        before_renames();
        rename_all(&mut staged)?;
        for (d, _) in &dirs {
            // Best effort: makes the renames durable where the filesystem supports it.
            let _ = File::open(d).and_then(|f| f.sync_all());
        }
        for (given, target, bytes) in direct {
            write_direct(&target, bytes).map_err(|e| err(given, "cannot write", e))?;
        }
        drop(locks);
        Ok(self.files.into_iter().map(|(p, _)| p).collect())
    }
}

fn err(path: &Path, what: &'static str, source: io::Error) -> OutputError {
    OutputError {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Follows symlinks from `path` to the file to replace or write.
fn target_of(path: &Path) -> io::Result<Target> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        if p.starts_with("/proc") {
            return Ok(Target::Direct(path.to_path_buf()));
        }
        let meta = match fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(p)),
            other => other?,
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = fs::read_link(&p)?;
            p = parent_of(&p).join(link);
        } else if kind.is_file() {
            return Ok(Target::Replace(p));
        } else if kind.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        } else {
            return Ok(Target::Direct(p));
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` to a temporary file beside `target`, flushed and checked, and keeps the
/// file `target` holds now under a hard link.
fn stage(given: &Path, target: &Path, bytes: &[u8]) -> Result<Staged, OutputError> {
    let dir = parent_of(target);
    let old = fs::metadata(target).ok();
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix(TMP_PREFIX).suffix(TMP_SUFFIX);
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        b
    };
    let fail = |e| err(given, "cannot write", e);
    let mut tmp = builder.tempfile_in(dir).map_err(fail)?;
    if let Some(old) = &old {
        keep_mode_and_owner(tmp.as_file(), old).map_err(fail)?;
    }
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    let len = tmp.as_file().metadata().map_err(fail)?.len();
    if len != bytes.len() as u64 {
        return Err(fail(io::Error::other(format!(
            "staged {len} of {} bytes",
            bytes.len()
        ))));
    }
    let backup = match old {
        Some(_) => hard_link_aside(target).ok(),
        None => None,
    };
    Ok(Staged {
        given: given.to_path_buf(),
        target: target.to_path_buf(),
        tmp: Some(tmp.into_temp_path()),
        existed: old.is_some(),
        backup,
    })
}

/// A hard link to `target` under a temporary name beside it (removed when dropped).
fn hard_link_aside(target: &Path) -> io::Result<tempfile::TempPath> {
    tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .make_in(parent_of(target), |p| fs::hard_link(target, p))
        .map(|f| f.into_temp_path())
}

/// Gives the staged file the mode of the file it replaces, and its owner when it can.
#[cfg(unix)]
fn keep_mode_and_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let now = file.metadata()?;
    if (now.uid(), now.gid()) != (old.uid(), old.gid()) {
        // Only root (or the owner, for the group) may; otherwise the file is the runner's.
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    }
    file.set_permissions(old.permissions())
}

#[cfg(not(unix))]
fn keep_mode_and_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}

/// Renames every staged file over its target; on a failure, puts the replaced ones back.
fn rename_all(staged: &mut [Staged]) -> Result<(), OutputError> {
    for i in 0..staged.len() {
        let s = &mut staged[i];
        let tmp = s.tmp.take().expect("staged once");
        if let Err(e) = tmp.persist(&s.target) {
            let error = err(&s.given, "cannot write", e.error);
            for done in staged[..i].iter_mut().rev() {
                match (done.backup.take(), done.existed) {
                    (Some(b), _) => {
                        let _ = b.persist(&done.target);
                    }
                    (None, false) => {
                        let _ = fs::remove_file(&done.target);
                    }
                    // Could not be linked aside (no hard links here): stays new.
                    (None, true) => {}
                }
            }
            return Err(error);
        }
    }
    Ok(())
}

/// Writes a device, FIFO or `/proc` link in place (appending, as a shell's `>>` would not
/// clobber what the caller's redirection already holds).
fn write_direct(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().append(true).open(path)?;
    match f.write_all(bytes).and_then(|_| f.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// An exclusive `flock` on a directory's [`LOCK_FILE`]; the file is removed on release.
struct DirLock {
    path: PathBuf,
    file: Option<File>,
}

impl DirLock {
    /// Locks `dir`; `on_wait` is called once if another run holds it.
    fn acquire(dir: &Path, on_wait: impl Fn()) -> Result<DirLock, OutputError> {
        let path = dir.join(LOCK_FILE);
        let fail = |e| err(&path, "cannot lock the output directory", e);
        let mut told = false;
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(fail)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    if !told {
                        on_wait();
                        told = true;
                    }
                    file.lock().map_err(fail)?;
                }
                // No locking on this filesystem: write unlocked, as before.
                Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                    return Ok(DirLock { path, file: None });
                }
                Err(fs::TryLockError::Error(e)) => return Err(fail(e)),
            }
            // The holder removes the file before unlocking: retry unless ours is still there.
            if same_file(&file, &path) {
                sweep(dir);
                return Ok(DirLock {
                    path,
                    file: Some(file),
                });
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some(f) = self.file.take() {
            let _ = fs::remove_file(&self.path);
            drop(f);
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Removes the temporary files a killed run left in `dir` (only called under its lock).
fn sweep(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out/a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(names(p.parent().unwrap()), ["a.json"]);
    }

    #[test]
    fn a_failed_rename_puts_back_the_files_already_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, "old a").unwrap();
        let mut set = OutputSet::new();
        set.add(&a, "new a");
        set.add(&b, "new b");
        set.add(&c, "new c");
        // The third target becomes a directory after staging: its rename fails.
        let e = set.commit_with(|| fs::create_dir(&c).unwrap()).unwrap_err();
        assert_eq!(e.path, c);
        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert!(!b.exists());
        assert_eq!(names(dir.path()), ["a", "c"]);
    }

    #[test]
    fn one_directory_spelled_two_ways_is_locked_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::new();
        set.add(dir.path().join("a"), "a");
        set.add(dir.path().join("sub/../b"), "b");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        set.commit().unwrap();
        assert_eq!(names(dir.path()), ["a", "b", "sub"]);
    }

    #[test]
    fn stale_temp_files_are_swept_under_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(".imagebom-XXXX.tmp"),
            "left by a killed run",
        )
        .unwrap();
        write_atomic(&dir.path().join("a"), b"a").unwrap();
        assert_eq!(names(dir.path()), ["a"]);
    }

    #[test]
    fn read_limited_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_limited(&p, 5).unwrap().as_deref(), Some(&b"12345"[..]));
        assert_eq!(read_limited(&p, 4).unwrap(), None);
        // An endless file is cut off, not read to exhaustion.
        assert_eq!(read_limited(Path::new("/dev/zero"), 1 << 20).unwrap(), None);
    }
}
