//! The people directory: members across the federation who chose to be listed, in pages.
//!
//! Ordered by display name (case-insensitive), then member id, so a page boundary is
//! stable while profiles arrive. How many each other node may list here is capped at
//! ingest (`federation.profiles_per_node`), so the scan behind a page stays bounded.

use kindred_protocol::MemberId;
use kindred_protocol::api::{Page, PersonView};
use kindred_protocol::text::fold;
use unicode_segmentation::UnicodeSegmentation;

use super::Node;
use crate::node::AppError;

/// People per page when the caller does not say.
pub(crate) const DEFAULT_PAGE: usize = 50;

/// Most people per page.
pub(crate) const MAX_PAGE: usize = 100;

/// Where a person sorts: display name folded (case and accents aside), then member id.
fn sort_key(p: &PersonView) -> (String, String) {
    (fold(&p.display_name), p.member.to_string())
}

/// An opaque cursor for "after this person" (hex, so it is safe in a URL).
fn cursor_of(p: &PersonView) -> String {
    let (name, member) = sort_key(p);
    hex::encode(format!("{name}\u{0}{member}"))
}

fn parse_cursor(text: &str) -> Result<(String, String), AppError> {
    let bad = || AppError::bad_request("That page of people does not exist (malformed cursor).");
    let bytes = hex::decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, member) = text.split_once('\u{0}').ok_or_else(bad)?;
    if MemberId::parse(member).is_err() {
        return Err(bad());
    }
    Ok((name.to_owned(), member.to_owned()))
}

/// Whether every word of `query` (already folded) is in what is shown of `p`, however
/// either was typed: "zoe" finds "Zoë", and an unfinished last word ("burn") finds
/// "burnout", as the group picker needs.
fn matches(p: &PersonView, query: &str) -> bool {
    let hay = fold(&format!(
        "{} {} {} {}",
        p.display_name, p.organisation, p.happy_to_talk_about, p.member
    ));
    query.unicode_words().all(|q| hay.contains(q))
}

impl Node {
    /// One page of the people directory matching `query` (every word, case-insensitive,
    /// in name, organisation, what they are happy to talk about or member id), after the
    /// cursor `after`; `limit` is 1-100 (default 50). Errors: `bad_request` for a
    /// malformed cursor.
    pub(crate) fn people(
        &self,
        viewer: &MemberId,
        query: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PersonView>, AppError> {
        // Nobody the viewer blocked, and nobody moderators hid here.
        let blocked: std::collections::HashSet<String> =
            self.store().member_blocks(viewer)?.into_iter().collect();
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let after = after.map(parse_cursor).transpose()?;
        let query = query.map(fold).filter(|q| !q.trim().is_empty());
        let mut found: Vec<PersonView> = self
            .listed_people()?
            .into_iter()
            .filter(|p| {
                !blocked.contains(p.member.as_str())
                    && self
                        .hidden_set()
                        .get(&kindred_protocol::api::ReportTarget::Member(
                            p.member.clone(),
                        ))
                        .is_none()
            })
            .filter(|p| query.as_deref().is_none_or(|q| matches(p, q)))
            .filter(|p| after.as_ref().is_none_or(|a| sort_key(p) > *a))
            .collect();
        found.sort_by_key(sort_key);
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = if more {
            found.last().map(cursor_of)
        } else {
            None
        };
        Ok(Page {
            items: found,
            next_cursor,
        })
    }

    /// Everyone listed, in no order: this node's listed members and other nodes' listed
    /// profiles, leaving out blocked nodes' members and suspended members.
    fn listed_people(&self) -> Result<Vec<PersonView>, AppError> {
        let own = self.config().node.name.as_str();
        let mut out = Vec::new();
        for (id, profile) in self.store().profiles()? {
            let Ok(member) = MemberId::parse(&id) else {
                continue;
            };
            if !profile.listed {
                continue;
            }
            let local = member.node_name() == own;
            if !local && self.is_blocked_member(&member)? {
                continue;
            }
            let (display_name, organisation) = if local {
                match self.store().member(member.localpart())? {
                    Some(m) if m.listed && !m.suspended && !self.on_break(&m) => {
                        (m.display_name, self.config().node.organisation.clone())
                    }
                    _ => continue,
                }
            } else {
                (profile.display_name, profile.organisation)
            };
            out.push(PersonView {
                member,
                display_name,
                organisation,
                happy_to_talk_about: profile.happy_to_talk_about,
                local,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, member: &str) -> PersonView {
        PersonView {
            member: MemberId::parse(member).unwrap(),
            display_name: name.to_owned(),
            organisation: "Org".to_owned(),
            happy_to_talk_about: String::new(),
            local: false,
        }
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let p = person("Zoë Ng", "@zoe:b.org");
        assert_eq!(parse_cursor(&cursor_of(&p)).unwrap(), sort_key(&p));
        for bad in ["zz", "", "00", &hex::encode("no separator")] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn people_with_the_same_name_are_ordered_by_id() {
        let a = person("Sam", "@sam:a.org");
        let b = person("sam", "@sam:b.org");
        assert!(sort_key(&a) < sort_key(&b));
    }
}
