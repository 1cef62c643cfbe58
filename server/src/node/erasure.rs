//! Deleting an account, and erasing the member across the federation.
//!
//! A member (or an admin) asks; after the node's grace period (`accounts.deletion_grace_days`,
//! 0: at once) the home node signs a tombstone for each of the member's events on its
//! shared log, publishes them in erasure events (`rules/erasure.rs` says what every node
//! then does), and removes the account: sign-in, sessions, reset links, conversation
//! settings and blocks. The username stays taken, so nobody can later write under the
//! erased member's id (every node refuses it). During the grace period the member cannot
//! sign in and an admin can stop the deletion.

use kindred_protocol::event::body::erasure::{ErasedSlot, Erasure, MAX_ERASED_SLOTS};
use kindred_protocol::{EventBody, EventId, EventKind, MemberId, References, SignedEvent};

use kindred_protocol::api::{AccountDeletion, DeleteAccount, DeleteMember, ErrorCode, Role};

use super::Node;
use super::accounts::Auth;
use super::ingest::{Draft, Reach};
use crate::node::AppError;
use crate::store::MemberRecord;

/// What a deletion request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// Erased now.
    Erased {
        /// How many of the member's shared-log events were replaced by tombstones.
        slots: usize,
    },
    /// Erased at this time (ms), unless an admin stops it first.
    Scheduled(u64),
}

