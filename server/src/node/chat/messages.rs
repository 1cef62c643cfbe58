//! Messages in a conversation: history, writing, editing, taking back, reactions, read
//! positions, one-to-one messages, and how one message is shown.

use super::{direct_conversation, speaks_in};
use crate::node::AppError;
use crate::node::{Auth, Node, Reach, markdown};
use crate::store::ConversationRecord;
use kindred_protocol::api::{
    CreateConversation, ErrorCode, MessageView, NewMessage, Page, ReactionCount, SendMessage,
};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ReadMarker,
};
use kindred_protocol::limits::MAX_CHAT_BODY_BYTES;
use kindred_protocol::{EventBody, EventId, MemberId, References, Timestamp};

impl Node {
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

    pub(super) async fn send_to_conversation(
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

    pub(super) fn check_body(body: &str) -> Result<String, AppError> {
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
            )
            .on("body"));
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
        crate::node::content::known_reaction(reaction)?;
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
        let (record, _) = self.participant_state(&auth.member_id, id)?;
        let pos = self
            .store()
            .message_position(id, up_to)?
            .ok_or_else(|| AppError::not_found("No such message in this conversation."))?;
        // Moves forward only, and only while they are still in the conversation.
        let moved = self.store().update_participant(&auth.member_id, id, |s| {
            let moved = s.last_read.is_none_or(|r| r < pos);
            if moved {
                s.last_read = Some(pos);
            }
            moved
        })?;
        if moved != Some(true) {
            return Ok(());
        }
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
    pub(super) fn shown_message_author(&self, id: &EventId) -> Result<Option<MemberId>, AppError> {
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
    pub(super) fn deleted_message(
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
