//! Idempotency keys (the IETF httpapi `Idempotency-Key` header draft): the first request
//! with a key is noted as under way (in memory), then its response is recorded; a retry
//! with the same key gets the recorded response instead of doing the write again.
//!
//! Keys: `scope (32) ‖ key`, the scope being a hash of the caller's credential, so two
//! members' keys never meet. Values (answers only): `at (8) ‖ fingerprint (32) ‖
//! status (2) ‖ body`; when the status has its top bit ([`DEFLATED`]) set, the body is
//! raw DEFLATE (RFC 1951): an answer is mostly JSON text and shrinks to about a third,
//! and an hour of answers is a large share of a busy node's new data.
//!
//! A "written" record says that a request stored events: `scope ‖ key ‖ 0x00` → `at ‖
//! fingerprint ‖ 0 (2)`. The ingest writes it in the same transaction as each of the
//! request's events, so it survives whatever cuts the request short before its answer is
//! written (`node::write_key`). A key's bytes are visible ASCII, so no answer's key has
//! the zero byte.

use super::{Store, StoreError};

/// How long a recorded response is replayed (ms): an hour, long past any automatic retry
/// or reload (the draft leaves the time to the server).
pub(crate) const KEEP_MS: u64 = 60 * 60 * 1000;

/// A request under way for longer than this (ms) was cut short (a crash): another may
/// take its key.
const ABANDONED_MS: u64 = 60 * 1000;

/// What a key says about a new request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// First use: go ahead, then [`Store::idempotent_done`],
    /// [`Store::idempotent_remember`] or [`Store::idempotent_drop`].
    New,
    /// The key's request wrote events but was a different request (another fingerprint).
    Reused,
    /// The same request again, whose earlier try stored events but whose answer is gone
    /// (a restart): it was carried out, and is not to be carried out again.
    Again,
    /// The same request is still being handled.
    UnderWay,
    /// Answered before with this status and body.
    Answered {
        /// The request's fingerprint as recorded (a different one: the key was reused for
        /// another request).
        fingerprint: [u8; 32],
        /// HTTP status.
        status: u16,
        /// The response body.
        body: Vec<u8>,
    },
}

/// Set on the stored status when the body is deflated (HTTP statuses stop at 599).
const DEFLATED: u16 = 0x8000;

/// Bodies shorter than this are kept as they are: deflating them gains nothing.
const DEFLATE_FROM: usize = 128;

fn encode(at: u64, fingerprint: &[u8; 32], status: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(42 + body.len());
    v.extend_from_slice(&at.to_be_bytes());
    v.extend_from_slice(fingerprint);
    match (body.len() >= DEFLATE_FROM)
        .then(|| deflate(body))
        .flatten()
    {
        Some(small) if small.len() < body.len() => {
            v.extend_from_slice(&(status | DEFLATED).to_be_bytes());
            v.extend_from_slice(&small);
        }
        _ => {
            v.extend_from_slice(&status.to_be_bytes());
            v.extend_from_slice(body);
        }
    }
    v
}

/// Deflates `body` into no more bytes than it has (`None` when that does not fit). One
/// compressor per thread, reset for each answer: a fresh one allocates several hundred KB
/// of tables, and at thousands of answers a second that churn cost a quarter of the write
/// throughput (measured with `kindred-bench`, session 14).
fn deflate(body: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static COMPRESS: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
    }
    COMPRESS.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = Vec::with_capacity(body.len());
        match c.compress_vec(body, &mut out, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) => Some(out),
            _ => None,
        }
    })
}

/// Inflates a stored body, refusing one that would grow past the API's largest answer
/// (a damaged record must not exhaust memory).
fn inflate(stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    const MOST: u64 = 16 * 1024 * 1024;
    let mut out = Vec::with_capacity(stored.len() * 3);
    flate2::read::DeflateDecoder::new(stored)
        .take(MOST + 1)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::corrupt("idempotency", e))?;
    if out.len() as u64 > MOST {
        return Err(StoreError::corrupt(
            "idempotency",
            std::io::Error::other("an answer that inflates past 16 MiB"),
        ));
    }
    Ok(out)
}

/// Ends a written record's key after the request's key (a key's bytes are visible ASCII,
/// so no answer's key holds it).
const WRITTEN: u8 = 0;

