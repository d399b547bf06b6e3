//! Output files that are never half-written, mixed or clobbered.
//!
//! - A regular file (or a new path) is written to a unique temporary file in the same folder
//!   and renamed over the destination only when everything was written ([`Sink::commit`]); on
//!   any error, or when the sink is dropped uncommitted, the temporary file is removed. Two runs
//!   writing the same destination never share a temporary file.
//! - A symlink is followed: its target is what gets replaced (the link stays a link).
//! - A destination that is not a regular file (a device such as `/dev/null`, a FIFO) is opened
//!   and written in place: renaming over it would replace the device with a file.
//! - An existing regular file that is not writable is refused, as `>` in a shell would.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Temporary output files of this process, removed by the SIGINT/SIGTERM handler.
static PENDING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Installs the handler that removes pending temporary outputs on SIGINT/SIGTERM, then exits
/// with 130 (as a shell reports an interrupted command).
pub fn remove_partial_files_on_signal() {
    let _ = ctrlc::set_handler(|| {
        if let Ok(pending) = PENDING.lock() {
            for p in pending.iter() {
                let _ = std::fs::remove_file(p);
            }
        }
        // _exit: no atexit handlers, which would tear down libtorch under its running threads.
        // SAFETY: _exit only ends the process.
        unsafe { libc::_exit(130) }
    });
}

fn pending(path: &Path, add: bool) {
    if let Ok(mut v) = PENDING.lock() {
        if add {
            v.push(path.to_path_buf());
        } else {
            v.retain(|p| p != path);
        }
    }
}

/// Where a command writes.
pub enum Sink {
    /// Standard output.
    Stdout(BufWriter<std::io::Stdout>),
    /// A temporary file renamed onto `dest` on commit.
    Atomic {
        file: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
    /// A device, FIFO or other non-regular file, written in place.
    InPlace(BufWriter<File>),
}

impl Sink {
    /// Opens `path` (standard output when `None`) as described in the module docs.
    pub fn open(path: Option<&Path>) -> Result<Sink> {
        let Some(path) = path else {
            return Ok(Sink::Stdout(BufWriter::new(std::io::stdout())));
        };
        let dest = resolve_links(path)?;
        match std::fs::metadata(&dest) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&dest)
                    .with_context(|| format!("cannot open {} for writing", path.display()))?;
                return Ok(Sink::InPlace(BufWriter::new(f)));
            }
            Ok(meta) if meta.is_dir() => {
                anyhow::bail!("{} is a directory: give a file name", path.display())
            }
            Ok(meta) if meta.permissions().readonly() => anyhow::bail!(
                "{} is read-only: make it writable or choose another output file",
                path.display()
            ),
            _ => {}
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        pending(tmp.path(), true);
        Ok(Sink::Atomic {
            file: BufWriter::new(tmp),
            dest,
        })
    }

    /// Flushes and, for a file, moves it into place. Without this call nothing replaces the
    /// destination.
    pub fn commit(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => w.flush().context("cannot write output"),
            Sink::InPlace(mut w) => w.flush().context("cannot write output"),
            Sink::Atomic { file, dest } => {
                let tmp = file
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                pending(tmp.path(), false);
                tmp.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                tmp.persist(&dest)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot move the output into {}", dest.display()))?;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::Atomic { file, .. } => file.write(buf),
            Sink::InPlace(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::Atomic { file, .. } => file.flush(),
            Sink::InPlace(w) => w.flush(),
        }
    }
}

/// Follows symlinks (also dangling ones, whose target will be created) to the path to write.
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)
                    .with_context(|| format!("cannot read the link {}", p.display()))?;
                p = match p.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(p),
        }
    }
    anyhow::bail!("{}: too many levels of symbolic links", path.display())
}

/// Writes `bytes` to `path` through a [`Sink`] (all or nothing).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut sink = Sink::open(Some(path))?;
    sink.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    sink.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_sink_leaves_nothing_behind_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        std::fs::write(&dest, "old\n").unwrap();
        let mut sink = Sink::open(Some(&dest)).unwrap();
        sink.write_all(b"half a li").unwrap();
        drop(sink);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn two_sinks_on_one_destination_never_mix() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.out");
        let mut a = Sink::open(Some(&dest)).unwrap();
        let mut b = Sink::open(Some(&dest)).unwrap();
        a.write_all(b"{\"json\":1}\n").unwrap();
        b.write_all(b"csv,row\n").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "csv,row\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        write_file(Path::new("/dev/null"), b"x").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file());
    }
}
