//! Notifications: what concerns a member (replies to what they wrote, reactions, their
//! mentoring proposals and matches, reminders), recorded by the notifier as events
//! arrive ([`follow`], deciding who is told in [`derive`]), listed on the web, the API
//! and the CLI, and emailed by the [`mailer`] to members who chose so.
//!
//! A notification stores only what it is about (kind, event, actor); its words are made
//! when it is read, so a retracted or erased event, or a blocked node, leaves nothing
//! behind in the list.

mod compose;
pub(crate) mod derive;
mod digest;
pub(crate) mod follow;
pub(crate) mod links;
pub(crate) mod mailer;
mod reminders;
pub(crate) mod settings;
mod smtp;

use kindred_protocol::api::{NotificationKind, NotificationList, NotificationView};
use kindred_protocol::event::body::mentoring::Answer;
use kindred_protocol::{EventBody, MemberId, Timestamp};

use super::{Auth, Node};
use crate::node::AppError;
use crate::store::{NoteRecord, StoreError};

/// Unread notifications are counted up to this many.
pub(crate) const UNREAD_CAP: usize = 100;

/// Notifications are kept this long (ms): 90 days.
pub(crate) const KEEP_MS: u64 = 90 * 24 * 60 * 60 * 1000;

/// Notifications listed in one page.
const PAGE: usize = 30;

/// What a member looks at, which makes the notifications about it seen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Looked {
    /// A thread, by its post.
    Thread(kindred_protocol::EventId),
    /// A proposal or match, by its proposal.
    Match(kindred_protocol::EventId),
}

/// What a notification says, for the member who gets it.
pub(crate) struct Described {
    /// The plain sentence.
    pub(crate) text: String,
    /// A path on this node's website.
    pub(crate) link: String,
    /// The actor's display name and organisation.
    pub(crate) actor: Option<(String, String)>,
}

impl Node {
    /// Records a notification (once: `false` when it was recorded before), marking it for
    /// email when the member chose email for its kind.
    pub(crate) fn record_note(
        &self,
        member: &MemberId,
        seq: u64,
        note: &NoteRecord,
    ) -> Result<bool, StoreError> {
        if self.store().note(member, seq)?.is_some() {
            return Ok(false);
        }
        let settings = self.store().notify_settings(member)?;
        // Taking a break: listed, but no badge and no email.
        let on_break = self.member_on_break(member);
        let email = self.config().email.enabled()
            && settings.verified_at.is_some()
            && settings.kinds.wants(note.kind)
            && !on_break;
        if note.kind == NotificationKind::Chat && !email {
            // Chat is never listed (the chat page has its own unread marks): a chat
            // notification exists only to be emailed.
            return Ok(false);
        }
        self.store().put_note(member, seq, note, email)?;
        if note.kind != NotificationKind::Chat && !on_break {
            self.tell_notifications(member);
        }
        Ok(true)
    }

    /// The signed-in member's notifications, newest first, older than `before`.
    pub(crate) fn notifications(
        &self,
        auth: &Auth,
        before: Option<u64>,
    ) -> Result<NotificationList, AppError> {
        let member = &auth.member_id;
        let read_up_to = self.store().notify_settings(member)?.read_up_to;
        let mut items = Vec::new();
        let mut cursor = before;
        let mut more = true;
        // Chat notifications and those about what is gone are skipped, so read on until a
        // page is full or the list ends.
        while items.len() < PAGE && more {
            let batch = self.store().notes(member, cursor, PAGE * 2)?;
            more = batch.len() == PAGE * 2;
            for (seq, note) in batch {
                cursor = Some(seq);
                if items.len() >= PAGE {
                    more = true;
                    break;
                }
                if let Some(view) = self.notification_view(member, seq, &note, read_up_to)? {
                    items.push(view);
                }
            }
        }
        Ok(NotificationList {
            unread: self.unread_notifications(member)?,
            next_before: if more { cursor } else { None },
            items,
        })
    }

