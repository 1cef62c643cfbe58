//! Writing peer-learning content: posts, replies, edits, take-downs and reactions, each
//! checked here and written through the ingest actor.

use super::{check_len, clean_cw, clean_tags, known_reaction, one_line, required};
use crate::node::AppError;
use crate::node::{Auth, Draft, Node, Reach};
use kindred_protocol::api::{
    EditPost, EntryKind, NewPost, NewReply, PostView, ReactionCount, Retract, Role,
};
use kindred_protocol::event::body::peer_learning::{Post, Reaction, Reply, Retraction};
use kindred_protocol::limits::*;
use kindred_protocol::{EventBody, EventId, MemberId, References};

impl Node {
    /// Writes a post in a topic.
    pub(crate) async fn create_post(
        &self,
        auth: &Auth,
        topic: &str,
        req: NewPost,
    ) -> Result<PostView, AppError> {
        let topic = self.existing_topic(topic)?;
        let post = Post {
            topic: topic.name.clone(),
            title: required("title", &one_line(&req.title))?,
            body: required("post", &req.body)?,
            tags: clean_tags(req.tags)?,
            content_warning: clean_cw(req.content_warning)?,
        };
        check_len("title", &post.title, MAX_TITLE_BYTES)?;
        check_len("post", &post.body, MAX_POST_BODY_BYTES)?;
        let reach = if topic.shared {
            Reach::Shared
        } else {
            Reach::Local
        };
        let id = self
            .write(auth, reach, References::default(), EventBody::Post(post))
            .await?;
        self.visible(&id, Some(&auth.member_id))
    }

    /// Writes a reply to a post or to another reply.
    pub(crate) async fn create_reply(
        &self,
        auth: &Auth,
        to: &EventId,
        req: NewReply,
    ) -> Result<PostView, AppError> {
        let parent_id = req.reply_to.unwrap_or(*to);
        let parent = self.visible(&parent_id, None)?;
        let root = parent.thread_root.unwrap_or(parent.id);
        if root != *to && parent.id != *to {
            return Err(AppError::bad_request("That reply is not in this thread."));
        }
        let body = required("reply", &req.body)?;
        check_len("reply", &body, MAX_POST_BODY_BYTES)?;
        let refs = References {
            thread_root: Some(root),
            reply_to: Some(parent.id),
            ..References::default()
        };
        let reply = Reply {
            body,
            content_warning: clean_cw(req.content_warning)?,
        };
        let id = self
            .write(auth, reach_of(&parent), refs, EventBody::Reply(reply))
            .await?;
        self.visible(&id, Some(&auth.member_id))
    }

    /// Publishes a new version of one's own post or reply.
    pub(crate) async fn edit(
        &self,
        auth: &Auth,
        id: &EventId,
        req: EditPost,
    ) -> Result<PostView, AppError> {
        let current = self.visible(id, None)?;
        if current.author != auth.member_id {
            return Err(AppError::forbidden("Only the author can edit this."));
        }
        self.signed_with_this_key(&current)?;
        let body = required("post", &req.body)?;
        check_len("post", &body, MAX_POST_BODY_BYTES)?;
        let content_warning = clean_cw(req.content_warning)?;
        let (refs, event) = match current.kind {
            EntryKind::Post => {
                let title = match req.title {
                    Some(t) => required("title", &one_line(&t))?,
                    None => current.title.clone().unwrap_or_default(),
                };
                check_len("title", &title, MAX_TITLE_BYTES)?;
                let tags = match req.tags {
                    Some(t) => clean_tags(t)?,
                    None => current.tags.clone(),
                };
                (
                    References {
                        replaces: Some(*id),
                        ..References::default()
                    },
                    EventBody::Post(Post {
                        topic: current.topic.clone(),
                        title,
                        body,
                        tags,
                        content_warning,
                    }),
                )
            }
            EntryKind::Reply => (
                References {
                    thread_root: current.thread_root,
                    reply_to: current.reply_to,
                    replaces: Some(*id),
                    ..References::default()
                },
                EventBody::Reply(Reply {
                    body,
                    content_warning,
                }),
            ),
        };
        self.write(auth, reach_of(&current), refs, event).await?;
        self.visible(id, Some(&auth.member_id))
    }

