//! Members' accounts: the admins' list, one's own account, role and suspension changes, and
//! one's own settings.

use super::{Auth, clean_talk_about};
use crate::node::AppError;
use crate::node::Node;
use crate::store::MemberRecord;
use kindred_protocol::api::{ErrorCode, MemberView, Role, UpdateMe, UpdateMember};

impl Node {
    /// Every member (admins only).
    pub(crate) fn members(&self, auth: &Auth) -> Result<Vec<MemberView>, AppError> {
        auth.require(Role::Admin)?;
        self.store()
            .members()?
            .iter()
            .map(|m| self.member_view(m))
            .collect()
    }

    /// The signed-in member.
    pub(crate) fn me(&self, auth: &Auth) -> Result<MemberView, AppError> {
        self.member_view(&auth.member)
    }

    /// Changes a member's role or suspends/reinstates them (admins only).
    pub(crate) async fn update_member(
        &self,
        auth: &Auth,
        username: &str,
        req: UpdateMember,
    ) -> Result<MemberView, AppError> {
        auth.require(Role::Admin)?;
        // Role changes, suspensions and deletions one at a time, each checked against the
        // accounts as they are then: two admins demoting each other at once cannot both
        // succeed, and the node always keeps an admin.
        let _accounts = self.limits().erasing.lock().await;
        let active_admin =
            |m: &MemberRecord| m.role == Role::Admin && !m.suspended && m.deletion_due_at.is_none();
        if !self
            .store()
            .member(&auth.member.username)?
            .is_some_and(|m| active_admin(&m))
        {
            return Err(AppError::forbidden("Only admins can change members."));
        }
        let Some(current) = self.store().member(username)? else {
            return Err(AppError::not_found("No such member."));
        };
        if current.username == auth.member.username
            && (req.suspended == Some(true) || req.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(AppError::bad_request(
                "You cannot suspend yourself or remove your own admin role; ask another admin.",
            ));
        }
        let other_admins = self
            .store()
            .members()?
            .iter()
            .filter(|m| m.username != current.username && active_admin(m))
            .count();
        // Changed on the record as it is now: what the member changed meanwhile (their
        // name, their password) stays.
        let changed = self.store().update_member(username, |member| {
            let was_suspended = member.suspended;
            if let Some(role) = req.role {
                member.role = role;
            }
            if let Some(suspended) = req.suspended {
                member.suspended = suspended;
            }
            if other_admins + usize::from(active_admin(member)) == 0 {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "The node would have no admin left: make someone else an admin first.",
                ));
            }
            Ok((member.clone(), was_suspended != member.suspended))
        })?;
        let Some((member, suspension_changed)) = changed else {
            return Err(AppError::not_found("No such member."));
        };
        self.member_changed(&member, suspension_changed).await?;
        if suspension_changed {
            // One suspension, whichever page set or ended it: logged, and appealable.
            let id = self.member_id(&member.username)?;
            self.members_page_suspension(auth, &id, member.suspended)?;
        }
        tracing::info!(by = %auth.member_id, member = %member.username, role = ?member.role, suspended = member.suspended, "member updated");
        self.member_view(&member)
    }

    /// Suspends or reinstates the account `username` (a moderation decision, recorded
    /// already): only the suspension changes, on the record as it is now. Nothing when
    /// the account is gone.
    pub(crate) async fn set_suspended(
        &self,
        username: &str,
        suspended: bool,
    ) -> Result<(), AppError> {
        let changed = self.store().update_member(username, |member| {
            let changed = member.suspended != suspended;
            member.suspended = suspended;
            Ok::<_, AppError>((member.clone(), changed))
        })?;
        if let Some((member, changed)) = changed
            && (changed || suspended)
        {
            self.member_changed(&member, changed).await?;
        }
        Ok(())
    }

    /// Follows up a change of a member's role or suspension, already written: a suspended
    /// member's sessions end, and other nodes are told when `suspension_changed` (they
    /// list a suspended member as not taking messages, and list them again once
    /// reinstated).
    pub(crate) async fn member_changed(
        &self,
        member: &MemberRecord,
        suspension_changed: bool,
    ) -> Result<(), AppError> {
        if member.suspended {
            for (hash, _) in self.store().sessions_of(&member.username)? {
                self.store().remove_session(&hash)?;
            }
        }
        self.store().durable().await?;
        if suspension_changed && (member.profile_published || member.listed) {
            let id = self.member_id(&member.username)?;
            self.publish_profile(member, &id).await?;
        }
        Ok(())
    }

    /// Changes the member's own display name.
    pub(crate) async fn update_me(
        &self,
        auth: &Auth,
        req: UpdateMe,
    ) -> Result<MemberView, AppError> {
        // Checked first, then applied to the record as it is now (not as it was when the
        // request was signed in): a suspension or password change made meanwhile stays.
        let display_name = match req.display_name {
            Some(name) => Some(
                self.display_name_for(&name, Some(&auth.member.username))
                    .map_err(|e| e.on("display_name"))?,
            ),
            None => None,
        };
        let talk_about = match req.happy_to_talk_about {
            Some(text) => Some(clean_talk_about(&text)?),
            None => None,
        };
        let time_zone = match req.time_zone {
            None => None,
            Some(zone) => {
                let zone = zone.trim();
                Some(if zone.is_empty() {
                    None
                } else if let Some(name) = crate::calendar::canonical_name(zone) {
                    Some(name)
                } else {
                    return Err(AppError::invalid(
                        "time_zone",
                        format!(
                            "“{zone}” is not a time zone we know. Use a name such as Europe/London or Asia/Karachi."
                        ),
                    ));
                })
            }
        };
        let changed = self
            .store()
            .update_member(&auth.member.username, |member| {
                let mut publish = false;
                if let Some(name) = &display_name {
                    member.display_name.clone_from(name);
                    publish |= member.profile_published;
                }
                if let Some(text) = &talk_about {
                    member.happy_to_talk_about.clone_from(text);
                    publish |= member.profile_published || member.listed;
                }
                if let Some(listed) = req.listed {
                    // Unlisting must reach the other nodes too, so it is published either way.
                    publish |= listed != member.listed || (listed && !member.profile_published);
                    member.listed = listed;
                }
                if let Some(markers) = req.read_markers {
                    member.read_markers = markers;
                }
                if let Some(zone) = &time_zone {
                    member.time_zone.clone_from(zone);
                }
                Ok::<_, AppError>((member.clone(), publish))
            })?;
        let Some((member, publish)) = changed else {
            return Err(AppError::not_found("Your account is not here any more."));
        };
        self.store().durable().await?;
        if publish {
            self.publish_profile(&member, &auth.member_id).await?;
        }
        let member = self.store().member(&member.username)?.unwrap_or(member);
        self.member_view(&member)
    }
}
