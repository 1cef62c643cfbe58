//! Client calls for people and chat: the directory, one person, conversations, messages,
//! reactions, read positions, group members and blocks.

use super::{Client, ClientError, page_query};
use kindred_protocol::EventId;
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// One person's profile as you see it (`@name:node`).
    pub async fn person(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<kindred_protocol::api::ProfileView, ClientError> {
        self.call::<ep::Person>(&[member.as_str()], None).await
    }

    /// Sends a private message.
    pub async fn send_message(
        &self,
        to: &kindred_protocol::MemberId,
        body: &str,
    ) -> Result<MessageView, ClientError> {
        let req = SendMessage {
            to: to.clone(),
            body: body.to_owned(),
        };
        self.call::<ep::SendMessage>(&[], Some(&req)).await
    }

    /// The one-to-one conversation with `with`, oldest first.
    pub async fn messages(
        &self,
        with: &kindred_protocol::MemberId,
    ) -> Result<Vec<MessageView>, ClientError> {
        let mut url = self.url_of::<ep::Messages>(&[])?;
        url.query_pairs_mut().append_pair("with", with.as_str());
        self.call_at::<ep::Messages>(url, None).await
    }

    /// The first page of the people directory (members across the federation who chose
    /// to be listed) matching `query`, by name.
    pub async fn people(&self, query: Option<&str>) -> Result<Vec<PersonView>, ClientError> {
        Ok(self.people_page(query, None, None).await?.items)
    }

    /// A page of the people directory: `after` is a previous page's `next_cursor`;
    /// `limit` 1-100 (default 50).
    pub async fn people_page(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PersonView>, ClientError> {
        let mut url = self.url_of::<ep::People>(&[])?;
        if let Some(q) = query {
            url.query_pairs_mut().append_pair("q", q);
        }
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", a);
        }
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::People>(url, None).await
    }

    /// The member's conversations, most recently active first.
    pub async fn conversations(&self) -> Result<Vec<ConversationView>, ClientError> {
        self.call::<ep::Conversations>(&[], None).await
    }

    /// Starts a conversation (one person and no name: one-to-one; else a group).
    pub async fn create_conversation(
        &self,
        req: &CreateConversation,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::CreateConversation>(&[], Some(req)).await
    }

    /// One conversation.
    pub async fn conversation(
        &self,
        id: &kindred_protocol::event::ConversationId,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::Conversation>(&[&id.to_hex()], None).await
    }

    /// Renames a group or mutes a conversation.
    pub async fn update_conversation(
        &self,
        id: &kindred_protocol::event::ConversationId,
        req: &UpdateConversation,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::UpdateConversation>(&[&id.to_hex()], Some(req))
            .await
    }

    /// A page of a conversation's messages, newest first.
    pub async fn history(
        &self,
        id: &kindred_protocol::event::ConversationId,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<MessageView>, ClientError> {
        let mut url = self.url_of::<ep::History>(&[&id.to_hex()])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::History>(url, None).await
    }

    /// Sends a message to a conversation.
    pub async fn post_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        req: &NewMessage,
    ) -> Result<MessageView, ClientError> {
        self.call::<ep::PostMessage>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Edits one's own message.
    pub async fn edit_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
        body: &str,
    ) -> Result<MessageView, ClientError> {
        let req = EditMessage {
            body: body.to_owned(),
        };
        self.call::<ep::EditMessage>(&[&id.to_hex(), &message.to_hex()], Some(&req))
            .await
    }

    /// Takes back one's own message.
    pub async fn retract_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
    ) -> Result<(), ClientError> {
        self.call::<ep::RetractMessage>(&[&id.to_hex(), &message.to_hex()], None)
            .await
    }

    /// Reacts to a message.
    pub async fn react_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        let req = React {
            reaction: reaction.to_owned(),
        };
        self.call::<ep::ReactToMessage>(&[&id.to_hex(), &message.to_hex()], Some(&req))
            .await
    }

    /// Marks a conversation read up to a message.
    pub async fn mark_read(
        &self,
        id: &kindred_protocol::event::ConversationId,
        up_to: &EventId,
    ) -> Result<(), ClientError> {
        let req = MarkRead { up_to: *up_to };
        self.call::<ep::MarkRead>(&[&id.to_hex()], Some(&req)).await
    }

    /// Adds someone to a group (group admins).
    pub async fn add_participant(
        &self,
        id: &kindred_protocol::event::ConversationId,
        member: &kindred_protocol::MemberId,
        admin: bool,
    ) -> Result<ConversationView, ClientError> {
        let req = AddParticipant {
            member: member.clone(),
            admin,
        };
        self.call::<ep::AddParticipant>(&[&id.to_hex()], Some(&req))
            .await
    }

    /// Removes someone from a group (admins), or leaves it (removing oneself).
    pub async fn remove_participant(
        &self,
        id: &kindred_protocol::event::ConversationId,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        self.call::<ep::RemoveParticipant>(&[&id.to_hex(), member.as_str()], None)
            .await
    }

    /// Blocks a member: nothing from them reaches you.
    pub async fn block_member(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        let req = BlockMember {
            member: member.clone(),
        };
        self.call::<ep::Block>(&[], Some(&req)).await
    }

    /// Lifts a member block.
    pub async fn unblock_member(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        self.call::<ep::Unblock>(&[member.as_str()], None).await
    }
}
