//! Peer learning operations: topics, posts, replies, edits, retractions, reactions and
//! reading. Every write becomes a signed event through the one ingest path.

mod posts;
mod reading;
use kindred_protocol::api;
use kindred_protocol::api::{CreateTopic, Role, TopicView, UpdateTopic};
use kindred_protocol::limits::*;
use kindred_protocol::{EventBody, MemberId, References, Timestamp};

use super::{Auth, Draft, Node, Reach};
use crate::node::AppError;
use crate::store::{Position, StoreError, TopicRecord};

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
        let topic = self.existing_topic(name)?;
        if let Some(d) = &req.description {
            check_len("description", d, MAX_BIO_BYTES)?;
        }
        let topic = self
            .store()
            .update_topic(&topic.name, |topic| {
                if let Some(d) = &req.description {
                    d.trim().clone_into(&mut topic.description);
                }
                if let Some(shared) = req.shared {
                    topic.shared = shared;
                }
            })?
            .unwrap_or(topic);
        self.store().durable().await?;
        self.topic_view(topic)
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
        let marked = self.store().update_member(&member.username, |record| {
            record.profile_published = true;
            Ok::<_, StoreError>(())
        })?;
        if marked.is_some() {
            self.store().durable().await?;
        }
        Ok(())
    }
}
