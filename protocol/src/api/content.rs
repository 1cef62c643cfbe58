//! Peer learning: topics, posts, replies, reactions, search.

use serde::{Deserialize, Serialize};

use crate::{EventId, MemberId, NodeId, Timestamp};

/// A reaction offered in peer support: gentle acknowledgements rather than likes. On the
/// wire (events, API bodies and paths) a reaction is its [`Reaction::name`]; a name this
/// version does not know is refused, never guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reaction {
    /// `thank-you`.
    ThankYou,
    /// `i-hear-you`.
    IHearYou,
    /// `helpful`.
    Helpful,
    /// `me-too`.
    MeToo,
}

impl Reaction {
    /// Every reaction, in the order they are offered.
    pub const ALL: [Reaction; 4] = [
        Reaction::ThankYou,
        Reaction::IHearYou,
        Reaction::Helpful,
        Reaction::MeToo,
    ];

    /// The wire name (`thank-you`).
    pub fn name(self) -> &'static str {
        match self {
            Reaction::ThankYou => "thank-you",
            Reaction::IHearYou => "i-hear-you",
            Reaction::Helpful => "helpful",
            Reaction::MeToo => "me-too",
        }
    }

    /// The words people see ("Thank you").
    pub fn label(self) -> &'static str {
        match self {
            Reaction::ThankYou => "Thank you",
            Reaction::IHearYou => "I hear you",
            Reaction::Helpful => "Helpful",
            Reaction::MeToo => "Me too",
        }
    }

    /// The reaction with wire name `name`, if this version knows it.
    pub fn from_name(name: &str) -> Option<Reaction> {
        Reaction::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The words people see for a wire name: "Reaction" for one this version does not
    /// know.
    pub fn label_of(name: &str) -> &'static str {
        Reaction::from_name(name).map_or("Reaction", Reaction::label)
    }
}

/// A topic with activity counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicView {
    /// The topic's name; topics with the same name are the same across the federation.
    pub name: String,
    /// What the topic is for.
    pub description: String,
    /// Whether posts in it go to the federation (false: organisation-only).
    pub shared: bool,
    /// Posts visible in it.
    pub posts: u64,
    /// Replies in its threads.
    pub replies: u64,
    /// Time of the latest post or reply.
    pub last_activity: Option<Timestamp>,
}

/// `POST /api/v1/topics` (admins and moderators).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateTopic {
    /// The name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Share with the federation (default true).
    #[serde(default = "yes")]
    pub shared: bool,
}

fn yes() -> bool {
    true
}

/// `PATCH /api/v1/topics/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateTopic {
    /// A new description.
    pub description: Option<String>,
    /// Share with the federation or keep organisation-only (affects new posts).
    pub shared: Option<bool>,
}

/// `POST /api/v1/topics/{name}/posts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewPost {
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Optional content warning; the body is collapsed behind it.
    #[serde(default)]
    pub content_warning: Option<String>,
}

/// `POST /api/v1/posts/{id}/replies`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewReply {
    /// Markdown body.
    pub body: String,
    /// The reply being answered, when not the post itself.
    #[serde(default)]
    pub reply_to: Option<EventId>,
    /// Optional content warning.
    #[serde(default)]
    pub content_warning: Option<String>,
}

/// `PUT /api/v1/posts/{id}`: a new version of one's own post or reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditPost {
    /// New title (posts only; ignored for replies).
    #[serde(default)]
    pub title: Option<String>,
    /// New body.
    pub body: String,
    /// New tags (posts only).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// New content warning (`None` removes it).
    #[serde(default)]
    pub content_warning: Option<String>,
}

/// `DELETE /api/v1/posts/{id}` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Retract {
    /// Why, for moderators' records.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/posts/{id}/reactions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct React {
    /// A [`Reaction::name`].
    pub reaction: String,
}

/// How many people reacted in one way, and whether the viewer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    /// Reaction name.
    pub reaction: String,
    /// How many.
    pub count: u64,
    /// Whether the viewer is one of them.
    pub mine: bool,
}

/// Whether an entry starts a thread or answers in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A post.
    Post,
    /// A reply.
    Reply,
}

/// A post or reply as members see it (its latest version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostView {
    /// The id of the original version: stable across edits.
    pub id: EventId,
    /// Post or reply.
    pub kind: EntryKind,
    /// The topic.
    pub topic: String,
    /// Who wrote it.
    pub author: MemberId,
    /// Their display name.
    pub author_name: String,
    /// Their organisation.
    pub organisation: String,
    /// The node it came from.
    pub origin: NodeId,
    /// Title (posts).
    pub title: Option<String>,
    /// Markdown source.
    pub body: String,
    /// Safe HTML rendering of the body (no raw HTML, no scripts, no remote images).
    pub body_html: String,
    /// Tags (posts).
    pub tags: Vec<String>,
    /// Content warning.
    pub content_warning: Option<String>,
    /// When first written.
    pub created_at: Timestamp,
    /// When last edited, if ever.
    pub edited_at: Option<Timestamp>,
    /// The thread's post (replies).
    pub thread_root: Option<EventId>,
    /// The thread's title (replies), so a reply can say what it answers.
    #[serde(default)]
    pub thread_title: Option<String>,
    /// The entry this answers (replies).
    pub reply_to: Option<EventId>,
    /// Replies in the thread (posts).
    pub reply_count: u64,
    /// Reactions by kind.
    pub reactions: Vec<ReactionCount>,
    /// Organisation-only (not shared with the federation).
    pub local_only: bool,
    /// Hidden on this node by its moderators: the reason, shown in its place. Title,
    /// body, tags and content warning are then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<String>,
    /// Collapsed for this reader, who muted something in it or blocked its author: why,
    /// in plain words ("you muted “grant”"). The content is still there to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
}

/// `GET /api/v1/post-ids/{short}`: the full id of the one post or reply the viewer can
/// see whose id starts with `short` (8 to 64 hex characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostIdView {
    /// The full id.
    pub id: EventId,
}

/// `GET /api/v1/posts/{id}`: a post and its replies, oldest reply first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadView {
    /// The post.
    pub post: PostView,
    /// One page of replies, oldest first.
    pub replies: Vec<PostView>,
    /// Pass as `after` to get the next page of replies; absent on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Relevance; higher is better.
    pub score: f32,
    /// The matching post or reply.
    pub post: PostView,
}
