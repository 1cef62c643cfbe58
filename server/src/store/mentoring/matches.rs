//! Proposals and matches in the `mentoring` tree (`p` records with their `B`/`M` indexes)
//! and a mentor's count of active matches (`c`), which changes only in the same
//! transaction as a match's status: a place is taken by an acceptance and given back by
//! whatever ends the match.

use kindred_protocol::api::MatchStatus;
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::mentoring::{Agreement, Asked, Closing, Fit};
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::super::kv::{TransactionError, TxError};
use super::super::{Store, StoreError, from_json, to_json};
use super::{index_key, key};

/// A check-in on a match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckInRecord {
    /// Who.
    pub(crate) by: MemberId,
    /// 1 to 4.
    pub(crate) pulse: u8,
    /// First-meeting fit.
    pub(crate) fit: Option<Fit>,
    /// Private note (only on the author's node).
    pub(crate) note: Option<String>,
    /// Whether the author chose to show the fit to the other person (otherwise it is only
    /// on the author's node, for its coordinators' counts).
    #[serde(default)]
    pub(crate) fit_shared: bool,
    /// When (ms).
    pub(crate) at: u64,
    /// The check-in event (records written before it was kept have none): two check-ins
    /// by one person in the same millisecond are two check-ins.
    #[serde(default)]
    pub(crate) event: Option<EventId>,
}

/// One person's private reflection on a match that ended: why, and how it went. Kept on
/// their own node only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reflection {
    /// Who.
    pub(crate) by: MemberId,
    /// Why it ended, in their words or from the list.
    pub(crate) reason: String,
    /// 1 (poor) to 5 (excellent), 0 when not given.
    pub(crate) rating: u8,
    /// When (ms).
    pub(crate) at: u64,
}

/// An agreement both people confirmed, with who proposed and who confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConfirmedAgreement {
    /// Its terms.
    pub(crate) terms: Agreement,
    /// Who proposed it and who confirmed it.
    pub(crate) state: AgreementState,
}

/// Who proposed the current agreement and who confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AgreementState {
    /// The update that proposed it.
    pub(crate) id: EventId,
    /// Who proposed it.
    pub(crate) by: MemberId,
    /// When (ms, the proposer's time; the newest proposal stands, ties by id).
    pub(crate) at: u64,
    /// The other person, once they confirmed it.
    pub(crate) confirmed_by: Option<MemberId>,
    /// When they confirmed (ms).
    pub(crate) confirmed_at: Option<u64>,
}

/// A proposal and, once accepted, the match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MatchRecord {
    /// The proposal event's id.
    pub(crate) id: EventId,
    /// The buddy.
    pub(crate) buddy: MemberId,
    /// The mentor.
    pub(crate) mentor: MemberId,
    /// The offer proposed to.
    pub(crate) offer: EventId,
    /// The buddy's note.
    pub(crate) note: String,
    /// The request it answers (on the buddy's node).
    pub(crate) request: Option<String>,
    /// Where it stands.
    pub(crate) status: MatchStatus,
    /// When proposed (ms).
    pub(crate) created_at: u64,
    /// When answered (ms).
    pub(crate) answered_at: Option<u64>,
    /// The mentor's kind word.
    pub(crate) answer_message: Option<String>,
    /// The agreement proposed last (it stands once confirmed, see `agreed`).
    pub(crate) agreement: Option<Agreement>,
    /// Who proposed `agreement` and whether the other confirmed it; absent on agreements
    /// from before confirmations (shown as proposed, waiting for a confirmation).
    #[serde(default)]
    pub(crate) agreed: Option<AgreementState>,
    /// The newest agreement both confirmed: it stands while a newer proposal waits, so one
    /// person alone cannot undo what both agreed.
    #[serde(default)]
    pub(crate) confirmed: Option<ConfirmedAgreement>,
    /// What the buddy's request asked for, as the proposal carried it.
    #[serde(default)]
    pub(crate) asked: Option<Asked>,
    /// Check-ins, oldest first.
    pub(crate) checkins: Vec<CheckInRecord>,
    /// How it ended.
    pub(crate) closing: Option<Closing>,
    /// When it ended (ms); absent on records written before this was kept.
    #[serde(default)]
    pub(crate) closed_at: Option<u64>,
    /// Who ended it.
    #[serde(default)]
    pub(crate) closed_by: Option<MemberId>,
    /// This node's members' private reflections on how it went.
    #[serde(default)]
    pub(crate) reflections: Vec<Reflection>,
    /// Their conversation.
    pub(crate) conversation: Option<ConversationId>,
}

