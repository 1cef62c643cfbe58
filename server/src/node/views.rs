//! Builds what members see (`PostView`) from stored events and their derived state.

use kindred_protocol::api::{EntryKind, PostView, ReactionCount};
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId};

use super::{Node, markdown};
use crate::store::{EventMeta, StoreError, payload_of};

impl Node {
    /// The current version of a post or reply by its original id; `None` if unknown,
    /// retracted, or not a post or reply.
    pub(crate) fn post_view(
        &self,
        id: &EventId,
        viewer: Option<&MemberId>,
    ) -> Result<Option<PostView>, StoreError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        let current = match meta.latest {
            Some(latest) => self.payload(&latest)?.unwrap_or_else(|| original.clone()),
            None => original.clone(),
        };
        let (kind, title, body, tags, cw, topic) = match current.body {
            EventBody::Post(p) => (
                EntryKind::Post,
                Some(p.title),
                p.body,
                p.tags,
                p.content_warning,
                p.topic,
            ),
            EventBody::Reply(r) => {
                let topic = match meta.thread_root {
                    Some(root) => self.topic_name_of(&root)?,
                    None => String::new(),
                };
                (
                    EntryKind::Reply,
                    None,
                    r.body,
                    Vec::new(),
                    r.content_warning,
                    topic,
                )
            }
            _ => return Ok(None),
        };
        // A reply names its thread's title only when that title may be shown to this
        // reader: not hidden here, not under a content warning, not folded away for them.
        let thread_title = match (&kind, meta.thread_root) {
            (EntryKind::Reply, Some(root)) => self.shown_title(&root, viewer)?,
            _ => None,
        };
        let (author_name, organisation) = self.author_labels(&original.author)?;
        let topic = self.topic_display_name(&topic)?;
        // Hidden here by moderators: the reason shows in its place, and nothing of it.
        let hidden = self.hidden_reason(id, &original.author);
        // Collapsed for this reader by their own mutes and blocks.
        let muted = match viewer {
            Some(v) if hidden.is_none() && *v != original.author => self.mutes_of(v)?.reason(
                &original.author,
                Some(&topic),
                &[
                    title.as_deref().unwrap_or(""),
                    // What readers see: markup and character references resolved.
                    &markdown::plain_text(&body),
                    &tags.join(" "),
                    cw.as_deref().unwrap_or(""),
                ],
            ),
            _ => None,
        };
        let (title, body, tags, cw) = match hidden {
            Some(_) => (
                title.map(|_| String::new()),
                String::new(),
                Vec::new(),
                None,
            ),
            None => (title, body, tags, cw),
        };
        Ok(Some(PostView {
            id: *id,
            kind,
            topic,
            author: original.author.clone(),
            author_name,
            organisation,
            origin: original.origin,
            title,
            body_html: markdown::render(&body),
            body,
            tags,
            content_warning: cw,
            created_at: original.created_at,
            edited_at: meta.edited_at.map(kindred_protocol::Timestamp),
            thread_root: original.refs.thread_root,
            thread_title,
            reply_to: original.refs.reply_to,
            reply_count: self.reply_count(id, meta.reply_count)?,
            reactions: self.reaction_counts(id, viewer)?,
            local_only: original.seq().is_none(),
            hidden,
            muted,
        }))
    }

    /// The current body (its latest edit) of a shown event that is not hidden here.
    fn current_body(&self, id: &EventId) -> Result<Option<EventBody>, StoreError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        if self.hidden_reason(id, &original.author).is_some() {
            return Ok(None);
        }
        let current = match meta.latest {
            Some(latest) => self.payload(&latest)?.unwrap_or(original),
            None => original,
        };
        Ok(Some(current.body))
    }

    /// The current title (posts only) and body of a shown post or reply that is not hidden
    /// here: what search re-ranks by, without rendering anything. `None` for anything else.
    pub(crate) fn searchable_text(
        &self,
        id: &EventId,
    ) -> Result<Option<(Option<String>, String)>, StoreError> {
        Ok(match self.current_body(id)? {
            Some(EventBody::Post(p)) => Some((Some(p.title), p.body)),
            Some(EventBody::Reply(r)) => Some((None, r.body)),
            _ => None,
        })
    }

    /// The current title of a shown post; `None` for anything else.
    pub(crate) fn post_title(&self, id: &EventId) -> Result<Option<String>, StoreError> {
        Ok(match self.current_body(id)? {
            Some(EventBody::Post(p)) => Some(p.title),
            _ => None,
        })
    }

    /// A post's title where it is named in passing (a reply's thread, a reaction's
    /// target): `None` when it is hidden here, under a content warning, or folded away
    /// for `viewer` by their mutes. Reads no body and renders no Markdown.
    pub(crate) fn shown_title(
        &self,
        post: &EventId,
        viewer: Option<&MemberId>,
    ) -> Result<Option<String>, StoreError> {
        let Some(title) = self.post_title(post)? else {
            return Ok(None);
        };
        if self.warning_of(post)?.is_some() {
            return Ok(None);
        }
        if let Some(viewer) = viewer
            && let Some(p) = self.payload(post)?
            && *viewer != p.author
            && self
                .mutes_of(viewer)?
                .reason(&p.author, Some(&self.topic_name_of(post)?), &[&title])
                .is_some()
        {
            return Ok(None);
        }
        Ok(Some(title))
    }

    /// What a reaction's target is, for a live update: its title (a reply's thread's) and
    /// whether it is a reply; `None` when it is not shown. Reads no body and renders no
    /// Markdown, as reactions come often.
    pub(crate) fn reaction_target(
        &self,
        id: &EventId,
    ) -> Result<Option<(Option<String>, bool)>, StoreError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        // Sent to every open page: a title under a content warning is not.
        let listed = |root: &EventId| self.shown_title(root, None);
        Ok(match original.body {
            EventBody::Post(_) => Some((listed(id)?, false)),
            EventBody::Reply(_) => {
                let title = match meta.thread_root {
                    Some(root) => listed(&root)?,
                    None => None,
                };
                Some((title, true))
            }
            _ => None,
        })
    }

    /// A post's visible replies: the stored count, recounted without blocked nodes'
    /// replies while any node is blocked (counts always equal what is shown).
    fn reply_count(&self, id: &EventId, stored: u64) -> Result<u64, StoreError> {
        if stored == 0 || !self.federation().any_blocked() {
            return Ok(stored);
        }
        self.store()
            .reply_count_except(id, |origin| self.federation().is_blocked(origin))
    }

    /// Reaction counts on an entry, without those of blocked nodes' members; `mine` is
    /// relative to `viewer`.
    pub(crate) fn reaction_counts(
        &self,
        id: &EventId,
        viewer: Option<&MemberId>,
    ) -> Result<Vec<ReactionCount>, StoreError> {
        let blocked = self.blocked_names()?;
        let counts = self
            .store()
            .reactions_except(id, viewer.map(MemberId::as_str), |m| {
                !blocked.is_empty()
                    && MemberId::parse(m).is_ok_and(|m| blocked.contains(m.node_name()))
            })?;
        Ok(counts
            .into_iter()
            .map(|(reaction, (count, mine))| ReactionCount {
                reaction,
                count,
                mine,
            })
            .collect())
    }

    /// An event as views show it (read with one lookup), with its meta: `None` when it is
    /// unknown, retracted (or in a thread taken down), an edit (shown through its
    /// original), refused or held by the rules, from a blocked node, or written under a
    /// name no longer bound to the node that signed it.
    pub(crate) fn shown(
        &self,
        id: &EventId,
    ) -> Result<Option<(EventMeta, EventPayload)>, StoreError> {
        let Some(stored) = self.store().stored(id)? else {
            return Ok(None);
        };
        let meta = stored.meta;
        if meta.retracted_by.is_some() || meta.original.is_some() || meta.quarantined || meta.held {
            return Ok(None);
        }
        let original = payload_of(&stored.event)?;
        if self.federation().is_blocked(&original.origin) {
            return Ok(None);
        }
        // Only while its author's name is bound to the node that signed it: events a node
        // wrote under a name that has since been taken from it (an impostor blocked) are
        // never shown as the rightful node's members'.
        if !self.is_self(&original.origin) {
            if self.store().bound_node(original.author.node_name())? != Some(original.origin) {
                return Ok(None);
            }
            // Another node's post or reply in a topic this organisation keeps to itself
            // (it arrived before the topic was made organisation-only).
            if let Some(topic) = &meta.topic
                && self.store().topic(topic)?.is_some_and(|t| !t.shared)
            {
                return Ok(None);
            }
        }
        Ok(Some((meta, original)))
    }

    /// The names of blocked nodes (their members' reactions are not counted).
    /// Whether `member` belongs to a node blocked here: one bound to their node name, or
    /// one that went by that name before it was blocked (a block frees a name held only
    /// by announcement, so the binding alone would let its members back in).
    pub(crate) fn is_blocked_member(&self, member: &MemberId) -> Result<bool, StoreError> {
        if !self.federation().any_blocked() {
            return Ok(false);
        }
        if let Some(node) = self.store().bound_node(member.node_name())?
            && self.federation().is_blocked(&node)
        {
            return Ok(true);
        }
        Ok(self.blocked_names()?.contains(member.node_name()))
    }

    fn blocked_names(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut names = std::collections::HashSet::new();
        if self.federation().any_blocked() {
            for node in self.store().blocked_nodes()? {
                // The name it is bound to, or (a block frees a name held only by
                // announcement) the one it announced, unless another node that is not
                // blocked holds that name now: an impostor's block never hides the
                // real node's people.
                let name = match self.store().origin_name(&node)? {
                    Some(name) => Some(name),
                    None => self.store().announcement(&node)?.map(|a| a.name),
                };
                let Some(name) = name else { continue };
                match self.store().bound_node(&name)? {
                    Some(holder) if holder != node && !self.federation().is_blocked(&holder) => {}
                    _ => {
                        names.insert(name);
                    }
                }
            }
        }
        Ok(names)
    }

    /// A stored event's parsed payload.
    pub(crate) fn payload(&self, id: &EventId) -> Result<Option<EventPayload>, StoreError> {
        self.store().event(id)?.as_ref().map(payload_of).transpose()
    }

    /// The name a topic is shown by here, however a post typed it: this node's own topic's
    /// name, or else the name it was first seen under.
    fn topic_display_name(&self, typed: &str) -> Result<String, StoreError> {
        if typed.is_empty() {
            return Ok(String::new());
        }
        if let Some(own) = self.store().topic(typed)? {
            return Ok(own.name);
        }
        Ok(self
            .store()
            .topic_stats(typed, |_| false)?
            .name
            .unwrap_or_else(|| typed.to_owned()))
    }

    fn topic_name_of(&self, post: &EventId) -> Result<String, StoreError> {
        Ok(match self.payload(post)?.map(|p| p.body) {
            Some(EventBody::Post(p)) => p.topic,
            _ => String::new(),
        })
    }

    /// Display name and organisation for an author: local members from their account,
    /// remote ones from the newest profile their home node published.
    pub(crate) fn author_labels(&self, author: &MemberId) -> Result<(String, String), StoreError> {
        if author.node_name() == self.config().node.name.as_str()
            && let Some(member) = self.store().member(author.localpart())?
        {
            return Ok((member.display_name, self.config().node.organisation.clone()));
        }
        if let Some(profile) = self.store().profile(author)? {
            return Ok((profile.display_name, profile.organisation));
        }
        Ok((author.localpart().to_owned(), author.node_name().to_owned()))
    }
}
