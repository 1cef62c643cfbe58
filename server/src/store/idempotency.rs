//! Idempotency keys (the IETF httpapi `Idempotency-Key` header draft): the first request
//! with a key is recorded as under way, then with its response; a retry with the same key
//! gets the recorded response instead of doing the write again.
//!
//! Keys: `scope (32) ‖ key`, the scope being a hash of the caller's credential, so two
//! members' keys never meet. Values: `state (1) ‖ at (8) ‖ fingerprint (32) ‖ status (2) ‖
//! body`, `state` 0 while under way, 1 once answered.

use super::{Store, StoreError};

/// How long a recorded response is replayed (ms): a day, as the draft suggests.
pub(crate) const KEEP_MS: u64 = 24 * 60 * 60 * 1000;

/// A request under way for longer than this (ms) was cut short (a crash): another may
/// take its key.
const ABANDONED_MS: u64 = 60 * 1000;

/// What a key says about a new request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// First use: go ahead, then [`Store::idempotent_done`] or [`Store::idempotent_drop`].
    New,
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

fn encode(state: u8, at: u64, fingerprint: &[u8; 32], status: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(43 + body.len());
    v.push(state);
    v.extend_from_slice(&at.to_be_bytes());
    v.extend_from_slice(fingerprint);
    v.extend_from_slice(&status.to_be_bytes());
    v.extend_from_slice(body);
    v
}

struct Record<'a> {
    state: u8,
    at: u64,
    fingerprint: [u8; 32],
    status: u16,
    body: &'a [u8],
}

fn decode(v: &[u8]) -> Result<Record<'_>, StoreError> {
    let bad = || StoreError::corrupt("idempotency", std::io::Error::other("short record"));
    let state = *v.first().ok_or_else(bad)?;
    let at = v
        .get(1..9)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(bad)?;
    let fingerprint = v
        .get(9..41)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(bad)?;
    let status = v
        .get(41..43)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_be_bytes)
        .ok_or_else(bad)?;
    Ok(Record {
        state,
        at,
        fingerprint,
        status,
        body: &v[43..],
    })
}

impl Store {
    /// Claims `key` for a request with `fingerprint` at `now` (ms), atomically: of two
    /// requests racing with one key, one gets [`Claim::New`].
    pub(crate) fn idempotent_claim(
        &self,
        key: &[u8],
        fingerprint: &[u8; 32],
        now: u64,
    ) -> Result<Claim, StoreError> {
        let t = self.writer();
        let mine = encode(0, now, fingerprint, 0, &[]);
        loop {
            let current = t.idempotency.get(key)?;
            if let Some(v) = &current {
                let r = decode(v)?;
                let stale = now.saturating_sub(r.at);
                match r.state {
                    1 if stale < KEEP_MS => {
                        return Ok(Claim::Answered {
                            fingerprint: r.fingerprint,
                            status: r.status,
                            body: r.body.to_vec(),
                        });
                    }
                    0 if stale < ABANDONED_MS => return Ok(Claim::UnderWay),
                    // Expired, or cut short: the key is free again.
                    _ => {}
                }
            }
            if t.idempotency
                .compare_and_swap(key, current.as_deref(), Some(&mine[..]))?
                .is_ok()
            {
                return Ok(Claim::New);
            }
        }
    }

    /// Records the response to a claimed key.
    pub(crate) fn idempotent_done(
        &self,
        key: &[u8],
        fingerprint: &[u8; 32],
        now: u64,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.writer()
            .idempotency
            .insert(key, encode(1, now, fingerprint, status, body))?;
        Ok(())
    }

    /// Frees a claimed key (the request failed in a way a retry may mend).
    pub(crate) fn idempotent_drop(&self, key: &[u8]) -> Result<(), StoreError> {
        self.writer().idempotency.remove(key)?;
        Ok(())
    }

    /// Removes records older than a day; how many.
    pub(crate) fn idempotent_expire(&self, now: u64) -> Result<u64, StoreError> {
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
