//! The mentoring processor: applies stored events to the `mentoring` tree, in arrival
//! order, after a watermark; and expires unanswered proposals to this node's mentors.

use std::time::Duration;

use kindred_protocol::api::MatchStatus;
use kindred_protocol::event::body::mentoring::{Answer, MatchAnswer, MatchUpdate};
use kindred_protocol::{EventBody, MemberId, NodeId};
use tokio::sync::watch;

use super::agreement_state::{confirm_agreement, proposal_in_log, propose_agreement};
use super::parties;
use crate::node::Node;
use crate::node::chat::direct_conversation;
use crate::rules::mentoring as rules;
use crate::store::{CheckInRecord, MatchRecord, OfferRecord, StoreError, StoredEvent, payload_of};

/// Runs until shutdown: applies new events as they are stored, and sweeps expiries.
pub(crate) async fn run(node: Node, mut stored: watch::Receiver<u64>, done: watch::Sender<u64>) {
    let shutdown = node.shutdown_signal();
    // Sweep for expiries twice per expiry period, between every second and every 30 s.
    let expiry = node.config().mentoring.proposal_expiry_minutes * 60;
    let mut sweep = tokio::time::interval(Duration::from_secs((expiry / 2).clamp(1, 30)));
    let mut written = None;
    loop {
        let applied = *done.borrow();
        match apply_pending(&node, &mut written, applied) {
            Ok(up_to) => {
                done.send_replace(up_to);
            }
            Err(e) => tracing::error!(error = %e, "mentoring processor failed; will retry"),
        }
        tokio::select! {
            _ = stored.changed() => {}
            _ = sweep.tick() => {
                if let Err(e) = node.expire_proposals().await {
                    tracing::error!(error = %e, "expiring proposals failed");
                }
            }
            _ = shutdown.cancelled() => {
                // What was applied since the watermark was last written need not be read
                // again at the next start.
                let up_to = *done.borrow();
                if written.is_some_and(|w| w < up_to)
                    && let Err(e) = node.store().set_mentoring_watermark(up_to)
                {
                    tracing::warn!(error = %e, "cannot record the mentoring processor's progress");
                }
                return;
            }
        }
    }
}

/// The stored watermark may lag this many events behind what was applied: events of
/// kinds the processor does not handle change nothing when applied again after a restart,
/// so writing the watermark after each of them (a disk sync apiece on redb, one per post
/// with a single writer) is not worth it; this bounds the re-reading at start.
const WATERMARK_LAG: u64 = 4096;

/// Applies everything stored after the watermark; returns how far it has applied.
/// `written` is the watermark as last written (read on the first call); `applied`, how
/// far the previous call got.
fn apply_pending(node: &Node, written: &mut Option<u64>, applied: u64) -> Result<u64, StoreError> {
    let store = node.store();
    let mut stored_mark = match *written {
        Some(w) => w,
        None => store.mentoring_watermark()?,
    };
    *written = Some(stored_mark);
    let mut up_to = applied.max(stored_mark);
    loop {
        let batch = store.stored_after(up_to, 512)?;
        let Some(last) = batch.last().map(|e| e.local_seq) else {
            return Ok(up_to);
        };
        let mut changed = false;
        for stored in batch {
            changed |= apply(node, stored)?;
        }
        if changed || last - stored_mark >= WATERMARK_LAG {
            store.set_mentoring_watermark(last)?;
            stored_mark = last;
            *written = Some(last);
        }
        up_to = last;
    }
}

/// Whether the processor does anything with events of this kind.
fn handles(body: &EventBody) -> bool {
    matches!(
        body,
        EventBody::Erasure(_)
            | EventBody::MentorOffer(_)
            | EventBody::MatchProposal(_)
            | EventBody::MatchAnswer(_)
            | EventBody::CheckIn(_)
            | EventBody::MatchUpdate(_)
    )
}