impl MatchRecord {
    /// A proposal as it arrives: `buddy` asks `mentor` (about `proposal.offer`) at `at`.
    pub(crate) fn proposed(
        id: EventId,
        buddy: MemberId,
        proposal: kindred_protocol::event::body::mentoring::MatchProposal,
        at: u64,
    ) -> Self {
        Self {
            id,
            buddy,
            mentor: proposal.mentor,
            offer: proposal.offer,
            note: proposal.note,
            asked: proposal.asked,
            request: None,
            status: MatchStatus::Pending,
            created_at: at,
            answered_at: None,
            answer_message: None,
            agreement: None,
            agreed: None,
            confirmed: None,
            checkins: Vec::new(),
            closing: None,
            closed_at: None,
            closed_by: None,
            reflections: Vec::new(),
            conversation: None,
        }
    }
}

pub(super) fn match_key(id: &EventId) -> Vec<u8> {
    let mut k = vec![b'p'];
    k.extend_from_slice(id.as_bytes());
    k
}

impl Store {
    /// One proposal or match.
    pub(crate) fn match_record(&self, id: &EventId) -> Result<Option<MatchRecord>, StoreError> {
        match self.mentoring().get(match_key(id))? {
            None => Ok(None),
            Some(v) => from_json("mentoring", &v).map(Some),
        }
    }

    /// Stores a new proposal and indexes it by both people (changes go through
    /// [`Store::update_match`]).
    pub(crate) fn put_match(&self, m: &MatchRecord) -> Result<(), StoreError> {
        let _writing = self.writer();
        let t = self.mentoring();
        t.insert(match_key(&m.id), to_json("mentoring", m)?)?;
        t.insert(index_key(b'B', &m.buddy, m.id.as_bytes()), [])?;
        t.insert(index_key(b'M', &m.mentor, m.id.as_bytes()), [])?;
        Ok(())
    }

    /// Changes a proposal or match with `change`, as one step (one transaction, `change`
    /// applied to the record as it is then): the other person's check-in or closing
    /// arriving while this member's note is written is not lost, nor is the note. A match
    /// that stops being active gives its mentor's place back in the same step, and one
    /// that becomes active here takes one (only the mentor's home node counts places;
    /// an acceptance made here took its place already, in [`Store::accept_if_room`], so
    /// this is an acceptance applied from the log: a node restored from a backup older
    /// than it), so a crash never leaves the count apart from the matches. `None`, with
    /// nothing written, when there is no such match. `change` may run more than once, so
    /// it only changes the record (and decides from it).
    ///
    /// Errors: `change`'s own, or the store's.
    pub(crate) fn update_match<R, E: From<StoreError>>(
        &self,
        id: &EventId,
        change: impl FnMut(&mut MatchRecord) -> Result<R, E>,
    ) -> Result<Option<R>, E> {
        let _writing = self.writer();
        let home = self.node_name()?;
        let change = std::cell::RefCell::new(change);
        let result = self.transaction([self.mentoring()], |[t]| {
            let abort = |e: StoreError| TxError::Abort(E::from(e));
            let Some(before) = t.get(match_key(id))? else {
                return Ok(None);
            };
            let mut m: MatchRecord = from_json("mentoring", &before).map_err(abort)?;
            let was = m.status;
            let start = to_json("mentoring", &m).map_err(abort)?;
            let out = (change.borrow_mut())(&mut m).map_err(TxError::Abort)?;
            let after = to_json("mentoring", &m).map_err(abort)?;
            if after == start {
                return Ok(Some(out));
            }
            t.insert(match_key(id), after)?;
            let counter = key(b'c', m.mentor.as_str());
            let (ended, began) = (
                was == MatchStatus::Active && m.status != MatchStatus::Active,
                was != MatchStatus::Active && m.status == MatchStatus::Active,
            );
            if ended && let Some(v) = t.get(&counter)? {
                let n = decode_count(&v).map_err(abort)?;
                t.insert(counter, n.saturating_sub(1).to_be_bytes())?;
            } else if began && home.as_deref() == Some(m.mentor.node_name()) {
                let n = match t.get(&counter)? {
                    Some(v) => decode_count(&v).map_err(abort)?,
                    None => 0,
                };
                t.insert(counter, n.saturating_add(1).to_be_bytes())?;
            }
            Ok(Some(out))
        });
        match result {
            Ok(out) => Ok(out),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(E::from(StoreError::from(e))),
        }
    }

