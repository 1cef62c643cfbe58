//! When a node name moves to another node (its holder was blocked, and the rightful node
//! bound it), the conversations this node's members have with members of that name are
//! sent again to the node that has the name now: what went to the old holder never reached
//! it, and without the conversation it would hold every later message for ever.

use kindred_protocol::event::body::chat::{ConversationKind, ConversationUpdate};
use kindred_protocol::{EventBody, References};

use super::{Draft, Node, Reach};
use crate::node::AppError;

impl Node {
    /// Writes each conversation with a member of `name` again (same members, admins and
    /// name), from one of this node's members who may (an admin of a group; either member
    /// of a one-to-one conversation).
    pub(crate) async fn reannounce_conversations(&self, name: &str) -> Result<(), AppError> {
        let own = self.config().node.name.clone();
        for (id, record) in self.store().conversations_with(name)? {
            let may = |m: &&kindred_protocol::MemberId| {
                m.node_name() == own.as_str()
                    && (record.kind == ConversationKind::Direct || record.admins.contains(m))
            };
            let Some(author) = record.members.iter().find(may).cloned() else {
                continue;
            };
            let recipients = match self.recipients_of(&record.members) {
                Ok(r) => r,
                Err(e) => {
                    tracing::info!(conversation = %id, error = %e, "a conversation cannot be sent again yet");
                    continue;
                }
            };
            let draft = Draft {
                author,
                reach: Reach::Directed(recipients),
                refs: References::default(),
                body: EventBody::ConversationUpdate(ConversationUpdate {
                    conversation: id,
                    kind: record.kind,
                    name: record.name.clone(),
                    members: record.members.clone(),
                    admins: record.admins.clone(),
                }),
                not_before: record.updated_at.saturating_add(1),
            };
            self.ingest().local(draft).await?;
            tracing::info!(conversation = %id, %name, "a conversation sent again to the node that now has the name");
        }
        Ok(())
    }
}
