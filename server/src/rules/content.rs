//! Peer-learning content: replies, reactions, edits, retractions and profiles. (A new post
//! needs nothing but its author's name check.)
//!
//! - A reply waits for its thread's post; a post taken down takes new replies with it.
//! - A reaction waits for its target, a post or reply that is still up.
//! - An edit waits for its original and comes from the original's author and origin, for
//!   the same kind.
//! - A retraction waits for its target and comes from the target's origin node, which
//!   vouches that the author or one of its moderators asked for it.
//! - A profile replaces the one held if it is newer (effective time, then id).

use kindred_protocol::event::EventKind;
use kindred_protocol::event::body::peer_learning::{Post, Reaction};
use kindred_protocol::{EventBody, EventId, EventPayload};

use super::{Context, Decision, Effect, Refusal, View, applied_original};

fn is_entry(kind: u16) -> bool {
    kind == EventKind::Post.code() || kind == EventKind::Reply.code()
}

/// Refuses what another node sends about an organisation-only entry of this node.
fn from_outside(
    ctx: &Context<'_>,
    p: &EventPayload,
    id: EventId,
    entry: &super::Entry,
) -> Option<Decision> {
    (entry.local && p.origin != ctx.self_id).then_some(Decision::Refuse(Refusal::LocalEntry(id)))
}

pub(super) fn post<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    post: &Post,
    view: &V,
) -> Result<Decision, V::Error> {
    let key = super::topic_key(&post.topic);
    // Another node's post never lands in (or is counted or found under) a topic this
    // organisation keeps to itself.
    if p.origin != ctx.self_id && view.local_topic(&key)? {
        return Ok(Decision::Refuse(Refusal::LocalTopic(post.topic.clone())));
    }
    Ok(Decision::Apply(Effect::Post {
        topic: post.topic.clone(),
    }))
}

pub(super) fn reply<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    // The decoder guarantees a reply names its thread.
    let Some(root) = p.refs.thread_root else {
        return Ok(Decision::Refuse(Refusal::Malformed(
            "a reply without a thread",
        )));
    };
    let (original, entry) = match applied_original(root, view)? {
        Ok(found) => found,
        Err(wait) => return Ok(wait),
    };
    if original != root || entry.kind != EventKind::Post.code() {
        return Ok(Decision::Refuse(Refusal::WrongTarget(root)));
    }
    if let Some(refused) = from_outside(ctx, p, root, &entry) {
        return Ok(refused);
    }
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(root)));
    }
    // What it answers, if held here, is in the same thread.
    if let Some(to) = p.refs.reply_to.filter(|to| *to != root)
        && let Some(answered) = view.entry(&to)?
        && (answered.kind != EventKind::Reply.code() || answered.thread_root != Some(root))
    {
        return Ok(Decision::Refuse(Refusal::WrongTarget(to)));
    }
    Ok(Decision::Apply(Effect::Reply { root }))
}

pub(super) fn reaction<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    r: &Reaction,
    view: &V,
) -> Result<Decision, V::Error> {
    if kindred_protocol::api::Reaction::from_name(&r.reaction).is_none() {
        return Ok(Decision::Refuse(Refusal::UnknownReaction(
            r.reaction.clone(),
        )));
    }
    let (target, entry) = match applied_original(r.target, view)? {
        Ok(found) => found,
        Err(wait) => return Ok(wait),
    };
    if !is_entry(entry.kind) {
        return Ok(Decision::Refuse(Refusal::WrongTarget(r.target)));
    }
    if let Some(refused) = from_outside(ctx, p, target, &entry) {
        return Ok(refused);
    }
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(target)));
    }
    Ok(Decision::Apply(Effect::React {
        target,
        conversation: None,
    }))
}

pub(super) fn edit<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    let _ = ctx;
    let Some(replaced) = p.refs.replaces else {
        return Ok(Decision::Refuse(Refusal::Malformed(
            "an edit without its original",
        )));
    };
    let (original, entry) = match applied_original(replaced, view)? {
        Ok(found) => found,
        Err(wait) => return Ok(wait),
    };
    if entry.kind != p.body.kind_code() {
        return Ok(Decision::Refuse(Refusal::WrongTarget(replaced)));
    }
    if entry.author != p.author || entry.origin != p.origin {
        return Ok(Decision::Refuse(Refusal::NotTheAuthor(original)));
    }
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(original)));
    }
    if let EventBody::Post(post) = &p.body
        && entry.topic.as_deref() != Some(super::topic_key(&post.topic).as_str())
    {
        return Ok(Decision::Refuse(Refusal::TopicChanged(original)));
    }
    Ok(Decision::Apply(Effect::Edit { original }))
}