    /// Retracts a post or reply: the author, or a moderator for entries from this node.
    pub(crate) async fn retract(
        &self,
        auth: &Auth,
        id: &EventId,
        req: Retract,
    ) -> Result<(), AppError> {
        let current = self.visible(id, None)?;
        let own = current.author == auth.member_id;
        self.signed_with_this_key(&current)?;
        let moderator = auth.member.role >= Role::Moderator && current.origin == self.node_id();
        if !own && !moderator {
            return Err(AppError::forbidden(
                "Only the author, or a moderator of the organisation it came from, can retract this.",
            ));
        }
        let reason = req
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(r) = &reason {
            check_len("reason", r, MAX_REASON_BYTES)?;
        }
        let refs = References {
            retracts: Some(*id),
            ..References::default()
        };
        // Owed from before the retraction on: a stop in between is made good later.
        self.store().redaction_due(id, &current.author)?;
        self.write(
            auth,
            reach_of(&current),
            refs,
            EventBody::Retraction(Retraction { reason }),
        )
        .await?;
        tracing::info!(by = %auth.member_id, %id, own, "entry retracted");
        if let Err(e) = self.redact(id, &current.author).await {
            // The entry is down either way; housekeeping tries the redaction again.
            tracing::warn!(%id, error = %e, "a retracted entry's content could not be redacted yet");
        }
        Ok(())
    }

    /// Refuses to change what this node signed with a key it had before a rotation: its
    /// peers would refuse the change (the entry is not the new key's).
    pub(super) fn signed_with_this_key(&self, current: &PostView) -> Result<(), AppError> {
        if current.origin != self.node_id() && self.is_self(&current.origin) {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::Conflict,
                "This was published under this organisation's previous node key (the key has since been changed), so it can no longer be edited or retracted.",
            ));
        }
        Ok(())
    }

    /// Adds or removes one of the member's reactions.
    pub(crate) async fn react(
        &self,
        auth: &Auth,
        id: &EventId,
        reaction: &str,
        removed: bool,
    ) -> Result<Vec<ReactionCount>, AppError> {
        known_reaction(reaction)?;
        let current = self.visible(id, None)?;
        let already = self.reacted(id, &auth.member_id, reaction)?;
        if already != removed {
            // Nothing to change: adding twice or removing what is not there.
            return Ok(self.reaction_counts(id, Some(&auth.member_id))?);
        }
        let body = EventBody::Reaction(Reaction {
            target: *id,
            reaction: reaction.to_owned(),
            removed,
        });
        self.write(auth, reach_of(&current), References::default(), body)
            .await?;
        Ok(self.reaction_counts(id, Some(&auth.member_id))?)
    }

    pub(super) fn reacted(
        &self,
        id: &EventId,
        member: &MemberId,
        reaction: &str,
    ) -> Result<bool, AppError> {
        Ok(self
            .store()
            .reactions(id, Some(member.as_str()))?
            .get(reaction)
            .is_some_and(|(_, mine)| *mine))
    }

    /// Stores a draft by the signed-in member and returns the new event's id.
    pub(crate) async fn write(
        &self,
        auth: &Auth,
        reach: Reach,
        refs: References,
        body: EventBody,
    ) -> Result<EventId, AppError> {
        self.write_after(auth, reach, refs, body, 0).await
    }

    /// As [`Node::write`], dated no earlier than `not_before` (ms): a change that must come
    /// after a state made in the same millisecond.
    pub(crate) async fn write_after(
        &self,
        auth: &Auth,
        reach: Reach,
        refs: References,
        body: EventBody,
        not_before: u64,
    ) -> Result<EventId, AppError> {
        if matches!(
            body,
            EventBody::Post(_) | EventBody::Reply(_) | EventBody::ChatMessage(_)
        ) && self.posting_paused(&auth.member_id)?
        {
            return Err(AppError::forbidden(
                "Your posting is paused while our moderators look at reports about what you wrote. You can still read; you will hear what they decide.",
            ));
        }
        let unpublished = |node: &Node| -> Result<bool, AppError> {
            // Read afresh: another request may have published it meanwhile.
            let member = node.store().member(&auth.member.username)?;
            Ok(member.is_some_and(|m| !m.profile_published))
        };
        if reach == Reach::Shared && unpublished(self)? {
            let _one = self.limits().first_profile.lock().await;
            if unpublished(self)? {
                crate::node::write_key::incidental(
                    self.publish_profile(&auth.member, &auth.member_id),
                )
                .await?;
            }
        }
        let draft = Draft {
            author: auth.member_id.clone(),
            reach,
            refs,
            body,
            not_before,
        };
        let (_, event) = self.ingest().local(draft).await?;
        Ok(event.id())
    }
}

/// Events about an entry travel as far as the entry did.
pub(super) fn reach_of(entry: &PostView) -> Reach {
    if entry.local_only {
        Reach::Local
    } else {
        Reach::Shared
    }
}
