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
mod tests {
    use super::super::memory::{Memory, directed, event, member, node};
    use super::super::{Awaiting, Decision, Effect, Refusal, decide};
    use kindred_protocol::event::ConversationId;
    use kindred_protocol::event::body::chat::{
        ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
    };
    use kindred_protocol::{EventBody, EventPayload, Timestamp};

    fn group_update(
        author: &str,
        origin: u8,
        c: ConversationId,
        members: &[&str],
        admins: &[&str],
        at: u64,
    ) -> EventPayload {
        let mut e = event(
            origin,
            author,
            directed(),
            EventBody::ConversationUpdate(ConversationUpdate {
                conversation: c,
                kind: ConversationKind::Group,
                name: "Joint session".into(),
                members: members.iter().map(|m| member(m)).collect(),
                admins: admins.iter().map(|m| member(m)).collect(),
            }),
        );
        e.created_at = Timestamp(at);
        e
    }

    fn message(author: &str, origin: u8, c: ConversationId) -> EventPayload {
        event(
            origin,
            author,
            directed(),
            EventBody::ChatMessage(ChatMessage {
                conversation: c,
                body: "hello".into(),
            }),
        )
    }

    /// self.org's @me, a.org's @ann (node 1) and h.org's @h (node 9) in a group @ann made.
    fn setting() -> (Memory, ConversationId) {
        let mut m = Memory::new();
        m.bind("a.org", node(1));
        m.bind("h.org", node(9));
        let c = ConversationId::from_bytes([5; 16]);
        m.apply(&group_update(
            "@ann:a.org",
            1,
            c,
            &["@ann:a.org", "@h:h.org", "@me:self.org"],
            &["@ann:a.org"],
            1_000,
        ));
        (m, c)
    }

    #[test]
    fn who_may_change_a_group() {
        let (m, c) = setting();
        let all = ["@ann:a.org", "@h:h.org", "@me:self.org"];
        let cases: Vec<(&str, EventPayload, Decision)> = vec![
            (
                "the admin removes someone",
                group_update(
                    "@ann:a.org",
                    1,
                    c,
                    &["@ann:a.org", "@me:self.org"],
                    &["@ann:a.org"],
                    2_000,
                ),
                Decision::Apply(Effect::Conversation(m.state_of(
                    c,
                    &["@ann:a.org", "@me:self.org"],
                    &["@ann:a.org"],
                    2_000,
                ))),
            ),
            (
                "a member leaves",
                group_update(
                    "@h:h.org",
                    9,
                    c,
                    &["@ann:a.org", "@me:self.org"],
                    &["@ann:a.org"],
                    2_000,
                ),
                Decision::Apply(Effect::Conversation(m.state_of(
                    c,
                    &["@ann:a.org", "@me:self.org"],
                    &["@ann:a.org"],
                    2_000,
                ))),
            ),
            (
                "a member leaves naming itself admin",
                group_update(
                    "@h:h.org",
                    9,
                    c,
                    &["@ann:a.org", "@me:self.org"],
                    &["@ann:a.org", "@me:self.org"],
                    2_000,
                ),
                Decision::Hold(Awaiting::Conversation(c)),
            ),
            (
                "a member makes itself admin",
                group_update("@h:h.org", 9, c, &all, &["@h:h.org"], 2_000),
                Decision::Hold(Awaiting::Conversation(c)),
            ),
            (
                "a member here makes itself admin: refused to its writer at once",
                group_update("@me:self.org", 0, c, &all, &["@me:self.org"], 2_000),
                Decision::Refuse(Refusal::ConversationChange(member("@me:self.org"))),
            ),
            (
                "a member's leave that also removes someone else",
                group_update("@h:h.org", 9, c, &["@ann:a.org"], &["@ann:a.org"], 2_000),
                Decision::Hold(Awaiting::Conversation(c)),
            ),
            (
                "an update older than the state held",
                group_update("@ann:a.org", 1, c, &all, &["@ann:a.org"], 500),
                Decision::Refuse(Refusal::Superseded),
            ),
            (
                "an admin who is not a member",
                group_update("@ann:a.org", 1, c, &["@ann:a.org"], &["@h:h.org"], 2_000),
                Decision::Refuse(Refusal::Malformed("an admin who is not a member")),
            ),
            (
                "a group without this node's members",
                group_update(
                    "@h:h.org",
                    9,
                    ConversationId::from_bytes([6; 16]),
                    &["@h:h.org", "@ann:a.org"],
                    &["@h:h.org"],
                    2_000,
                ),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
        ];
        for (what, payload, expected) in cases {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m).map(|d| match d {
                // The expected states leave out the update's id.
                Decision::Apply(Effect::Conversation(mut s)) => {
                    s.update = None;
                    Decision::Apply(Effect::Conversation(s))
                }
                other => other,
            });
            assert_eq!(got, Ok(expected), "{what}");
        }
    }

