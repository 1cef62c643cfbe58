//! Chat: one-to-one and group conversations, messages, reactions,
//! read markers, muting and blocking. Every message is a directed event that goes only to
//! the nodes where the conversation's members live, through the per-peer outboxes.

use kindred_protocol::api::{
    AddParticipant, ConversationView, CreateConversation, ErrorCode, MessageView, NewMessage, Page,
    Participant, ReactionCount, SendMessage, UpdateConversation,
};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
};
use kindred_protocol::limits::{MAX_CHAT_BODY_BYTES, MAX_SHORT_TEXT_BYTES};
use kindred_protocol::{EventBody, EventId, MemberId, NodeId, References, Timestamp};

use super::{Auth, Node, Reach, markdown};
use crate::node::AppError;
use crate::store::{ConversationRecord, ParticipantState};

/// Most people one member may block.
const MAX_BLOCKS: usize = 1000;

/// The id of the one-to-one conversation between two members (the same on every node).
pub(crate) fn direct_conversation(a: &MemberId, b: &MemberId) -> ConversationId {
    ConversationId::direct(a, b)
}

/// Whether a message by `author` belongs in what a conversation shows: a one-to-one
/// conversation shows only its two members' messages (a group that squatted on its id
/// before the pair took it back may have left others'); a group shows everyone who wrote
/// while they were in it.
fn speaks_in(record: &ConversationRecord, author: &MemberId) -> bool {
    record.kind != ConversationKind::Direct || record.members.contains(author)
}

fn not_in_it() -> AppError {
    AppError::forbidden("You are not in this conversation.")
}

impl Node {
    /// The node a member lives on, if this node knows it: the one node their node name is
    /// bound to (itself, a paired node, or a node bound by its own announcement). Directed
    /// events are routed by that node's id.
    pub(crate) fn home_node(&self, member: &MemberId) -> Result<Option<NodeId>, AppError> {
        if member.node_name() == self.config().node.name.as_str() {
            return Ok(Some(self.node_id()));
        }
        Ok(self.store().bound_node(member.node_name())?)
    }

    /// The nodes to send a conversation's events to: every member's home node.
    pub(crate) fn recipients_of(&self, members: &[MemberId]) -> Result<Vec<NodeId>, AppError> {
        self.recipients(members)
    }

    fn recipients(&self, members: &[MemberId]) -> Result<Vec<NodeId>, AppError> {
        let mut nodes = Vec::new();
        for m in members {
            if self.is_blocked_member(m)? {
                return Err(AppError::new(
                    ErrorCode::Forbidden,
                    format!(
                        "{m} is at an organisation whose node is blocked here, so nothing can be sent to them."
                    ),
                ));
            }
            match self.home_node(m)? {
                Some(n) => nodes.push(n),
                None => {
                    return Err(AppError::not_found(format!(
                        "{m} lives on a node this organisation is not paired with."
                    )));
                }
            }
        }
        nodes.sort();
        nodes.dedup();
        Ok(nodes)
    }

