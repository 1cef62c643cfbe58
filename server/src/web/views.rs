//! Page-ready shapes of API views: names for reactions, links, readable times, and what
//! the viewer may do with each entry.

use kindred_protocol::api::{EntryKind, PostView, Reaction, TopicView};
use kindred_protocol::{NodeId, Timestamp};

use super::session::Viewer;
use super::time::When;
use unicode_segmentation::UnicodeSegmentation;

/// A reaction button.
pub(crate) struct ReactionButton {
    /// Wire name.
    pub(crate) name: &'static str,
    /// What the button says.
    pub(crate) label: &'static str,
    /// How many people reacted this way.
    pub(crate) count: u64,
    /// Whether the viewer did.
    pub(crate) mine: bool,
}

/// A post or reply ready for a template.
pub(crate) struct Entry {
    /// Event id (text).
    pub(crate) id: String,
    /// Its thread page (for replies, the thread with an anchor).
    pub(crate) url: String,
    /// A reply rather than a post.
    pub(crate) is_reply: bool,
    /// Title (posts).
    pub(crate) title: String,
    /// Topic name.
    pub(crate) topic: String,
    /// Link to the topic.
    pub(crate) topic_url: String,
    /// Author's display name.
    pub(crate) author_name: String,
    /// Author's organisation.
    pub(crate) organisation: String,
    /// When written.
    pub(crate) when: When,
    /// When last edited.
    pub(crate) edited: Option<When>,
    /// Safe HTML of the body (rendered by the node's Markdown sanitiser).
    pub(crate) body_html: String,
    /// A plain-text excerpt for lists.
    pub(crate) excerpt: String,
    /// Tags.
    pub(crate) tags: Vec<String>,
    /// Content warning: the body is collapsed behind it.
    pub(crate) content_warning: Option<String>,
    /// Replies in the thread.
    pub(crate) reply_count: u64,
    /// Reaction buttons, in the fixed order.
    pub(crate) reactions: Vec<ReactionButton>,
    /// The viewer wrote it (may edit and take it down).
    pub(crate) mine: bool,
    /// The viewer may take it down as a moderator.
    pub(crate) can_moderate: bool,
    /// Organisation-only topic.
    pub(crate) local_only: bool,
    /// The thread's post id (its own id for a post).
    pub(crate) root: String,
    /// The reply this one answers, when it is not the post: its author's name and link.
    pub(crate) answers: Option<(String, String)>,
    /// The author's profile page.
    pub(crate) author_url: String,
    /// The author's member id (`@sam:node`), shown on hover over their name, so a look-alike
    /// display name can always be told apart.
    pub(crate) author_id: String,
    /// For a reply, its thread's title.
    pub(crate) thread_title: Option<String>,
    /// Hidden on this node by its moderators: the reason shown in its place.
    pub(crate) hidden: Option<String>,
    /// What `content_warning` is: "Content warning", or "Collapsed" when the reader
    /// muted something in it or blocked its author (the reason is then the warning).
    pub(crate) cw_label: &'static str,
}

impl Entry {
    /// Shapes `post` for `viewer` at time `now`.
    pub(crate) fn new(post: &PostView, viewer: &Viewer, now: Timestamp, own: &NodeId) -> Self {
        let id = post.id.to_string();
        let url = match (&post.kind, &post.thread_root) {
            (EntryKind::Reply, Some(root)) => format!("/posts/{root}#post-{id}"),
            _ => format!("/posts/{id}"),
        };
        let mine = post.author == viewer.auth.member_id;
        let reactions = Reaction::ALL
            .iter()
            .map(|reaction| {
                let name = reaction.name();
                let found = post.reactions.iter().find(|r| r.reaction == name);
                ReactionButton {
                    name,
                    label: reaction.label(),
                    count: found.map_or(0, |r| r.count),
                    mine: found.is_some_and(|r| r.mine),
                }
            })
            .collect();
        Self {
            url,
            is_reply: post.kind == EntryKind::Reply,
            title: post.title.clone().unwrap_or_default(),
            topic: post.topic.clone(),
            topic_url: topic_url(&post.topic),
            author_name: post.author_name.clone(),
            organisation: post.organisation.clone(),
            when: When::new(post.created_at, now, &viewer.tz),
            edited: post.edited_at.map(|t| When::new(t, now, &viewer.tz)),
            body_html: post.body_html.clone(),
            excerpt: excerpt(&post.body, 220),
            tags: post.tags.clone(),
            content_warning: post.muted.clone().or_else(|| {
                post.content_warning
                    .clone()
                    .filter(|c| !c.trim().is_empty())
            }),
            cw_label: if post.muted.is_some() {
                "Collapsed"
            } else {
                "Content warning"
            },
            reply_count: post.reply_count,
            reactions,
            mine,
            // Moderators act on entries that came from their own node.
            can_moderate: !mine && viewer.is_moderator() && post.origin == *own,
            local_only: post.local_only,
            root: post.thread_root.unwrap_or(post.id).to_string(),
            answers: None,
            author_url: profile_url(&post.author),
            author_id: post.author.to_string(),
            thread_title: post.thread_title.clone(),
            hidden: post.hidden.clone(),
            id,
        }
    }
}