    /// Every proposal and match held here.
    pub(crate) fn matches(&self) -> Result<Vec<MatchRecord>, StoreError> {
        self.mentoring()
            .scan_prefix([b'p'])
            .map(|item| {
                let (_, v) = item?;
                from_json("mentoring", &v)
            })
            .collect()
    }

    /// Proposals and matches a member is in (as buddy or mentor).
    pub(crate) fn matches_of(&self, member: &MemberId) -> Result<Vec<MatchRecord>, StoreError> {
        let mut out = Vec::new();
        for prefix in [key(b'B', member.as_str()), key(b'M', member.as_str())] {
            for item in self.mentoring().scan_prefix(&prefix) {
                let (k, _) = item?;
                let id = <[u8; 32]>::try_from(&k[prefix.len()..])
                    .map(EventId::from_bytes)
                    .map_err(|e| StoreError::corrupt("mentoring", e))?;
                if let Some(m) = self.match_record(&id)? {
                    out.push(m);
                }
            }
        }
        out.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        out.dedup_by_key(|m| m.id);
        Ok(out)
    }

    /// Active matches of a mentor (their home node's count).
    pub(crate) fn active_count(&self, mentor: &MemberId) -> Result<u32, StoreError> {
        match self.mentoring().get(key(b'c', mentor.as_str()))? {
            None => Ok(0),
            Some(v) => decode_count(&v),
        }
    }

