//! Integrity: the engine's own check of its files, then every record read back, every
//! stored event's signature and id checked against its bytes, and the id index checked
//! against the log. What can be rebuilt from the log (the search index, the id index) is
//! rebuilt on request; damaged events cannot be (their peers hold them: a restore from a
//! backup, or catching up again, brings them back).

use kindred_protocol::EventId;

use super::events::RecordParts;
use super::kv::Engine;
use super::{Store, StoreError};

/// At most this many problems of one kind are listed (the counts are always complete).
const LISTED: usize = 20;

/// What a check found. Counts are exact; lists stop at [`LISTED`] lines.
#[derive(Debug, Default)]
pub(crate) struct CheckReport {
    /// The engine the database is on.
    pub(crate) engine: Option<Engine>,
    /// The engine's own check of its files: `None` when it has none (sled).
    pub(crate) engine_check: Option<bool>,
    /// Records read back, over every keyspace.
    pub(crate) records: u64,
    /// Keyspaces that could not be read to the end, with why.
    pub(crate) unreadable: Vec<String>,
    /// Events checked (signature and id).
    pub(crate) events: u64,
    /// Local tombstones (no signature of their own: what an erasure left here).
    pub(crate) local_tombstones: u64,
    /// Events whose bytes do not decode, whose signature fails or whose id is not theirs.
    pub(crate) bad_events: u64,
    /// The first of them, described.
    pub(crate) bad_event_lines: Vec<String>,
    /// Id-index entries that are missing, point at the wrong event, or point at nothing.
    pub(crate) index_problems: u64,
    /// The first of them, described.
    pub(crate) index_lines: Vec<String>,
    /// The search index could not be read (rebuilt from the log on request).
    pub(crate) search_damaged: bool,
    /// The log ends before the acknowledged mark: (acknowledged, stored end). Repairing
    /// accepts the loss.
    pub(crate) went_back: Option<(u64, u64)>,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub(crate) fn is_healthy(&self) -> bool {
        self.engine_check != Some(false)
            && self.unreadable.is_empty()
            && self.bad_events == 0
            && self.index_problems == 0
            && !self.search_damaged
            && self.went_back.is_none()
    }

    /// Whether what is wrong can be rebuilt from the log (indexes only, every record
    /// readable).
    pub(crate) fn repairable(&self) -> bool {
        self.engine_check != Some(false)
            && self.bad_events == 0
            && self.unreadable.iter().all(|u| u.starts_with("search_"))
    }

    fn bad_event(&mut self, line: String) {
        self.bad_events += 1;
        if self.bad_event_lines.len() < LISTED {
            self.bad_event_lines.push(line);
        }
    }

    fn index_problem(&mut self, line: String) {
        self.index_problems += 1;
        if self.index_lines.len() < LISTED {
            self.index_lines.push(line);
        }
    }
}

