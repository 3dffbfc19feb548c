//! The compiled-code cache. A cached artifact is native code that runs outside the sandbox, so
//! one is loaded only from where nobody but this user (or root) could have put it, and written so
//! that nothing planted in the directory can redirect the write. Whatever fails these rules costs
//! start-up time (the component is compiled in memory), never the run.

use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the trust rule looks at: the kind of entry, its owner and its permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub kind: Kind,
    pub uid: u32,
    pub mode: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
    Symlink,
    Other,
}

impl Facts {
    /// Facts as `lstat`/`fstat` report them (a symlink is itself, not its target).
    pub fn of(metadata: &Metadata) -> Facts {
        let file_type = metadata.file_type();
        let kind = if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Directory
        } else if file_type.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Facts {
            kind,
            uid: metadata.uid(),
            mode: metadata.mode(),
        }
    }
}

/// Whether an entry may hold (`Directory`) or be (`File`) code this process runs: the expected
/// kind, owned by `me` or root, and writable by no one else. `Err` says what is wrong and what to
/// do about it.
pub fn may_hold_code(facts: Facts, expected: Kind, me: u32) -> Result<(), String> {
    if facts.kind != expected {
        let found = match facts.kind {
            Kind::Symlink => "a symbolic link",
            Kind::Directory => "a directory",
            Kind::File => "a regular file",
            Kind::Other => "a special file",
        };
        return Err(format!(
            "it is {found}; give the real path of a {}",
            match expected {
                Kind::Directory => "directory",
                _ => "regular file",
            }
        ));
    }
    if facts.uid != me && facts.uid != 0 {
        return Err(format!(
            "it is owned by uid {}, not by this user (uid {me}) or root; anyone who can write there could run code as this job",
            facts.uid
        ));
    }
    if facts.mode & 0o022 != 0 {
        return Err(format!(
            "it is writable by {} (mode {:o}); run chmod go-w on it",
            if facts.mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            facts.mode & 0o7777
        ));
    }
    Ok(())
}

/// A cache directory. Nothing is read from or written to it before it passed [`may_hold_code`].
pub struct CodeCache<'a> {
    dir: &'a Path,
    me: u32,
}