    /// How many notifications the member has not seen (up to [`UNREAD_CAP`]).
    pub(crate) fn unread_notifications(&self, member: &MemberId) -> Result<u32, StoreError> {
        if self.member_on_break(member) {
            return Ok(0);
        }
        let read_up_to = self.store().notify_settings(member)?.read_up_to;
        let mut unread = 0u32;
        for seq in self
            .store()
            .note_seqs_after(member, read_up_to, UNREAD_CAP * 4)?
        {
            let Some(note) = self.store().note(member, seq)? else {
                continue;
            };
            if note.kind != NotificationKind::Chat
                && !note.seen
                && self.describe(member, &note)?.is_some()
            {
                unread += 1;
                if unread as usize >= UNREAD_CAP {
                    break;
                }
            }
        }
        Ok(unread)
    }

    /// The member is looking at `what` on the website or through the API: unread
    /// notifications about it are seen (and not emailed). Failures are logged: looking
    /// must not fail because of them.
    pub(crate) fn looked_at(&self, member: &MemberId, what: Looked) {
        if let Err(e) = self.mark_seen(member, what) {
            tracing::warn!(error = %e, "cannot mark notifications seen");
        }
    }

    fn mark_seen(&self, member: &MemberId, what: Looked) -> Result<(), StoreError> {
        let read_up_to = self.store().notify_settings(member)?.read_up_to;
        let mut changed = false;
        for seq in self
            .store()
            .note_seqs_after(member, read_up_to, UNREAD_CAP * 4)?
        {
            let Some(note) = self.store().note(member, seq)? else {
                continue;
            };
            if note.seen || note.kind == NotificationKind::Chat || !self.is_about(&note, what)? {
                continue;
            }
            changed |= self.store().mark_note_seen(member, seq)?;
        }
        if changed {
            self.tell_notifications(member);
        }
        Ok(())
    }

    /// Whether a notification is about the thread or match `what`.
    fn is_about(&self, note: &NoteRecord, what: Looked) -> Result<bool, StoreError> {
        let Some(payload) = note.event.map(|e| self.payload(&e)).transpose()?.flatten() else {
            return Ok(matches!(what, Looked::Match(id) if note.subject == Some(id)));
        };
        Ok(match (what, &payload.body) {
            (Looked::Thread(root), EventBody::Reply(_)) => {
                payload.refs.thread_root == Some(root)
                    || note
                        .event
                        .map(|e| self.store().event_meta(&e))
                        .transpose()?
                        .flatten()
                        .and_then(|m| m.thread_root)
                        == Some(root)
            }
            (Looked::Thread(root), EventBody::Reaction(r)) => {
                r.target == root
                    || self
                        .store()
                        .event_meta(&r.target)?
                        .and_then(|m| m.thread_root)
                        == Some(root)
            }
            (Looked::Match(id), EventBody::MatchProposal(_)) => note.event == Some(id),
            (Looked::Match(id), EventBody::MatchAnswer(a)) => a.proposal == id,
            (Looked::Match(id), EventBody::MatchUpdate(u)) => u.proposal == id,
            (Looked::Match(id), EventBody::CheckIn(c)) => c.proposal == id,
            _ => false,
        })
    }

    /// Marks notifications up to `up_to` as seen (a mark never goes back).
    pub(crate) fn mark_notifications_read(
        &self,
        member: &MemberId,
        up_to: u64,
    ) -> Result<(), StoreError> {
        // Never past the newest notification: a mark ahead of it would pass, unseen,
        // notifications not given yet.
        let newest = self.store().newest_note_seq(member)?.unwrap_or(0);
        let up_to = up_to.min(newest);
        let moved = self.store().update_notify_settings(member, |s| {
            let moved = up_to > s.read_up_to;
            s.read_up_to = s.read_up_to.max(up_to);
            Ok::<_, StoreError>(moved)
        })?;
        if moved {
            self.tell_notifications(member);
        }
        Ok(())
    }