impl Store {
    /// Checks everything (a full read of the database: minutes for millions of events).
    ///
    /// Errors: only when the check itself cannot run; what it finds is in the report.
    pub(crate) fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport {
            engine: Some(self.engine()),
            ..CheckReport::default()
        };
        report.engine_check = match self.db.verify() {
            Ok(found) => found,
            Err(e) => {
                report.unreadable.push(format!("the file as a whole: {e}"));
                Some(false)
            }
        };
        for (name, tree) in self.trees().all() {
            for item in tree.iter() {
                match item {
                    Ok(_) => report.records += 1,
                    Err(e) => {
                        if name.starts_with("search_") {
                            report.search_damaged = true;
                        }
                        report.unreadable.push(format!("{name}: {e}"));
                        break;
                    }
                }
            }
        }
        self.check_events(&mut report);
        self.check_id_index(&mut report);
        report.went_back = match self.check_went_back() {
            Err(StoreError::WentBack {
                acknowledged,
                stored,
            }) => Some((acknowledged, stored)),
            _ => None,
        };
        Ok(report)
    }

    /// The check at start: the engine's own check of its files (redb reads every page
    /// and its checksum: about a second per GB), then the newest events read back and
    /// verify. Errors name what failed.
    pub(crate) fn quick_check(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        match self.db.verify()? {
            Some(false) => tracing::warn!(
                "the database file was damaged; the engine repaired it by going back to its last whole commit (writes from the last moments before may be gone: peers send their events again, and `kindred storage check` looks at the rest)"
            ),
            Some(true) => tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "the database file's checksums are whole"
            ),
            None => {}
        }
        for item in self.trees().events.iter().rev().take(100) {
            let (_, record) = item?;
            let parts = RecordParts::split(&record).map_err(super::events::corrupt)?;
            let signed = super::events::signed_event(parts.signed)?;
            if signed.id() != parts.id {
                return Err(StoreError::corrupt(
                    "events",
                    std::io::Error::other(format!("event {} does not match its bytes", parts.id)),
                ));
            }
            if !(signed.is_tombstone() && signed.signature() == &[0; 64]) {
                signed
                    .verify()
                    .map_err(|e| StoreError::corrupt("events", e))?;
            }
        }
        Ok(())
    }

    fn check_events(&self, report: &mut CheckReport) {
        for item in self.trees().events.iter() {
            let Ok((key, record)) = item else {
                // Already reported as unreadable.
                return;
            };
            report.events += 1;
            let at = <[u8; 8]>::try_from(&key[..])
                .map(u64::from_be_bytes)
                .map_or_else(|_| format!("{key:?}"), |n| n.to_string());
            let Ok(parts) = RecordParts::split(&record) else {
                report.bad_event(format!("event number {at}: the record is cut short"));
                continue;
            };
            let Ok(signed) = kindred_protocol::SignedEvent::from_bytes(parts.signed) else {
                report.bad_event(format!("event number {at}: its bytes do not decode"));
                continue;
            };
            if signed.id() != parts.id {
                report.bad_event(format!(
                    "event number {at}: stored as {} but its bytes are {}",
                    parts.id,
                    signed.id()
                ));
                continue;
            }
            if signed.is_tombstone() && signed.signature() == &[0; 64] {
                report.local_tombstones += 1;
                continue;
            }
            if let Err(e) = signed.verify() {
                report.bad_event(format!("event {} (number {at}): {e}", parts.id));
            }
        }
    }

    fn check_id_index(&self, report: &mut CheckReport) {
        let t = self.trees();
        for item in t.event_ids.iter() {
            let Ok((id, local)) = item else {
                return;
            };
            let Ok(id) = <[u8; 32]>::try_from(&id[..]).map(EventId::from_bytes) else {
                report.index_problem(format!("an id-index key of {} bytes", id.len()));
                continue;
            };
            let found = t
                .events
                .get(&local)
                .ok()
                .flatten()
                .and_then(|r| RecordParts::split(&r).ok().map(|p| p.id));
            if found != Some(id) {
                report.index_problem(format!("the id index sends {id} to the wrong place"));
            }
        }
        for item in t.events.iter() {
            let Ok((local, record)) = item else {
                return;
            };
            let Ok(parts) = RecordParts::split(&record) else {
                continue;
            };
            match t.event_ids.get(parts.id.as_bytes()) {
                Ok(Some(v)) if v[..] == local[..] => {}
                _ => {
                    report.index_problem(format!("event {} is missing from the id index", parts.id))
                }
            }
        }
    }

    /// Rebuilds what the check can: the id index from the log, and the search index (left
    /// empty here; the node rebuilds it from the log when it starts). Run on a stopped node.
    pub(crate) fn rebuild_indexes(&self) -> Result<(), StoreError> {
        let t = self.writer();
        t.event_ids.clear()?;
        let mut batch = super::kv::Batch::default();
        for item in t.events.iter() {
            let (local, record) = item?;
            let parts = RecordParts::split(&record).map_err(super::events::corrupt)?;
            batch.insert(parts.id.as_bytes(), &local);
            if batch.ops.len() >= 10_000 {
                t.event_ids.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        t.event_ids.apply_batch(batch)?;
        for tree in [&t.search_postings, &t.search_docs, &t.search_meta] {
            tree.clear()?;
        }
        drop(t);
        self.flush_now()
    }
}
