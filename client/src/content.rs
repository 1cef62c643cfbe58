//! Client calls for peer learning: topics, posts, threads, replies, edits, take-downs,
//! reactions, a member's posts and search.

use super::{Client, ClientError, page_query};
use kindred_protocol::EventId;
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// Topics with counts.
    pub async fn topics(&self) -> Result<Vec<TopicView>, ClientError> {
        self.call::<ep::Topics>(&[], None).await
    }

    /// Creates a topic (moderators and admins).
    pub async fn create_topic(&self, req: &CreateTopic) -> Result<TopicView, ClientError> {
        self.call::<ep::CreateTopic>(&[], Some(req)).await
    }

    /// Changes a topic (moderators and admins).
    pub async fn update_topic(
        &self,
        name: &str,
        req: &UpdateTopic,
    ) -> Result<TopicView, ClientError> {
        self.call::<ep::UpdateTopic>(&[name], Some(req)).await
    }

    /// A page of a topic's posts, newest first.
    pub async fn topic_posts(
        &self,
        topic: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PostView>, ClientError> {
        let mut url = self.url_of::<ep::TopicPosts>(&[topic])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::TopicPosts>(url, None).await
    }

    /// Writes a post.
    pub async fn create_post(&self, topic: &str, req: &NewPost) -> Result<PostView, ClientError> {
        self.call::<ep::CreatePost>(&[topic], Some(req)).await
    }

    /// A post and the first page of its replies (oldest first; `next_cursor` says if
    /// there are more).
    pub async fn thread(&self, id: &EventId) -> Result<ThreadView, ClientError> {
        self.thread_page(id, None, None).await
    }

    /// A post and a page of its replies: `after` is a previous page's `next_cursor`;
    /// `limit` 1-100 (default 50).
    pub async fn thread_page(
        &self,
        id: &EventId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ThreadView, ClientError> {
        let mut url = self.url_of::<ep::Thread>(&[&id.to_hex()])?;
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", a);
        }
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Thread>(url, None).await
    }

    /// The full id of the post or reply whose id starts with `short` (8 to 64 hex
    /// characters, as git takes short commit ids). Errors: `not_found` when none you can
    /// see does, `conflict` when more than one does.
    pub async fn post_id(&self, short: &str) -> Result<EventId, ClientError> {
        let found: kindred_protocol::api::PostIdView =
            self.call::<ep::PostId>(&[short], None).await?;
        Ok(found.id)
    }

    /// Replies in a post's thread.
    pub async fn reply(&self, post: &EventId, req: &NewReply) -> Result<PostView, ClientError> {
        self.call::<ep::Reply>(&[&post.to_hex()], Some(req)).await
    }

    /// Edits one's own post or reply.
    pub async fn edit(&self, id: &EventId, req: &EditPost) -> Result<PostView, ClientError> {
        self.call::<ep::EditPost>(&[&id.to_hex()], Some(req)).await
    }

    /// Retracts a post or reply.
    pub async fn retract(&self, id: &EventId, reason: Option<String>) -> Result<(), ClientError> {
        self.call::<ep::RetractPost>(&[&id.to_hex()], Some(&Retract { reason }))
            .await
    }

    /// Adds a reaction.
    pub async fn react(
        &self,
        id: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        let req = React {
            reaction: reaction.to_owned(),
        };
        self.call::<ep::React>(&[&id.to_hex()], Some(&req)).await
    }

    /// Removes a reaction.
    pub async fn unreact(
        &self,
        id: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        self.call::<ep::Unreact>(&[&id.to_hex(), reaction], None)
            .await
    }

    /// A member's posts and replies, newest first (`member`: username or `@name:node`).
    pub async fn member_posts(
        &self,
        member: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PostView>, ClientError> {
        let mut url = self.url_of::<ep::MemberPosts>(&[member])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::MemberPosts>(url, None).await
    }

    /// Searches titles, bodies and tags.
    pub async fn search(
        &self,
        query: &str,
        limit: Option<usize>,
    ) -> Result<Vec<SearchHit>, ClientError> {
        let mut url = self.url_of::<ep::Search>(&[])?;
        url.query_pairs_mut().append_pair("q", query);
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Search>(url, None).await
    }
}