pub(super) fn retraction<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    let _ = ctx;
    let Some(target) = p.refs.retracts else {
        return Ok(Decision::Refuse(Refusal::Malformed(
            "a retraction without its target",
        )));
    };
    let (original, entry) = match applied_original(target, view)? {
        Ok(found) => found,
        Err(wait) => return Ok(wait),
    };
    if !is_entry(entry.kind) {
        return Ok(Decision::Refuse(Refusal::WrongTarget(target)));
    }
    if entry.origin != p.origin {
        return Ok(Decision::Refuse(Refusal::NotTheOrigin(original)));
    }
    if entry.retracted {
        return Ok(Decision::Refuse(Refusal::TakenDown(original)));
    }
    Ok(Decision::Apply(Effect::Retract { original }))
}

/// A redaction takes the content of slots its origin signed tombstones for: only the
/// author's own posts and replies (and edits of them) from that origin that are taken down
/// (retracted, or never shown: refused). Slots not held here, or held as something else,
/// are skipped: the redaction itself is always kept (the origin's log stays whole).
pub(super) fn redaction<V: View>(
    p: &EventPayload,
    r: &kindred_protocol::event::body::erasure::Redaction,
    view: &V,
) -> Result<Decision, V::Error> {
    let mut slots = Vec::new();
    for slot in &r.slots {
        let Some(entry) = view.entry(&slot.id)? else {
            continue;
        };
        let taken_down = entry.retracted
            || entry.refused
            || match entry.original {
                Some(original) => view.entry(&original)?.is_some_and(|o| o.retracted),
                None => false,
            };
        if is_entry(entry.kind)
            && entry.origin == p.origin
            && entry.author == p.author
            && taken_down
            && !entry.held
        {
            slots.push(slot.clone());
        }
    }
    Ok(Decision::Apply(Effect::Redact { slots }))
}

pub(super) fn profile<V: View>(
    ctx: &Context<'_>,
    id: EventId,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    if let kindred_protocol::EventBody::Profile(pr) = &p.body
        && (kindred_protocol::names::name(&pr.display_name).is_err()
            || (!pr.organisation.is_empty()
                && kindred_protocol::names::name(&pr.organisation).is_err()))
    {
        return Ok(Decision::Refuse(Refusal::DeceptiveName));
    }
    let version = (ctx.effective_time(p), id);
    let held = view.profile_version(&p.author)?;
    let newer = held.is_none_or(|held| version > held);
    if p.origin != ctx.self_id {
        // Each other node has a share of this node's people directory and storage.
        let counts = view.profiles_from(&p.origin)?;
        let stored_cap = ctx.profile_quota.saturating_mul(super::PROFILES_PER_LISTED);
        if held.is_none() && counts.all >= stored_cap {
            return Ok(Decision::Refuse(Refusal::ProfileQuota));
        }
        let lists = matches!(&p.body, kindred_protocol::EventBody::Profile(pr) if pr.listed);
        let was_listed = view.profile_listed(&p.author)?.unwrap_or(false);
        if newer && lists && !was_listed && counts.listed >= ctx.profile_quota {
            return Ok(Decision::Refuse(Refusal::ProfileQuota));
        }
    }
    Ok(Decision::Apply(Effect::Profile { newer }))
}

#[cfg(test)]
mod tests {
    use super::super::memory::{Memory, event, shared};
    use super::super::{Awaiting, Decision, Effect, Refusal, decide};
    use kindred_protocol::event::body::peer_learning::{Reaction, Reply, Retraction};
    use kindred_protocol::{EventBody, EventId, EventPayload, References};

    fn reply_to(root: EventId, author: &str, origin: u8) -> EventPayload {
        let mut e = event(
            origin,
            author,
            shared(),
            EventBody::Reply(Reply {
                body: "me too".into(),
                content_warning: None,
            }),
        );
        e.refs = References {
            thread_root: Some(root),
            reply_to: Some(root),
            ..References::default()
        };
        e
    }