    #[test]
    fn an_update_from_the_future_is_capped_at_arrival() {
        let (mut m, c) = setting();
        let all = ["@ann:a.org", "@h:h.org", "@me:self.org"];
        // @ann (admin) dates an update a year ahead; @ann's later removal of @h still wins,
        // because the first counts as made when it arrived.
        let future = group_update("@ann:a.org", 1, c, &all, &["@ann:a.org"], u64::MAX / 2);
        m.apply(&future);
        m.advance(10);
        let removal = group_update(
            "@ann:a.org",
            1,
            c,
            &["@ann:a.org", "@me:self.org"],
            &["@ann:a.org"],
            m.context().arrival,
        );
        let got = decide(&m.context(), m.id_of(&removal), &removal, &m);
        assert!(
            matches!(got, Ok(Decision::Apply(Effect::Conversation(_)))),
            "{got:?}"
        );
    }

    #[test]
    fn one_to_one_conversations() {
        let mut m = Memory::new();
        m.bind("a.org", node(1));
        m.bind("h.org", node(9));
        let me = member("@me:self.org");
        let ann = member("@ann:a.org");
        let id = ConversationId::direct(&me, &ann);
        let direct = |author: &str, origin: u8, c, members: &[&str]| {
            event(
                origin,
                author,
                directed(),
                EventBody::ConversationUpdate(ConversationUpdate {
                    conversation: c,
                    kind: ConversationKind::Direct,
                    name: String::new(),
                    members: members.iter().map(|m| member(m)).collect(),
                    admins: members.iter().map(|m| member(m)).collect(),
                }),
            )
        };
        let cases: Vec<(&str, EventPayload, bool)> = vec![
            (
                "created by one of its two members",
                direct("@ann:a.org", 1, id, &["@ann:a.org", "@me:self.org"]),
                true,
            ),
            (
                "created ahead of time by a third node, with itself in it",
                direct(
                    "@h:h.org",
                    9,
                    id,
                    &["@ann:a.org", "@h:h.org", "@me:self.org"],
                ),
                false,
            ),
            (
                "with an id that is not the two members'",
                direct(
                    "@h:h.org",
                    9,
                    ConversationId::from_bytes([1; 16]),
                    &["@h:h.org", "@me:self.org"],
                ),
                false,
            ),
            (
                "created by someone not in it",
                direct("@h:h.org", 9, id, &["@ann:a.org", "@me:self.org"]),
                false,
            ),
        ];
        for (what, payload, applies) in cases {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(
                matches!(got, Ok(Decision::Apply(_))),
                applies,
                "{what}: {got:?}"
            );
        }
    }

    #[test]
    fn a_group_cannot_squat_on_a_one_to_one_conversation() {
        let mut m = Memory::new();
        m.bind("a.org", node(1));
        m.bind("h.org", node(9));
        let (me, ann) = (member("@me:self.org"), member("@ann:a.org"));
        let direct = ConversationId::direct(&me, &ann);
        let squat =
            |members: &[&str]| group_update("@h:h.org", 9, direct, members, &["@h:h.org"], 1_000);
        // With both of the pair in it: refused outright.
        let both = squat(&["@ann:a.org", "@h:h.org", "@me:self.org"]);
        let got = decide(&m.context(), m.id_of(&both), &both, &m);
        assert!(
            matches!(got, Ok(Decision::Refuse(Refusal::Malformed(_)))),
            "{got:?}"
        );
        // With only this node's member: it may be stored, but the pair take it back.
        m.apply(&squat(&["@h:h.org", "@me:self.org"]));
        let reclaim = event(
            1,
            "@ann:a.org",
            directed(),
            EventBody::ConversationUpdate(ConversationUpdate {
                conversation: direct,
                kind: ConversationKind::Direct,
                name: String::new(),
                members: vec![ann.clone(), me.clone()],
                admins: vec![ann.clone(), me.clone()],
            }),
        );
        let got = decide(&m.context(), m.id_of(&reclaim), &reclaim, &m);
        assert!(
            matches!(got, Ok(Decision::Apply(Effect::Conversation(_)))),
            "{got:?}"
        );
    }

