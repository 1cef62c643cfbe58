//! Private messages between members, delivered only to the nodes of the people in the
//! conversation (directed events through per-peer outboxes). One-to-one for now; groups,
//! read markers and blocking come with the chat work.

use kindred_protocol::api::{MessageView, SendMessage};
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ChatMessage;
use kindred_protocol::limits::MAX_CHAT_BODY_BYTES;
use kindred_protocol::{EventBody, MemberId, NodeId, References};
use sha2::{Digest, Sha256};

use super::{Auth, Node, Reach, markdown};
use crate::error::AppError;

/// The id of the one-to-one conversation between two members (the same on every node).
pub(crate) fn direct_conversation(a: &MemberId, b: &MemberId) -> ConversationId {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let digest = Sha256::digest(format!("kindred-direct\n{first}\n{second}").as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    ConversationId::from_bytes(id)
}

impl Node {
    /// The node a member lives on, if this node knows it: itself, or a paired or seen node.
    pub(crate) fn home_node(&self, member: &MemberId) -> Result<Option<NodeId>, AppError> {
        if member.node_name() == self.config().node.name.as_str() {
            return Ok(Some(self.node_id()));
        }
        Ok(self
            .store()
            .peers()?
            .into_iter()
            .find(|p| p.name == member.node_name())
            .map(|p| p.node_id))
    }

    /// Sends a one-to-one message.
    pub(crate) async fn send_message(
        &self,
        auth: &Auth,
        req: SendMessage,
    ) -> Result<MessageView, AppError> {
        let body = req.body.trim().to_owned();
        if body.is_empty() {
            return Err(AppError::bad_request("Please write a message."));
        }
        if body.len() > MAX_CHAT_BODY_BYTES {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::TooLarge,
                format!("A message can be at most {MAX_CHAT_BODY_BYTES} bytes."),
            ));
        }
        let Some(their_node) = self.home_node(&req.to)? else {
            return Err(AppError::not_found(format!(
                "{} lives on a node this organisation is not paired with.",
                req.to
            )));
        };
        if their_node == self.node_id() && self.store().member(req.to.localpart())?.is_none() {
            return Err(AppError::not_found(format!(
                "There is no member {}.",
                req.to
            )));
        }
        if self.federation().is_blocked(&their_node) {
            return Err(AppError::forbidden("That organisation's node is blocked."));
        }
        let mut recipients = vec![self.node_id(), their_node];
        recipients.sort();
        recipients.dedup();
        let conversation = direct_conversation(&auth.member_id, &req.to);
        let id = self
            .write(
                auth,
                Reach::Directed(recipients),
                References::default(),
                EventBody::ChatMessage(ChatMessage { conversation, body }),
            )
            .await?;
        self.message_view(&id)?
            .ok_or_else(|| AppError::internal(std::io::Error::other("message vanished")))
    }

    /// The one-to-one conversation between the member and `with`, oldest first.
    pub(crate) fn direct_messages(
        &self,
        auth: &Auth,
        with: &MemberId,
    ) -> Result<Vec<MessageView>, AppError> {
        let conversation = direct_conversation(&auth.member_id, with);
        let mut out = Vec::new();
        for id in self.store().conversation(&conversation)? {
            if let Some(view) = self.message_view(&id)? {
                out.push(view);
            }
        }
        Ok(out)
    }

    fn message_view(
        &self,
        id: &kindred_protocol::EventId,
    ) -> Result<Option<MessageView>, AppError> {
        let Some(payload) = self.payload(id)? else {
            return Ok(None);
        };
        if self.federation().is_blocked(&payload.origin) {
            return Ok(None);
        }
        let EventBody::ChatMessage(chat) = payload.body else {
            return Ok(None);
        };
        let author_name = self.author_labels(&payload.author)?.0;
        Ok(Some(MessageView {
            id: *id,
            conversation: chat.conversation,
            author: payload.author,
            author_name,
            body_html: markdown::render(&chat.body),
            body: chat.body,
            created_at: payload.created_at,
        }))
    }
}
