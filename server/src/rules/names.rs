//! One name, one node. A node name is bound to exactly one node id: this node's own name
//! to itself from the start, a paired node's at pairing (first-hand, the hello must match),
//! any other by that node's own signed announcement; the first binding wins, as in SSH's
//! known hosts, except that a first-hand pairing may take a name from a node bound only by
//! announcement (or a blocked one). An event whose author is `@x:N` is applied only if it
//! was signed by the node bound to `N`; while `N` is free, or bound elsewhere only by an
//! announcement, it waits; bound elsewhere first-hand, it is refused.

use kindred_protocol::{EventId, EventPayload};

use super::{Awaiting, Context, Decision, Effect, Refusal, View};

/// Checks that the event's author belongs to its origin. `None` when it does; otherwise
/// the decision (held until the name is bound, or refused).
pub(super) fn author<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    view: &V,
) -> Result<Option<Decision>, V::Error> {
    let name = p.author.node_name();
    if name == ctx.self_name {
        return Ok((p.origin != ctx.self_id)
            .then(|| Decision::Refuse(Refusal::ThisNodesName(p.author.clone()))));
    }
    if let Some(known) = view.bound_name(&p.origin)?
        && known != name
    {
        return Ok(Some(Decision::Refuse(Refusal::OriginHasAnotherName {
            known,
            claimed: name.to_owned(),
        })));
    }
    Ok(match view.bound_node(name)? {
        Some((node, _)) if node == p.origin => None,
        Some((node, true)) => Some(Decision::Refuse(Refusal::NameBoundElsewhere {
            author: p.author.clone(),
            bound_to: node,
        })),
        // Bound only by another node's announcement: if an admin pairs with this origin
        // under that name, or blocks the other node, this is decided again.
        Some((_, false)) => Some(Decision::Hold(Awaiting::Name(name.to_owned()))),
        // Every node announces itself before anything else it writes, so this waits at
        // most for that announcement to arrive.
        None => Some(Decision::Hold(Awaiting::Name(name.to_owned()))),
    })
}

/// A node announcement (`@node:<name>`): binds the name to its origin if nobody holds it,
/// and updates the node's address if it is newer than the one held.
pub(super) fn announcement<V: View>(
    ctx: &Context<'_>,
    id: EventId,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    if p.author.localpart() != "node" {
        return Ok(Decision::Refuse(Refusal::AnnouncementAuthor));
    }
    let name = p.author.node_name();
    if name == ctx.self_name && p.origin != ctx.self_id {
        return Ok(Decision::Refuse(Refusal::ThisNodesName(p.author.clone())));
    }
    if let Some(known) = view.bound_name(&p.origin)?
        && known != name
    {
        return Ok(Decision::Refuse(Refusal::OriginHasAnotherName {
            known,
            claimed: name.to_owned(),
        }));
    }
    let bind = match view.bound_node(name)? {
        None => true,
        Some((node, _)) if node == p.origin => false,
        Some((node, true)) => {
            return Ok(Decision::Refuse(Refusal::NameBoundElsewhere {
                author: p.author.clone(),
                bound_to: node,
            }));
        }
        // Claimed first by another node's announcement: decided again if that binding
        // goes (a pairing with this node, or the other blocked).
        Some((_, false)) => return Ok(Decision::Hold(Awaiting::Name(name.to_owned()))),
    };
    let version = (ctx.effective_time(p), id);
    let newer = view
        .announcement_version(&p.origin)?
        .is_none_or(|held| version > held);
    Ok(Decision::Apply(Effect::Announce { bind, newer }))
}

#[cfg(test)]
mod tests {
    use super::super::memory::{Memory, event, node, shared};
    use super::super::{Awaiting, Decision, Effect, Refusal, decide};
    use kindred_protocol::EventBody;
    use kindred_protocol::event::body::profile::NodeAnnouncement;

    fn announce(name: &str, origin: u8) -> kindred_protocol::EventPayload {
        event(
            origin,
            &format!("@node:{name}"),
            shared(),
            EventBody::NodeAnnouncement(NodeAnnouncement {
                address: format!("https://{name}"),
                organisation: name.to_owned(),
            }),
        )
    }

    fn post(author: &str, origin: u8) -> kindred_protocol::EventPayload {
        event(origin, author, shared(), Memory::post_body("funding"))
    }

