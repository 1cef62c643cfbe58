//! The backup file: what is in it and in what order. No I/O of its own beyond the
//! reader and writer it is given.
//!
//! ```text
//! "KINDRED BACKUP\n"  magic (15 bytes)
//! u32 header length, header (JSON, [`Header`])
//! u32 key length, the node key file's contents
//! then, for each tree:  'T' u16 name length, name
//!                        'R' u32 key length, key, u32 value length, value   (repeated)
//! 'E' then the SHA-256 of every byte before the 'E' (32 bytes)
//! ```
//! A node that fails while writing sends `'X' u32 length, message` instead of `'E'`.
//! Integers are big-endian. Nothing follows the checksum.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The file's first bytes.
pub(crate) const MAGIC: &[u8; 15] = b"KINDRED BACKUP\n";

/// The largest header, key, tree name, record key or value a reader accepts (bytes):
/// sled keeps values far smaller; a bigger length means a damaged file.
const MAX_PART: u32 = 64 * 1024 * 1024;

/// What the backup is of, first in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Format version; 1.
    pub format: u32,
    /// The node's federation name.
    pub node_name: String,
    /// The node's public key (its id).
    pub node_id: String,
    /// The database schema version the records are in.
    pub schema_version: u32,
    /// When the snapshot was taken (milliseconds since the Unix epoch).
    pub created_at_ms: i64,
    /// The Kindred version that wrote it.
    pub kindred_version: String,
    /// About how many records follow (for progress only).
    pub records_estimate: u64,
}

