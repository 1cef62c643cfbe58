//! Conversations: starting one (one-to-one or a group), listing them, one as its
//! participant sees it, renaming and muting, and who is in a group.

use super::{direct_conversation, not_in_it, speaks_in};
use crate::node::AppError;
use crate::node::{Auth, Node, Reach};
use crate::store::{ConversationRecord, ParticipantState};
use kindred_protocol::api::{
    AddParticipant, ConversationView, CreateConversation, Participant, UpdateConversation,
};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{ConversationKind, ConversationUpdate};
use kindred_protocol::limits::MAX_SHORT_TEXT_BYTES;
use kindred_protocol::{EventBody, MemberId, References, Timestamp};

impl Node {
    /// Starts a conversation (or returns the existing one-to-one conversation).
    pub(crate) async fn create_conversation(
        &self,
        auth: &Auth,
        req: CreateConversation,
    ) -> Result<ConversationView, AppError> {
        let mut members: Vec<MemberId> = req.members.clone();
        members.retain(|m| *m != auth.member_id);
        members.sort();
        members.dedup();
        if members.is_empty() {
            return Err(AppError::invalid(
                "members",
                "Who would you like to talk with?",
            ));
        }
        for m in &members {
            self.refuse_erased(m)?;
        }
        let name = req
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let group = name.is_some() || members.len() > 1;
        let max = self.config().chat.max_group_members;
        if members.len() + 1 > max {
            return Err(AppError::invalid(
                "members",
                format!("A group can have at most {max} people."),
            ));
        }
        let name = name
            .map(|n| {
                kindred_protocol::names::name(&n).map_err(|e| {
                    AppError::invalid("name", format!("That group name cannot be used: {e}."))
                })
            })
            .transpose()?;
        if name
            .as_ref()
            .is_some_and(|n| n.len() > MAX_SHORT_TEXT_BYTES)
        {
            return Err(AppError::invalid("name", "That group name is too long."));
        }
        for m in &members {
            self.refuse_unreachable(m)?;
            if self.store().has_blocked(&auth.member_id, m)? {
                return Err(AppError::invalid(
                    "members",
                    format!("You have blocked {m}; unblock them first."),
                ));
            }
            if m.node_name() == self.config().node.name.as_str()
                && self.store().member(m.localpart())?.is_none()
            {
                return Err(AppError::not_found(format!("There is no member {m}.")));
            }
        }
        members.push(auth.member_id.clone());
        members.sort();
        let (id, kind, admins) = if group {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)
                .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
            (
                ConversationId::from_bytes(bytes),
                ConversationKind::Group,
                vec![auth.member_id.clone()],
            )
        } else {
            let id = direct_conversation(&members[0], &members[1]);
            let intact = self
                .store()
                .conversation(&id)?
                .is_some_and(|r| r.kind == ConversationKind::Direct && r.members == members);
            // A record whose membership is not exactly the two (written before the rules
            // refused that) is never reused: a fresh update restores it.
            if intact && self.store().participant(&auth.member_id, &id)?.is_some() {
                return self
                    .conversation_view(&auth.member_id, &id)?
                    .ok_or_else(not_in_it);
            }
            (id, ConversationKind::Direct, members.clone())
        };
        let update = ConversationUpdate {
            conversation: id,
            kind,
            name: name.unwrap_or_default(),
            members: members.clone(),
            admins,
        };
        let recipients = self.recipients(&members)?;
        self.chat_rate(auth)?;
        self.write(
            auth,
            Reach::Directed(recipients),
            References::default(),
            EventBody::ConversationUpdate(update),
        )
        .await?;
        self.share_profile(auth, &id).await?;
        self.conversation_view(&auth.member_id, &id)?
            .ok_or_else(not_in_it)
    }

    /// The member's conversations, most recently active first.
    pub(crate) fn conversations(&self, auth: &Auth) -> Result<Vec<ConversationView>, AppError> {
        let mut out = Vec::new();
        let blocked = self.store().member_blocks(&auth.member_id)?;
        for (id, _) in self.store().conversations_of(&auth.member_id)? {
            if let Some(view) = self.conversation_view(&auth.member_id, &id)? {
                // A one-to-one conversation with someone they blocked is not listed.
                let with_blocked = view.kind == ConversationKind::Direct
                    && view.members.iter().any(|m| {
                        m.member != auth.member_id && blocked.contains(&m.member.to_string())
                    });
                if !with_blocked {
                    out.push(view);
                }
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.last_activity));
        Ok(out)
    }

    pub(super) fn participant_state(
        &self,
        viewer: &MemberId,
        id: &ConversationId,
    ) -> Result<(ConversationRecord, ParticipantState), AppError> {
        let state = self
            .store()
            .participant(viewer, id)?
            .ok_or_else(not_in_it)?;
        let record = self.store().conversation(id)?.ok_or_else(not_in_it)?;
        Ok((record, state))
    }

    /// A conversation as `viewer` sees it; `None` if they are not in it (or it comes from
    /// someone they blocked).
    pub(crate) fn conversation_view(
        &self,
        viewer: &MemberId,
        id: &ConversationId,
    ) -> Result<Option<ConversationView>, AppError> {
        let Some(state) = self.store().participant(viewer, id)? else {
            return Ok(None);
        };
        let Some(record) = self.store().conversation(id)? else {
            return Ok(None);
        };
        let blocked = self.store().member_blocks(viewer)?;
        if record
            .admins
            .first()
            .is_some_and(|c| blocked.contains(&c.to_string()))
            && record.admins.first() != Some(viewer)
        {
            return Ok(None);
        }
        let markers = self.store().markers(id)?;
        let mut members = Vec::new();
        for m in &record.members {
            members.push(Participant {
                member: m.clone(),
                display_name: self.author_labels(m)?.0,
                read_up_to: markers
                    .iter()
                    .find(|(who, _)| *who == m.as_str())
                    .map(|(_, r)| r.up_to),
            });
        }
        let name = match record.kind {
            ConversationKind::Group => record.name.clone(),
            ConversationKind::Direct => members
                .iter()
                .find(|p| p.member != *viewer)
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
        };
        let mut unread = 0;
        for (_, mid) in self
            .store()
            .messages_after(id, state.last_read, usize::MAX)?
        {
            if let Some(author) = self.shown_message_author(&mid)?
                && author != *viewer
                && speaks_in(&record, &author)
                && !blocked.contains(&author.to_string())
            {
                unread += 1;
            }
        }
        let mut last_message = None;
        for (_, mid) in self.store().messages(id, None, 20)? {
            if let Some(m) = self.message_view(&mid, Some(viewer))?
                && speaks_in(&record, &m.author)
                && !blocked.contains(&m.author.to_string())
            {
                last_message = Some(m);
                break;
            }
        }
        Ok(Some(ConversationView {
            id: *id,
            kind: record.kind,
            name,
            members,
            admins: record.admins,
            unread,
            muted: state.muted,
            last_activity: record.last_activity.map(Timestamp),
            last_message,
        }))
    }

    /// Sends the member's name and organisation to the conversation's nodes, once, unless
    /// the whole federation has it already (members who never post stay unannounced).
    pub(super) async fn share_profile(
        &self,
        auth: &Auth,
        id: &ConversationId,
    ) -> Result<(), AppError> {
        let Some(state) = self.store().participant(&auth.member_id, id)? else {
            return Ok(());
        };
        let member = self.store().member(&auth.member.username)?;
        if state.profile_shared || member.as_ref().is_some_and(|m| m.profile_published) {
            return Ok(());
        }
        let Some(record) = self.store().conversation(id)? else {
            return Ok(());
        };
        let recipients = self.recipients(&record.members)?;
        let profile = kindred_protocol::event::body::profile::Profile {
            display_name: auth.member.display_name.clone(),
            organisation: self.config().node.organisation.clone(),
            bio: String::new(),
            happy_to_talk_about: String::new(),
            listed: false,
            away: false,
        };
        self.write(
            auth,
            Reach::Directed(recipients),
            References::default(),
            EventBody::Profile(profile),
        )
        .await?;
        tracing::debug!(member = %auth.member_id, conversation = %id, "profile shared with a conversation");
        // Only while they are still in it (a removal meanwhile stands).
        self.store()
            .update_participant(&auth.member_id, id, |s| s.profile_shared = true)?;
        Ok(())
    }

    /// Renames a group (admins) or mutes it for the member.
    pub(crate) async fn update_conversation(
        &self,
        auth: &Auth,
        id: &ConversationId,
        req: UpdateConversation,
    ) -> Result<ConversationView, AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        if let Some(muted) = req.muted {
            let updated = self
                .store()
                .update_participant(&auth.member_id, id, |s| s.muted = muted)?;
            if updated.is_none() {
                return Err(not_in_it());
            }
            self.store().durable().await?;
        }
        if let Some(name) = req.name {
            let name = kindred_protocol::names::name(&name).map_err(|e| {
                AppError::invalid("name", format!("That group name cannot be used: {e}."))
            })?;
            if record.kind != ConversationKind::Group || name.len() > MAX_SHORT_TEXT_BYTES {
                return Err(AppError::invalid(
                    "name",
                    "Only groups have names, of 1 to 100 bytes.",
                ));
            }
            self.change_members(
                auth,
                id,
                &record,
                record.members.clone(),
                record.admins.clone(),
                name,
            )
            .await?;
        }
        self.conversation_view(&auth.member_id, id)?
            .ok_or_else(not_in_it)
    }

    pub(super) async fn change_members(
        &self,
        auth: &Auth,
        id: &ConversationId,
        record: &ConversationRecord,
        members: Vec<MemberId>,
        admins: Vec<MemberId>,
        name: String,
    ) -> Result<(), AppError> {
        // The old and the new members' nodes all hear of it (the removed learn they left).
        let mut everyone = record.members.clone();
        everyone.extend(members.iter().cloned());
        everyone.sort();
        everyone.dedup();
        let recipients = self.recipients(&everyone)?;
        self.chat_rate(auth)?;
        // After the state it changes, even within the same millisecond.
        self.write_after(
            auth,
            Reach::Directed(recipients),
            References::default(),
            EventBody::ConversationUpdate(ConversationUpdate {
                conversation: *id,
                kind: record.kind,
                name,
                members,
                admins,
            }),
            record.updated_at.saturating_add(1),
        )
        .await?;
        Ok(())
    }

    /// Adds someone to a group (group admins).
    pub(crate) async fn add_participant(
        &self,
        auth: &Auth,
        id: &ConversationId,
        req: AddParticipant,
    ) -> Result<ConversationView, AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        if record.kind != ConversationKind::Group {
            return Err(AppError::bad_request("People can only be added to groups."));
        }
        if !record.admins.contains(&auth.member_id) {
            return Err(AppError::forbidden(
                "Only the group's admins can add people.",
            ));
        }
        self.refuse_erased(&req.member)?;
        if !record.members.contains(&req.member) {
            self.refuse_unreachable(&req.member)?;
        }
        let max = self.config().chat.max_group_members;
        let mut members = record.members.clone();
        if !members.contains(&req.member) {
            if members.len() >= max {
                return Err(AppError::bad_request(format!(
                    "A group can have at most {max} people."
                )));
            }
            members.push(req.member.clone());
            members.sort();
        }
        let mut admins = record.admins.clone();
        if req.admin && !admins.contains(&req.member) {
            admins.push(req.member.clone());
        }
        self.change_members(auth, id, &record, members, admins, record.name.clone())
            .await?;
        self.conversation_view(&auth.member_id, id)?
            .ok_or_else(not_in_it)
    }

    /// Removes someone from a group (admins), or leaves it (anyone, removing themselves).
    pub(crate) async fn remove_participant(
        &self,
        auth: &Auth,
        id: &ConversationId,
        member: &MemberId,
    ) -> Result<(), AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        if record.kind != ConversationKind::Group {
            return Err(AppError::bad_request(
                "One-to-one conversations have no members to remove; block or mute instead.",
            ));
        }
        let leaving = *member == auth.member_id;
        if !leaving && !record.admins.contains(&auth.member_id) {
            return Err(AppError::forbidden(
                "Only the group's admins can remove people.",
            ));
        }
        if !record.members.contains(member) {
            return Err(AppError::not_found(format!(
                "{member} is not in this group."
            )));
        }
        let members: Vec<MemberId> = record
            .members
            .iter()
            .filter(|m| *m != member)
            .cloned()
            .collect();
        let admins: Vec<MemberId> = record
            .admins
            .iter()
            .filter(|m| *m != member)
            .cloned()
            .collect();
        self.change_members(auth, id, &record, members, admins, record.name.clone())
            .await
    }
}