/// The key of the record saying that the request with stored key `record` stored events.
pub(crate) fn written_key(record: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(record.len() + 1);
    k.extend_from_slice(record);
    k.push(WRITTEN);
    k
}

/// A written record's value: made at `at` (ms) by the request with `fingerprint`.
pub(crate) fn written_value(at: u64, fingerprint: &[u8; 32]) -> Vec<u8> {
    encode(at, fingerprint, 0, &[])
}

struct Record<'a> {
    at: u64,
    fingerprint: [u8; 32],
    status: u16,
    body: &'a [u8],
}

fn decode(v: &[u8]) -> Result<Record<'_>, StoreError> {
    let bad = || StoreError::corrupt("idempotency", std::io::Error::other("short record"));
    let at = v
        .get(0..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(bad)?;
    let fingerprint = v
        .get(8..40)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(bad)?;
    let status = v
        .get(40..42)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_be_bytes)
        .ok_or_else(bad)?;
    Ok(Record {
        at,
        fingerprint,
        status,
        body: &v[42..],
    })
}

/// Keys being handled and answers not yet written, in memory: claiming a key costs no
/// write, and answers are written in batches (when [`PERSIST_BATCH`] wait, or by the node's
/// once-a-second round, `node::housekeeping::keep_answers`) instead of one write per
/// request. A crash loses only the answers of that last second or so.
#[derive(Default)]
pub(crate) struct Recent {
    inner: std::sync::Mutex<RecentInner>,
}

#[derive(Default)]
struct RecentInner {
    /// Keys under way: fingerprint and since when.
    under_way: std::collections::HashMap<Vec<u8>, ([u8; 32], u64)>,
    /// Answers not written yet, by key (encoded records).
    unwritten: std::collections::HashMap<Vec<u8>, Vec<u8>>,
    /// When the oldest unwritten answer was made (ms).
    oldest: Option<u64>,
    /// Answers of requests whose events carry their key (never written): encoded records
    /// by key, and the keys oldest first, at most [`REMEMBERED`].
    remembered: std::collections::HashMap<Vec<u8>, Vec<u8>>,
    remembered_order: std::collections::VecDeque<Vec<u8>>,
}

/// Answers kept in memory only (about a KB each): at a few posts a minute that is many
/// hours, more than [`KEEP_MS`]; under a flood, a retry after they are gone is told its
/// request was carried out ([`Claim::Again`], from its written record).
const REMEMBERED: usize = 8192;

/// Answers wait at most this long (ms) before they are written...
const PERSIST_EVERY_MS: u64 = 1_000;

/// ... or until this many are waiting.
const PERSIST_BATCH: usize = 256;

/// Writes what waits in `recent` into `tree` and makes it durable (the store is closing).
pub(super) fn persist_on_close(
    recent: &Recent,
    tree: &super::kv::Keyspace,
) -> Result<(), StoreError> {
    let waiting = std::mem::take(
        &mut recent
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwritten,
    );
    if waiting.is_empty() {
        return Ok(());
    }
    let mut batch = super::kv::Batch::default();
    for (k, v) in &waiting {
        batch.insert(k, v);
    }
    tree.apply_batch(batch)?;
    tree.flush()?;
    Ok(())
}

impl Store {
    fn recent(&self) -> std::sync::MutexGuard<'_, RecentInner> {
        self.shared
            .idempotency
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `key` for a request with `fingerprint` at `now` (ms), atomically: of two
    /// requests racing with one key, one gets [`Claim::New`].
    pub(crate) fn idempotent_claim(
        &self,
        key: &[u8],
        fingerprint: &[u8; 32],
        now: u64,
    ) -> Result<Claim, StoreError> {
        let mut recent = self.recent();
        if let Some((_, since)) = recent.under_way.get(key)
            && now.saturating_sub(*since) < ABANDONED_MS
        {
            return Ok(Claim::UnderWay);
        }
        let answered = match recent
            .unwritten
            .get(key)
            .or_else(|| recent.remembered.get(key))
        {
            Some(v) => Some(v.clone()),
            None => self.trees().idempotency.get(key)?.map(|v| v.to_vec()),
        };
        if let Some(v) = answered {
            let r = decode(&v)?;
            if now.saturating_sub(r.at) < KEEP_MS {
                let body = if r.status & DEFLATED != 0 {
                    inflate(r.body)?
                } else {
                    r.body.to_vec()
                };
                return Ok(Claim::Answered {
                    fingerprint: r.fingerprint,
                    status: r.status & !DEFLATED,
                    body,
                });
            }
        }
        // Events stored by this key's request, whose answer was never written.
        if let Some(v) = self.trees().idempotency.get(written_key(key))? {
            let r = decode(&v)?;
            if now.saturating_sub(r.at) < KEEP_MS {
                return Ok(if r.fingerprint == *fingerprint {
                    Claim::Again
                } else {
                    Claim::Reused
                });
            }
        }
        recent.under_way.insert(key.to_vec(), (*fingerprint, now));
        Ok(Claim::New)
    }

