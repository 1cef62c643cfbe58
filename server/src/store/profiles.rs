//! `profiles`: member id (text) → [`ProfileRecord`] (JSON), the newest profile event from
//! the member's home node.

use kindred_protocol::MemberId;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json};

/// What a member's home node publishes about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProfileRecord {
    /// Name shown to others.
    pub(crate) display_name: String,
    /// Their organisation.
    pub(crate) organisation: String,
    /// Effective time of the profile event (ms: its origin's, capped at arrival); newer
    /// replaces older.
    pub(crate) updated_at: u64,
    /// The profile event (ties between two of the same millisecond go to the larger id).
    #[serde(default)]
    pub(crate) event: Option<kindred_protocol::EventId>,
    /// Listed in the people directory.
    #[serde(default)]
    pub(crate) listed: bool,
    /// What they are happy to talk about.
    #[serde(default)]
    pub(crate) happy_to_talk_about: String,
    /// Suspended by their organisation: taking no messages.
    #[serde(default)]
    pub(crate) away: bool,
}

impl Store {
    /// Every profile known here, with its member id.
    pub(crate) fn profiles(&self) -> Result<Vec<(String, ProfileRecord)>, StoreError> {
        self.trees()
            .profiles
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let id = String::from_utf8(k.to_vec())
                    .map_err(|e| StoreError::corrupt("profiles", e))?;
                Ok((id, from_json("profiles", &v)?))
            })
            .collect()
    }

    /// The newest profile of a member, if one arrived.
    pub(crate) fn profile(&self, member: &MemberId) -> Result<Option<ProfileRecord>, StoreError> {
        match self.trees().profiles.get(member.as_str())? {
            None => Ok(None),
            Some(v) => from_json("profiles", &v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_keyed_by_the_member_id_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = ProfileRecord {
            display_name: "Sam".into(),
            organisation: "Hub".into(),
            updated_at: 1,
            event: None,
            listed: true,
            happy_to_talk_about: String::new(),
            away: false,
        };
        store
            .trees()
            .profiles
            .insert(
                b"@sam:a.example",
                super::super::to_json("p", &record).unwrap(),
            )
            .unwrap();
        let member = MemberId::parse("@sam:a.example").unwrap();
        assert_eq!(store.profile(&member).unwrap(), Some(record));
    }
}
