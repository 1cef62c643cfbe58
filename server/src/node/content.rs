//! Peer learning operations: topics, posts, replies, edits, retractions, reactions and
//! reading. Every write becomes a signed event through the one ingest path.

use kindred_protocol::api;
use kindred_protocol::api::{
    CreateTopic, EditPost, EntryKind, NewPost, NewReply, Page, PostView, ReactionCount, Retract,
    Role, ThreadView, TopicView, UpdateTopic,
};
use kindred_protocol::event::body::peer_learning::{Post, Reaction, Reply, Retraction};
use kindred_protocol::limits::*;
use kindred_protocol::{EventBody, EventId, MemberId, References, Timestamp};

use super::{Auth, Draft, Node, Reach};
use crate::node::AppError;
use crate::store::{Position, TopicRecord};

/// Largest page a client may ask for.
pub(crate) const MAX_PAGE: usize = 100;

/// Replies per page of a thread when the caller does not say.
pub(crate) const REPLIES_PAGE: usize = 50;

/// The request field (its JSON name) a piece of text named `what` in messages is sent in.
fn field_of(what: &str) -> &'static str {
    match what {
        "tag" => "tags",
        "content warning" => "content_warning",
        "topic name" => "name",
        "description" => "description",
        "title" => "title",
        "reason" => "reason",
        _ => "body",
    }
}

fn check_len(what: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.len() > max {
        return Err(AppError::new(
            kindred_protocol::api::ErrorCode::TooLarge,
            format!(
                "The {what} is too long: {} bytes, at most {max}.",
                text.len()
            ),
        )
        .on(field_of(what)));
    }
    Ok(())
}

/// A one-line text as written (NFC), without invisible characters: no right-to-left
/// override can reorder what is shown after it, and no zero-width space can make two
/// names look alike.
pub(crate) fn one_line(text: &str) -> String {
    kindred_protocol::text::nfc(&kindred_protocol::text::without_invisible(text))
}

fn required(what: &str, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        // Said once, here, for the API and the web pages alike.
        let message = match what {
            "title" => "Give your post a title.",
            "post" => "Write something before publishing.",
            "reply" => "Write your reply before posting it.",
            "topic name" => "Give the topic a name, for example Funding.",
            _ => "Please write something here.",
        };
        return Err(AppError::invalid(field_of(what), message));
    }
    Ok(text.to_owned())
}

fn clean_tags(tags: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = one_line(&tag).trim().trim_start_matches('#').to_lowercase();
        if tag.is_empty() || out.contains(&tag) {
            continue;
        }
        check_len("tag", &tag, MAX_TAG_BYTES)?;
        out.push(tag);
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("At most {MAX_TAGS} tags, please."),
        ));
    }
    Ok(out)
}

fn clean_cw(cw: Option<String>) -> Result<Option<String>, AppError> {
    let cw = cw.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(c) = &cw {
        check_len("content warning", c, MAX_CONTENT_WARNING_BYTES)?;
    }
    Ok(cw)
}

/// The reaction named `name`, or a refusal naming the ones there are (posts and chat
/// messages alike).
pub(crate) fn known_reaction(name: &str) -> Result<api::Reaction, AppError> {
    api::Reaction::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = api::Reaction::ALL.iter().map(|r| r.name()).collect();
        AppError::invalid(
            "reaction",
            format!(
                "Unknown reaction {name:?}; use one of: {}.",
                names.join(", ")
            ),
        )
    })
}

/// Parses a pagination cursor.
pub(crate) fn parse_cursor(cursor: Option<&str>) -> Result<Option<Position>, AppError> {
    cursor
        .map(|c| {
            Position::from_cursor(c)
                .ok_or_else(|| AppError::bad_request("That page cursor is not valid."))
        })
        .transpose()
}

impl Node {
    /// Topics: this node's own, and those seen in other nodes' posts (topics are the same
    /// across the federation when their names are), with counts, by name.
    pub(crate) fn topic_views(&self) -> Result<Vec<TopicView>, AppError> {
        let mut out = Vec::new();
        let local = self.store().topics()?;
        let keys: std::collections::HashSet<String> = local
            .iter()
            .map(|t| crate::rules::topic_key(&t.name))
            .collect();
        for t in local {
            out.push(self.topic_view(t)?);
        }
        for (key, stats) in self
            .store()
            .all_topic_stats(|n| self.federation().is_blocked(n))?
        {
            if keys.contains(&key) || stats.posts == 0 {
                continue;
            }
            out.push(TopicView {
                name: stats.name.unwrap_or(key),
                description: String::new(),
                shared: true,
                posts: stats.posts,
                replies: stats.replies,
                last_activity: stats.last_activity.map(Timestamp),
            });
        }
        out.sort_by_key(|t| kindred_protocol::text::fold(&t.name));
        Ok(out)
    }

