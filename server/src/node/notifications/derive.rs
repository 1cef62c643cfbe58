//! Who is told of a stored event: the rule, written once. A notification goes only to
//! this node's own members with an account, never to the event's author, never about
//! someone the member has blocked or a node this node has blocked, and never for an
//! event the rules refused, held, or that is an edit (the original was notified).

use kindred_protocol::api::NotificationKind;
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId};

use crate::node::Node;
use crate::store::{NoteRecord, StoreError, StoredEvent, payload_of};

/// Events older than this when they arrive (a new peer's history, a restored node
/// catching up) are not notified: they are not news.
pub(crate) const NEWS_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// The notifications `stored` gives rise to, by member.
pub(crate) fn notes_for(
    node: &Node,
    stored: &StoredEvent,
) -> Result<Vec<(MemberId, NoteRecord)>, StoreError> {
    let meta = &stored.meta;
    if meta.quarantined || meta.held || meta.original.is_some() || meta.retracted_by.is_some() {
        return Ok(Vec::new());
    }
    let payload = payload_of(&stored.event)?;
    if payload.refs.replaces.is_some()
        || meta.received_at.saturating_sub(payload.created_at.0) > NEWS_MS
    {
        return Ok(Vec::new());
    }
    let Some((kind, candidates)) = told(node, &payload)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(MemberId, NoteRecord)> = Vec::new();
    for member in candidates {
        if member == payload.author
            || out.iter().any(|(m, _)| *m == member)
            || !may_tell(node, &member, &payload.author)?
        {
            continue;
        }
        out.push((
            member,
            NoteRecord {
                kind,
                at: meta.received_at,
                event: Some(stored.id),
                actor: Some(payload.author.clone()),
                subject: None,
                text: None,
                link: None,
                seen: false,
            },
        ));
    }
    Ok(out)
}

/// Whether `member` may be told of something `actor` did: they are this node's member
/// with an account, and neither they nor this node have blocked the actor.
fn may_tell(node: &Node, member: &MemberId, actor: &MemberId) -> Result<bool, StoreError> {
    if member.node_name() != node.config().node.name.as_str()
        || node.store().member(member.localpart())?.is_none()
    {
        return Ok(false);
    }
    Ok(!node.store().has_blocked(member, actor)? && !node.is_blocked_member(actor)?)
}

/// The kind of notification a payload makes, and who might get it.
fn told(
    node: &Node,
    payload: &EventPayload,
) -> Result<Option<(NotificationKind, Vec<MemberId>)>, StoreError> {
    Ok(match &payload.body {
        EventBody::Reply(_) => {
            // The author of what was replied to, and the thread's author.
            let mut to = Vec::new();
            for target in [payload.refs.reply_to, payload.refs.thread_root]
                .into_iter()
                .flatten()
            {
                if let Some(author) = shown_author(node, &target)? {
                    to.push(author);
                }
            }
            Some((NotificationKind::Reply, to))
        }
        EventBody::Reaction(r) if !r.removed => Some((
            NotificationKind::Reaction,
            shown_author(node, &r.target)?.into_iter().collect(),
        )),
        EventBody::ChatMessage(m) => {
            let Some(record) = node.store().conversation(&m.conversation)? else {
                return Ok(None);
            };
            let mut to = Vec::new();
            for member in record.members {
                // Muted conversations are not counted as unread, so they are not emailed.
                let muted = node
                    .store()
                    .participant(&member, &m.conversation)?
                    .is_none_or(|p| p.muted);
                if !muted {
                    to.push(member);
                }
            }
            Some((NotificationKind::Chat, to))
        }
        EventBody::MatchProposal(p) => Some((NotificationKind::Mentoring, vec![p.mentor.clone()])),
        EventBody::MatchAnswer(a) => match_parties(node, &a.proposal)?,
        EventBody::MatchUpdate(u) => match_parties(node, &u.proposal)?,
        EventBody::CheckIn(c) => match_parties(node, &c.proposal)?,
        _ => None,
    })
}

/// Both people in a match (the author is left out by the caller).
fn match_parties(
    node: &Node,
    proposal: &EventId,
) -> Result<Option<(NotificationKind, Vec<MemberId>)>, StoreError> {
    Ok(node
        .store()
        .match_record(proposal)?
        .map(|m| (NotificationKind::Mentoring, vec![m.buddy, m.mentor])))
}

/// The author of a shown post or reply.
fn shown_author(node: &Node, id: &EventId) -> Result<Option<MemberId>, StoreError> {
    Ok(node.shown(id)?.and_then(|(_, p)| match p.body {
        EventBody::Post(_) | EventBody::Reply(_) => Some(p.author),
        _ => None,
    }))
}
