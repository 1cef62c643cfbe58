//! A member's own safety tools: muted words and phrases and muted topics (what matches is
//! collapsed behind a notice for them, not hidden from anyone else), the people they
//! blocked (collapsed too, and left out of their directory), and taking a break (out of
//! the directory, shown as away, notifications without badges or emails).
//!
//! Words match whole, in any case, with or without accents or full-width forms: both the
//! muted phrase and the text are folded (`kindred_protocol::text::fold`) and split into
//! words by UAX #29 (`unicode-segmentation`), and the phrase must appear as a run of
//! whole words. Chinese and Japanese, written without spaces, split into single
//! characters, so a muted word matches wherever its characters stand together.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use kindred_protocol::api::{
    MAX_BREAK_DAYS, MAX_MUTE_BYTES, MAX_MUTES, SafetySettings, UpdateSafety,
};
use kindred_protocol::text::{fold, look_alike_key, topic_key, without_default_ignorable};
use kindred_protocol::{MemberId, Timestamp};
use unicode_segmentation::UnicodeSegmentation;

use super::{Auth, Node};
use crate::node::AppError;
use crate::store::{MemberRecord, StoreError};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The words of `text` as matching sees them: nothing invisible, underscores (Markdown
/// emphasis, snake_case) as spaces, folded, split by UAX #29, each by its look-alike key.
fn words(text: &str) -> Vec<String> {
    let bare = without_default_ignorable(text).replace('_', " ");
    fold(&bare).unicode_words().map(look_alike_key).collect()
}

/// One member's mutes, prepared for matching.
#[derive(Default)]
pub(crate) struct Mutes {
    /// Each phrase as its words, with the phrase as typed.
    phrases: Vec<(Vec<String>, String)>,
    /// Muted topic keys.
    topics: HashSet<String>,
    /// Members they blocked.
    blocked: HashSet<String>,
}

impl Mutes {
    fn of(member: &MemberRecord, blocked: Vec<String>) -> Self {
        Self {
            phrases: member
                .muted_words
                .iter()
                .map(|w| (words(w), w.clone()))
                .filter(|(w, _)| !w.is_empty())
                .collect(),
            topics: member.muted_topics.iter().cloned().collect(),
            blocked: blocked.into_iter().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.phrases.is_empty() && self.topics.is_empty() && self.blocked.is_empty()
    }

    /// Why an entry by `author`, in topic `topic` (a name), with these texts is collapsed
    /// for this member; `None` when it is not.
    pub(crate) fn reason(
        &self,
        author: &MemberId,
        topic: Option<&str>,
        texts: &[&str],
    ) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        // The notices never repeat what was muted: seeing the word is what the member
        // wanted to avoid.
        if self.blocked.contains(author.as_str()) {
            return Some("from someone you blocked".to_owned());
        }
        if let Some(topic) = topic
            && self.topics.contains(&topic_key(topic))
        {
            return Some("in a topic you muted".to_owned());
        }
        if self.phrases.is_empty() {
            return None;
        }
        // Each text on its own: a phrase does not run from a title into a body.
        texts
            .iter()
            .map(|t| words(t))
            .any(|text| {
                self.phrases
                    .iter()
                    .any(|(phrase, _)| text.windows(phrase.len()).any(|w| w == phrase.as_slice()))
            })
            .then(|| "contains a word you muted".to_owned())
    }
}

/// Members' mutes, read once and kept until they change.
#[derive(Default)]
pub(crate) struct MuteCache(RwLock<HashMap<String, Arc<Mutes>>>);

impl Node {
    /// The mutes of `member` (empty for members of other nodes).
    pub(crate) fn mutes_of(&self, member: &MemberId) -> Result<Arc<Mutes>, StoreError> {
        let cache = &self.inner.mutes;
        if let Some(m) = cache
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(member.as_str())
        {
            return Ok(m.clone());
        }
        let mutes = match self.store().member(member.localpart())? {
            Some(record) if member.node_name() == self.config().node.name.as_str() => {
                Arc::new(Mutes::of(&record, self.store().member_blocks(member)?))
            }
            _ => Arc::new(Mutes::default()),
        };
        cache
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(member.to_string(), mutes.clone());
        Ok(mutes)
    }

    /// Forgets the cached mutes of `member` (they changed them, or blocked someone).
    pub(crate) fn forget_mutes(&self, member: &MemberId) {
        self.inner
            .mutes
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(member.as_str());
    }

    /// The member's safety settings.
    pub(crate) fn safety(&self, auth: &Auth) -> Result<SafetySettings, AppError> {
        let member = self
            .store()
            .member(&auth.member.username)?
            .ok_or_else(|| AppError::not_found("Your account is not here any more."))?;
        Ok(self.safety_view(&member))
    }

    /// A member's safety settings as they see them (also for their data export).
    pub(crate) fn safety_of(&self, member: &MemberRecord) -> SafetySettings {
        self.safety_view(member)
    }

    fn safety_view(&self, member: &MemberRecord) -> SafetySettings {
        let now = self.now().as_millis();
        let names: HashMap<String, String> = self
            .topic_views()
            .map(|topics| {
                topics
                    .into_iter()
                    .map(|t| (topic_key(&t.name), t.name))
                    .collect()
            })
            .unwrap_or_default();
        SafetySettings {
            muted_words: member.muted_words.clone(),
            muted_topics: member
                .muted_topics
                .iter()
                .map(|k| names.get(k).cloned().unwrap_or_else(|| k.clone()))
                .collect(),
            break_until: member.break_until.filter(|t| *t > now).map(Timestamp),
        }
    }

    /// Changes the member's safety settings. 400 for too many or too long mutes, a topic
    /// that does not exist, or a break over [`MAX_BREAK_DAYS`].
    pub(crate) async fn update_safety(
        &self,
        auth: &Auth,
        req: UpdateSafety,
    ) -> Result<SafetySettings, AppError> {
        // Everything is checked first; the record is then changed as one step, so a
        // change made meanwhile (an admin's, or the member's own on another device) stays.
        let mut muted_words = None;
        let mut muted_topics = None;
        if let Some(list) = req.muted_words {
            let mut kept: Vec<String> = Vec::new();
            for w in list {
                let w = w.trim().to_owned();
                if w.is_empty() {
                    continue;
                }
                if w.chars().any(char::is_control) {
                    return Err(AppError::invalid(
                        "muted_words",
                        "A muted word or phrase cannot hold control characters.",
                    ));
                }
                if w.len() > MAX_MUTE_BYTES {
                    return Err(AppError::invalid(
                        "muted_words",
                        format!("A muted word or phrase can be at most {MAX_MUTE_BYTES} bytes."),
                    ));
                }
                if words(&w).is_empty() {
                    return Err(AppError::invalid(
                        "muted_words",
                        format!("{w:?} has no letters or digits to match."),
                    ));
                }
                if !kept.iter().any(|k| words(k) == words(&w)) {
                    kept.push(w);
                }
            }
            if kept.len() > MAX_MUTES {
                return Err(AppError::invalid(
                    "muted_words",
                    format!("You can mute at most {MAX_MUTES} words and phrases."),
                ));
            }
            muted_words = Some(kept);
        }
        if let Some(list) = req.muted_topics {
            let known: HashSet<String> = self
                .topic_views()?
                .into_iter()
                .map(|t| topic_key(&t.name))
                .collect();
            let mut keys: Vec<String> = Vec::new();
            for name in list {
                let key = topic_key(&name);
                if key.is_empty() {
                    continue;
                }
                if !known.contains(&key) {
                    return Err(AppError::invalid(
                        "muted_topics",
                        format!("There is no topic called {:?}.", name.trim()),
                    ));
                }
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            if keys.len() > MAX_MUTES {
                return Err(AppError::invalid(
                    "muted_topics",
                    format!("You can mute at most {MAX_MUTES} topics."),
                ));
            }
            muted_topics = Some(keys);
        }
        let mut break_until = None;
        if let Some(days) = req.break_days {
            if days > MAX_BREAK_DAYS {
                return Err(AppError::invalid(
                    "break_days",
                    format!("A break can last at most {MAX_BREAK_DAYS} days."),
                ));
            }
            break_until =
                Some((days > 0).then(|| self.now().as_millis() + u64::from(days) * DAY_MS));
        }
        let changed = self
            .store()
            .update_member(&auth.member.username, |member| {
                if let Some(words) = &muted_words {
                    member.muted_words.clone_from(words);
                }
                if let Some(topics) = &muted_topics {
                    member.muted_topics.clone_from(topics);
                }
                let mut break_changed = false;
                if let Some(until) = break_until {
                    break_changed = until.is_some() != self.on_break(member);
                    member.break_until = until;
                }
                Ok::<_, StoreError>((member.clone(), break_changed))
            })?;
        let Some((member, break_changed)) = changed else {
            return Err(AppError::not_found("Your account is not here any more."));
        };
        self.store().durable().await?;
        self.forget_mutes(&auth.member_id);
        if break_changed && (member.profile_published || member.listed) {
            // Others see them as away while on a break, and back afterwards.
            self.publish_profile(&member, &auth.member_id).await?;
        }
        tracing::info!(member = %auth.member_id, words = member.muted_words.len(), topics = member.muted_topics.len(), on_break = self.on_break(&member), "safety settings changed");
        Ok(self.safety_view(&member))
    }

    /// Whether `member` is taking a break now.
    pub(crate) fn on_break(&self, member: &MemberRecord) -> bool {
        member
            .break_until
            .is_some_and(|t| t > self.now().as_millis())
    }

    /// Whether the member with id `member` (of this node) is taking a break now.
    pub(crate) fn member_on_break(&self, member: &MemberId) -> bool {
        member.node_name() == self.config().node.name.as_str()
            && self
                .store()
                .member(member.localpart())
                .ok()
                .flatten()
                .is_some_and(|m| self.on_break(&m))
    }

    /// Ends the breaks whose time is up (housekeeping): others see the member again.
    pub(crate) async fn end_breaks(&self) -> Result<usize, AppError> {
        let now = self.now().as_millis();
        let mut ended = 0;
        for member in self.store().members()? {
            if member.break_until.is_none_or(|t| t > now) {
                continue;
            }
            // Read again as the change is made: the member may have started a new break
            // (or been erased) since the list was read.
            let ended_now = self.store().update_member(&member.username, |m| {
                let due = m.break_until.is_some_and(|t| t <= now);
                if due {
                    m.break_until = None;
                }
                Ok::<_, StoreError>(due.then(|| m.clone()))
            })?;
            let Some(Some(member)) = ended_now else {
                continue;
            };
            if member.profile_published || member.listed {
                let id = self.member_id(&member.username)?;
                self.publish_profile(&member, &id).await?;
            }
            ended += 1;
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutes(words: &[&str], topics: &[&str]) -> Mutes {
        let member = MemberRecord {
            muted_words: words.iter().map(|w| (*w).to_owned()).collect(),
            muted_topics: topics.iter().map(|t| topic_key(t)).collect(),
            ..MemberRecord::new(
                "ann",
                "Ann".into(),
                kindred_protocol::api::Role::Member,
                String::new(),
                0,
            )
        };
        Mutes::of(&member, vec!["@pest:b.org".into()])
    }

    #[test]
    fn muted_words_match_whole_words_in_any_form() {
        let m = mutes(&["café", "self harm", "焦虑", "suicide"], &["Funding"]);
        let author: MemberId = "@sam:a.org".parse().unwrap();
        // (text, muted)
        let cases = [
            ("We met at the CAFE", true),
            ("We met at the cafe\u{301}", true),
            ("ｃａｆé culture", true),
            ("cafeteria lunches", false),
            ("talking about Self-Harm openly", true),
            ("self and harm apart", false),
            ("我最近很焦虑", true),
            ("我最近很焦", false),
            ("nothing to see", false),
            // Markdown emphasis and snake_case, invisible splitters, look-alike letters.
            ("_suicide_", true),
            ("self _harm_", true),
            ("sui\u{00AD}cide", true),
            ("sui\u{FE0F}cide", true),
            ("sui\u{E0020}cide", true),
            ("su\u{0456}cide", true),
            ("suicides", false),
        ];
        for (text, muted) in cases {
            assert_eq!(
                m.reason(&author, Some("Wellbeing"), &[text]).is_some(),
                muted,
                "{text}"
            );
        }
        assert_eq!(
            m.reason(&author, Some("funding"), &["hello"]).as_deref(),
            Some("in a topic you muted")
        );
        let pest: MemberId = "@pest:b.org".parse().unwrap();
        assert_eq!(
            m.reason(&pest, None, &["hello"]).as_deref(),
            Some("from someone you blocked")
        );
        // A phrase does not run from one text into the next.
        assert_eq!(
            m.reason(&author, None, &["all about self", "harm reduction"]),
            None
        );
    }
}