impl<'a> CodeCache<'a> {
    pub fn new(dir: &'a Path) -> CodeCache<'a> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        CodeCache { dir, me }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The artifact stored under `name`; `Ok(None)` on a miss. `Err` when the directory or the
    /// file cannot be trusted, or cannot be read.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match std::fs::symlink_metadata(self.dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot inspect the directory: {e}")),
            Ok(metadata) => self.trust_dir(&metadata)?,
        }
        let path = self.path(name);
        // Non-blocking: opening a FIFO planted at the path would otherwise wait for a writer
        // forever; the check below then refuses anything but a regular file.
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(format!(
                    "{} is a symbolic link; cached code is never read through one (remove it)",
                    path.display()
                ));
            }
            Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
        };
        // Checked on the open file, so a swap after the check cannot change what is read.
        let metadata = file
            .metadata()
            .map_err(|e| format!("cannot inspect {}: {e}", path.display()))?;
        may_hold_code(Facts::of(&metadata), Kind::File, self.me)
            .map_err(|why| format!("{} cannot be trusted: {why}", path.display()))?;
        let mut artifact = Vec::with_capacity(metadata.len() as usize);
        file.read_to_end(&mut artifact)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Some(artifact))
    }

    /// Stores `artifact` under `name`: a new file only this user can read (never one that already
    /// exists, never through a symbolic link), flushed to disk, then renamed into place so a
    /// concurrent run sees either nothing or the whole file.
    pub fn write(&self, name: &str, artifact: &[u8]) -> Result<(), String> {
        match std::fs::symlink_metadata(self.dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(self.dir)
                .map_err(|e| format!("cannot create the directory: {e}"))?,
            Err(e) => return Err(format!("cannot inspect the directory: {e}")),
            Ok(metadata) => self.trust_dir(&metadata)?,
        }
        // Hard to guess, though create-new is what keeps a planted entry from redirecting it.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let partial = self.path(&format!("{name}.partial-{}-{nanos:09}", std::process::id()));
        self.write_through(&partial, name, artifact)
    }

    fn write_through(&self, partial: &Path, name: &str, artifact: &[u8]) -> Result<(), String> {
        let stored = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(partial)
            .and_then(|mut file| {
                file.write_all(artifact)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(partial, self.path(name)));
        if let Err(e) = stored {
            // Only a file this call created is removed; a planted entry is left for a person.
            if e.kind() != ErrorKind::AlreadyExists {
                let _ = std::fs::remove_file(partial);
            }
            return Err(format!("cannot store {}: {e}", partial.display()));
        }
        // The rename is durable only once the directory itself is flushed.
        if let Ok(dir) = File::open(self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn trust_dir(&self, metadata: &Metadata) -> Result<(), String> {
        may_hold_code(Facts::of(metadata), Kind::Directory, self.me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ME: u32 = 1000;

    fn facts(kind: Kind, uid: u32, mode: u32) -> Facts {
        Facts { kind, uid, mode }
    }

    #[test]
    fn code_is_trusted_only_from_this_user_or_root_and_never_shared_writes() {
        for (entry, expected) in [
            (facts(Kind::Directory, ME, 0o40700), Kind::Directory),
            (facts(Kind::Directory, 0, 0o40755), Kind::Directory),
            (facts(Kind::File, ME, 0o100600), Kind::File),
            (facts(Kind::File, 0, 0o100644), Kind::File),
        ] {
            assert_eq!(may_hold_code(entry, expected, ME), Ok(()), "{entry:?}");
        }
        let refused =
            |entry: Facts, expected: Kind| may_hold_code(entry, expected, ME).unwrap_err();
        assert!(
            refused(facts(Kind::Directory, 1001, 0o40700), Kind::Directory)
                .contains("owned by uid 1001")
        );
        assert!(
            refused(facts(Kind::Directory, ME, 0o40775), Kind::Directory).contains("its group")
        );
        assert!(refused(facts(Kind::Directory, 0, 0o41777), Kind::Directory).contains("everyone"));
        assert!(refused(facts(Kind::File, ME, 0o100666), Kind::File).contains("chmod go-w"));
        assert!(refused(facts(Kind::Symlink, ME, 0o120777), Kind::File).contains("symbolic link"));
        assert!(refused(facts(Kind::File, ME, 0o100600), Kind::Directory).contains("regular file"));
        assert!(refused(facts(Kind::Other, ME, 0o10600), Kind::File).contains("special file"));
    }

    fn scratch(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tenant-sync-cache-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_stored_artifact_is_private_and_reads_back() {
        let dir = scratch("roundtrip").join("nested");
        let cache = CodeCache::new(&dir);
        assert_eq!(cache.read("a.cwasm"), Ok(None), "a miss, not an error");
        cache.write("a.cwasm", b"artifact").unwrap();
        assert_eq!(cache.read("a.cwasm"), Ok(Some(b"artifact".to_vec())));
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&cache.path("a.cwasm")), 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no partial file left"
        );
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_fifo_at_the_artifact_path_is_refused_without_waiting_for_a_writer() {
        let dir = scratch("fifo");
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("artifact");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a directory entry.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let reading = dir.clone();
        std::thread::spawn(move || {
            let _ = tx.send(CodeCache::new(&reading).read("artifact"));
        });
        let read = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("reading the cache waited on a FIFO");
        let why = read.unwrap_err();
        assert!(why.contains("a special file"), "{why}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_symbolic_link_is_never_followed_to_read_or_to_write() {
        let dir = scratch("symlink");
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let cache = CodeCache::new(&dir);
        std::os::unix::fs::symlink(&victim, cache.path("a.cwasm")).unwrap();
        let error = cache.read("a.cwasm").unwrap_err();
        assert!(error.contains("symbolic link"), "{error}");
        std::fs::remove_file(cache.path("a.cwasm")).unwrap();
        // A link planted at the temporary name: the write fails and the target is untouched.
        let partial = cache.path("a.cwasm.partial");
        std::os::unix::fs::symlink(&victim, &partial).unwrap();
        let error = cache
            .write_through(&partial, "a.cwasm", b"artifact")
            .unwrap_err();
        assert!(error.contains("cannot store"), "{error}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!cache.path("a.cwasm").exists());
        assert!(
            partial.symlink_metadata().is_ok(),
            "the planted link is left for a person"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_neither_read_nor_written() {
        let dir = scratch("shared");
        let cache = CodeCache::new(&dir);
        cache.write("a.cwasm", b"artifact").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            cache
                .read("a.cwasm")
                .unwrap_err()
                .contains("writable by everyone")
        );
        assert!(
            cache
                .write("b.cwasm", b"artifact")
                .unwrap_err()
                .contains("writable by everyone")
        );
        assert!(!cache.path("b.cwasm").exists());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            cache.path("a.cwasm"),
            std::fs::Permissions::from_mode(0o620),
        )
        .unwrap();
        assert!(cache.read("a.cwasm").unwrap_err().contains("its group"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
