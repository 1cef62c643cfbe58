//! Reports and who may moderate. A report crosses to the home node of what it is about
//! as a directed event authored by the reporting node itself (`@node:<name>`), so it can
//! never name, or pass as, a member; it applies only at the node whose member wrote the
//! content or is reported. Locally, [`allowed`] is the one table of which moderation
//! action a role may take on what.

use kindred_protocol::api::{ModerationAction, Role};
use kindred_protocol::event::body::report::{Report, ReportTarget};
use kindred_protocol::event::body::safeguarding::{ReferralAcknowledged, SafeguardingReferral};
use kindred_protocol::{EventPayload, MemberId};

use super::{Context, Decision, Effect, Refusal, View};

/// A report from another node (the author check has passed: it is signed by the node its
/// author names).
pub(super) fn report<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    report: &Report,
    view: &V,
) -> Result<Decision, V::Error> {
    if p.author.localpart() != "node" {
        return Ok(Decision::Refuse(Refusal::ReportAuthor));
    }
    let ours = |m: &MemberId| m.node_name() == ctx.self_name;
    if p.origin == ctx.self_id {
        // This node's own report, on its way to the home node of what it is about.
        let elsewhere = match &report.target {
            ReportTarget::Member(m) => !ours(m),
            ReportTarget::Event(id) => view.entry(id)?.is_some_and(|e| !ours(&e.author)),
        };
        return Ok(if elsewhere {
            Decision::Apply(Effect::Keep)
        } else {
            Decision::Refuse(Refusal::Malformed(
                "a node files its own members' reports itself",
            ))
        });
    }
    Ok(match &report.target {
        ReportTarget::Member(m) if ours(m) => Decision::Apply(Effect::Keep),
        ReportTarget::Member(_) => Decision::Refuse(Refusal::NotForThisNode),
        ReportTarget::Event(id) => match view.entry(id)? {
            Some(e) if e.refused => Decision::Refuse(Refusal::TargetRefused(*id)),
            Some(e) if ours(&e.author) => Decision::Apply(Effect::Keep),
            // Not written here (or never held here): this node has nothing to act on.
            _ => Decision::Refuse(Refusal::NotForThisNode),
        },
    })
}

/// A node's shared moderation decision: a statement of what it decided for itself, so
/// only its authorship is checked here (each node then follows, reviews or ignores it as
/// it chose for that node, `node/moderation/decisions.rs`).
pub(super) fn decision(p: &EventPayload) -> Decision {
    if p.author.localpart() == "node" {
        Decision::Apply(Effect::Keep)
    } else {
        Decision::Refuse(Refusal::ReportAuthor)
    }
}

/// A safeguarding referral: it goes only to the home node of the member it concerns.
/// From another node, the member must be this node's; this node's own (outgoing), the
/// member must be another node's (its own members' concerns stay here).
pub(super) fn referral(
    ctx: &Context<'_>,
    p: &EventPayload,
    referral: &SafeguardingReferral,
) -> Decision {
    let ours = referral.member.node_name() == ctx.self_name;
    if ours != (p.origin == ctx.self_id) {
        Decision::Apply(Effect::Keep)
    } else if ours {
        Decision::Refuse(Refusal::Malformed(
            "a concern about this node's own member stays with its leads",
        ))
    } else {
        Decision::Refuse(Refusal::NotForThisNode)
    }
}

/// An acknowledgement: of a referral this node holds, sent by the other side (the
/// referral's origin receives it; the member's home node sends it).
pub(super) fn acknowledged<V: View>(
    ctx: &Context<'_>,
    p: &EventPayload,
    ack: &ReferralAcknowledged,
    view: &V,
) -> Result<Decision, V::Error> {
    let Some(entry) = view.entry(&ack.referral)? else {
        return Ok(Decision::Refuse(Refusal::NotForThisNode));
    };
    if entry.kind != kindred_protocol::EventKind::SafeguardingReferral.code() {
        return Ok(Decision::Refuse(Refusal::WrongTarget(ack.referral)));
    }
    // Received: the referral is this node's; sent: it came from elsewhere.
    let referral_ours = entry.origin == ctx.self_id;
    let ack_ours = p.origin == ctx.self_id;
    Ok(if referral_ours != ack_ours {
        Decision::Apply(Effect::Keep)
    } else {
        Decision::Refuse(Refusal::NotForThisNode)
    })
}

/// Who an action concerns, as far as who may take it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Concerned {
    /// Written by, or is, a member of this node (retract, warn, suspend are possible).
    pub(crate) home_here: bool,
    /// Written by, or is, the moderator acting.
    pub(crate) yourself: bool,
    /// Written by, or is, a moderator or admin of this node.
    pub(crate) staff: bool,
}

/// Why a moderation action is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotAllowed {
    /// Members cannot moderate.
    NotAModerator,
    /// Nobody moderates themselves or what they wrote.
    Yourself,
    /// Reports about moderators and admins are for admins.
    StaffToAdmins,
    /// Only the content's home node can take it down, warn or suspend its author.
    NotHomeHere,
    /// Only admins suspend or reinstate.
    AdminsOnly,
}

