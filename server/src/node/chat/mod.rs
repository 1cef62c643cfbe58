//! Chat: one-to-one and group conversations, messages, reactions,
//! read markers, muting and blocking. Every message is a directed event that goes only to
//! the nodes where the conversation's members live, through the per-peer outboxes.

mod conversations;
mod messages;
use kindred_protocol::api::ErrorCode;
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use kindred_protocol::{MemberId, NodeId};

use super::{Auth, Node};
use crate::node::AppError;
use crate::store::ConversationRecord;

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
}
