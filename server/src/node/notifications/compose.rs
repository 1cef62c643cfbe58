//! The words of emails. Privacy by default: an email says that something happened and
//! who from (display name and organisation), with a link; it never carries a chat
//! message, a check-in or a report. Reply emails quote the first lines of a reply only
//! when the member chose previews and nothing in the thread is under a content warning.

use std::fmt::Write as _;

use kindred_protocol::api::NotificationKind;
use kindred_protocol::{EventBody, MemberId};

use crate::node::Node;
use crate::store::{MailJob, NoteRecord, StoreError};

/// Characters of a reply quoted in a preview.
const PREVIEW_CHARS: usize = 200;

/// One line of a notification email.
pub(crate) struct Line {
    /// What happened, without content.
    pub(crate) text: String,
    /// Where to see it (a full URL).
    pub(crate) url: String,
    /// A quote of a reply, when the member chose previews.
    pub(crate) preview: Option<String>,
    /// Its kind.
    pub(crate) kind: NotificationKind,
}

/// Lines in one notification email; the rest are counted and linked.
const MAX_LINES: usize = 20;

/// Text for a header (the subject): RFC 2047 encoded words typed into a display name
/// (`=?utf-8?b?...?=`) would be decoded by mail programs into words the name rules never
/// saw, so their opening is broken up.
pub(crate) fn header_text(text: &str) -> String {
    text.replace("=?", "= ?")
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Node {
    /// The email line for a notification; `None` when what it is about is gone.
    pub(crate) fn email_line(
        &self,
        member: &MemberId,
        note: &NoteRecord,
        previews: bool,
    ) -> Result<Option<Line>, StoreError> {
        let Some(described) = self.describe(member, note)? else {
            return Ok(None);
        };
        let who = described
            .actor
            .as_ref()
            .map(|(n, o)| format!("{n} ({o})"))
            .unwrap_or_default();
        let base = self.config().public_url();
        let mut preview = None;
        let text = match note.kind {
            // The sentence on the website names the post; the email does not.
            NotificationKind::Reply => {
                if previews && let Some(id) = note.event {
                    preview = self.reply_preview(member, &id)?;
                }
                format!("{who} replied to something you wrote")
            }
            NotificationKind::Reaction => format!("{who} reacted to something you wrote"),
            // A warning's or a report's words stay on the website.
            NotificationKind::Moderation => format!(
                "A message from {}'s moderators",
                self.config().node.organisation
            ),
            _ => described.text,
        };
        Ok(Some(Line {
            text,
            url: format!("{base}{}", described.link),
            preview,
            kind: note.kind,
        }))
    }

    /// The first words of a reply, unless it or its thread is under a content warning.
    fn reply_preview(
        &self,
        member: &MemberId,
        id: &kindred_protocol::EventId,
    ) -> Result<Option<String>, StoreError> {
        let Some((meta, payload)) = self.shown(id)? else {
            return Ok(None);
        };
        // Folded away for the member (a muted word, a blocked author): not quoted.
        if self
            .post_view(id, Some(member))?
            .is_some_and(|p| p.muted.is_some())
        {
            return Ok(None);
        }
        // Hidden here by moderators, or under anything hidden: nothing is quoted.
        if self.hidden_reason(id, &payload.author).is_some() {
            return Ok(None);
        }
        for above in [payload.refs.reply_to, meta.thread_root]
            .into_iter()
            .flatten()
        {
            if let Some(p) = self.payload(&above)?
                && self.hidden_reason(&above, &p.author).is_some()
            {
                return Ok(None);
            }
        }
        let answers = payload.refs.reply_to;
        let current = self.current_version(&meta, payload)?;
        let EventBody::Reply(reply) = &current.body else {
            return Ok(None);
        };
        // Under a warning anywhere it hangs from (as each is now: an edit may add one),
        // nothing is quoted.
        for above in [answers, meta.thread_root].into_iter().flatten() {
            if self.warned(&above)? {
                return Ok(None);
            }
        }
        if reply.content_warning.is_some() {
            return Ok(None);
        }
        let text = crate::node::plain_text(&reply.body);
        let mut cut: String = text.chars().take(PREVIEW_CHARS).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        Ok(Some(cut))
    }

    /// An event as it reads now (its newest edit).
    fn current_version(
        &self,
        meta: &crate::store::EventMeta,
        original: kindred_protocol::EventPayload,
    ) -> Result<kindred_protocol::EventPayload, StoreError> {
        Ok(match meta.latest {
            Some(latest) => self.payload(&latest)?.unwrap_or(original),
            None => original,
        })
    }

    /// The content warning a post or reply carries now, if any; `None` too when it is
    /// not shown.
    pub(crate) fn warning_of(
        &self,
        id: &kindred_protocol::EventId,
    ) -> Result<Option<String>, StoreError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        Ok(match self.current_version(&meta, original)?.body {
            EventBody::Post(p) => p.content_warning,
            EventBody::Reply(r) => r.content_warning,
            _ => None,
        })
    }

    /// Whether a post or reply is under a content warning now (or cannot be read: then
    /// nothing of it is quoted either).
    fn warned(&self, id: &kindred_protocol::EventId) -> Result<bool, StoreError> {
        Ok(self.shown(id)?.is_none() || self.warning_of(id)?.is_some())
    }

    /// The footer every email ends with: the node, and where to find help now.
    pub(crate) fn footer(&self) -> (String, String) {
        let org = &self.config().node.organisation;
        let mut text = format!(
            "{org} · Kindred peer support · {}",
            self.config().public_url()
        );
        let mut html = format!(
            "<p style=\"color:#555;font-size:90%\">{} · Kindred peer support · <a href=\"{u}\">{u}</a>",
            escape(org),
            u = escape(&self.config().public_url())
        );
        if let Some(line) = self.config().help.lines.first() {
            let _ = write!(
                text,
                "\nNeed to talk to someone now? {}: {}",
                line.name, line.contact
            );
            let _ = write!(
                html,
                "<br>Need to talk to someone now? {}: {}",
                escape(&line.name),
                escape(&line.contact)
            );
        }
        html.push_str("</p>");
        (text, html)
    }

    /// An email listing `lines` for `member`.
    pub(crate) fn notification_email(
        &self,
        member: &MemberId,
        name: &str,
        to: &str,
        lines: &[Line],
        now: u64,
    ) -> MailJob {
        let org = &self.config().node.organisation;
        let base = self.config().public_url();
        let subject = header_text(&match lines {
            [one] => one.text.clone(),
            _ => format!("{} new things for you on {org}'s Kindred", lines.len()),
        });
        // A flood (a hostile node's hundreds of replies) makes one short email, not a
        // huge one a relay may refuse: the rest are on the notifications page.
        let more = lines.len().saturating_sub(MAX_LINES);
        let lines = &lines[..lines.len().min(MAX_LINES)];
        let choice = match lines.first().map(|l| l.kind) {
            Some(first) if lines.iter().all(|l| l.kind == first) => match first {
                NotificationKind::Chat => "chat",
                NotificationKind::Reply => "replies",
                NotificationKind::Reaction => "reactions",
                NotificationKind::Mentoring | NotificationKind::Reminder => "mentoring",
                NotificationKind::Moderation => "moderation",
            },
            _ => "all",
        };
        let unsubscribe = self.unsubscribe_link(member, choice);
        let mut text = format!("Hello {name},\n\n");
        let mut html = format!("<p>Hello {},</p><ul>", escape(name));
        for line in lines {
            let _ = writeln!(text, "- {}\n  {}", line.text, line.url);
            let _ = write!(
                html,
                "<li><a href=\"{}\">{}</a>",
                escape(&line.url),
                escape(&line.text)
            );
            if let Some(p) = &line.preview {
                let _ = writeln!(text, "  “{p}”");
                let _ = write!(html, "<br><q>{}</q>", escape(p));
            }
            html.push_str("</li>");
        }
        if more > 0 {
            let _ = writeln!(text, "- and {more} more: {base}/notifications");
            let _ = write!(
                html,
                "<li><a href=\"{}/notifications\">and {more} more</a></li>",
                escape(&base)
            );
        }
        let settings = format!("{base}/settings/email");
        let what = match choice {
            "all" => "these emails".to_owned(),
            c => format!("emails about {c}"),
        };
        let _ = write!(
            text,
            "\nSign in to read and answer: {base}/notifications\n\nYou get this because you chose it in your settings: {settings}\nStop {what}: {unsubscribe}\n\n"
        );
        let _ = write!(
            html,
            "</ul><p><a href=\"{b}/notifications\">Sign in to read and answer</a>.</p><p style=\"font-size:90%\">You get this because you chose it in <a href=\"{s}\">your settings</a>. <a href=\"{u}\">Stop {w}</a>.</p>",
            b = escape(&base),
            s = escape(&settings),
            u = escape(&unsubscribe),
            w = escape(&what)
        );
        let (foot_text, foot_html) = self.footer();
        text.push_str(&foot_text);
        html.push_str(&foot_html);
        MailJob::new(
            Some(member),
            to,
            subject,
            (text, html),
            Some(unsubscribe),
            now,
        )
    }

    /// The email asking a member to confirm their address. It goes to an address
    /// nobody has confirmed yet, so it carries nothing the member wrote (not even their
    /// name): only who runs the node and the link.
    pub(crate) fn verification_email(&self, member: &MemberId, to: &str, link: &str) -> MailJob {
        let org = &self.config().node.organisation;
        let subject = header_text(&format!("Confirm your email address for {org}'s Kindred"));
        let (foot_text, foot_html) = self.footer();
        let text = format!(
            "Hello,\n\nSomeone with an account on {org}'s Kindred (a peer-support network) gave this email address. If that was you, confirm it by opening this link (it works for 48 hours):\n\n{link}\n\nUntil it is confirmed, nothing else is sent to it. If it was not you, ignore this email: nothing more will come.\n\n{foot_text}"
        );
        let html = format!(
            "<p>Hello,</p><p>Someone with an account on {o}'s Kindred (a peer-support network) gave this email address. If that was you, <a href=\"{l}\">confirm it</a> (the link works for 48 hours).</p><p>Until it is confirmed, nothing else is sent to it. If it was not you, ignore this email: nothing more will come.</p>{foot_html}",
            o = escape(org),
            l = escape(link)
        );
        MailJob::new(Some(member), to, subject, (text, html), None, self.now().0)
    }
}
