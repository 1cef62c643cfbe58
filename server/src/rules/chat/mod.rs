//! Conversations only their members' nodes can change.
//!
//! - A one-to-one conversation has exactly its two members, both admins, and the id
//!   `ConversationId::direct` of the two; its membership never changes.
//! - A conversation is created by one of its admins, who is one of its members (and, by the
//!   name rule, a member of the node that signed it).
//! - Only current admins change the membership, the admins or the name; any member may
//!   leave, and a leave removes only the leaver.
//! - Updates are ordered by effective time (the origin's time capped at arrival), then id;
//!   one older than the state held is refused as superseded.
//! - Messages, reactions and read markers come from current members; anything for a
//!   conversation or message this node does not hold yet waits for it.

use std::collections::BTreeSet;

use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
};
use kindred_protocol::event::{ConversationId, EventKind};
use kindred_protocol::{EventId, EventPayload, MemberId};

use super::{
    Awaiting, Context, ConversationState, Decision, Effect, Refusal, View, applied_original,
};

fn set(members: &[MemberId]) -> BTreeSet<&MemberId> {
    members.iter().collect()
}

/// The shape every update must have, whoever sends it.
fn well_formed(u: &ConversationUpdate) -> Result<(), &'static str> {
    let members = set(&u.members);
    if members.len() != u.members.len() || set(&u.admins).len() != u.admins.len() {
        return Err("someone is listed twice");
    }
    if u.admins.iter().any(|a| !members.contains(a)) {
        return Err("an admin who is not a member");
    }
    if u.kind == ConversationKind::Direct {
        let [a, b] = u.members.as_slice() else {
            return Err("a one-to-one conversation has two members");
        };
        if ConversationId::direct(a, b) != u.conversation {
            return Err("a one-to-one conversation's id is derived from its two members");
        }
        if set(&u.admins) != members {
            return Err("both members of a one-to-one conversation are its admins");
        }
    }
    Ok(())
}

/// Whether a group uses the id of a one-to-one conversation between one of this node's
/// members and another of its members (group ids are random, so only someone squatting
/// on that pair's conversation does this).
fn squats_a_direct_id(ctx: &Context<'_>, u: &ConversationUpdate) -> bool {
    u.kind == ConversationKind::Group
        && u.members
            .iter()
            .filter(|m| m.node_name() == ctx.self_name)
            .any(|ours| {
                u.members.iter().any(|other| {
                    other != ours && ConversationId::direct(ours, other) == u.conversation
                })
            })
}

pub(super) fn update<V: View>(
    ctx: &Context<'_>,
    id: EventId,
    p: &EventPayload,
    u: &ConversationUpdate,
    view: &V,
) -> Result<Decision, V::Error> {
    if let Err(why) = well_formed(u) {
        return Ok(Decision::Refuse(Refusal::Malformed(why)));
    }
    if squats_a_direct_id(ctx, u) {
        return Ok(Decision::Refuse(Refusal::Malformed(
            "a group cannot use the id of a one-to-one conversation",
        )));
    }
    let current = view.conversation(&u.conversation)?;
    let ours = |m: &MemberId| m.node_name() == ctx.self_name;
    let involved =
        u.members.iter().any(ours) || current.as_ref().is_some_and(|c| c.members.iter().any(ours));
    if !involved {
        return Ok(Decision::Refuse(Refusal::NotForThisNode));
    }
    let author = &p.author;
    let state = ConversationState {
        kind: u.kind,
        name: u.name.clone(),
        members: u.members.clone(),
        admins: u.admins.clone(),
        updated_at: ctx.effective_time(p),
        update: Some(id),
    };
    let Some(current) = current else {
        if u.members.contains(author) && u.admins.contains(author) {
            return Ok(Decision::Apply(Effect::Conversation(state)));
        }
        if u.kind == ConversationKind::Direct {
            return Ok(Decision::Refuse(Refusal::NotAMember(author.clone())));
        }
        // Only a change to a conversation this node has not heard of yet (someone
        // leaving one it is about to be told about): decide once it is known.
        return Ok(Decision::Hold(Awaiting::Conversation(u.conversation)));
    };
    // A well-formed one-to-one update may take its id back from a group squatting on it
    // (a group with that id cannot be honest: group ids are random).
    let reclaims = u.kind == ConversationKind::Direct && current.kind == ConversationKind::Group;
    if current.kind != u.kind && !reclaims {
        return Ok(Decision::Refuse(Refusal::Malformed(
            "a conversation's kind never changes",
        )));
    }
    if reclaims {
        return Ok(if u.members.contains(author) {
            Decision::Apply(Effect::Conversation(state))
        } else {
            Decision::Refuse(Refusal::NotAMember(author.clone()))
        });
    }
    let held = (current.updated_at, current.update);
    if (state.updated_at, state.update) <= held {
        return Ok(Decision::Refuse(Refusal::Superseded));
    }
    if u.kind == ConversationKind::Direct {
        // Well formed, it names exactly the two members its id is derived from, so it can
        // only ever restore that membership (a record damaged before these rules).
        return Ok(if u.members.contains(author) {
            Decision::Apply(Effect::Conversation(state))
        } else {
            Decision::Refuse(Refusal::NotAMember(author.clone()))
        });
    }
    if current.admins.contains(author) {
        return Ok(Decision::Apply(Effect::Conversation(state)));
    }
    // From another node, a change its author may not make *yet* waits for the
    // conversation to change: the update that made them a member or admin (or the
    // erasure that left them the group's admins) may still be on its way from another
    // node. Bounded by the origin's hold quota. A local write is refused at once.
    let wait = p.origin != ctx.self_id;
    if !current.members.contains(author) {
        return Ok(if wait {
            Decision::Hold(Awaiting::Conversation(u.conversation))
        } else {
            Decision::Refuse(Refusal::NotAMember(author.clone()))
        });
    }
    // Not an admin: the only change allowed is leaving, which removes the leaver alone.
    let mut remaining = set(&current.members);
    remaining.remove(author);
    let leaves = set(&u.members) == remaining
        && set(&u.admins) == set(&current.admins)
        && u.name == current.name;
    if leaves {
        Ok(Decision::Apply(Effect::Conversation(state)))
    } else if wait {
        Ok(Decision::Hold(Awaiting::Conversation(u.conversation)))
    } else {
        Ok(Decision::Refuse(Refusal::ConversationChange(
            author.clone(),
        )))
    }
}