    fn notification_view(
        &self,
        member: &MemberId,
        seq: u64,
        note: &NoteRecord,
        read_up_to: u64,
    ) -> Result<Option<NotificationView>, StoreError> {
        if note.kind == NotificationKind::Chat {
            return Ok(None);
        }
        let Some(described) = self.describe(member, note)? else {
            return Ok(None);
        };
        let (actor_name, organisation) = described.actor.unzip();
        Ok(Some(NotificationView {
            seq,
            kind: note.kind,
            at: Timestamp(note.at),
            actor: note.actor.clone(),
            actor_name,
            organisation,
            text: described.text,
            link: described.link,
            event: note.event,
            read: seq <= read_up_to || note.seen,
        }))
    }

    /// What a notification says; `None` when what it is about is gone (retracted, erased,
    /// from a node blocked since) or the member has blocked its actor since.
    pub(crate) fn describe(
        &self,
        member: &MemberId,
        note: &NoteRecord,
    ) -> Result<Option<Described>, StoreError> {
        let actor = match &note.actor {
            Some(actor) => {
                if self.store().has_blocked(member, actor)? || self.is_blocked_member(actor)? {
                    return Ok(None);
                }
                Some(self.author_labels(actor)?)
            }
            None => None,
        };
        let who = actor
            .as_ref()
            .map(|(name, org)| format!("{name} ({org})"))
            .unwrap_or_default();
        if note.kind == NotificationKind::Moderation {
            let Some(text) = &note.text else {
                return Ok(None);
            };
            return Ok(Some(Described {
                text: text.clone(),
                link: note.link.clone().unwrap_or_else(|| "/notifications".into()),
                actor,
            }));
        }
        if note.kind == NotificationKind::Reminder {
            let (Some(text), Some(subject)) = (&note.text, note.subject) else {
                return Ok(None);
            };
            if self.store().match_record(&subject)?.is_none() {
                return Ok(None);
            }
            return Ok(Some(Described {
                text: text.clone(),
                link: format!("/mentoring/matches/{subject}"),
                actor,
            }));
        }
        let Some(id) = note.event else {
            return Ok(None);
        };
        let Some((meta, payload)) = self.shown(&id)? else {
            return Ok(None);
        };
        // Nothing about what moderators hid here, or from someone they hid.
        if self.hidden_reason(&id, &payload.author).is_some() {
            return Ok(None);
        }
        let (text, link) = match &payload.body {
            EventBody::Reply(_) => {
                let root = meta.thread_root.or(payload.refs.thread_root).unwrap_or(id);
                let title = self.title_or_warning(member, &root, self.post_title(&root)?)?;
                let whose = match payload
                    .refs
                    .reply_to
                    .and_then(|t| self.payload(&t).ok().flatten())
                {
                    Some(target) if target.author == *member => match target.body {
                        EventBody::Reply(_) => "replied to your reply in",
                        _ => "replied to your post",
                    },
                    _ => "replied in your thread",
                };
                (
                    format!("{who} {whose} {title}"),
                    format!("/posts/{root}?at={id}#post-{id}"),
                )
            }
            EventBody::Reaction(r) => {
                // Taken back since: nothing to tell.
                let still = self
                    .reaction_counts(&r.target, Some(&payload.author))?
                    .iter()
                    .any(|c| c.reaction == r.reaction && c.mine);
                if !still {
                    return Ok(None);
                }
                let Some((title, reply)) = self.reaction_target(&r.target)? else {
                    return Ok(None);
                };
                let root_of_target = self
                    .store()
                    .event_meta(&r.target)?
                    .and_then(|m| m.thread_root)
                    .unwrap_or(r.target);
                let title = self.title_or_warning(member, &root_of_target, title)?;
                let what = if reply { "your reply in" } else { "your post" };
                let root = self
                    .store()
                    .event_meta(&r.target)?
                    .and_then(|m| m.thread_root)
                    .unwrap_or(r.target);
                (
                    format!(
                        "{who} reacted “{}” to {what} {title}",
                        kindred_protocol::api::Reaction::label_of(&r.reaction),
                    ),
                    format!("/posts/{root}?at={}#post-{}", r.target, r.target),
                )
            }
            EventBody::ChatMessage(m) => (
                format!("{who} sent you a message"),
                format!("/chat/{}", m.conversation),
            ),
            EventBody::MatchProposal(_) => (
                format!("{who} asked you to be their mentor"),
                format!("/mentoring/matches/{id}"),
            ),
            EventBody::MatchAnswer(a) => (
                match a.answer {
                    Answer::Accepted => format!("{who} said yes to being your mentor"),
                    Answer::Expired => {
                        format!("Your request to {who} ended: it was not answered in time")
                    }
                    // Written by the buddy, for the mentor.
                    Answer::Withdrawn => format!("{who} took back their request"),
                    _ => format!("{who} could not take on your request"),
                },
                format!("/mentoring/matches/{}", a.proposal),
            ),
            EventBody::MatchUpdate(u) => (
                if u.closing.is_some() {
                    format!("{who} ended your match")
                } else if u.confirms.is_some() {
                    format!("{who} confirmed your agreement")
                } else {
                    format!("{who} proposed an agreement for your match")
                },
                format!("/mentoring/matches/{}", u.proposal),
            ),
            EventBody::CheckIn(c) => (
                format!("{who} checked in on your match"),
                format!("/mentoring/matches/{}", c.proposal),
            ),
            _ => return Ok(None),
        };
        Ok(Some(Described { text, link, actor }))
    }