    #[test]
    fn authors_and_names() {
        // (what, bindings, event, expected)
        let a = node(1);
        let h = node(9);
        type Case = (
            &'static str,
            Vec<(&'static str, u8)>,
            kindred_protocol::EventPayload,
            Decision,
        );
        let cases: Vec<Case> = vec![
            (
                "a member of the bound node",
                vec![("a.org", 1)],
                post("@sam:a.org", 1),
                Decision::Apply(Effect::Post {
                    topic: "funding".into(),
                }),
            ),
            (
                "a member of a name bound to another node",
                vec![("a.org", 1), ("h.org", 9)],
                post("@sam:a.org", 9),
                Decision::Refuse(Refusal::OriginHasAnotherName {
                    known: "h.org".into(),
                    claimed: "a.org".into(),
                }),
            ),
            (
                "a name bound elsewhere, from a node without a name yet",
                vec![("a.org", 1)],
                post("@sam:a.org", 9),
                Decision::Refuse(Refusal::NameBoundElsewhere {
                    author: "@sam:a.org".parse().unwrap(),
                    bound_to: a,
                }),
            ),
            (
                "a member of this node, signed by another",
                vec![],
                post("@sam:self.org", 9),
                Decision::Refuse(Refusal::ThisNodesName("@sam:self.org".parse().unwrap())),
            ),
            (
                "an unbound name waits for its announcement",
                vec![],
                post("@sam:new.org", 9),
                Decision::Hold(Awaiting::Name("new.org".into())),
            ),
            (
                "a first announcement binds",
                vec![],
                announce("h.org", 9),
                Decision::Apply(Effect::Announce {
                    bind: true,
                    newer: true,
                }),
            ),
            (
                "an announcement of a bound name by another node",
                vec![("a.org", 1)],
                announce("a.org", 9),
                Decision::Refuse(Refusal::NameBoundElsewhere {
                    author: "@node:a.org".parse().unwrap(),
                    bound_to: a,
                }),
            ),
            (
                "an announcement of this node's name",
                vec![],
                announce("self.org", 9),
                Decision::Refuse(Refusal::ThisNodesName("@node:self.org".parse().unwrap())),
            ),
            (
                "a node cannot rename itself",
                vec![("h.org", 9)],
                announce("h2.org", 9),
                Decision::Refuse(Refusal::OriginHasAnotherName {
                    known: "h.org".into(),
                    claimed: "h2.org".into(),
                }),
            ),
            (
                "an announcement not by @node",
                vec![],
                event(
                    9,
                    "@sam:h.org",
                    shared(),
                    EventBody::NodeAnnouncement(NodeAnnouncement {
                        address: String::new(),
                        organisation: String::new(),
                    }),
                ),
                Decision::Refuse(Refusal::AnnouncementAuthor),
            ),
        ];
        let _ = h;
        for (what, bindings, payload, expected) in cases {
            let mut m = Memory::new();
            for (name, n) in bindings {
                m.bind(name, node(n));
            }
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(got, Ok(expected), "{what}");
        }
    }

    #[test]
    fn a_name_held_only_by_announcement_makes_other_claims_wait() {
        let mut m = Memory::new();
        // d.org was announced by node 7 (a squatter, as it may turn out).
        m.bind_announced("d.org", node(7));
        for payload in [announce("d.org", 4), post("@dave:d.org", 4)] {
            let got = decide(&m.context(), m.id_of(&payload), &payload, &m);
            assert_eq!(got, Ok(Decision::Hold(Awaiting::Name("d.org".into()))));
        }
        // Bound first-hand (a pairing), the same claims are refused.
        m.bind("d.org", node(7));
        let claim = post("@dave:d.org", 4);
        let got = decide(&m.context(), m.id_of(&claim), &claim, &m);
        assert!(matches!(
            got,
            Ok(Decision::Refuse(Refusal::NameBoundElsewhere { .. }))
        ));
    }

    #[test]
    fn a_repeated_announcement_updates_only_when_newer() {
        let mut m = Memory::new();
        let first = announce("h.org", 9);
        m.apply(&first);
        let again = announce("h.org", 9);
        let got = decide(&m.context(), m.id_of(&again), &again, &m);
        // Same time: the larger id wins, so either answer is consistent on every node.
        assert!(matches!(
            got,
            Ok(Decision::Apply(Effect::Announce { bind: false, .. }))
        ));
    }
}