/// A member's profile page on this node's web interface.
pub(crate) fn profile_url(member: &kindred_protocol::MemberId) -> String {
    format!("/people/{}", member)
}

/// A topic in a list.
pub(crate) struct TopicItem {
    /// Name.
    pub(crate) name: String,
    /// Its page.
    pub(crate) url: String,
    /// Description.
    pub(crate) description: String,
    /// Shared with the federation.
    pub(crate) shared: bool,
    /// Posts.
    pub(crate) posts: u64,
    /// Replies.
    pub(crate) replies: u64,
    /// Latest activity.
    pub(crate) last_activity: Option<When>,
}

impl TopicItem {
    pub(crate) fn new(topic: &TopicView, now: Timestamp, tz: &jiff::tz::TimeZone) -> Self {
        Self {
            name: topic.name.clone(),
            url: topic_url(&topic.name),
            description: topic.description.clone(),
            shared: topic.shared,
            posts: topic.posts,
            replies: topic.replies,
            last_activity: topic.last_activity.map(|t| When::new(t, now, tz)),
        }
    }
}

/// A topic's page.
pub(crate) fn topic_url(name: &str) -> String {
    format!("/topics/{}", path_segment(name))
}

/// Percent-encodes text for one URL path segment.
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first `max` characters of Markdown as plain text, cut at a word.
pub(crate) fn excerpt(markdown: &str, max: usize) -> String {
    let plain = crate::node::plain_text(markdown);
    if plain.chars().count() <= max {
        return plain;
    }
    // The last word boundary (UAX #29) within `max` characters: between words in spaced
    // scripts, between characters in Chinese and Japanese.
    let limit = plain
        .char_indices()
        .nth(max)
        .map_or(plain.len(), |(at, _)| at);
    let end = plain
        .split_word_bound_indices()
        .map(|(at, _)| at)
        .rev()
        .find(|at| *at <= limit && *at > 0)
        .unwrap_or(limit);
    format!("{}…", plain[..end].trim_end())
}

/// A short, human name for the device behind a session's user agent, such as
/// "Firefox on Windows"; the CLI and unknown agents get plain names.
pub(crate) fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "An app or script".to_owned();
    };
    if ua.starts_with("kindred-cli") || ua.starts_with("kindred-client") {
        return "kindred-cli (command line)".to_owned();
    }
    // Order matters: Edge and Chrome also claim Safari; Chrome on iOS says CriOS.
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("CrOS", "Chromebook"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "An unknown browser or app".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_become_safe_path_segments() {
        assert_eq!(
            topic_url("Burnout and wellbeing"),
            "/topics/Burnout%20and%20wellbeing"
        );
        assert_eq!(path_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(path_segment("Café"), "Caf%C3%A9");
    }

    #[test]
    fn excerpts_are_plain_and_cut_at_a_word() {
        assert_eq!(
            excerpt("**Bold** and _soft_\n\n# Head", 100),
            "Bold and soft Head"
        );
        let long = "word ".repeat(100);
        let e = excerpt(&long, 22);
        assert!(e.ends_with('…') && e.chars().count() <= 23, "{e}");
        assert!(!e.contains("wor…"));
        // What the post says, not its source: entities, escapes, links, raw HTML.
        assert_eq!(
            excerpt("Fish &amp; chips &mdash; 5 \\* 3", 100),
            "Fish & chips — 5 * 3"
        );
        assert_eq!(
            excerpt("See [our guide](https://example.org) and <b>this</b>", 100),
            "See our guide and <b>this</b>"
        );
        assert_eq!(excerpt("- one\n- two\n\n> quoted", 100), "one two quoted");
        // Chinese is cut between characters, never mid-character.
        let zh = excerpt(&"我们的学习小组".repeat(10), 10);
        assert_eq!(zh.chars().count(), 11, "{zh}");
        assert!(zh.ends_with('…'));
    }

    #[test]
    fn devices_get_plain_names() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0";
        assert_eq!(device_name(Some(firefox)), "Firefox on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(device_name(Some(iphone)), "Safari on iPhone");
        let edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0";
        assert_eq!(device_name(Some(edge)), "Edge on Windows");
        assert_eq!(
            device_name(Some("kindred-cli/0.1")),
            "kindred-cli (command line)"
        );
        assert_eq!(device_name(None), "An app or script");
    }
}