/// A member was erased: their mentoring content goes; their active matches end (the
/// mentor's place is freed) and proposals waiting on either side are over, so the other
/// person is never left with a match nobody can close. On the member's own node (a node
/// restored from a backup catching up its log), their account goes too.
fn erased(node: &Node, member: &MemberId, origin: NodeId, at: u64) -> Result<(), StoreError> {
    let store = node.store();
    store.erase_mentoring(member)?;
    let own = node.config().node.name.as_str();
    for found in store.matches_of(member)? {
        let ended = store.update_match(&found.id, |m| {
            let was = m.status;
            m.status = match was {
                MatchStatus::Active => MatchStatus::Closed,
                MatchStatus::Pending if m.buddy == *member => MatchStatus::Withdrawn,
                MatchStatus::Pending => MatchStatus::NoLongerAvailable,
                _ => return Ok::<_, StoreError>(None),
            };
            m.closed_at.get_or_insert(at);
            Ok(Some((was, m.clone())))
        })?;
        let Some(Some((was, m))) = ended else {
            continue;
        };
        // Its place was given back as it ended (`update_match`).
        if was == MatchStatus::Active && m.mentor.node_name() == own && m.mentor != *member {
            node.mentoring_changed(&m.mentor);
        }
        node.tell_match(&m);
    }
    if origin == node.node_id()
        && member.node_name() == own
        && store.member(member.localpart())?.is_some()
    {
        // A restored node catching up its own log (or this node's own erasure, while it
        // is being published): the account goes, and anything of theirs written since
        // the erasure (a restored node writing before it caught up) is erased by the
        // housekeeping. Once the account is gone there is nothing left to do.
        store.remove_account(member.localpart(), member)?;
        store.erasure_pending(member.localpart())?;
        store.accounts_changed();
    }
    Ok(())
}