impl Node {
    /// A member deletes their own account (password and username typed again).
    pub(crate) async fn delete_own_account(
        &self,
        auth: &Auth,
        req: DeleteAccount,
    ) -> Result<AccountDeletion, AppError> {
        if req.confirm.trim() != auth.member.username {
            return Err(AppError::bad_request(
                "To confirm, type your username exactly as you sign in with it.",
            ));
        }
        self.password_check_allowed(auth)?;
        if !super::passwords::verify(
            auth.member.password_hash.clone(),
            req.password,
            auth.member.password_precis,
        )
        .await
        {
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "That password is not right.",
            ));
        }
        let username = auth.member.username.clone();
        let done = self.delete_account(&username, &auth.member_id).await?;
        Ok(deletion_view(username, done))
    }

    /// An admin deletes a member's account (username typed again).
    pub(crate) async fn delete_member_account(
        &self,
        auth: &Auth,
        username: &str,
        req: DeleteMember,
    ) -> Result<AccountDeletion, AppError> {
        auth.require(Role::Admin)?;
        if req.confirm.trim() != username {
            return Err(AppError::bad_request(
                "To confirm, type the member's username exactly.",
            ));
        }
        if username == auth.member.username {
            return Err(AppError::bad_request(
                "To delete your own account, use \"Delete my account\" in Settings.",
            ));
        }
        let done = self.delete_account(username, &auth.member_id).await?;
        Ok(deletion_view(username.to_owned(), done))
    }

    /// An admin stops a scheduled deletion.
    pub(crate) async fn stop_deletion(&self, auth: &Auth, username: &str) -> Result<(), AppError> {
        auth.require(Role::Admin)?;
        if self.cancel_deletion(username).await? {
            Ok(())
        } else {
            Err(AppError::not_found(
                "That member's account is not waiting to be deleted.",
            ))
        }
    }

    /// Deletes `username`'s account: at once, or at the end of the grace period.
    pub(crate) async fn delete_account(
        &self,
        username: &str,
        asked_by: &MemberId,
    ) -> Result<Deletion, AppError> {
        // The check that another admin stays and the deletion are one step: two admins
        // deleting themselves at once cannot both pass it.
        let one_at_a_time = self.limits().erasing.lock().await;
        let member = self.existing_member(username)?;
        let other_admins = self
            .store()
            .members()?
            .iter()
            .filter(|m| {
                m.role == Role::Admin
                    && m.username != username
                    && !m.suspended
                    && m.deletion_due_at.is_none()
            })
            .count();
        if member.role == Role::Admin && other_admins == 0 {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "This is the only admin account here: make someone else an admin first, so the node is never left without one.",
            ));
        }
        let grace_ms = self
            .config()
            .accounts
            .deletion_grace_days
            .saturating_mul(24 * 3_600_000);
        if grace_ms == 0 {
            let slots = self.erase_locked(username).await?;
            tracing::info!(%username, by = %asked_by, slots, "account deleted and erased");
            return Ok(Deletion::Erased { slots });
        }
        let due = self.now().as_millis().saturating_add(grace_ms);
        let scheduled = self.store().update_member(username, |member| {
            let due = member.deletion_due_at.map_or(due, |d| d.min(due));
            member.deletion_due_at = Some(due);
            Ok::<_, AppError>(due)
        })?;
        let Some(due) = scheduled else {
            return Err(AppError::not_found(
                "That account has already been deleted.",
            ));
        };
        self.end_sessions(username)?;
        self.store().durable().await?;
        drop(one_at_a_time);
        tracing::info!(%username, by = %asked_by, due, "account deletion scheduled");
        Ok(Deletion::Scheduled(due))
    }

    /// Stops a scheduled deletion. False when none was scheduled.
    pub(crate) async fn cancel_deletion(&self, username: &str) -> Result<bool, AppError> {
        let stopped = self
            .store()
            .update_member(username, |member| {
                Ok::<_, AppError>(member.deletion_due_at.take().is_some())
            })?
            .ok_or_else(|| AppError::not_found("There is no member with that username here."))?;
        if !stopped {
            return Ok(false);
        }
        self.store().durable().await?;
        tracing::info!(%username, "scheduled account deletion stopped");
        Ok(true)
    }

    /// Erases every member whose grace period has ended (the housekeeping task).
    pub(crate) async fn erase_due_accounts(&self) -> Result<usize, AppError> {
        let mut erased = 0;
        // First what a crash or a stop cut short (or what a restored node wrote of an
        // erased member before it caught up): the clock has nothing to do with these.
        for username in self.store().pending_erasures()? {
            let _one_at_a_time = self.limits().erasing.lock().await;
            // Finished meanwhile (by the request that started it).
            if !self.store().pending_erasures()?.contains(&username) {
                continue;
            }
            let slots = self.erase_locked(&username).await?;
            tracing::info!(%username, slots, "an erasure cut short is finished");
            erased += 1;
        }
        if let Some(why) = self.clock_in_doubt() {
            tracing::warn!(%why, "deletions whose grace period may be over wait: this node's clock is in doubt");
            return Ok(erased);
        }
        let now = self.now().as_millis();
        for member in self.store().members()? {
            if member.deletion_due_at.is_some_and(|due| due <= now) {
                let slots = self.erase_member(&member.username).await?;
                tracing::info!(username = %member.username, slots, "grace period over: account erased");
                erased += 1;
            }
        }
        Ok(erased)
    }

    fn existing_member(&self, username: &str) -> Result<MemberRecord, AppError> {
        self.store()
            .member(username)?
            .ok_or_else(|| AppError::not_found("There is no member with that username here."))
    }

    fn end_sessions(&self, username: &str) -> Result<(), AppError> {
        for (hash, _) in self.store().sessions_of(username)? {
            self.store().remove_session(&hash)?;
        }
        self.store().accounts_changed();
        Ok(())
    }

    /// Erases `username` now: publishes the erasure, then removes the account. Returns how
    /// many shared-log events it covers. One erasure at a time; a second request for the
    /// same member finds the account gone. Interrupted (a crash between parts), it is
    /// finished by the housekeeping after the next start: the deletion is recorded as due
    /// before the first part is written, and the parts already published are tombstones.
    pub(crate) async fn erase_member(&self, username: &str) -> Result<usize, AppError> {
        let _one_at_a_time = self.limits().erasing.lock().await;
        self.erase_locked(username).await
    }

    /// As [`Node::erase_member`], the caller holding `limits().erasing`.
    async fn erase_locked(&self, username: &str) -> Result<usize, AppError> {
        let member_id = self.member_id(username)?;
        let resuming = self
            .store()
            .pending_erasures()?
            .iter()
            .any(|u| u == username);
        // Nothing more of theirs is written from here on, and a restart finishes this.
        let now = self.now().as_millis();
        let marked = self.store().update_member(username, |member| {
            member.suspended = true;
            member.deletion_due_at = Some(member.deletion_due_at.map_or(now, |d| d.min(now)));
            Ok::<_, AppError>(())
        })?;
        match marked {
            Some(()) => {}
            None if resuming => {}
            None => {
                return Err(AppError::not_found(
                    "That account has already been deleted.",
                ));
            }
        }
        self.store().erasure_pending(username)?;
        self.end_sessions(username)?;
        self.store().durable().await?;
        let slots = self.tombstones_of(&member_id)?;
        let count = slots.len();
        let mut parts: Vec<Vec<ErasedSlot>> = slots
            .chunks(MAX_ERASED_SLOTS)
            .map(<[ErasedSlot]>::to_vec)
            .collect();
        // A member who only chatted is erased all the same (once: a resumed erasure with
        // nothing left to list publishes nothing more).
        let announced = self.store().erasure(&member_id)?.is_some();
        if parts.is_empty() && !announced {
            parts.push(Vec::new());
        }
        for slots in parts {
            let draft = Draft {
                author: member_id.clone(),
                reach: Reach::Shared,
                refs: References::default(),
                body: EventBody::Erasure(Erasure { slots }),
                not_before: 0,
            };
            self.ingest().local(draft).await?;
        }
        self.store().remove_account(username, &member_id)?;
        self.store().erasure_done(username)?;
        self.store().accounts_changed();
        self.store().durable().await?;
        Ok(count)
    }

    /// This node's signed tombstone for each of the member's events on its shared log.
    fn tombstones_of(&self, member: &MemberId) -> Result<Vec<ErasedSlot>, AppError> {
        let own = self.node_id();
        let mut slots: Vec<(u64, EventId)> = self
            .store()
            .events_by(member)?
            .into_iter()
            // Never their erasure itself: the erasure must reach every node.
            .filter(|(p, kind, _)| {
                p.origin == own
                    && *kind != EventKind::Tombstone.code()
                    && *kind != EventKind::Erasure.code()
            })
            .filter_map(|(p, _, id)| p.seq().map(|seq| (seq, id)))
            .collect();
        slots.sort();
        slots.dedup_by_key(|(seq, _)| *seq);
        Ok(slots
            .into_iter()
            .map(|(seq, id)| ErasedSlot {
                seq,
                id,
                signature: *SignedEvent::tombstone(self.keypair(), seq, &id, member).signature(),
            })
            .collect())
    }
}

fn deletion_view(username: String, done: Deletion) -> AccountDeletion {
    match done {
        Deletion::Erased { slots } => AccountDeletion {
            username,
            erased: true,
            erase_at: None,
            events_erased: slots as u64,
        },
        Deletion::Scheduled(at) => AccountDeletion {
            username,
            erased: false,
            erase_at: Some(kindred_protocol::Timestamp(at)),
            events_erased: 0,
        },
    }
}
