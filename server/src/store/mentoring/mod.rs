//! The `mentoring` tree, with a one-byte prefix per record type. It is derived from events
//! by the mentoring processor (a watermark over the `events` arrival order), except buddy
//! requests and cohort rounds, which never leave this node, and the capacity counters,
//! which only the mentor's home node keeps.
//!
//! - `o` ‖ mentor (u8 len ‖ text) → [`OfferRecord`] (JSON): the newest offer per mentor
//! - `q` ‖ request id (text) → [`RequestRecord`] (JSON); `Q` ‖ member ‖ request id → ()
//! - `p` ‖ proposal id (32) → [`MatchRecord`] (JSON); `B` ‖ buddy ‖ id → (), `M` ‖ mentor ‖ id → ()
//! - `c` ‖ mentor → active matches (u32 BE), on the mentor's node
//! - `r` ‖ round id (text) → [`RoundRecord`] (JSON)
//! - `w` → the last local seq the processor applied (u64 BE)

use kindred_protocol::api::CohortRound;
use kindred_protocol::event::body::mentoring::{BuddyRequest, MentorOffer};
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::keys::push_text;
use super::origin_log::decode_u64;
use super::{Store, StoreError, from_json, to_json};

mod matches;

use matches::erase_from_match;
pub(crate) use matches::{
    AgreementState, CheckInRecord, ConfirmedAgreement, MatchRecord, Reflection,
};

/// The newest offer of a mentor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OfferRecord {
    /// The offer event.
    pub(crate) id: EventId,
    /// The mentor.
    pub(crate) mentor: MemberId,
    /// Its content.
    pub(crate) offer: MentorOffer,
    /// Origin time (ms).
    pub(crate) updated_at: u64,
}

/// A buddy's request (kept on their node only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RequestRecord {
    /// Its id.
    pub(crate) id: String,
    /// Who asked.
    pub(crate) member: MemberId,
    /// What they asked for.
    pub(crate) request: BuddyRequest,
    /// `open`, `matched` or `withdrawn`.
    pub(crate) status: String,
    /// When (ms).
    pub(crate) created_at: u64,
    /// When matched (ms).
    pub(crate) matched_at: Option<u64>,
}

/// A cohort round and who ran it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoundRecord {
    /// The round.
    pub(crate) round: CohortRound,
    /// The coordinator.
    pub(crate) created_by: MemberId,
}

fn key(prefix: u8, text: &str) -> Vec<u8> {
    let mut k = vec![prefix];
    push_text(&mut k, text);
    k
}

fn index_key(prefix: u8, member: &MemberId, tail: &[u8]) -> Vec<u8> {
    let mut k = key(prefix, member.as_str());
    k.extend_from_slice(tail);
    k
}

impl Store {
    fn mentoring(&self) -> &super::kv::Keyspace {
        &self.trees().mentoring
    }

    /// Every mentor's newest offer.
    pub(crate) fn offers(&self) -> Result<Vec<OfferRecord>, StoreError> {
        self.mentoring()
            .scan_prefix([b'o'])
            .map(|item| {
                let (_, v) = item?;
                from_json("mentoring", &v)
            })
            .collect()
    }

    /// One mentor's offer.
    pub(crate) fn offer(&self, mentor: &MemberId) -> Result<Option<OfferRecord>, StoreError> {
        match self.mentoring().get(key(b'o', mentor.as_str()))? {
            None => Ok(None),
            Some(v) => from_json("mentoring", &v).map(Some),
        }
    }

    /// Stores a mentor's offer if it is newer than the one held.
    pub(crate) fn put_offer(&self, offer: &OfferRecord) -> Result<(), StoreError> {
        let _writing = self.writer();
        if let Some(old) = self.offer(&offer.mentor)?
            && old.updated_at > offer.updated_at
        {
            return Ok(());
        }
        self.mentoring().insert(
            key(b'o', offer.mentor.as_str()),
            to_json("mentoring", offer)?,
        )?;
        Ok(())
    }

