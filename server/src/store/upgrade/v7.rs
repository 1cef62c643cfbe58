//! Schema 6 → 7: how many members' profiles each other node has stored here, and how many
//! of them are listed, so that `federation.profiles_per_node` applies to profiles that
//! arrived before it existed.

use std::collections::HashMap;

use kindred_protocol::{MemberId, NodeId};

use super::super::federation::{listed_count_key, profile_count_key};
use super::super::from_json;
use super::super::profiles::ProfileRecord;
use super::super::{Store, StoreError};

impl Store {
    pub(super) fn count_profiles_per_node(&self) -> Result<(), StoreError> {
        let own = self.node_name()?.unwrap_or_default();
        let mut counts: HashMap<NodeId, (u64, u64)> = HashMap::new();
        for item in self.trees().profiles.iter() {
            let (k, v) = item?;
            // A key that is not a member id was never written by the rules: skip it.
            let Some(member) = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| MemberId::parse(s).ok())
            else {
                continue;
            };
            if member.node_name() == own {
                continue;
            }
            if let Some(node) = self.bound_node(member.node_name())? {
                let profile: ProfileRecord = from_json("profiles", &v)?;
                let entry = counts.entry(node).or_default();
                entry.0 += 1;
                entry.1 += u64::from(profile.listed);
            }
        }
        // Absolute values: running this again after a crash gives the same counts.
        for (node, (all, listed)) in counts {
            let t = self.trees();
            t.origin_names
                .insert(&profile_count_key(&node)[..], all.to_be_bytes())?;
            t.origin_names
                .insert(&listed_count_key(&node)[..], listed.to_be_bytes())?;
        }
        Ok(())
    }
}
