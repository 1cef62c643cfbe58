//! Reading peer-learning content: a topic's posts, a member's posts, a thread with a page
//! of its replies, and what a member may see.

use super::{MAX_PAGE, REPLIES_PAGE, parse_cursor};
use crate::node::AppError;
use crate::node::Node;
use crate::store::Position;
use kindred_protocol::api::{EntryKind, Page, PostView, ThreadView};
use kindred_protocol::{EventId, MemberId};

impl Node {
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

    pub(super) fn page(
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
}
