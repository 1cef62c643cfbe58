//! The digest: the network's most replied-to and most thanked posts since the member's
//! last digest, in the topics they follow, and mentoring offers that fit their open
//! request. Built for every member who is due in one pass: the window's posts are read
//! once and ranked once, then each member takes the first few that fit them.
//!
//! Titles of posts under a content warning are not shown, only the warning.

use std::fmt::Write as _;

use kindred_protocol::api::DigestFrequency;
use kindred_protocol::{EventBody, EventId, MemberId};

use super::compose::escape;
use crate::node::AppError;
use crate::node::Node;
use crate::store::{MailJob, NotifySettings};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Posts in each list of a digest.
const PER_LIST: usize = 5;

/// Offers suggested in a digest.
const OFFERS: usize = 3;

/// How long a digest waits between sends.
pub(crate) fn period(frequency: DigestFrequency) -> Option<u64> {
    match frequency {
        DigestFrequency::Off => None,
        DigestFrequency::Daily => Some(DAY_MS),
        DigestFrequency::Weekly => Some(7 * DAY_MS),
    }
}

/// A post that may go in digests.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    id: EventId,
    topic: String,
    topic_name: String,
    /// `None` under a content warning: the warning shows instead.
    title: Option<String>,
    warning: Option<String>,
    organisation: String,
    sort_ts: u64,
    replies: u64,
    thanks: u64,
    /// Who wrote it, and its words, for each reader's mutes and blocks.
    author: MemberId,
    words: String,
}

/// The window's posts, ranked two ways.
pub(crate) struct Ranked {
    by_replies: Vec<Candidate>,
    by_thanks: Vec<Candidate>,
}