    /// A post's title in quotes, or, when it is under a content warning now, the warning
    /// (the list is read in passing, where a title about self-harm should not jump out).
    fn title_or_warning(
        &self,
        member: &MemberId,
        post: &kindred_protocol::EventId,
        title: Option<String>,
    ) -> Result<String, StoreError> {
        // Folded away for this member (a muted word or topic): nothing of it.
        if self
            .post_view(post, Some(member))?
            .is_some_and(|p| p.muted.is_some())
        {
            return Ok("(a post you folded away)".to_owned());
        }
        Ok(match (self.warning_of(post)?, title) {
            (Some(warning), _) => format!("(content warning: {warning})"),
            (None, Some(title)) => format!("“{title}”"),
            // Hidden here, or gone: say what it was without its words.
            (None, None) => "(a post)".to_owned(),
        })
    }

    /// Tells the member's open pages that their notifications changed (the badge).
    pub(crate) fn tell_notifications(&self, member: &MemberId) {
        match self.unread_notifications(member) {
            Ok(unread) => self.tell_member(
                member,
                &kindred_protocol::api::StreamMessage::Notifications { unread },
            ),
            Err(e) => tracing::warn!(error = %e, "cannot count unread notifications"),
        }
    }
}

/// Whether the configured relay can be set up (the password file read, the sender an
/// address); `Ok` when email is off. Nothing is sent or connected.
pub(crate) fn check_relay(config: &crate::Config) -> Result<(), String> {
    if !config.email.enabled() {
        return Ok(());
    }
    smtp::Relay::new(&config.email)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Sends a test email to `to` through the configured relay (`kindred email test`): the
/// settings work when this returns `Ok`.
///
/// Errors: email is not configured, or the relay refused or could not be reached (the
/// message says which, with the relay's answer).
pub async fn send_test_email(config: &crate::Config, to: &str) -> Result<(), String> {
    if !config.email.enabled() {
        return Err(
            "email is not set up: add an [email] section with smtp_host (deploy/email.md)"
                .to_owned(),
        );
    }
    let to = settings::clean_address(to).map_err(|e| e.to_string())?;
    let relay = smtp::Relay::new(&config.email).map_err(|e| e.to_string())?;
    let org = &config.node.organisation;
    // Its time makes its Message-ID, so a second test is not taken for a copy of the first.
    let now = kindred_protocol::Timestamp::now().as_millis();
    let job = crate::store::MailJob::new(
        None,
        &to,
        format!("A test email from {org}'s Kindred"),
        (
            format!(
                "This is a test from the Kindred node {} ({}). If you can read it, its email settings work.\n",
                config.node.name,
                config.public_url()
            ),
            format!(
                "<p>This is a test from the Kindred node {} ({}). If you can read it, its email settings work.</p>",
                compose::escape(config.node.name.as_str()),
                compose::escape(&config.public_url())
            ),
        ),
        None,
        now,
    );
    relay.send(0, &job).await.map_err(|e| e.to_string())
}
