//! Schema 6 → 7: how many members' profiles each other node has stored here, so that
//! `federation.profiles_per_node` applies to profiles that arrived before it existed.

use std::collections::HashMap;

use kindred_protocol::{MemberId, NodeId};

use super::super::federation::profile_count_key;
use super::super::{Store, StoreError};

impl Store {
    pub(super) fn count_profiles_per_node(&self) -> Result<(), StoreError> {
        let own = self.node_name()?.unwrap_or_default();
        let mut counts: HashMap<NodeId, u64> = HashMap::new();
        for item in self.trees().profiles.iter() {
            let (k, _) = item?;
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
                *counts.entry(node).or_default() += 1;
            }
        }
        // Absolute values: running this again after a crash gives the same counts.
        for (node, count) in counts {
            self.trees()
                .origin_names
                .insert(&profile_count_key(&node)[..], &count.to_be_bytes())?;
        }
        Ok(())
    }
}