    fn topic_view(&self, t: TopicRecord) -> Result<TopicView, AppError> {
        // An organisation-only topic counts this node's posts only (others' that arrived
        // before it was made organisation-only are not shown either).
        let own = self.node_id();
        let stats = self.store().topic_stats(&t.name, |n| {
            self.federation().is_blocked(n) || (!t.shared && *n != own)
        })?;
        Ok(TopicView {
            name: t.name,
            description: t.description,
            shared: t.shared,
            posts: stats.posts,
            replies: stats.replies,
            last_activity: stats.last_activity.map(Timestamp),
        })
    }

    fn existing_topic(&self, name: &str) -> Result<TopicRecord, AppError> {
        if let Some(topic) = self.store().topic(name)? {
            return Ok(topic);
        }
        // Known from other organisations' posts, but not added here.
        let elsewhere = self
            .store()
            .topic_stats(name, |n| self.federation().is_blocked(n))?
            .name;
        Err(AppError::not_found(match elsewhere {
            Some(shown) => format!(
                "{shown:?} is a topic at other organisations in the network, not here yet: a moderator here adds it (Admin, Topics, with the same name) before anyone here can write in it."
            ),
            None => format!("There is no topic called {name:?}."),
        }))
    }

    /// Creates a topic (moderators and admins).
    pub(crate) async fn create_topic(
        &self,
        auth: &Auth,
        req: CreateTopic,
    ) -> Result<TopicView, AppError> {
        auth.require(Role::Moderator)?;
        required("topic name", &req.name)?;
        // A name people read and compare: no invisible or direction-changing characters.
        let name = kindred_protocol::names::name(&req.name).map_err(|e| {
            AppError::invalid("name", format!("That topic name cannot be used: {e}."))
        })?;
        check_len("topic name", &name, MAX_TOPIC_BYTES)?;
        if name.contains('/') {
            return Err(AppError::invalid(
                "name",
                "A topic name cannot contain '/'.",
            ));
        }
        if crate::rules::topic_key(&name).is_empty() {
            return Err(AppError::bad_request(
                "A topic name needs at least one letter or digit.",
            ));
        }
        check_len("description", &req.description, MAX_BIO_BYTES)?;
        // Letters from another script that look the same ("Gеneral" with a Cyrillic е)
        // would make a second topic people cannot tell apart.
        if let Some(other) = self
            .store()
            .topics()?
            .into_iter()
            .find(|t| kindred_protocol::names::look_alike(&t.name, &name))
        {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::Conflict,
                format!(
                    "There is already a topic “{}” that looks the same; use that one, or a name that looks different.",
                    other.name
                ),
            ));
        }
        let record = TopicRecord {
            name,
            description: req.description.trim().to_owned(),
            shared: req.shared,
            created_by: auth.member_id.clone(),
            created_at: Timestamp::now().as_millis(),
        };
        if !self.store().create_topic(&record)? {
            let existing = self
                .store()
                .topic(&record.name)?
                .map_or_else(|| record.name.clone(), |t| t.name);
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::Conflict,
                format!(
                    "There is already a topic “{existing}”: names that differ only in capitals, accents or spaces are the same topic."
                ),
            ));
        }
        self.store().durable().await?;
        self.topic_view(record)
    }

    /// Changes a topic's description or sharing (moderators and admins).
    pub(crate) async fn update_topic(
        &self,
        auth: &Auth,
        name: &str,
        req: UpdateTopic,
    ) -> Result<TopicView, AppError> {
        auth.require(Role::Moderator)?;
        let mut topic = self.existing_topic(name)?;
        if let Some(d) = req.description {
            check_len("description", &d, MAX_BIO_BYTES)?;
            topic.description = d.trim().to_owned();
        }
        if let Some(shared) = req.shared {
            topic.shared = shared;
        }
        self.store().put_topic(&topic)?;
        self.store().durable().await?;
        self.topic_view(topic)
    }

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
    fn signed_with_this_key(&self, current: &PostView) -> Result<(), AppError> {
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

    fn reacted(&self, id: &EventId, member: &MemberId, reaction: &str) -> Result<bool, AppError> {
        Ok(self
            .store()
            .reactions(id, Some(member.as_str()))?
            .get(reaction)
            .is_some_and(|(_, mine)| *mine))
    }

    /// A topic's posts, newest first.
    pub(crate) fn topic_posts(
        &self,
        topic: &str,
        before: Option<&str>,
        limit: usize,
        viewer: &MemberId,
    ) -> Result<Page<PostView>, AppError> {
        let key = crate::rules::topic_key(topic);
        // An organisation-only topic shows this node's posts only.
        let local_only = match self.store().topic(topic)? {
            Some(t) => !t.shared,
            None if self
                .store()
                .topic_stats(topic, |n| self.federation().is_blocked(n))?
                .name
                .is_some() =>
            {
                false
            }
            None => {
                return Err(AppError::not_found(format!(
                    "There is no topic called {topic:?}."
                )));
            }
        };
        let limit = limit.clamp(1, MAX_PAGE);
        let positions = self
            .store()
            .topic_timeline(&key, parse_cursor(before)?, limit)?;
        let mut page = self.page(positions, limit, viewer)?;
        if local_only {
            let own = self.node_id();
            page.items.retain(|p| p.origin == own);
        }
        Ok(page)
    }

    /// A member's posts and replies, newest first.
    pub(crate) fn member_posts(
        &self,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
        viewer: &MemberId,
    ) -> Result<Page<PostView>, AppError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let positions =
            self.store()
                .author_timeline(member.as_str(), parse_cursor(before)?, limit)?;
        self.page(positions, limit, viewer)
    }

    fn page(
        &self,
        positions: Vec<Position>,
        limit: usize,
        viewer: &MemberId,
    ) -> Result<Page<PostView>, AppError> {
        let next_cursor = (positions.len() == limit)
            .then(|| positions.last().map(|p| p.to_cursor()))
            .flatten();
        let mut items = Vec::with_capacity(positions.len());
        for pos in positions {
            if let Some(view) = self.post_view(&pos.id, Some(viewer))? {
                items.push(view);
            }
        }
        Ok(Page { items, next_cursor })
    }

    /// A post with a page of its replies: oldest first, after the cursor `after`, at
    /// most `limit` (1-100, default [`REPLIES_PAGE`]). Errors: `not_found` for a reply or
    /// an unknown post, `bad_request` for a malformed cursor.
    pub(crate) fn thread(
        &self,
        id: &EventId,
        viewer: &MemberId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ThreadView, AppError> {
        let post = self.visible(id, Some(viewer))?;
        if post.kind != EntryKind::Post {
            return Err(AppError::not_found(
                "That is a reply; open its thread instead.",
            ));
        }
        let limit = limit.unwrap_or(REPLIES_PAGE).clamp(1, MAX_PAGE);
        let positions = self
            .store()
            .thread_replies_after(id, parse_cursor(after)?, limit)?;
        let next_cursor = (positions.len() == limit)
            .then(|| positions.last().map(|p| p.to_cursor()))
            .flatten();
        let mut replies = Vec::new();
        for pos in positions {
            if let Some(view) = self.post_view(&pos.id, Some(viewer))? {
                replies.push(view);
            }
        }
        Ok(ThreadView {
            post,
            replies,
            next_cursor,
        })
    }

    /// The cursor of the page of a thread that starts with the reply `id`, so a link to
    /// a reply can open the page it is on; `None` if it is not stored.
    pub(crate) fn page_starting_at(&self, id: &EventId) -> Result<Option<String>, AppError> {
        let Some(meta) = self.store().event_meta(id)? else {
            return Ok(None);
        };
        let meta = match meta.original {
            Some(original) => match self.store().event_meta(&original)? {
                Some(m) => m,
                None => return Ok(None),
            },
            None => meta,
        };
        // Just before the reply's own position: the same time, the arrival before it.
        Ok(meta.local_seq.checked_sub(1).map(|local_seq| {
            Position {
                sort_ts: meta.sort_ts,
                local_seq,
                id: EventId::from_bytes([0xff; 32]),
            }
            .to_cursor()
        }))
    }

    /// A visible post or reply, or a not-found error.
    pub(crate) fn visible(
        &self,
        id: &EventId,
        viewer: Option<&MemberId>,
    ) -> Result<PostView, AppError> {
        self.post_view(id, viewer)?
            .ok_or_else(|| AppError::not_found("That post does not exist or has been retracted."))
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
                super::write_key::incidental(self.publish_profile(&auth.member, &auth.member_id))
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

impl Node {
    /// Publishes a member's profile (name and organisation) to the federation.
    pub(crate) async fn publish_profile(
        &self,
        member: &crate::store::MemberRecord,
        id: &MemberId,
    ) -> Result<(), AppError> {
        let body = EventBody::Profile(kindred_protocol::event::body::profile::Profile {
            display_name: member.display_name.clone(),
            organisation: self.config().node.organisation.clone(),
            bio: String::new(),
            happy_to_talk_about: member.happy_to_talk_about.clone(),
            // A suspended member takes no messages anywhere; one taking a break is away.
            listed: member.listed && !member.suspended && !self.on_break(member),
            away: member.suspended || self.on_break(member),
        });
        let draft = Draft {
            author: id.clone(),
            reach: Reach::Shared,
            refs: References::default(),
            body,
            not_before: 0,
        };
        self.ingest().local(draft).await?;
        if let Some(mut record) = self.store().member(&member.username)? {
            record.profile_published = true;
            self.store().put_member(&record)?;
            self.store().durable().await?;
        }
        Ok(())
    }
}

/// Events about an entry travel as far as the entry did.
fn reach_of(entry: &PostView) -> Reach {
    if entry.local_only {
        Reach::Local
    } else {
        Reach::Shared
    }
}