impl NotAllowed {
    /// The refusal in plain words.
    pub(crate) fn message(self) -> &'static str {
        match self {
            NotAllowed::NotAModerator => "Only moderators and admins can do this.",
            NotAllowed::Yourself => {
                "Ask another moderator: nobody moderates themselves or what they wrote."
            }
            NotAllowed::StaffToAdmins => {
                "This concerns a moderator or admin here: only admins can act on it."
            }
            NotAllowed::NotHomeHere => {
                "This was written at another organisation: you can hide it here, and their moderators have been sent the reports."
            }
            NotAllowed::AdminsOnly => "Only admins can suspend a member or end a suspension.",
        }
    }
}

/// Whether someone with `role` may take `action` on content or a person it `concerns`.
pub(crate) fn allowed(
    role: Role,
    action: ModerationAction,
    concerns: Concerned,
) -> Result<(), NotAllowed> {
    use ModerationAction as A;
    if role == Role::Member {
        return Err(NotAllowed::NotAModerator);
    }
    if concerns.yourself {
        return Err(NotAllowed::Yourself);
    }
    if concerns.staff && role != Role::Admin {
        return Err(NotAllowed::StaffToAdmins);
    }
    let home_here = concerns.home_here;
    match action {
        A::Dismiss | A::Hide | A::Restore => Ok(()),
        A::Retract | A::Warn if home_here => Ok(()),
        A::Suspend | A::Reinstate if home_here && role == Role::Admin => Ok(()),
        A::Suspend | A::Reinstate if home_here => Err(NotAllowed::AdminsOnly),
        A::Retract | A::Warn | A::Suspend | A::Reinstate => Err(NotAllowed::NotHomeHere),
    }
}

#[cfg(test)]
mod tests {
    use super::super::memory::{Memory, directed, event, member, node};
    use super::super::{Decision, Effect, Refusal, decide};
    use super::{Concerned, NotAllowed, allowed};
    use kindred_protocol::api::{ModerationAction as A, Role};
    use kindred_protocol::event::body::report::{
        DecisionAction, Report, ReportReason, ReportTarget, SharedDecision,
    };
    use kindred_protocol::event::body::safeguarding::{ReferralAcknowledged, SafeguardingReferral};
    use kindred_protocol::{EventBody, EventPayload};

    fn report(origin: u8, author: &str, target: ReportTarget) -> EventPayload {
        event(
            origin,
            author,
            directed(),
            EventBody::Report(Report {
                target,
                reason: ReportReason::Harmful,
            }),
        )
    }