/// Why a backup file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading failed.
    #[error("cannot read the backup")]
    Io(#[from] io::Error),
    /// Not a Kindred backup at all.
    #[error("this is not a Kindred backup file")]
    NotABackup,
    /// The file ends before its checksum: cut short while copying, or a backup that failed.
    #[error("the backup is damaged or incomplete (it ends before its checksum); use another one")]
    Truncated,
    /// The bytes do not match the checksum.
    #[error("the backup is damaged (its checksum does not match); use another one")]
    Damaged,
    /// A part of the file does not make sense.
    #[error("the backup is damaged ({0}); use another one")]
    Malformed(&'static str),
    /// The node writing it reported a failure part-way.
    #[error("the node could not finish the backup: {0}")]
    Failed(String),
}

/// Writes a backup, hashing every byte.
pub(crate) struct BackupWriter<W: Write> {
    out: W,
    hash: Sha256,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup: magic, header, key.
    pub(crate) fn start(out: W, header: &Header, key: &[u8]) -> io::Result<Self> {
        let mut w = Self {
            out,
            hash: Sha256::new(),
        };
        w.put(MAGIC)?;
        let json = serde_json::to_vec(header).map_err(io::Error::other)?;
        w.put_part(&json)?;
        w.put_part(key)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    fn put_part(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        self.put(&len.to_be_bytes())?;
        self.put(bytes)
    }

    /// Starts a tree's records.
    pub(crate) fn tree(&mut self, name: &str) -> io::Result<()> {
        let len = u16::try_from(name.len()).map_err(io::Error::other)?;
        self.put(b"T")?;
        self.put(&len.to_be_bytes())?;
        self.put(name.as_bytes())
    }

    /// One record of the current tree.
    pub(crate) fn record(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.put(b"R")?;
        self.put_part(key)?;
        self.put_part(value)
    }

    /// Ends the backup with its checksum; returns the checksum and the writer.
    pub(crate) fn finish(mut self) -> io::Result<([u8; 32], W)> {
        self.put(b"E")?;
        let sum: [u8; 32] = self.hash.clone().finalize().into();
        // The checksum covers everything before it, the 'E' included.
        self.out.write_all(&sum)?;
        self.out.flush()?;
        Ok((sum, self.out))
    }

    /// Ends the backup with a failure message instead of a checksum (so a reader says
    /// why, rather than only "incomplete").
    pub(crate) fn fail(mut self, message: &str) -> io::Result<()> {
        self.out.write_all(b"X")?;
        let bytes = message.as_bytes();
        let len = u32::try_from(bytes.len()).unwrap_or(0);
        self.out.write_all(&len.to_be_bytes())?;
        self.out
            .write_all(bytes.get(..len as usize).unwrap_or_default())?;
        self.out.flush()
    }
}

/// What comes next in a backup.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// The following records belong to this tree.
    Tree(String),
    /// A key and value.
    Record(Vec<u8>, Vec<u8>),
    /// The end; the checksum matched. Holds the checksum.
    End([u8; 32]),
}

/// Reads a backup, checking its checksum at the end.
pub(crate) struct BackupReader<R: Read> {
    input: R,
    hash: Sha256,
    /// Bytes read so far (for progress).
    pub(crate) bytes: u64,
    /// The header.
    pub(crate) header: Header,
    /// The node key file's contents.
    pub(crate) key: Vec<u8>,
    done: bool,
}

impl<R: Read> BackupReader<R> {
    /// Reads the magic, header and key.
    pub(crate) fn open(input: R) -> Result<Self, FormatError> {
        let mut r = Self {
            input,
            hash: Sha256::new(),
            bytes: 0,
            header: Header {
                format: 0,
                node_name: String::new(),
                node_id: String::new(),
                schema_version: 0,
                created_at_ms: 0,
                kindred_version: String::new(),
                records_estimate: 0,
            },
            key: Vec::new(),
            done: false,
        };
        let mut magic = [0u8; 15];
        match r.take(&mut magic) {
            Ok(()) if &magic == MAGIC => {}
            Ok(()) | Err(FormatError::Truncated) => return Err(FormatError::NotABackup),
            Err(e) => return Err(e),
        }
        let json = r.part()?;
        r.header = serde_json::from_slice(&json).map_err(|_| FormatError::Malformed("header"))?;
        if r.header.format != 1 {
            return Err(FormatError::Malformed("written by a newer Kindred"));
        }
        r.key = r.part()?;
        Ok(r)
    }

    fn take(&mut self, buf: &mut [u8]) -> Result<(), FormatError> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => FormatError::Truncated,
            _ => FormatError::Io(e),
        })?;
        self.hash.update(&buf[..]);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn part(&mut self) -> Result<Vec<u8>, FormatError> {
        let len = self.u32()?;
        if len > MAX_PART {
            return Err(FormatError::Malformed("a length is too large"));
        }
        let mut v = vec![0u8; len as usize];
        self.take(&mut v)?;
        Ok(v)
    }

    /// The underlying reader.
    pub(crate) fn into_inner(self) -> R {
        self.input
    }

    /// The next part. After [`Part::End`] there is nothing more to read.
    pub(crate) fn next_part(&mut self) -> Result<Part, FormatError> {
        if self.done {
            return Err(FormatError::Malformed("read past the end"));
        }
        let mut tag = [0u8; 1];
        self.take(&mut tag)?;
        match tag[0] {
            b'T' => {
                let mut len = [0u8; 2];
                self.take(&mut len)?;
                let mut name = vec![0u8; u16::from_be_bytes(len) as usize];
                self.take(&mut name)?;
                String::from_utf8(name)
                    .map(Part::Tree)
                    .map_err(|_| FormatError::Malformed("a tree name"))
            }
            b'R' => {
                let k = self.part()?;
                let v = self.part()?;
                Ok(Part::Record(k, v))
            }
            b'E' => {
                let expected: [u8; 32] = self.hash.clone().finalize().into();
                let mut sum = [0u8; 32];
                self.input
                    .read_exact(&mut sum)
                    .map_err(|e| match e.kind() {
                        io::ErrorKind::UnexpectedEof => FormatError::Truncated,
                        _ => FormatError::Io(e),
                    })?;
                self.bytes += 32;
                if sum != expected {
                    return Err(FormatError::Damaged);
                }
                // Anything after the checksum means the file was tampered with or joined.
                let mut extra = [0u8; 1];
                if self.input.read(&mut extra)? != 0 {
                    return Err(FormatError::Malformed("bytes after the checksum"));
                }
                self.done = true;
                Ok(Part::End(sum))
            }
            b'X' => {
                let len = self.u32()?.min(4096);
                let mut msg = vec![0u8; len as usize];
                self.take(&mut msg)?;
                Err(FormatError::Failed(
                    String::from_utf8_lossy(&msg).into_owned(),
                ))
            }
            _ => Err(FormatError::Damaged),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: 1,
            node_name: "a.test".into(),
            node_id: "id".into(),
            schema_version: 8,
            created_at_ms: 1,
            kindred_version: "0".into(),
            records_estimate: 2,
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = BackupWriter::start(Vec::new(), &header(), b"seed").unwrap();
        w.tree("members").unwrap();
        w.record(b"ann", b"{}").unwrap();
        w.record(b"bob", b"").unwrap();
        w.tree("peers").unwrap();
        w.finish().unwrap().1
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Part>, FormatError> {
        let mut r = BackupReader::open(bytes)?;
        let mut parts = Vec::new();
        loop {
            let p = r.next_part()?;
            let end = matches!(p, Part::End(_));
            parts.push(p);
            if end {
                return Ok(parts);
            }
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        let bytes = sample();
        assert_eq!(BackupReader::open(&bytes[..]).unwrap().key, b"seed");
        let parts = read_all(&bytes).unwrap();
        assert_eq!(parts[0], Part::Tree("members".into()));
        assert_eq!(parts[1], Part::Record(b"ann".to_vec(), b"{}".to_vec()));
        assert_eq!(parts[2], Part::Record(b"bob".to_vec(), vec![]));
        assert_eq!(parts[3], Part::Tree("peers".into()));
        assert!(matches!(parts[4], Part::End(_)));
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_caught() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(read_all(&good[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            assert!(read_all(&bad).is_err(), "flip at {at}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(read_all(&longer).is_err());
    }

    #[test]
    fn a_failure_part_way_is_reported_as_such() {
        let mut out = Vec::new();
        let mut w = BackupWriter::start(&mut out, &header(), b"seed").unwrap();
        w.tree("members").unwrap();
        w.fail("disk full").unwrap();
        match read_all(&out) {
            Err(FormatError::Failed(m)) => assert_eq!(m, "disk full"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_files_are_not_backups() {
        assert!(matches!(read_all(b"hello"), Err(FormatError::NotABackup)));
        assert!(matches!(read_all(b""), Err(FormatError::NotABackup)));
    }
}