/// The conversation, if the author is in it; otherwise the decision.
fn membership<V: View>(
    conversation: &ConversationId,
    author: &MemberId,
    view: &V,
) -> Result<Result<ConversationState, Decision>, V::Error> {
    let Some(state) = view.conversation(conversation)? else {
        return Ok(Err(Decision::Hold(Awaiting::Conversation(*conversation))));
    };
    if !state.members.contains(author) {
        return Ok(Err(Decision::Refuse(Refusal::NotAMember(author.clone()))));
    }
    Ok(Ok(state))
}

/// The message `target` in `conversation`, once applied; otherwise the decision.
fn message_in<V: View>(
    target: EventId,
    conversation: &ConversationId,
    view: &V,
) -> Result<Result<(EventId, super::Entry), Decision>, V::Error> {
    let (original, entry) = match applied_original(target, view)? {
        Ok(found) => found,
        Err(wait) => return Ok(Err(wait)),
    };
    if entry.kind != EventKind::ChatMessage.code() || entry.conversation != Some(*conversation) {
        return Ok(Err(Decision::Refuse(Refusal::WrongTarget(target))));
    }
    Ok(Ok((original, entry)))
}

pub(super) fn message<V: View>(
    p: &EventPayload,
    m: &ChatMessage,
    view: &V,
) -> Result<Decision, V::Error> {
    let c = m.conversation;
    if let Err(decision) = membership(&c, &p.author, view)? {
        return Ok(decision);
    }
    let Some(target) = p.refs.replaces.or(p.refs.retracts) else {
        return Ok(Decision::Apply(Effect::Message { conversation: c }));
    };
    let (original, entry) = match message_in(target, &c, view)? {
        Ok(found) => found,
        Err(decision) => return Ok(decision),
    };
    if entry.author != p.author || entry.origin != p.origin {
        return Ok(Decision::Refuse(Refusal::NotTheAuthor(original)));
    }
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(original)));
    }
    Ok(Decision::Apply(if p.refs.retracts.is_some() {
        Effect::MessageRetract {
            conversation: c,
            original,
        }
    } else {
        Effect::MessageEdit {
            conversation: c,
            original,
        }
    }))
}

pub(super) fn reaction<V: View>(
    p: &EventPayload,
    r: &ChatReaction,
    view: &V,
) -> Result<Decision, V::Error> {
    if let Err(decision) = membership(&r.conversation, &p.author, view)? {
        return Ok(decision);
    }
    let (target, entry) = match message_in(r.target, &r.conversation, view)? {
        Ok(found) => found,
        Err(decision) => return Ok(decision),
    };
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(target)));
    }
    Ok(Decision::Apply(Effect::React {
        target,
        conversation: Some(r.conversation),
    }))
}

pub(super) fn marker<V: View>(
    p: &EventPayload,
    m: &ReadMarker,
    view: &V,
) -> Result<Decision, V::Error> {
    if let Err(decision) = membership(&m.conversation, &p.author, view)? {
        return Ok(decision);
    }
    // A message whose author was erased still marks a place in the conversation: read up
    // to it is read up to it, whether the marker came before the erasure or after.
    if view
        .entry(&m.up_to)?
        .is_some_and(|e| e.kind == EventKind::Tombstone.code() && !e.held)
    {
        return Ok(Decision::Apply(Effect::ReadMarker {
            conversation: m.conversation,
            up_to: m.up_to,
        }));
    }
    let (up_to, _) = match message_in(m.up_to, &m.conversation, view)? {
        Ok(found) => found,
        Err(decision) => return Ok(decision),
    };
    Ok(Decision::Apply(Effect::ReadMarker {
        conversation: m.conversation,
        up_to,
    }))
}

#[cfg(test)]
mod tests;