    /// Records the response to a claimed key (written with the next batch).
    pub(crate) fn idempotent_done(
        &self,
        key: &[u8],
        fingerprint: &[u8; 32],
        now: u64,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let due = {
            let mut recent = self.recent();
            recent.under_way.remove(key);
            recent
                .unwritten
                .insert(key.to_vec(), encode(now, fingerprint, status, body));
            let oldest = *recent.oldest.get_or_insert(now);
            recent.unwritten.len() >= PERSIST_BATCH
                || now.saturating_sub(oldest) >= PERSIST_EVERY_MS
        };
        if due {
            self.idempotent_persist()?;
        }
        Ok(())
    }

    /// Records the response to a claimed key in memory only: the request's events carry
    /// its key (see the module's written records), so the answer need not survive a
    /// restart.
    pub(crate) fn idempotent_remember(
        &self,
        key: &[u8],
        fingerprint: &[u8; 32],
        now: u64,
        status: u16,
        body: Vec<u8>,
    ) {
        let mut record = Vec::with_capacity(42 + body.len());
        record.extend_from_slice(&now.to_be_bytes());
        record.extend_from_slice(fingerprint);
        record.extend_from_slice(&status.to_be_bytes());
        record.extend_from_slice(&body);
        let mut recent = self.recent();
        recent.under_way.remove(key);
        if recent.remembered.insert(key.to_vec(), record).is_none() {
            recent.remembered_order.push_back(key.to_vec());
        }
        while recent.remembered_order.len() > REMEMBERED {
            if let Some(old) = recent.remembered_order.pop_front() {
                recent.remembered.remove(&old);
            }
        }
    }

    /// Frees a claimed key (the request failed in a way a retry may mend).
    pub(crate) fn idempotent_drop(&self, key: &[u8]) {
        self.recent().under_way.remove(key);
    }

    /// Whether answers made at least [`PERSIST_EVERY_MS`] before `now` wait to be written.
    pub(crate) fn idempotent_due(&self, now: u64) -> bool {
        self.recent()
            .oldest
            .is_some_and(|oldest| now.saturating_sub(oldest) >= PERSIST_EVERY_MS)
    }