impl Node {
    /// The posts since `since` (ms) in every topic, ranked by replies and by thanks.
    pub(crate) fn digest_candidates(&self, since: u64) -> Result<Ranked, AppError> {
        let mut all = Vec::new();
        for topic in self.topic_views()? {
            if topic.last_activity.is_some_and(|t| t.0 < since) {
                continue;
            }
            let key = crate::rules::topic_key(&topic.name);
            let mut before = None;
            'pages: loop {
                let page = self.store().topic_timeline(&key, before, 256)?;
                let Some(last) = page.last().copied() else {
                    break;
                };
                for pos in page {
                    if pos.sort_ts < since {
                        break 'pages;
                    }
                    if let Some(c) = self.candidate(&pos.id, &key, &topic.name, pos.sort_ts)? {
                        all.push(c);
                    }
                }
                before = Some(last);
            }
        }
        let mut by_replies: Vec<Candidate> =
            all.iter().filter(|c| c.replies > 0).cloned().collect();
        by_replies.sort_by(|a, b| b.replies.cmp(&a.replies).then(b.sort_ts.cmp(&a.sort_ts)));
        let mut by_thanks: Vec<Candidate> = all.into_iter().filter(|c| c.thanks > 0).collect();
        by_thanks.sort_by(|a, b| b.thanks.cmp(&a.thanks).then(b.sort_ts.cmp(&a.sort_ts)));
        Ok(Ranked {
            by_replies,
            by_thanks,
        })
    }

    fn candidate(
        &self,
        id: &EventId,
        topic: &str,
        topic_name: &str,
        sort_ts: u64,
    ) -> Result<Option<Candidate>, AppError> {
        let Some((meta, original)) = self.shown(id)? else {
            return Ok(None);
        };
        if self.hidden_reason(id, &original.author).is_some() {
            return Ok(None);
        }
        let thanks = self
            .reaction_counts(id, None)?
            .iter()
            .find(|r| r.reaction == "thank-you")
            .map_or(0, |r| r.count);
        // Only a discussed or thanked post can be in a digest: the rest (most of a week's)
        // are not read further nor kept.
        if meta.reply_count == 0 && thanks == 0 {
            return Ok(None);
        }
        let current = match meta.latest {
            Some(latest) => self.payload(&latest)?.unwrap_or(original.clone()),
            None => original.clone(),
        };
        let EventBody::Post(post) = current.body else {
            return Ok(None);
        };
        Ok(Some(Candidate {
            id: *id,
            author: original.author.clone(),
            words: format!("{}\n{}\n{}", post.title, post.body, post.tags.join(" ")),
            topic: topic.to_owned(),
            topic_name: topic_name.to_owned(),
            title: post.content_warning.is_none().then_some(post.title),
            warning: post.content_warning,
            organisation: self.author_labels(&original.author)?.1,
            sort_ts,
            replies: meta.reply_count,
            thanks,
        }))
    }

    /// The digest email for `member`, or `None` when there is nothing to tell.
    pub(crate) fn digest_for(
        &self,
        member: &MemberId,
        name: &str,
        settings: &NotifySettings,
        ranked: &Ranked,
        since: u64,
        now: u64,
    ) -> Result<Option<MailJob>, AppError> {
        let Some(to) = settings.address.as_deref() else {
            return Ok(None);
        };
        // Nothing the member muted, or from someone they blocked.
        let mutes = self.mutes_of(member)?;
        let fits = |c: &&Candidate| {
            c.sort_ts >= since
                && (settings.topics.is_empty() || settings.topics.contains(&c.topic))
                && mutes
                    .reason(&c.author, Some(&c.topic_name), &[&c.words])
                    .is_none()
        };
        let discussed: Vec<&Candidate> = ranked
            .by_replies
            .iter()
            .filter(fits)
            .take(PER_LIST)
            .collect();
        let thanked: Vec<&Candidate> = ranked
            .by_thanks
            .iter()
            .filter(fits)
            .filter(|c| !discussed.iter().any(|d| d.id == c.id))
            .take(PER_LIST)
            .collect();
        let offers = self.digest_offers(member)?;
        if discussed.is_empty() && thanked.is_empty() && offers.is_empty() {
            return Ok(None);
        }
        let base = self.config().public_url();
        let org = &self.config().node.organisation;
        let period = match settings.digest {
            DigestFrequency::Daily => "today",
            _ => "this week",
        };
        let mut text = format!("Hello {name},\n\nWhat the network learned {period}.\n");
        let mut html = format!(
            "<p>Hello {},</p><p>What the network learned {period}.</p>",
            escape(name)
        );
        for (heading, list, count) in [
            ("Most discussed", &discussed, true),
            ("Most thanked", &thanked, false),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = write!(text, "\n{heading}\n");
            let _ = write!(html, "<h2>{heading}</h2><ul>");
            for c in list.iter() {
                let title = match (&c.title, &c.warning) {
                    (Some(t), _) => format!("“{t}”"),
                    (None, Some(w)) => format!("A post with a content warning: {w}"),
                    (None, None) => "A post".to_owned(),
                };
                let n = if count {
                    kindred_protocol::text::count(c.replies, "reply", "replies")
                } else {
                    kindred_protocol::text::count(c.thanks, "thanks", "thanks")
                };
                let url = format!("{base}/posts/{}", c.id);
                let _ = write!(
                    text,
                    "- {title} ({}, in {}; {n})\n  {url}\n",
                    c.organisation, c.topic_name
                );
                let _ = write!(
                    html,
                    "<li><a href=\"{}\">{}</a> ({}, in {}; {n})</li>",
                    escape(&url),
                    escape(&title),
                    escape(&c.organisation),
                    escape(&c.topic_name)
                );
            }
            html.push_str("</ul>");
        }
        if !offers.is_empty() {
            text.push_str("\nMentors whose offers fit your request\n");
            html.push_str("<h2>Mentors whose offers fit your request</h2><ul>");
            for (who, org) in &offers {
                let _ = writeln!(text, "- {who} ({org})");
                let _ = write!(html, "<li>{} ({})</li>", escape(who), escape(org));
            }
            let _ = writeln!(text, "  See them all: {base}/mentoring/suggestions");
            let _ = write!(
                html,
                "</ul><p><a href=\"{b}/mentoring/suggestions\">See them all</a></p>",
                b = escape(&base)
            );
        }
        let unsubscribe = self.unsubscribe_link(member, "digest");
        let settings_url = format!("{base}/settings/email");
        let (foot_text, foot_html) = self.footer();
        let _ = write!(
            text,
            "\nYou get this digest because you chose it in your settings: {settings_url}\nStop the digest: {unsubscribe}\n\n{foot_text}"
        );
        let _ = write!(
            html,
            "<p style=\"font-size:90%\">You get this digest because you chose it in <a href=\"{s}\">your settings</a>. <a href=\"{u}\">Stop the digest</a>.</p>{foot_html}",
            s = escape(&settings_url),
            u = escape(&unsubscribe)
        );
        Ok(Some(MailJob::new(
            Some(member),
            to,
            format!("{org}'s Kindred: what the network learned {period}"),
            (text, html),
            Some(unsubscribe),
            now,
        )))
    }

    /// Names and organisations of the mentors whose offers fit the member's open request.
    fn digest_offers(&self, member: &MemberId) -> Result<Vec<(String, String)>, AppError> {
        let mut open: Vec<_> = self
            .store()
            .requests_of(member)?
            .into_iter()
            .filter(|r| r.status == "open")
            .collect();
        open.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let Some(request) = open.into_iter().next() else {
            return Ok(Vec::new());
        };
        Ok(self
            .score_offers(member, &request, OFFERS)?
            .into_iter()
            .map(|s| (s.offer.mentor_name, s.offer.organisation))
            .collect())
    }

    /// Queues the digests that are due at `now`; returns how many were queued.
    pub(crate) fn send_digests(&self, now: u64) -> Result<usize, AppError> {
        let mut due = Vec::new();
        for (member, settings) in self.store().all_notify_settings()? {
            let (Some(period), Some(_), Some(_)) = (
                period(settings.digest),
                settings.verified_at,
                settings.address.as_ref(),
            ) else {
                continue;
            };
            let since = settings.digest_since.unwrap_or(now);
            if now >= since + period {
                due.push((member, settings, since));
            }
        }
        let Some(earliest) = due.iter().map(|(_, _, since)| *since).min() else {
            return Ok(0);
        };
        let ranked = self.digest_candidates(earliest)?;
        let mut queued = 0;
        for (member, settings, since) in due {
            let Some(account) = self.store().member(member.localpart())? else {
                continue;
            };
            if let Some(job) = self.digest_for(
                &member,
                &account.display_name,
                &settings,
                &ranked,
                since,
                now,
            )? {
                self.queue_mail(job)?;
                queued += 1;
            }
            // Next time covers from now, whether or not there was anything to send (read
            // again: the member may have changed their settings meanwhile).
            self.store().update_notify_settings(&member, |s| {
                s.digest_since = Some(now);
                Ok::<_, AppError>(())
            })?;
        }
        Ok(queued)
    }
}
