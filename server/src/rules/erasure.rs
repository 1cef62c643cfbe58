//! Erasure: a member's home node deletes their account and publishes a signed erasure (as
//! the member, so the author rule already ties it to their home node). Every node then
//! drops the member's profile, the content of their shared-log events (keeping the
//! origin's signed tombstone in each slot, so the log stays whole) and their directed
//! events, and refuses anything by them from then on. `docs/protocol.md` ("Erasure").

use super::{Decision, Effect};

/// An erasure: applied. Its tombstones were checked with the event's signature (an
/// erasure whose tombstones are not its origin's does not verify), and the author rule
/// already tied it to the member's home node.
pub(super) fn erasure() -> Decision {
    Decision::Apply(Effect::Erase)
}

#[cfg(test)]
mod tests {
    use kindred_protocol::event::body::erasure::ErasedSlot;
    use kindred_protocol::event::body::peer_learning::Post;
    use kindred_protocol::{Audience, EventBody, EventId, MemberId, NodeKeypair, Timestamp};

    use super::super::memory::Memory;
    use kindred_protocol::event::body::erasure::Erasure;
    use kindred_protocol::{EventPayload, SignedEvent};

    use super::super::{Decision, Effect, Refusal, decide};

    fn payload(key: &NodeKeypair, author: &str, seq: u64, body: EventBody) -> EventPayload {
        EventPayload {
            origin: key.node_id(),
            created_at: Timestamp(1_000),
            audience: Audience::Shared { seq },
            author: MemberId::parse(author).expect("member"),
            refs: Default::default(),
            body,
        }
    }

    fn slot(key: &NodeKeypair, author: &str, seq: u64, id: EventId) -> ErasedSlot {
        let member = MemberId::parse(author).expect("member");
        let tomb = SignedEvent::tombstone(key, seq, &id, &member);
        ErasedSlot {
            seq,
            id,
            signature: *tomb.signature(),
        }
    }

    fn post() -> EventBody {
        EventBody::Post(Post {
            topic: "burnout".into(),
            title: "t".into(),
            body: "b".into(),
            tags: vec![],
            content_warning: None,
        })
    }

    /// The table: who may erase whom, and what an erased member may still do.
    #[test]
    fn only_a_members_home_node_erases_them_and_nothing_of_theirs_comes_back() {
        let home = NodeKeypair::generate().expect("key");
        let other = NodeKeypair::generate().expect("key");
        let mut view = Memory::new();
        view.bind("home.example", home.node_id());
        view.bind("other.example", other.node_id());
        let id = EventId::from_bytes([7; 32]);
        let good = Erasure {
            slots: vec![slot(&home, "@ann:home.example", 3, id)],
        };
        let e = |key: &NodeKeypair, author: &str, body: Erasure| {
            payload(key, author, 9, EventBody::Erasure(body))
        };
        // Rows: (case, payload, expected)
        let rows: Vec<(&str, EventPayload, Decision)> = vec![
            (
                "home node erases its member",
                e(&home, "@ann:home.example", good.clone()),
                Decision::Apply(Effect::Erase),
            ),
            (
                "another node erases someone else's member",
                e(&other, "@ann:home.example", good.clone()),
                Decision::Refuse(Refusal::OriginHasAnotherName {
                    known: "other.example".into(),
                    claimed: "home.example".into(),
                }),
            ),
        ];
        for (case, p, expected) in rows {
            let got =
                decide(&view.context(), EventId::from_bytes([1; 32]), &p, &view).expect("decide");
            assert_eq!(got, expected, "{case}");
        }
        // Once erased, nothing by the member applies, whatever the kind; the erasure's
        // next part and tombstones still do.
        view.erase(MemberId::parse("@ann:home.example").expect("member"));
        let later = payload(&home, "@ann:home.example", 10, post());
        assert_eq!(
            decide(&view.context(), EventId::from_bytes([2; 32]), &later, &view).expect("decide"),
            Decision::Refuse(Refusal::Erased(
                MemberId::parse("@ann:home.example").expect("member")
            ))
        );
        let next_part = e(&home, "@ann:home.example", good);
        assert_eq!(
            decide(
                &view.context(),
                EventId::from_bytes([3; 32]),
                &next_part,
                &view
            )
            .expect("decide"),
            Decision::Apply(Effect::Erase)
        );
        let bob = payload(&home, "@bob:home.example", 11, post());
        assert!(matches!(
            decide(&view.context(), EventId::from_bytes([4; 32]), &bob, &view).expect("decide"),
            Decision::Apply(Effect::Post { .. })
        ));
    }
}