    /// Accepts a pending proposal if the mentor has a free place, atomically: two answers
    /// racing for the last place can never both succeed. Returns false when full.
    pub(crate) fn accept_if_room(
        &self,
        proposal: &EventId,
        capacity: u32,
        now: u64,
        message: Option<String>,
    ) -> Result<bool, StoreError> {
        let _writing = self.writer();
        let result = self.transaction([self.mentoring()], |[t]| {
            let abort = |e: StoreError| TxError::Abort(e);
            let Some(bytes) = t.get(match_key(proposal))? else {
                return Ok(false);
            };
            let mut m: MatchRecord = from_json("mentoring", &bytes).map_err(abort)?;
            if m.status != MatchStatus::Pending {
                return Ok(false);
            }
            let counter = key(b'c', m.mentor.as_str());
            let active = match t.get(&counter)? {
                None => 0,
                Some(v) => decode_count(&v).map_err(abort)?,
            };
            if active >= capacity {
                return Ok(false);
            }
            t.insert(counter, (active + 1).to_be_bytes())?;
            m.status = MatchStatus::Active;
            m.answered_at = Some(now);
            m.answer_message = message.clone();
            t.insert(
                match_key(proposal),
                to_json("mentoring", &m).map_err(abort)?,
            )?;
            Ok(true)
        });
        match result {
            Ok(accepted) => Ok(accepted),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}

/// What of an erased member goes from a match they were in (see [`Store::erase_mentoring`]).
pub(super) fn erase_from_match(m: &mut MatchRecord, member: &MemberId) {
    if m.buddy == *member {
        m.note.clear();
        m.request = None;
    }
    if m.mentor == *member {
        m.answer_message = None;
    }
    m.checkins.retain(|c| c.by != *member);
    m.reflections.retain(|r| r.by != *member);
    if m.closed_by.as_ref() == Some(member) {
        m.closing = None;
    }
    if m.agreed.as_ref().is_some_and(|a| a.by == *member) && m.confirmed.is_none() {
        m.agreement = None;
        m.agreed = None;
    }
}

/// A mentor's count of active matches, as stored (4 bytes, big-endian).
fn decode_count(v: &[u8]) -> Result<u32, StoreError> {
    <[u8; 4]>::try_from(v)
        .map(u32::from_be_bytes)
        .map_err(|e| StoreError::corrupt("mentoring", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(n: u8, buddy: &str, mentor: &str) -> MatchRecord {
        let proposal = kindred_protocol::event::body::mentoring::MatchProposal {
            offer: EventId::from_bytes([200; 32]),
            mentor: MemberId::parse(mentor).unwrap_or_else(|e| panic!("{e}")),
            note: String::new(),
            asked: None,
        };
        let buddy = MemberId::parse(buddy).unwrap_or_else(|e| panic!("{e}"));
        MatchRecord::proposed(EventId::from_bytes([n; 32]), buddy, proposal, 1)
    }

    /// A mentor's places are counted with the matches themselves: accepting takes one and
    /// a match that stops being active (closed, withdrawn across an acceptance) gives it
    /// back in the same write; other changes leave the count alone, and a mentor whose
    /// places this node does not count (another node's) gets no count here.
    #[test]
    fn a_match_that_ends_gives_its_place_back_in_the_same_write() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        let mentor = MemberId::parse("@mo:a.org").unwrap_or_else(|e| panic!("{e}"));
        let (first, second) = (
            proposal(1, "@bea:b.org", "@mo:a.org"),
            proposal(2, "@cal:c.org", "@mo:a.org"),
        );
        store.put_match(&first).expect("put");
        store.put_match(&second).expect("put");
        assert!(
            store
                .accept_if_room(&first.id, 2, 10, None)
                .expect("accept")
        );
        assert!(
            store
                .accept_if_room(&second.id, 2, 10, None)
                .expect("accept")
        );
        assert_eq!(store.active_count(&mentor).expect("count"), 2);
        // A check-in changes nothing about places.
        store
            .update_match(&first.id, |m| {
                m.answer_message = Some("hello".into());
                Ok::<_, StoreError>(())
            })
            .expect("update");
        assert_eq!(store.active_count(&mentor).expect("count"), 2);
        for (id, status) in [
            (first.id, MatchStatus::Closed),
            (second.id, MatchStatus::Withdrawn),
        ] {
            store
                .update_match(&id, |m| {
                    m.status = status;
                    Ok::<_, StoreError>(())
                })
                .expect("update");
        }
        assert_eq!(store.active_count(&mentor).expect("count"), 0);
        // Ending again, or a change to an ended match, gives nothing more back.
        store
            .update_match(&first.id, |m| {
                m.status = MatchStatus::Closed;
                m.closed_at = Some(20);
                Ok::<_, StoreError>(())
            })
            .expect("update");
        assert_eq!(store.active_count(&mentor).expect("count"), 0);
        // Another node's mentor: the match is kept here, its places are not.
        let remote = proposal(3, "@bea:b.org", "@zed:z.org");
        store
            .put_match(&MatchRecord {
                status: MatchStatus::Active,
                ..remote.clone()
            })
            .expect("put");
        store
            .update_match(&remote.id, |m| {
                m.status = MatchStatus::Closed;
                Ok::<_, StoreError>(())
            })
            .expect("update");
        let zed = MemberId::parse("@zed:z.org").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.active_count(&zed).expect("count"), 0);
        assert!(
            store
                .mentoring()
                .get(key(b'c', zed.as_str()))
                .expect("get")
                .is_none()
        );
        // No such match: nothing written, no answer.
        let none = store
            .update_match(&EventId::from_bytes([9; 32]), |_| Ok::<_, StoreError>(()))
            .expect("update");
        assert_eq!(none, None);
    }

    /// An acceptance applied from the log, not made here (a node restored from a backup
    /// older than it): the match takes its place at the mentor's home node only, and
    /// gives it back when it ends.
    #[test]
    fn an_acceptance_applied_from_the_log_takes_a_place_at_the_mentors_node() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        store.set_node_name("a.org").expect("name");
        let ours = proposal(1, "@bea:b.org", "@mo:a.org");
        let theirs = proposal(2, "@ann:a.org", "@zed:z.org");
        for m in [&ours, &theirs] {
            store.put_match(m).expect("put");
            store
                .update_match(&m.id, |m| {
                    m.status = MatchStatus::Active;
                    Ok::<_, StoreError>(())
                })
                .expect("update");
        }
        let mo = MemberId::parse("@mo:a.org").unwrap_or_else(|e| panic!("{e}"));
        let zed = MemberId::parse("@zed:z.org").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.active_count(&mo).expect("count"), 1);
        assert_eq!(store.active_count(&zed).expect("count"), 0);
        // Applied again: already active, nothing more taken.
        store
            .update_match(&ours.id, |m| {
                m.status = MatchStatus::Active;
                m.answered_at = Some(5);
                Ok::<_, StoreError>(())
            })
            .expect("update");
        assert_eq!(store.active_count(&mo).expect("count"), 1);
        store
            .update_match(&ours.id, |m| {
                m.status = MatchStatus::Closed;
                Ok::<_, StoreError>(())
            })
            .expect("update");
        assert_eq!(store.active_count(&mo).expect("count"), 0);
    }
}