    fn chat_rate(&self, auth: &Auth) -> Result<(), AppError> {
        if self.limits().chat.try_take(&auth.member.username) {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::RateLimited,
                "You are sending messages very fast. Please wait a moment.",
            ))
        }
    }

    /// Whether a conversation the member has not muted has a message from someone else
    /// after their read position (the "new" mark on the web's Chat link). Looks at the
    /// newest 50 unread messages of each conversation at most, so a page view stays cheap.
    pub(crate) fn has_unread(&self, member: &MemberId) -> Result<bool, AppError> {
        let blocked = self.store().member_blocks(member)?;
        for (id, state) in self.store().conversations_of(member)? {
            if state.muted {
                continue;
            }
            let Some(record) = self.store().conversation(&id)? else {
                continue;
            };
            for (_, mid) in self.store().messages_after(&id, state.last_read, 50)? {
                if let Some(author) = self.shown_message_author(&mid)?
                    && author != *member
                    && speaks_in(&record, &author)
                    && !blocked.contains(&author.to_string())
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Refuses (403) to start a conversation with, add to a group, or write one to one to
    /// someone who takes no messages now: suspended or taking a break (their own node
    /// says so for members elsewhere), or hidden here by moderators. Named as people
    /// know them.
    fn refuse_unreachable(&self, member: &MemberId) -> Result<(), AppError> {
        let hidden = self
            .hidden_set()
            .get(&kindred_protocol::api::ReportTarget::Member(member.clone()))
            .is_some();
        if hidden || self.is_away(member)? {
            let name = self
                .author_labels(member)
                .map(|(n, _)| n)
                .unwrap_or_else(|_| member.to_string());
            return Err(AppError::new(
                ErrorCode::Forbidden,
                format!("{name} is not taking messages at the moment."),
            ));
        }
        Ok(())
    }

    /// The organisation a member belongs to, as far as this node knows (their node's name
    /// when no profile has arrived yet).
    pub(crate) fn organisation_of(&self, member: &MemberId) -> String {
        if member.node_name() == self.config().node.name.as_str() {
            return self.config().node.organisation.clone();
        }
        match self.store().profile(member) {
            Ok(Some(p)) if !p.organisation.is_empty() => p.organisation,
            _ => member.node_name().to_owned(),
        }
    }

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
            return Err(AppError::bad_request("Who would you like to talk with?"));
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
            return Err(AppError::bad_request(format!(
                "A group can have at most {max} people."
            )));
        }
        let name = name
            .map(|n| {
                kindred_protocol::names::name(&n).map_err(|e| {
                    AppError::bad_request(format!("That group name cannot be used: {e}."))
                })
            })
            .transpose()?;
        if name
            .as_ref()
            .is_some_and(|n| n.len() > MAX_SHORT_TEXT_BYTES)
        {
            return Err(AppError::bad_request("That group name is too long."));
        }
        for m in &members {
            self.refuse_unreachable(m)?;
            if self.store().has_blocked(&auth.member_id, m)? {
                return Err(AppError::bad_request(format!(
                    "You have blocked {m}; unblock them first."
                )));
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

    fn participant_state(
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

    /// A conversation's messages, newest first, with a cursor for older ones.
    pub(crate) fn history(
        &self,
        auth: &Auth,
        id: &ConversationId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Page<MessageView>, AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        let before = match before {
            None => None,
            Some(c) => {
                let (ts, seq) = c
                    .split_once('.')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .ok_or_else(|| AppError::bad_request("That page cursor is not valid."))?;
                Some((ts, seq))
            }
        };
        let limit = limit.clamp(1, 100);
        let blocked = self.store().member_blocks(&auth.member_id)?;
        let page = self.store().messages(id, before, limit)?;
        let next_cursor = (page.len() == limit)
            .then(|| page.last().map(|((ts, seq), _)| format!("{ts}.{seq}")))
            .flatten();
        let mut items = Vec::new();
        for (_, mid) in page {
            if let Some(m) = self.message_view(&mid, Some(&auth.member_id))?
                && speaks_in(&record, &m.author)
                && !blocked.contains(&m.author.to_string())
            {
                items.push(m);
            } else if let Some(m) = self.deleted_message(&mid, id)? {
                items.push(m);
            }
        }
        Ok(Page { items, next_cursor })
    }

    /// Sends the member's name and organisation to the conversation's nodes, once, unless
    /// the whole federation has it already (members who never post stay unannounced).
    async fn share_profile(&self, auth: &Auth, id: &ConversationId) -> Result<(), AppError> {
        let Some(mut state) = self.store().participant(&auth.member_id, id)? else {
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
        state.profile_shared = true;
        self.store().put_participant(&auth.member_id, id, &state)?;
        Ok(())
    }

    async fn send_to_conversation(
        &self,
        auth: &Auth,
        record: &ConversationRecord,
        refs: References,
        body: EventBody,
    ) -> Result<EventId, AppError> {
        self.chat_rate(auth)?;
        let recipients = self.recipients(&record.members)?;
        if let EventBody::ChatMessage(m) = &body {
            self.share_profile(auth, &m.conversation).await?;
        }
        self.write(auth, Reach::Directed(recipients), refs, body)
            .await
    }

    fn check_body(body: &str) -> Result<String, AppError> {
        let body = body.trim().to_owned();
        if body.is_empty() {
            return Err(AppError::invalid(
                "body",
                "Write a message before sending it.",
            ));
        }
        if body.len() > MAX_CHAT_BODY_BYTES {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("A message can be at most {MAX_CHAT_BODY_BYTES} bytes."),
            ));
        }
        Ok(body)
    }

    /// Sends a message to a conversation.
    pub(crate) async fn post_message(
        &self,
        auth: &Auth,
        id: &ConversationId,
        req: NewMessage,
    ) -> Result<MessageView, AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        let body = Self::check_body(&req.body)?;
        // One to one with someone their organisation has suspended: they would never read
        // it, so say so rather than "sent".
        if record.kind == ConversationKind::Direct
            && let Some(other) = record.members.iter().find(|m| **m != auth.member_id)
        {
            self.refuse_erased(other)?;
        }
        if record.kind == ConversationKind::Direct
            && let Some(other) = record.members.iter().find(|m| **m != auth.member_id)
        {
            self.refuse_unreachable(other)?;
        }
        if let Some(r) = req.reply_to
            && self.store().message_position(id, &r)?.is_none()
        {
            return Err(AppError::not_found(
                "The message you are replying to is not in this conversation.",
            ));
        }
        let refs = References {
            reply_to: req.reply_to,
            ..References::default()
        };
        let mid = self
            .send_to_conversation(
                auth,
                &record,
                refs,
                EventBody::ChatMessage(ChatMessage {
                    conversation: *id,
                    body,
                }),
            )
            .await?;
        self.message_view(&mid, Some(&auth.member_id))?
            .ok_or_else(|| AppError::internal(std::io::Error::other("message vanished")))
    }

    /// One of the member's own messages in a conversation they are in, with the
    /// conversation (for editing or taking it back).
    pub(crate) fn own_message(
        &self,
        auth: &Auth,
        id: &ConversationId,
        mid: &EventId,
    ) -> Result<(ConversationRecord, MessageView), AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        let view = self
            .message_view(mid, Some(&auth.member_id))?
            .filter(|m| m.conversation == *id)
            .ok_or_else(|| AppError::not_found("No such message in this conversation."))?;
        if view.author != auth.member_id {
            return Err(AppError::forbidden("Only its author can change a message."));
        }
        Ok((record, view))
    }

    /// Edits one's own message.
    pub(crate) async fn edit_message(
        &self,
        auth: &Auth,
        id: &ConversationId,
        mid: &EventId,
        body: &str,
    ) -> Result<MessageView, AppError> {
        let (record, _) = self.own_message(auth, id, mid)?;
        let body = Self::check_body(body)?;
        let refs = References {
            replaces: Some(*mid),
            ..References::default()
        };
        self.send_to_conversation(
            auth,
            &record,
            refs,
            EventBody::ChatMessage(ChatMessage {
                conversation: *id,
                body,
            }),
        )
        .await?;
        self.message_view(mid, Some(&auth.member_id))?
            .ok_or_else(|| AppError::internal(std::io::Error::other("message vanished")))
    }

    /// Takes back one's own message.
    pub(crate) async fn retract_message(
        &self,
        auth: &Auth,
        id: &ConversationId,
        mid: &EventId,
    ) -> Result<(), AppError> {
        let (record, _) = self.own_message(auth, id, mid)?;
        let refs = References {
            retracts: Some(*mid),
            ..References::default()
        };
        self.send_to_conversation(
            auth,
            &record,
            refs,
            EventBody::ChatMessage(ChatMessage {
                conversation: *id,
                body: String::new(),
            }),
        )
        .await?;
        Ok(())
    }

    /// Adds or removes the member's reaction to a message.
    pub(crate) async fn react_message(
        &self,
        auth: &Auth,
        id: &ConversationId,
        mid: &EventId,
        reaction: &str,
        removed: bool,
    ) -> Result<Vec<ReactionCount>, AppError> {
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        super::content::known_reaction(reaction)?;
        self.message_view(mid, Some(&auth.member_id))?
            .filter(|m| m.conversation == *id)
            .ok_or_else(|| AppError::not_found("No such message in this conversation."))?;
        let mine = self
            .store()
            .reactions(mid, Some(auth.member_id.as_str()))?
            .get(reaction)
            .is_some_and(|(_, m)| *m);
        if mine != removed {
            return Ok(self.reaction_counts(mid, Some(&auth.member_id))?);
        }
        self.send_to_conversation(
            auth,
            &record,
            References::default(),
            EventBody::ChatReaction(ChatReaction {
                conversation: *id,
                target: *mid,
                reaction: reaction.to_owned(),
                removed,
            }),
        )
        .await?;
        Ok(self.reaction_counts(mid, Some(&auth.member_id))?)
    }

    /// Marks the conversation read up to a message, and shares it if the member allows.
    pub(crate) async fn mark_read(
        &self,
        auth: &Auth,
        id: &ConversationId,
        up_to: &EventId,
    ) -> Result<(), AppError> {
        let (record, mut state) = self.participant_state(&auth.member_id, id)?;
        let pos = self
            .store()
            .message_position(id, up_to)?
            .ok_or_else(|| AppError::not_found("No such message in this conversation."))?;
        if state.last_read.is_some_and(|r| r >= pos) {
            return Ok(());
        }
        state.last_read = Some(pos);
        self.store().put_participant(&auth.member_id, id, &state)?;
        self.store().durable().await?;
        // A message whose words are gone (erased, expired, taken back) cannot be pointed
        // at for others: the position is kept here only.
        if auth.member.read_markers && self.message_view(up_to, None)?.is_some() {
            let recipients = self.recipients(&record.members)?;
            self.write(
                auth,
                Reach::Directed(recipients),
                References::default(),
                EventBody::ReadMarker(ReadMarker {
                    conversation: *id,
                    up_to: *up_to,
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// Renames a group (admins) or mutes it for the member.
    pub(crate) async fn update_conversation(
        &self,
        auth: &Auth,
        id: &ConversationId,
        req: UpdateConversation,
    ) -> Result<ConversationView, AppError> {
        let (record, mut state) = self.participant_state(&auth.member_id, id)?;
        if let Some(muted) = req.muted {
            state.muted = muted;
            self.store().put_participant(&auth.member_id, id, &state)?;
            self.store().durable().await?;
        }
        if let Some(name) = req.name {
            let name = kindred_protocol::names::name(&name).map_err(|e| {
                AppError::bad_request(format!("That group name cannot be used: {e}."))
            })?;
            if record.kind != ConversationKind::Group || name.len() > MAX_SHORT_TEXT_BYTES {
                return Err(AppError::bad_request(
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

    async fn change_members(
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

    /// Blocks or unblocks another member for this member: nothing from them reaches them,
    /// and they are not told.
    pub(crate) async fn set_block(
        &self,
        auth: &Auth,
        member: &MemberId,
        blocked: bool,
    ) -> Result<(), AppError> {
        if *member == auth.member_id {
            return Err(AppError::bad_request("You cannot block yourself."));
        }
        if blocked {
            let known = if member.node_name() == self.config().node.name.as_str() {
                self.store().member(member.localpart())?.is_some()
            } else {
                self.store().profile(member)?.is_some()
            };
            if !known {
                return Err(AppError::not_found("No such person is known here."));
            }
            if self.store().member_blocks(&auth.member_id)?.len() >= MAX_BLOCKS {
                return Err(AppError::bad_request(format!(
                    "You can block at most {MAX_BLOCKS} people."
                )));
            }
        }
        self.store()
            .set_member_block(&auth.member_id, member, blocked)?;
        // Their posts and messages collapse for the member (or open again).
        self.forget_mutes(&auth.member_id);
        // What they did leaves (or comes back to) the notifications: the count changes.
        self.tell_notifications(&auth.member_id);
        Ok(self.store().durable().await?)
    }

    /// Whom the member has blocked.
    pub(crate) fn blocks(&self, auth: &Auth) -> Result<Vec<String>, AppError> {
        Ok(self.store().member_blocks(&auth.member_id)?)
    }

    /// Refuses to write to someone whose account was deleted: nobody would ever read it.
    fn refuse_erased(&self, member: &MemberId) -> Result<(), AppError> {
        if self.store().erasure(member)?.is_some() {
            return Err(AppError::new(
                ErrorCode::Gone,
                format!("{member}'s account was deleted, so messages cannot reach them."),
            ));
        }
        Ok(())
    }

    /// Sends one person a message, opening the one-to-one conversation if needed.
    pub(crate) async fn send_message(
        &self,
        auth: &Auth,
        req: SendMessage,
    ) -> Result<MessageView, AppError> {
        let conversation = self
            .create_conversation(
                auth,
                CreateConversation {
                    members: vec![req.to],
                    name: None,
                },
            )
            .await?;
        self.post_message(
            auth,
            &conversation.id,
            NewMessage {
                body: req.body,
                reply_to: None,
            },
        )
        .await
    }

    /// The one-to-one conversation between the member and `with`, oldest first.
    pub(crate) fn direct_messages(
        &self,
        auth: &Auth,
        with: &MemberId,
    ) -> Result<Vec<MessageView>, AppError> {
        let id = direct_conversation(&auth.member_id, with);
        if self.store().participant(&auth.member_id, &id)?.is_none() {
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.history(auth, &id, cursor.as_deref(), 100)?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        all.reverse();
        Ok(all)
    }

    /// Who wrote a message the conversation shows (see [`Node::shown`]), without building
    /// its view (no Markdown, no reactions): enough for counting unread messages.
    fn shown_message_author(&self, id: &EventId) -> Result<Option<MemberId>, AppError> {
        Ok(self
            .shown(id)?
            .filter(|(_, payload)| matches!(payload.body, EventBody::ChatMessage(_)))
            .map(|(_, payload)| payload.author))
    }

    /// A chat message's newest version; `None` if unknown, retracted or from a blocked node.
    pub(crate) fn message_view(
        &self,
        id: &EventId,
        viewer: Option<&MemberId>,
    ) -> Result<Option<MessageView>, AppError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        let EventBody::ChatMessage(first) = &original.body else {
            return Ok(None);
        };
        let body = match meta.latest {
            Some(latest) => match self.payload(&latest)?.map(|p| p.body) {
                Some(EventBody::ChatMessage(m)) => m.body,
                _ => first.body.clone(),
            },
            None => first.body.clone(),
        };
        let author_name = self.author_labels(&original.author)?.0;
        let hidden = self.hidden_reason(id, &original.author);
        let body = if hidden.is_some() {
            String::new()
        } else {
            body
        };
        let muted = match viewer {
            Some(v) if hidden.is_none() && *v != original.author => {
                self.mutes_of(v)?
                    .reason(&original.author, None, &[&markdown::plain_text(&body)])
            }
            _ => None,
        };
        Ok(Some(MessageView {
            id: *id,
            conversation: first.conversation,
            author: original.author.clone(),
            author_name,
            body_html: markdown::render(&body),
            body,
            hidden,
            muted,
            created_at: original.created_at,
            edited_at: meta.edited_at.map(Timestamp),
            reply_to: original.refs.reply_to,
            reactions: self.reaction_counts(id, viewer)?,
            deleted: false,
        }))
    }

    /// The place of a message whose words are gone (erased or expired), shown as
    /// "Message deleted"; `None` when `id` is not such a message.
    fn deleted_message(
        &self,
        id: &EventId,
        conversation: &ConversationId,
    ) -> Result<Option<MessageView>, AppError> {
        let Some(stored) = self.store().stored(id)? else {
            return Ok(None);
        };
        if stored.meta.kind != kindred_protocol::EventKind::Tombstone.code() {
            return Ok(None);
        }
        let author = crate::store::payload_of(&stored.event)?.author;
        Ok(Some(MessageView {
            id: *id,
            conversation: *conversation,
            author,
            author_name: String::new(),
            body: String::new(),
            body_html: String::new(),
            created_at: Timestamp(stored.meta.sort_ts),
            edited_at: None,
            reply_to: None,
            reactions: Vec::new(),
            deleted: true,
            hidden: None,
            muted: None,
        }))
    }
}