    fn react(target: EventId, author: &str, origin: u8) -> EventPayload {
        event(
            origin,
            author,
            shared(),
            EventBody::Reaction(Reaction {
                target,
                reaction: "helpful".into(),
                removed: false,
            }),
        )
    }

    fn retract(target: EventId, author: &str, origin: u8) -> EventPayload {
        let mut e = event(
            origin,
            author,
            shared(),
            EventBody::Retraction(Retraction { reason: None }),
        );
        e.refs.retracts = Some(target);
        e
    }

    fn edit(of: EventId, author: &str, origin: u8) -> EventPayload {
        let mut e = event(origin, author, shared(), Memory::post_body("funding"));
        e.refs.replaces = Some(of);
        e
    }

    /// A node that knows a.org (node 1) and b.org (node 2), with a post by @ann:a.org.
    fn setting() -> (Memory, EventId) {
        let mut m = Memory::new();
        m.bind("a.org", super::super::memory::node(1));
        m.bind("b.org", super::super::memory::node(2));
        let post = event(1, "@ann:a.org", shared(), Memory::post_body("funding"));
        let id = m.apply(&post);
        (m, id)
    }

    #[test]
    fn table() {
        let (m, post) = setting();
        let unknown = EventId::from_bytes([7; 32]);
        let cases: Vec<(&str, EventPayload, Decision)> = vec![
            (
                "a reply to a held post",
                reply_to(post, "@bob:b.org", 2),
                Decision::Apply(Effect::Reply { root: post }),
            ),
            (
                "a reply before its post",
                reply_to(unknown, "@bob:b.org", 2),
                Decision::Hold(Awaiting::Event(unknown)),
            ),
            (
                "a reaction before its target",
                react(unknown, "@bob:b.org", 2),
                Decision::Hold(Awaiting::Event(unknown)),
            ),
            (
                "a reaction to a post",
                react(post, "@bob:b.org", 2),
                Decision::Apply(Effect::React {
                    target: post,
                    conversation: None,
                }),
            ),
            (
                "an edit by the author",
                edit(post, "@ann:a.org", 1),
                Decision::Apply(Effect::Edit { original: post }),
            ),
            (
                "an edit by someone else",
                edit(post, "@bob:b.org", 2),
                Decision::Refuse(Refusal::NotTheAuthor(post)),
            ),
            (
                "an edit before its original",
                edit(unknown, "@ann:a.org", 1),
                Decision::Hold(Awaiting::Event(unknown)),
            ),
            (
                "a retraction from the post's origin",
                retract(post, "@mod:a.org", 1),
                Decision::Apply(Effect::Retract { original: post }),
            ),
            (
                "a retraction from another node",
                retract(post, "@bob:b.org", 2),
                Decision::Refuse(Refusal::NotTheOrigin(post)),
            ),
            (
                "a retraction before its target",
                retract(unknown, "@ann:a.org", 1),
                Decision::Hold(Awaiting::Event(unknown)),
            ),
        ];
        for (what, payload, expected) in cases {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(got, Ok(expected), "{what}");
        }
    }

    #[test]
    fn a_post_taken_down_refuses_new_replies_reactions_and_edits() {
        let (mut m, post) = setting();
        m.apply(&retract(post, "@ann:a.org", 1));
        for (what, payload) in [
            ("reply", reply_to(post, "@bob:b.org", 2)),
            ("reaction", react(post, "@bob:b.org", 2)),
            ("edit", edit(post, "@ann:a.org", 1)),
            ("second retraction", retract(post, "@ann:a.org", 1)),
        ] {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(
                got,
                Ok(Decision::Refuse(Refusal::TakenDown(post))),
                "{what}"
            );
        }
    }

    #[test]
    fn a_reply_to_a_reply_is_not_a_thread() {
        let (mut m, post) = setting();
        let r = m.apply(&reply_to(post, "@bob:b.org", 2));
        let payload = reply_to(r, "@ann:a.org", 1);
        let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
        assert_eq!(got, Ok(Decision::Refuse(Refusal::WrongTarget(r))));
    }

    #[test]
    fn edits_and_reactions_reach_the_original_through_its_versions() {
        let (mut m, post) = setting();
        let v2 = m.apply(&edit(post, "@ann:a.org", 1));
        let payload = react(v2, "@bob:b.org", 2);
        let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
        assert_eq!(
            got,
            Ok(Decision::Apply(Effect::React {
                target: post,
                conversation: None
            }))
        );
    }

