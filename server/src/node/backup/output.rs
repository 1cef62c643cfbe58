//! Writing the backup file where the admin asked, safely even in a folder others can
//! write to: the file is built under a new random name created exclusively (never
//! following a link someone left there), with mode 0600, and renamed into place with its
//! `.sha256` only once complete. Two backups to one path cannot interleave their file and
//! checksum: the final renames hold a lock on the folder.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::BackupError;

/// A backup file being written; removed unless [`Output::finish`] succeeds.
pub(super) struct Output {
    out: PathBuf,
    dir: PathBuf,
    name: String,
    temp: PathBuf,
    finished: bool,
}

fn err(out: &Path, source: std::io::Error) -> BackupError {
    BackupError::Output {
        path: out.to_owned(),
        source,
    }
}

/// A new private file in `dir` named from `name`. Not hidden: a partial file left by a
/// killed backup holds the node key, and the nightly rotation (`find -name
/// 'kindred-*.kbak*'`) must see it to remove it.
fn create_new(dir: &Path, name: &str, suffix: &str) -> std::io::Result<(PathBuf, File)> {
    super::create_private(dir, &format!("{name}."), suffix)
}

impl Output {
    /// Starts writing a backup meant for `out`.
    ///
    /// Errors: [`BackupError::Output`] when `out` is `-`, an existing folder, device or
    /// link, or its folder cannot be written.
    pub(super) fn create(out: &Path) -> Result<(Self, File), BackupError> {
        let refuse = |why: &str| err(out, std::io::Error::other(why.to_owned()));
        if out.as_os_str() == "-" {
            return Err(refuse(
                "writing a backup to standard output is not supported; give a file name",
            ));
        }
        if let Ok(meta) = std::fs::symlink_metadata(out)
            && !meta.file_type().is_file()
        {
            return Err(refuse(
                "it exists and is not a regular file (a folder, device or link); give a new file name",
            ));
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| refuse("it names a folder; give a file name"))?;
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let (temp, file) = create_new(&dir, &name, ".partial").map_err(|e| err(out, e))?;
        Ok((
            Self {
                out: out.to_owned(),
                dir,
                name,
                temp,
                finished: false,
            },
            file,
        ))
    }

    /// Puts the complete, checked file in place with `<out>.sha256` (in `sha256sum`'s
    /// format) beside it. Nothing is replaced if the checksum file cannot be written.
    pub(super) fn finish(mut self, file_sha256: &str) -> Result<(), BackupError> {
        use std::io::Write;
        let out = self.out.clone();
        let (sidecar_temp, mut sidecar) =
            create_new(&self.dir, &self.name, ".sha256.partial").map_err(|e| err(&out, e))?;
        let written = sidecar
            .write_all(format!("{file_sha256}  {}\n", self.name).as_bytes())
            .and_then(|()| sidecar.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&sidecar_temp);
            return Err(err(&out, e));
        }
        let renamed = (|| {
            let dir = File::open(&self.dir)?;
            // Held until `dir` is dropped: the two renames go together.
            rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)?;
            // The checksum first: if it cannot be put in place (someone else's file in a
            // sticky folder), the backup is not replaced either.
            let sidecar = super::sha256_sidecar(&self.out);
            std::fs::rename(&sidecar_temp, &sidecar)?;
            if let Err(e) = std::fs::rename(&self.temp, &self.out) {
                let _ = std::fs::remove_file(&sidecar);
                return Err(e);
            }
            dir.sync_all()
        })();
        if let Err(e) = renamed {
            let _ = std::fs::remove_file(&sidecar_temp);
            return Err(err(&out, e));
        }
        self.finished = true;
        Ok(())
    }

    /// The file being written (to read it back).
    pub(super) fn path(&self) -> &Path {
        &self.temp
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.finished {
            // An incomplete backup holds the node's key: never leave it behind.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