    /// Writes the answers waiting in memory, in one batch.
    pub(crate) fn idempotent_persist(&self) -> Result<(), StoreError> {
        let waiting = {
            let mut recent = self.recent();
            recent.oldest = None;
            std::mem::take(&mut recent.unwritten)
        };
        if waiting.is_empty() {
            return Ok(());
        }
        let written = if self.engine() == super::kv::Engine::Sled {
            // sled's batches take the lock its transactions take, and racing the ingest
            // transaction and a flush with them hung sled: plain inserts there (the
            // answers need not land together).
            let t = self.writer();
            waiting
                .iter()
                .try_for_each(|(k, v)| t.idempotency.insert(k, v).map(drop))
        } else {
            let mut batch = super::kv::Batch::default();
            for (k, v) in &waiting {
                batch.insert(k, v);
            }
            self.writer().idempotency.apply_batch(batch)
        };
        if let Err(e) = written {
            // Kept in memory for the next try (newer answers win).
            let mut recent = self.recent();
            for (k, v) in waiting {
                recent.unwritten.entry(k).or_insert(v);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Writes what waits, then removes records older than [`KEEP_MS`]; how many.
    pub(crate) fn idempotent_expire(&self, now: u64) -> Result<u64, StoreError> {
        self.idempotent_persist()?;
        let t = self.writer();
        let mut gone = 0;
        for item in t.idempotency.iter() {
            let (k, v) = item?;
            if decode(&v).map_or(true, |r| now.saturating_sub(r.at) >= KEEP_MS) {
                t.idempotency.remove(&k)?;
                gone += 1;
            }
        }
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_are_kept_deflated_and_replayed_whole_after_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fp = [3; 32];
        let body = format!(
            "{{\"items\":[{}]}}",
            "{\"title\":\"Funding ideas\"},".repeat(40)
        );
        let stored = encode(5, &fp, 201, body.as_bytes());
        assert!(stored.len() < body.len() / 2, "{} bytes", stored.len());
        // Short answers are kept as they are.
        assert_eq!(encode(5, &fp, 409, b"{}").len(), 44);
        {
            let store = Store::open(dir.path()).expect("open");
            assert_eq!(
                store.idempotent_claim(b"k", &fp, 1).expect("claim"),
                Claim::New
            );
            store
                .idempotent_done(b"k", &fp, 2, 201, body.as_bytes())
                .expect("done");
        }
        let store = Store::open(dir.path()).expect("open again");
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 3).expect("claim"),
            Claim::Answered {
                fingerprint: fp,
                status: 201,
                body: body.into_bytes()
            }
        );
        // A damaged deflated body is damage, not a crash or a wrong answer.
        let mut damaged = stored.clone();
        damaged.truncate(50);
        let r = decode(&damaged).expect("header");
        assert!(inflate(r.body).is_err());
    }

    #[test]
    fn a_written_record_says_its_request_was_carried_out_and_keeps_the_key_to_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let fp = [9; 32];
        let key = written_key(b"k");
        assert_eq!(&key[..2], b"k\0", "no answer's key holds the zero byte");
        store
            .writer()
            .idempotency
            .insert(&key, written_value(1_000, &fp))
            .expect("insert");
        // The request again (same fingerprint) is known to be carried out; another
        // request with that key is refused.
        assert_eq!(
            store
                .idempotent_claim(b"k", &[8; 32], 2_000)
                .expect("claim"),
            Claim::Reused
        );
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 2_000).expect("claim"),
            Claim::Again
        );
        // An answer kept in memory only is replayed, and gone after a restart.
        store.idempotent_remember(b"k", &fp, 2_001, 201, b"{}".to_vec());
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 2_002).expect("claim"),
            Claim::Answered {
                fingerprint: fp,
                status: 201,
                body: b"{}".to_vec()
            }
        );
        // After an hour the record is gone with the answers.
        assert_eq!(store.idempotent_expire(1_000 + KEEP_MS).expect("expire"), 1);
        drop(store);
        let store = Store::open(dir.path()).expect("open again");
        assert_eq!(
            store
                .idempotent_claim(b"k", &[8; 32], 2_003)
                .expect("claim"),
            Claim::New
        );
    }

    #[test]
    fn a_key_is_claimed_once_answered_then_replayed_and_freed_after_a_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let fp = [7; 32];
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 1_000).expect("claim"),
            Claim::New
        );
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 1_001).expect("claim"),
            Claim::UnderWay
        );
        store
            .idempotent_done(b"k", &fp, 1_002, 201, b"{\"id\":1}")
            .expect("done");
        assert_eq!(
            store.idempotent_claim(b"k", &fp, 2_000).expect("claim"),
            Claim::Answered {
                fingerprint: fp,
                status: 201,
                body: b"{\"id\":1}".to_vec()
            }
        );
        // A request cut short frees its key after a minute.
        assert_eq!(
            store.idempotent_claim(b"j", &fp, 0).expect("claim"),
            Claim::New
        );
        assert_eq!(
            store
                .idempotent_claim(b"j", &fp, ABANDONED_MS + 1)
                .expect("claim"),
            Claim::New
        );
        assert_eq!(store.idempotent_expire(KEEP_MS + 1_002).expect("expire"), 1);
        assert_eq!(
            store
                .idempotent_claim(b"k", &fp, KEEP_MS + 1_003)
                .expect("claim"),
            Claim::New
        );
    }
}