    #[test]
    fn messages_reactions_and_markers() {
        let (mut m, c) = setting();
        let unknown_conversation = ConversationId::from_bytes([8; 16]);
        let first = m.apply(&message("@ann:a.org", 1, c));
        let react = |author: &str, origin: u8, target| {
            event(
                origin,
                author,
                directed(),
                EventBody::ChatReaction(ChatReaction {
                    conversation: c,
                    target,
                    reaction: "helpful".into(),
                    removed: false,
                }),
            )
        };
        let marker = |target| {
            event(
                9,
                "@h:h.org",
                directed(),
                EventBody::ReadMarker(ReadMarker {
                    conversation: c,
                    up_to: target,
                }),
            )
        };
        let later = kindred_protocol::EventId::from_bytes([3; 32]);
        let cases: Vec<(&str, EventPayload, Decision)> = vec![
            (
                "a member's message",
                message("@h:h.org", 9, c),
                Decision::Apply(Effect::Message { conversation: c }),
            ),
            (
                "a message for a conversation not known yet",
                message("@h:h.org", 9, unknown_conversation),
                Decision::Hold(Awaiting::Conversation(unknown_conversation)),
            ),
            (
                "a reaction before its message",
                react("@h:h.org", 9, later),
                Decision::Hold(Awaiting::Event(later)),
            ),
            (
                "a reaction to a message",
                react("@h:h.org", 9, first),
                Decision::Apply(Effect::React {
                    target: first,
                    conversation: Some(c),
                }),
            ),
            (
                "a read marker before its message",
                marker(later),
                Decision::Hold(Awaiting::Event(later)),
            ),
            (
                "a read marker",
                marker(first),
                Decision::Apply(Effect::ReadMarker {
                    conversation: c,
                    up_to: first,
                }),
            ),
        ];
        for (what, payload, expected) in cases {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(got, Ok(expected), "{what}");
        }
        // Once removed, a member's messages are refused.
        m.apply(&group_update(
            "@ann:a.org",
            1,
            c,
            &["@ann:a.org", "@me:self.org"],
            &["@ann:a.org"],
            5_000,
        ));
        let late = message("@h:h.org", 9, c);
        let got = decide(&m.context(), m.id_of(&late), &late, &m);
        assert_eq!(
            got,
            Ok(Decision::Refuse(Refusal::NotAMember(member("@h:h.org"))))
        );
    }

    #[test]
    fn edits_and_retractions_of_messages_come_from_their_author() {
        let (mut m, c) = setting();
        let first = m.apply(&message("@ann:a.org", 1, c));
        let change = |author: &str, origin: u8, retract: bool| {
            let mut e = message(author, origin, c);
            if retract {
                e.refs.retracts = Some(first);
            } else {
                e.refs.replaces = Some(first);
            }
            e
        };
        let cases = [
            (
                "the author edits",
                change("@ann:a.org", 1, false),
                Decision::Apply(Effect::MessageEdit {
                    conversation: c,
                    original: first,
                }),
            ),
            (
                "someone else edits",
                change("@h:h.org", 9, false),
                Decision::Refuse(Refusal::NotTheAuthor(first)),
            ),
            (
                "someone else takes it back",
                change("@h:h.org", 9, true),
                Decision::Refuse(Refusal::NotTheAuthor(first)),
            ),
            (
                "the author takes it back",
                change("@ann:a.org", 1, true),
                Decision::Apply(Effect::MessageRetract {
                    conversation: c,
                    original: first,
                }),
            ),
        ];
        for (what, payload, expected) in cases {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(got, Ok(expected), "{what}");
        }
    }
}
