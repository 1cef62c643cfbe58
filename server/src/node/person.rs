//! One person as the people around them see them: name, organisation, what they are happy
//! to talk about, and whether they take new messages (a profile page, where bylines link).

use kindred_protocol::MemberId;
use kindred_protocol::api::ProfileView;

use super::Node;
use super::chat::direct_conversation;
use crate::node::AppError;

impl Node {
    /// A member named as people name them: a full member id (`@sam:node`) or a username
    /// at this node. Errors: `not_found` for anything else.
    pub(crate) fn member_named(&self, text: &str) -> Result<MemberId, AppError> {
        let text = text.trim();
        let found = if text.starts_with('@') {
            MemberId::parse(text).ok()
        } else {
            MemberId::new(text, &self.config().node.name).ok()
        };
        found.ok_or_else(|| {
            AppError::not_found(format!(
                "There is no such person ({text:?} is neither a member id like @sam:node.example.org nor a username here)."
            ))
        })
    }

    /// Whether `member` takes no messages for now: suspended here, or their own node says
    /// so in their profile.
    pub(crate) fn is_away(&self, member: &MemberId) -> Result<bool, AppError> {
        if member.node_name() == self.config().node.name.as_str() {
            return Ok(self
                .store()
                .member(member.localpart())?
                .is_some_and(|m| m.suspended || self.on_break(&m)));
        }
        Ok(self.store().profile(member)?.is_some_and(|p| p.away))
    }

    /// `member` as `viewer` sees them; a suspended member shows as away (taking no
    /// messages) everywhere. Errors: `not_found` for someone this node knows nothing about
    /// or a member of a blocked node.
    pub(crate) fn person(
        &self,
        member: &MemberId,
        viewer: &MemberId,
    ) -> Result<ProfileView, AppError> {
        let gone = || AppError::not_found(format!("There is no one called {member} here."));
        let local = member.node_name() == self.config().node.name.as_str();
        let profile = self.store().profile(member)?;
        let (display_name, organisation, listed, away) = if local {
            let m = self.store().member(member.localpart())?.ok_or_else(gone)?;
            let on_break = self.on_break(&m);
            (
                m.display_name,
                self.config().node.organisation.clone(),
                m.listed && !m.suspended && !on_break,
                m.suspended || on_break,
            )
        } else {
            if self.is_blocked_member(member)? {
                return Err(gone());
            }
            let p = profile.as_ref().ok_or_else(gone)?;
            (
                p.display_name.clone(),
                p.organisation.clone(),
                p.listed && !p.away,
                p.away,
            )
        };
        // Hidden here by moderators: no longer listed or written to from here.
        let hidden = self
            .hidden_set()
            .get(&kindred_protocol::api::ReportTarget::Member(member.clone()))
            .is_some();
        let (listed, away) = (listed && !hidden, away || hidden);
        let conversation = if member == viewer {
            None
        } else {
            let c = direct_conversation(member, viewer);
            match self.store().conversation(&c)? {
                Some(r) if r.members.contains(member) && r.members.contains(viewer) => Some(c),
                _ => None,
            }
        };
        Ok(ProfileView {
            member: member.clone(),
            display_name,
            organisation,
            happy_to_talk_about: profile
                .map(|p| p.happy_to_talk_about)
                .filter(|_| listed)
                .unwrap_or_default(),
            can_message: member != viewer
                && !away
                && !self.store().has_blocked(viewer, member)?
                && (listed || conversation.is_some()),
            listed,
            away,
            conversation,
        })
    }
}