    /// Drops what an erased member wrote from mentoring records: their offer and requests
    /// go; each match they were in is kept for the other person (that it happened, its
    /// dates, the other's own check-ins and reflections) without the erased member's notes,
    /// answer, check-ins, reflections or closing words.
    pub(crate) fn erase_mentoring(&self, member: &MemberId) -> Result<(), StoreError> {
        let _writing = self.writer();
        let t = self.mentoring();
        t.remove(key(b'o', member.as_str()))?;
        let requests = key(b'Q', member.as_str());
        for item in t.scan_prefix(&requests) {
            let (k, _) = item?;
            t.remove(&k)?;
            t.remove(key(b'q', &String::from_utf8_lossy(&k[requests.len()..])))?;
        }
        for found in self.matches_of(member)? {
            self.update_match(&found.id, |m| {
                erase_from_match(m, member);
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(())
    }

    /// Stores a request.
    pub(crate) fn put_request(&self, r: &RequestRecord) -> Result<(), StoreError> {
        let _writing = self.writer();
        self.mentoring()
            .insert(key(b'q', &r.id), to_json("mentoring", r)?)?;
        self.mentoring()
            .insert(index_key(b'Q', &r.member, r.id.as_bytes()), [])?;
        Ok(())
    }

    /// Changes a request with `change`, as one step (compare-and-swap, `change` applied
    /// again when it changed meanwhile): a withdrawal and a match arriving together both
    /// leave their mark. `None`, with nothing written, when there is no such request (or
    /// it was erased meanwhile).
    ///
    /// Errors: `change`'s own, or the store's.
    pub(crate) fn update_request<R, E: From<StoreError>>(
        &self,
        id: &str,
        change: impl FnMut(&mut RequestRecord) -> Result<R, E>,
    ) -> Result<Option<R>, E> {
        let _writing = self.writer();
        super::update_json(
            self.mentoring(),
            "mentoring",
            &key(b'q', id),
            || None,
            change,
        )
    }

    /// One request.
    pub(crate) fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        match self.mentoring().get(key(b'q', id))? {
            None => Ok(None),
            Some(v) => from_json("mentoring", &v).map(Some),
        }
    }

    /// Every request on this node.
    pub(crate) fn requests(&self) -> Result<Vec<RequestRecord>, StoreError> {
        self.mentoring()
            .scan_prefix([b'q'])
            .map(|item| {
                let (_, v) = item?;
                from_json("mentoring", &v)
            })
            .collect()
    }

    /// A member's requests.
    pub(crate) fn requests_of(&self, member: &MemberId) -> Result<Vec<RequestRecord>, StoreError> {
        let prefix = key(b'Q', member.as_str());
        let mut out = Vec::new();
        for item in self.mentoring().scan_prefix(&prefix) {
            let (k, _) = item?;
            let id = String::from_utf8(k[prefix.len()..].to_vec())
                .map_err(|e| StoreError::corrupt("mentoring", e))?;
            if let Some(r) = self.request(&id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Stores a cohort round.
    pub(crate) fn put_round(&self, r: &RoundRecord) -> Result<(), StoreError> {
        let _writing = self.writer();
        self.mentoring()
            .insert(key(b'r', &r.round.id), to_json("mentoring", r)?)?;
        Ok(())
    }

    /// One cohort round.
    pub(crate) fn round(&self, id: &str) -> Result<Option<RoundRecord>, StoreError> {
        match self.mentoring().get(key(b'r', id))? {
            None => Ok(None),
            Some(v) => from_json("mentoring", &v).map(Some),
        }
    }

    /// The last local seq the mentoring processor applied.
    pub(crate) fn mentoring_watermark(&self) -> Result<u64, StoreError> {
        match self.mentoring().get([b'w'])? {
            None => Ok(0),
            Some(v) => decode_u64("mentoring", &v),
        }
    }

    /// Records the processor's progress.
    pub(crate) fn set_mentoring_watermark(&self, seq: u64) -> Result<(), StoreError> {
        let _writing = self.writer();
        self.mentoring().insert([b'w'], seq.to_be_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::matches::match_key;
    use super::*;

    #[test]
    fn mentoring_key_layout_is_pinned() {
        // A prefix byte, then the text with its one-byte length.
        assert_eq!(key(b'o', "@sam:a.example"), b"o\x0e@sam:a.example");
        let id = EventId::from_bytes([7; 32]);
        let mut expected = vec![b'p'];
        expected.extend_from_slice(&[7; 32]);
        assert_eq!(match_key(&id), expected);
        let member = MemberId::parse("@sam:a.example").unwrap();
        assert_eq!(
            index_key(b'b', &member, &[1, 2]),
            b"b\x0e@sam:a.example\x01\x02"
        );
    }
}