    #[test]
    fn reports_by_origin_author_and_target() {
        let mut mem = Memory::new();
        mem.bind("c.org", node(3));
        mem.bind("a.org", node(1));
        let ours = mem.apply(&event(
            0,
            "@ann:self.org",
            super::super::memory::shared(),
            Memory::post_body("x"),
        ));
        let theirs = mem.apply(&event(
            1,
            "@abe:a.org",
            super::super::memory::shared(),
            Memory::post_body("x"),
        ));
        let unknown = kindred_protocol::EventId::from_bytes([7; 32]);
        let ok = Decision::Apply(Effect::Keep);
        // (what, event, expected)
        let cases = [
            (
                "a node reports its peer's member's post at that peer",
                report(3, "@node:c.org", ReportTarget::Event(ours)),
                ok.clone(),
            ),
            (
                "a report about a member here",
                report(
                    3,
                    "@node:c.org",
                    ReportTarget::Member(member("@ann:self.org")),
                ),
                ok.clone(),
            ),
            (
                "a member cannot sign a report: it would name the reporter",
                report(3, "@cal:c.org", ReportTarget::Event(ours)),
                Decision::Refuse(Refusal::ReportAuthor),
            ),
            (
                "a node cannot report in another node's name",
                report(3, "@node:a.org", ReportTarget::Event(ours)),
                Decision::Refuse(Refusal::OriginHasAnotherName {
                    known: "c.org".into(),
                    claimed: "a.org".into(),
                }),
            ),
            (
                "nor as this node",
                report(3, "@node:self.org", ReportTarget::Event(ours)),
                Decision::Refuse(Refusal::ThisNodesName(member("@node:self.org"))),
            ),
            (
                "this node's own report, sent to the author's node",
                report(0, "@node:self.org", ReportTarget::Event(theirs)),
                ok.clone(),
            ),
            (
                "but never about its own members: their reports stay here",
                report(0, "@node:self.org", ReportTarget::Event(ours)),
                Decision::Refuse(Refusal::Malformed(
                    "a node files its own members' reports itself",
                )),
            ),
            (
                "content written at another node is that node's to act on",
                report(3, "@node:c.org", ReportTarget::Event(theirs)),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
            (
                "a member of another node",
                report(3, "@node:c.org", ReportTarget::Member(member("@abe:a.org"))),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
            (
                "content this node never held",
                report(3, "@node:c.org", ReportTarget::Event(unknown)),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
        ];
        let decision = |origin: u8, author: &str| {
            event(
                origin,
                author,
                super::super::memory::shared(),
                EventBody::SharedDecision(SharedDecision {
                    target: ReportTarget::Event(theirs),
                    action: DecisionAction::Hide,
                    reason: "abuse".into(),
                }),
            )
        };
        let referral = |origin: u8, author: &str, member: &str| {
            event(
                origin,
                author,
                directed(),
                EventBody::SafeguardingReferral(SafeguardingReferral {
                    member: member.parse().unwrap(),
                    content: vec![],
                    concern: "worried".into(),
                    contact: "lead@c.org".into(),
                }),
            )
        };
        let sent = mem.apply(&referral(0, "@lee:self.org", "@abe:a.org"));
        let received = mem.apply(&referral(3, "@cal:c.org", "@ann:self.org"));
        let ack = |origin: u8, author: &str, of| {
            event(
                origin,
                author,
                directed(),
                EventBody::ReferralAcknowledged(ReferralAcknowledged { referral: of }),
            )
        };
        let cases = cases.into_iter().chain([
            (
                "a concern about a member here, from another node",
                referral(3, "@cal:c.org", "@ann:self.org"),
                ok.clone(),
            ),
            (
                "this node's concern about another node's member, on its way",
                referral(0, "@lee:self.org", "@abe:a.org"),
                ok.clone(),
            ),
            (
                "a concern about a third node's member is not this node's",
                referral(3, "@cal:c.org", "@abe:a.org"),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
            (
                "a concern about this node's own member stays with its leads",
                referral(0, "@lee:self.org", "@ann:self.org"),
                Decision::Refuse(Refusal::Malformed(
                    "a concern about this node's own member stays with its leads",
                )),
            ),
            (
                "the other node acknowledges this node's referral",
                ack(1, "@lead:a.org", sent),
                ok.clone(),
            ),
            (
                "this node acknowledges one it received",
                ack(0, "@lee:self.org", received),
                ok.clone(),
            ),
            (
                "nobody acknowledges on another's behalf",
                ack(3, "@cal:c.org", received),
                Decision::Refuse(Refusal::NotForThisNode),
            ),
            (
                "only a referral can be acknowledged",
                ack(3, "@cal:c.org", ours),
                Decision::Refuse(Refusal::WrongTarget(ours)),
            ),
        ]);
        let cases = cases.into_iter().chain([
            (
                "a node shares its decision",
                decision(3, "@node:c.org"),
                ok.clone(),
            ),
            (
                "a member cannot sign one: it would name the moderator",
                decision(3, "@cal:c.org"),
                Decision::Refuse(Refusal::ReportAuthor),
            ),
            (
                "nor can a node share one as another node",
                decision(3, "@node:a.org"),
                Decision::Refuse(Refusal::OriginHasAnotherName {
                    known: "c.org".into(),
                    claimed: "a.org".into(),
                }),
            ),
        ]);
        for (what, p, expected) in cases {
            let id = mem.id_of(&p);
            assert_eq!(
                decide(&mem.context(), id, &p, &mem).unwrap(),
                expected,
                "{what}"
            );
        }
    }

    fn at_home(home_here: bool) -> Concerned {
        Concerned {
            home_here,
            ..Concerned::default()
        }
    }

    #[test]
    fn who_may_moderate_what() {
        let all = A::ALL;
        // (role, home here, the actions allowed)
        let cases: [(Role, bool, &[A]); 6] = [
            (Role::Member, true, &[]),
            (Role::Member, false, &[]),
            (
                Role::Moderator,
                true,
                &[A::Dismiss, A::Hide, A::Restore, A::Retract, A::Warn],
            ),
            (Role::Moderator, false, &[A::Dismiss, A::Hide, A::Restore]),
            (Role::Admin, true, &all),
            (Role::Admin, false, &[A::Dismiss, A::Hide, A::Restore]),
        ];
        for (role, home, may) in cases {
            for action in all {
                let got = allowed(role, action, at_home(home));
                assert_eq!(
                    got.is_ok(),
                    may.contains(&action),
                    "{role} {action:?} {home}"
                );
                if role == Role::Member {
                    assert_eq!(got, Err(NotAllowed::NotAModerator));
                }
            }
        }
        assert_eq!(
            allowed(Role::Moderator, A::Suspend, at_home(true)),
            Err(NotAllowed::AdminsOnly)
        );
        assert_eq!(
            allowed(Role::Admin, A::Suspend, at_home(false)),
            Err(NotAllowed::NotHomeHere)
        );
        // Nobody acts on themselves; only admins act on staff, whatever the action.
        for action in all {
            for role in [Role::Moderator, Role::Admin] {
                let me = Concerned {
                    home_here: true,
                    yourself: true,
                    staff: true,
                };
                assert_eq!(allowed(role, action, me), Err(NotAllowed::Yourself));
            }
            let staff = Concerned {
                home_here: true,
                yourself: false,
                staff: true,
            };
            assert_eq!(
                allowed(Role::Moderator, action, staff),
                Err(NotAllowed::StaffToAdmins)
            );
            assert!(allowed(Role::Admin, action, staff).is_ok());
        }
    }
}