    #[test]
    fn a_newer_profile_replaces_an_older_one_and_not_the_reverse() {
        let (mut m, _) = setting();
        let profile = |at: u64| {
            let mut e = event(1, "@ann:a.org", shared(), Memory::profile_body("Ann"));
            e.created_at = kindred_protocol::Timestamp(at);
            e
        };
        m.apply(&profile(2_000));
        for (at, newer) in [(1_000, false), (3_000, true)] {
            let p = profile(at);
            let got = decide(&m.context(), m.id_of(&p), &p, &m);
            assert_eq!(got, Ok(Decision::Apply(Effect::Profile { newer })), "{at}");
        }
        // From the future: capped at arrival, so it cannot win for ever.
        let future = profile(u64::MAX);
        let ctx = m.context();
        assert_eq!(ctx.effective_time(&future), ctx.arrival);
    }

    #[test]
    fn a_profile_hiding_characters_in_its_names_is_refused() {
        let (m, _) = setting();
        let with = |name: &str, organisation: &str| {
            let mut body = Memory::profile_body(name);
            if let kindred_protocol::EventBody::Profile(p) = &mut body {
                p.organisation = organisation.into();
            }
            event(1, "@ann:a.org", shared(), body)
        };
        for (name, organisation, refused) in [
            ("Ann", "Ash Health", false),
            ("Ann 🌻", "", false),
            ("Admin\u{200B}", "Ash Health", true),
            ("\u{3164}", "Ash Health", true),
            ("\u{202E}nimdA", "Ash Health", true),
            ("Ann", "Ash\u{2066} Health", true),
        ] {
            let p = with(name, organisation);
            let got = decide(&m.context(), m.id_of(&p), &p, &m);
            assert_eq!(
                got == Ok(Decision::Refuse(Refusal::DeceptiveName)),
                refused,
                "{name:?} {organisation:?}: {got:?}"
            );
        }
    }

    #[test]
    fn a_node_may_fill_only_its_share_of_the_people_directory() {
        let (mut m, _) = setting();
        let profile = |who: &str, origin: u8, at: u64, listed: bool| {
            let mut body = Memory::profile_body("Someone");
            if let kindred_protocol::EventBody::Profile(p) = &mut body {
                p.listed = listed;
            }
            let mut e = event(origin, who, shared(), body);
            e.created_at = kindred_protocol::Timestamp(at);
            e
        };
        let decide_on = |m: &Memory, p: &EventPayload| decide(&m.context(), m.id_of(p), p, m);
        // The memory view lets a node list three members (and store thirty).
        for who in ["@ann:a.org", "@al:a.org", "@amy:a.org"] {
            let p = profile(who, 1, 1_000, true);
            assert!(matches!(decide_on(&m, &p), Ok(Decision::Apply(_))), "{who}");
            m.apply(&p);
        }
        let cases = [
            (
                profile("@abe:a.org", 1, 2_000, true),
                "a fourth listed member of a.org",
                false,
            ),
            (
                profile("@abe:a.org", 1, 2_000, false),
                "an unlisted one",
                true,
            ),
            (
                profile("@ann:a.org", 1, 2_000, true),
                "an update of one listed",
                true,
            ),
            (
                profile("@bob:b.org", 2, 2_000, true),
                "another node's member",
                true,
            ),
            (
                profile("@sue:self.org", 0, 2_000, true),
                "this node's own member",
                true,
            ),
        ];
        for (p, what, applies) in cases {
            let got = decide_on(&m, &p);
            if applies {
                assert!(matches!(got, Ok(Decision::Apply(_))), "{what}: {got:?}");
            } else {
                assert_eq!(got, Ok(Decision::Refuse(Refusal::ProfileQuota)), "{what}");
            }
        }
        // Unlisting frees the place.
        m.apply(&profile("@al:a.org", 1, 3_000, false));
        let abe = profile("@abe:a.org", 1, 3_000, true);
        assert!(matches!(decide_on(&m, &abe), Ok(Decision::Apply(_))));
        // However many are unlisted, no more than ten times the share are stored.
        for i in 0..27 {
            m.apply(&profile(&format!("@quiet{i}:a.org"), 1, 4_000, false));
        }
        let one_more = profile("@last:a.org", 1, 5_000, false);
        assert_eq!(
            decide_on(&m, &one_more),
            Ok(Decision::Refuse(Refusal::ProfileQuota))
        );
    }
}
