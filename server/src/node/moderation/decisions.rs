//! Moderation decisions shared between nodes. A node's moderators may publish what they
//! hid (or showed again) as a `shared decision` on the shared log, authored as the node,
//! never naming the moderator. Each node chooses per other node what to do with its
//! decisions: adopt them (what they hide is hidden here too, with their reason, until
//! they show it again or a moderator here restores it), put them in the review queue, or
//! ignore them. Paired peers' decisions are reviewed and others' ignored unless an admin
//! chose otherwise.

use kindred_protocol::api::{DecisionAction, DecisionPolicy, ReportReason, ReportTarget, Role};
use kindred_protocol::event::body::report::SharedDecision;
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId, NodeId, References};

use crate::node::AppError;
use crate::node::ingest::{Draft, Reach};
use crate::node::{Auth, Node};
use crate::store::{HiddenRecord, ReportRecord, StoreError};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Longest reason a shared decision carries (bytes).
pub(crate) const MAX_SHARED_REASON: usize = kindred_protocol::limits::MAX_REASON_BYTES;

impl Node {
    /// What this node does with `node`'s shared decisions.
    pub(crate) fn decisions_from(&self, node: &NodeId) -> Result<DecisionPolicy, StoreError> {
        if let Some(chosen) = self.store().decision_policy(node)? {
            return Ok(chosen);
        }
        Ok(if self.store().peer(node)?.is_some() {
            DecisionPolicy::Review
        } else {
            DecisionPolicy::Ignore
        })
    }

    /// Sets what this node does with `node`'s shared decisions (admins).
    pub(crate) fn set_decisions_from(
        &self,
        auth: &Auth,
        node: &NodeId,
        policy: DecisionPolicy,
    ) -> Result<DecisionPolicy, AppError> {
        auth.require(Role::Admin)?;
        if self.is_self(node) {
            return Err(AppError::bad_request(
                "That is this node: its own decisions always apply.",
            ));
        }
        if self.store().peer(node)?.is_none() && self.store().origin_name(node)?.is_none() {
            return Err(AppError::not_found("No such node is known here."));
        }
        self.store().set_decision_policy(node, policy)?;
        tracing::info!(by = %auth.member_id, %node, ?policy, "shared decisions policy set");
        Ok(policy)
    }

    /// Publishes this node's decision about `target` for other nodes.
    pub(crate) async fn share_decision(
        &self,
        target: &ReportTarget,
        action: DecisionAction,
        reason: &str,
    ) -> Result<(), AppError> {
        if reason.len() > MAX_SHARED_REASON {
            return Err(AppError::bad_request(format!(
                "A reason shared with other organisations can be at most {MAX_SHARED_REASON} bytes."
            )));
        }
        let author = MemberId::new("node", &self.config().node.name)
            .map_err(|e| AppError::bad_request(e.to_string()))?;
        self.ingest()
            .local(Draft {
                author,
                reach: Reach::Shared,
                refs: References::default(),
                body: EventBody::SharedDecision(SharedDecision {
                    target: target.clone(),
                    action,
                    reason: reason.to_owned(),
                }),
                not_before: 0,
            })
            .await?;
        Ok(())
    }

    /// Acts on another node's shared decision as this node chose for that node. Called by
    /// the notifier as it reads the arrival log; each decision is handled once.
    pub(crate) fn receive_decision(
        &self,
        event: &EventId,
        payload: &EventPayload,
        decision: &SharedDecision,
    ) -> Result<(), StoreError> {
        let from = payload.origin;
        if self.federation().is_blocked(&from) {
            return Ok(());
        }
        let _hiding = self.hiding();
        // What was hidden by following this node is shown again when it says so, whatever
        // this node's choice is now.
        if decision.action == DecisionAction::Restore
            && self
                .hidden_set()
                .get(&decision.target)
                .is_some_and(|h| h.from_node == Some(from))
        {
            // Logged first: whoever sees the post shown again finds why in the log.
            self.audit(
                None,
                "adopted_restore",
                &decision.target,
                None,
                &super::remote_text(&decision.reason, false),
            )?;
            // Reports here that its hide replaced still count: hidden by them until this
            // node's moderators look.
            let reports = self.store().reports()?;
            if matches!(decision.target, ReportTarget::Event(_))
                && self.reported_enough(&reports, &decision.target)
            {
                // Named as every hide by reports is: the author the reports are about.
                let author = reports.iter().find_map(|(_, r)| {
                    if r.target == decision.target {
                        r.author.clone()
                    } else {
                        None
                    }
                });
                self.audit(
                    None,
                    "hidden_by_reports",
                    &decision.target,
                    author.as_ref(),
                    "still reported here",
                )?;
                self.set_hidden(&decision.target, Some(self.hidden_by_reports()))?;
            } else {
                self.set_hidden(&decision.target, None)?;
            }
            return Ok(());
        }
        let policy = self.decisions_from(&from)?;
        if policy == DecisionPolicy::Ignore {
            return Ok(());
        }
        let day = self.now().as_millis() / DAY_MS;
        if self.store().count_remote(b'D', &from, day)?
            > u64::from(self.config().moderation.remote_reports_per_node_per_day)
        {
            tracing::warn!(origin = %from, %event, "too many shared decisions from one node today: not followed");
            return Ok(());
        }
        let reason = super::remote_text(&decision.reason, false);
        // Only about what this node holds, and never about this node's own members: their
        // moderators are here.
        let author = match &decision.target {
            ReportTarget::Member(m) => Some(m.clone()),
            ReportTarget::Event(id) => self.payload(id)?.map(|p| p.author),
        };
        let Some(author) = author else {
            return Ok(());
        };
        if author.node_name() == self.config().node.name.as_str() {
            return Ok(());
        }
        let organisation = self
            .store()
            .announcement(&from)?
            .map(|a| a.organisation)
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| payload.author.node_name().to_owned());
        match policy {
            DecisionPolicy::Adopt => {
                let current = self.hidden_set().get(&decision.target);
                match decision.action {
                    // Hidden here only while reports are looked at: from now on it is
                    // hidden by the followed decision, which dismissing the reports
                    // leaves alone.
                    DecisionAction::Hide if current.is_none_or(|h| h.by_reports()) => {
                        self.audit(
                            None,
                            "adopted_hide",
                            &decision.target,
                            Some(&author),
                            &format!("{organisation}: {reason}"),
                        )?;
                        self.set_hidden(
                            &decision.target,
                            Some(HiddenRecord {
                                reason: format!("{reason} (following {organisation}'s moderators)"),
                                by: None,
                                at: self.now().as_millis(),
                                from_node: Some(from),
                            }),
                        )?;
                    }
                    _ => {}
                }
            }
            DecisionPolicy::Review => {
                // Its newest decision on this stands for its earlier ones.
                for (n, r) in self.store().reports()? {
                    if r.open
                        && r.decision.is_some()
                        && r.from_node == Some(from)
                        && r.target == decision.target
                    {
                        self.store().update_report(n, |r| {
                            if r.open {
                                r.open = false;
                                r.outcome = Some("replaced by a newer decision".to_owned());
                            }
                        })?;
                    }
                }
                let record = ReportRecord {
                    target: decision.target.clone(),
                    reason: ReportReason::Guidelines,
                    note: Some(reason),
                    reporter: None,
                    from_node: Some(from),
                    from_organisation: organisation,
                    author: Some(author),
                    at: self.now().as_millis(),
                    open: true,
                    outcome: None,
                    decision: Some(decision.action),
                };
                self.store().add_remote_report(event, &record)?;
            }
            DecisionPolicy::Ignore => {}
        }
        Ok(())
    }
}