/// The buddy's request behind an accepted proposal is matched (once; nothing when the
/// request is not on this node).
fn request_matched(node: &Node, m: &MatchRecord, at: u64) -> Result<(), StoreError> {
    let Some(rid) = &m.request else {
        return Ok(());
    };
    node.store().update_request(rid, |r| {
        if r.status != "matched" {
            r.status = "matched".to_owned();
            r.matched_at = Some(at);
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}

/// Stores a proposal or match and tells its members on this node, live.
fn put_match(node: &Node, m: &MatchRecord) -> Result<(), StoreError> {
    node.store().put_match(m)?;
    node.tell_match(m);
    Ok(())
}

/// Applies one event; whether it was of a kind the processor handles (its watermark is
/// then written, see [`WATERMARK_LAG`]).
fn apply(node: &Node, stored: StoredEvent) -> Result<bool, StoreError> {
    let store = node.store();
    if stored.meta.quarantined || stored.meta.held {
        // Refused, or waiting (a held directed event is moved to the end of the log when
        // what it waits for arrives, so it comes by again).
        return Ok(false);
    }
    let id = &stored.id;
    let p = payload_of(&stored.event)?;
    if !handles(&p.body) {
        return Ok(false);
    }
    let own = node.config().node.name.as_str();
    let at = p.created_at.as_millis();
    match p.body {
        // Whatever of theirs this processor applied before is dropped; later events of
        // theirs are refused at ingest and never come here.
        EventBody::Erasure(_) => erased(node, &p.author, p.origin, stored.meta.received_at)?,
        EventBody::MentorOffer(offer) => store.put_offer(&OfferRecord {
            id: *id,
            mentor: p.author,
            offer,
            updated_at: at,
        })?,
        EventBody::MatchProposal(proposal) => {
            let involved = p.author.node_name() == own || proposal.mentor.node_name() == own;
            if involved && store.match_record(id)?.is_none() {
                put_match(node, &MatchRecord::proposed(*id, p.author, proposal, at))?;
            }
        }
        EventBody::MatchAnswer(answer) => {
            let applied = store.update_match(&answer.proposal, |m| {
                let was = m.status;
                let status = match rules::answer(&parties(m), &p.author, answer.answer) {
                    Ok(status) => status,
                    Err(reason) => return Ok::<_, StoreError>((was, Err(reason), m.clone())),
                };
                m.status = status;
                m.answered_at = Some(at);
                m.answer_message.clone_from(&answer.message);
                if status == MatchStatus::Active {
                    m.conversation = Some(direct_conversation(&m.buddy, &m.mentor));
                }
                Ok((was, Ok(()), m.clone()))
            })?;
            let Some((was, outcome, m)) = applied else {
                return Ok(true);
            };
            if let Err(reason) = outcome {
                // The mentor's own node set its acceptance before writing it; its request
                // is matched all the same.
                if m.status == MatchStatus::Active {
                    request_matched(node, &m, at)?;
                }
                tracing::info!(%id, %reason, "match answer not applied");
                return Ok(true);
            }
            if matches!(was, MatchStatus::Active | MatchStatus::Closed) {
                // A withdrawal that crossed the acceptance: the place is free again (a
                // closed match's was freed when it closed), and the buddy's request is
                // open again unless another of its proposals is a match.
                if was == MatchStatus::Active && m.mentor.node_name() == own {
                    node.mentoring_changed(&m.mentor);
                }
                let matched_elsewhere = store.matches_of(&m.buddy)?.iter().any(|other| {
                    other.id != m.id
                        && other.request == m.request
                        && matches!(other.status, MatchStatus::Active | MatchStatus::Closed)
                });
                if let Some(rid) = m.request.as_ref().filter(|_| !matched_elsewhere) {
                    store.update_request(rid, |r| {
                        if r.status == "matched" {
                            r.status = "open".to_owned();
                            r.matched_at = None;
                        }
                        Ok::<_, StoreError>(())
                    })?;
                }
            }
            if m.status == MatchStatus::Active {
                request_matched(node, &m, at)?;
            }
            node.tell_match(&m);
        }
        EventBody::CheckIn(checkin) => {
            let applied = store.update_match(&checkin.proposal, |m| {
                if let Err(reason) = rules::check_in(&parties(m), &p.author) {
                    return Ok::<_, StoreError>(Err(reason));
                }
                // Applied once, whenever the log is read again.
                let applied = |c: &CheckInRecord| match c.event {
                    Some(e) => e == *id,
                    None => c.by == p.author && c.at == at,
                };
                if m.checkins.iter().any(applied) {
                    return Ok(Ok(None));
                }
                m.checkins.push(CheckInRecord {
                    by: p.author.clone(),
                    pulse: checkin.pulse,
                    // A fit on the wire is one its author chose to show.
                    fit_shared: checkin.fit.is_some(),
                    fit: checkin.fit,
                    note: None,
                    at,
                    event: Some(*id),
                });
                Ok(Ok(Some(m.clone())))
            })?;
            match applied {
                Some(Err(reason)) => tracing::info!(%id, %reason, "check-in not applied"),
                Some(Ok(Some(m))) => node.tell_match(&m),
                _ => {}
            }
        }
        EventBody::MatchUpdate(update) => {
            let Some(current) = store.match_record(&update.proposal)? else {
                return Ok(true);
            };
            if let Err(reason) = rules::match_update(&parties(&current), &p.author)
                && !crossed_closing(&current, &update, &p.author, at)
            {
                tracing::info!(%id, %reason, "match update not applied");
                return Ok(true);
            }
            // An older proposal a confirmation may refer to is read from the log first:
            // the change itself only works on the record.
            let older = match (update.confirms, &current.agreed) {
                (Some(target), Some(state)) if state.id == target => None,
                (Some(target), _) => proposal_in_log(node, &target, &current.id)?,
                (None, _) => None,
            };
            let applied = store.update_match(&update.proposal, |m| {
                if crossed_closing(m, &update, &p.author, at) {
                    // Both people ended it at once: the earlier closing stands on both
                    // nodes, whichever each heard first (the place was freed already).
                    m.closing.clone_from(&update.closing);
                    m.closed_at = Some(at);
                    m.closed_by = Some(p.author.clone());
                    return Ok((false, Ok(m.clone())));
                }
                // Checked again on the record as it is now (closed meanwhile, say).
                if let Err(reason) = rules::match_update(&parties(m), &p.author) {
                    return Ok::<_, StoreError>((false, Err(reason)));
                }
                // The proposal confirmed: the current one (read before this update's own
                // proposal replaces it), or an older one read from the log (its
                // confirmation may arrive after a newer proposal).
                let confirmed = update.confirms.map(|target| {
                    let proposal = match m.agreed.as_ref().zip(m.agreement.as_ref()) {
                        Some((state, terms)) if state.id == target => {
                            Some((terms.clone(), state.by.clone(), state.at))
                        }
                        _ => older.clone(),
                    };
                    (target, proposal)
                });
                if let Some(a) = &update.agreement {
                    propose_agreement(m, a.clone(), *id, &p.author, at);
                }
                if let Some((target, proposal)) = confirmed {
                    match proposal {
                        Some(proposal) => {
                            confirm_agreement(m, target, proposal, &p.author, at);
                        }
                        None => {
                            tracing::info!(%id, %target, "confirmation of something that is not an agreement on this match")
                        }
                    }
                }
                if let Some(c) = &update.closing {
                    m.closing = Some(c.clone());
                    m.closed_at = Some(at);
                    m.closed_by = Some(p.author.clone());
                    m.status = MatchStatus::Closed;
                }
                Ok((update.closing.is_some(), Ok(m.clone())))
            })?;
            let (closed_now, m) = match applied {
                None => return Ok(true),
                Some((_, Err(reason))) => {
                    tracing::info!(%id, %reason, "match update not applied");
                    return Ok(true);
                }
                Some((closed_now, Ok(m))) => (closed_now, m),
            };
            // The match was active (checked above) and is closed now: its place was given
            // back with it (`update_match`).
            if closed_now && m.mentor.node_name() == own {
                node.mentoring_changed(&m.mentor);
            }
            node.tell_match(&m);
        }
        _ => {}
    }
    Ok(true)
}

/// Whether `update` is a closing that crossed the one that ended `m` (see
/// [`rules::crossed_closing`]).
fn crossed_closing(m: &MatchRecord, update: &MatchUpdate, author: &MemberId, at: u64) -> bool {
    update.closing.is_some()
        && rules::crossed_closing(
            &parties(m),
            &rules::Ending {
                began: m.answered_at,
                by: m.closed_by.as_ref(),
                at: m.closed_at,
            },
            author,
            at,
        )
}

impl Node {
    /// Waits until the processor has applied everything stored before now (a few seconds
    /// at most), so a request sees the effects of what it just wrote.
    pub(crate) async fn mentoring_caught_up(&self) -> Result<(), StoreError> {
        let target = self.store().last_local_seq()?;
        let mut done = self.mentoring_progress();
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            done.wait_for(|up_to| *up_to >= target),
        )
        .await;
        if !matches!(waited, Ok(Ok(_))) {
            tracing::warn!(target, "mentoring state is behind");
        }
        Ok(())
    }

    /// Answers `Expired` for this node's mentors' proposals left unanswered too long.
    pub(crate) async fn expire_proposals(&self) -> Result<(), crate::node::AppError> {
        let own = self.config().node.name.clone();
        let limit = self.config().mentoring.proposal_expiry_minutes * 60_000;
        let now = self.now().as_millis();
        for m in self.store().matches()? {
            if m.status == MatchStatus::Pending
                && m.mentor.node_name() == own.as_str()
                && m.created_at + limit <= now
            {
                tracing::info!(proposal = %m.id, "proposal expired");
                self.send_answer(
                    &m,
                    MatchAnswer {
                        proposal: m.id,
                        answer: Answer::Expired,
                        message: None,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}
