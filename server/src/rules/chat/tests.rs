//! The chat rules' table tests: conversation updates, messages, reactions and read
//! markers from members, admins, strangers and other nodes.

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
