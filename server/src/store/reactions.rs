//! `reactions`: target id (32) ‖ reaction (u8 len ‖ text) ‖ member (u8 len ‖ text) →
//! the newest reaction event's id (32) ‖ its effective time (u64 BE) ‖ removed (u8). One
//! entry per member and reaction; a removal is kept as such, so the newest of a member's
//! adding and taking back wins whatever order they arrived in. (Entries of 32 bytes,
//! from before schema 6, are additions of time 0.)

use std::collections::BTreeMap;

use kindred_protocol::EventId;

use super::keys::push_text;
use super::{Store, StoreError};

pub(crate) fn reaction_key(target: &EventId, reaction: &str, member: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(32 + 2 + reaction.len() + member.len());
    key.extend_from_slice(target.as_bytes());
    push_text(&mut key, reaction);
    push_text(&mut key, member);
    key
}

/// A reaction entry's value.
pub(crate) fn reaction_value(id: &EventId, at: u64, removed: bool) -> [u8; 41] {
    let mut value = [0u8; 41];
    value[..32].copy_from_slice(id.as_bytes());
    value[32..40].copy_from_slice(&at.to_be_bytes());
    value[40] = u8::from(removed);
    value
}

/// A reaction entry's version (effective time, event id) and whether it is a removal.
pub(crate) fn decode_reaction(value: &[u8]) -> Option<((u64, EventId), bool)> {
    let id = EventId::from_bytes(value.get(..32)?.try_into().ok()?);
    if value.len() == 32 {
        return Some(((0, id), false));
    }
    let at = u64::from_be_bytes(value.get(32..40)?.try_into().ok()?);
    Some(((at, id), *value.get(40)? == 1))
}

/// Splits the part of a key after the target id into (reaction, member).
fn split(rest: &[u8]) -> Option<(&str, &str)> {
    let (&rlen, rest) = rest.split_first()?;
    let reaction = std::str::from_utf8(rest.get(..rlen as usize)?).ok()?;
    let rest = rest.get(rlen as usize..)?;
    let (&mlen, rest) = rest.split_first()?;
    let member = std::str::from_utf8(rest.get(..mlen as usize)?).ok()?;
    Some((reaction, member))
}

impl Store {
    /// Reactions on `target`: for each reaction, how many and whether `viewer` is one.
    pub(crate) fn reactions(
        &self,
        target: &EventId,
        viewer: Option<&str>,
    ) -> Result<BTreeMap<String, (u64, bool)>, StoreError> {
        self.reactions_except(target, viewer, |_| false)
    }

    /// As [`Store::reactions`], leaving out members for whom `hidden` says so (members of
    /// blocked nodes).
    pub(crate) fn reactions_except(
        &self,
        target: &EventId,
        viewer: Option<&str>,
        hidden: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, (u64, bool)>, StoreError> {
        let mut out: BTreeMap<String, (u64, bool)> = BTreeMap::new();
        for item in self.trees().reactions.scan_prefix(target.as_bytes()) {
            let (key, value) = item?;
            if decode_reaction(&value).is_some_and(|(_, removed)| removed) {
                continue;
            }
            let Some((reaction, member)) = split(&key[32..]) else {
                return Err(StoreError::corrupt(
                    "reactions",
                    std::io::Error::other("malformed key"),
                ));
            };
            if hidden(member) {
                continue;
            }
            let entry = out.entry(reaction.to_owned()).or_default();
            entry.0 += 1;
            entry.1 |= viewer == Some(member);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout_is_pinned_and_splits_back() {
        let key = reaction_key(&EventId::from_bytes([1; 32]), "me-too", "@a:b");
        assert_eq!(&key[32..], b"\x06me-too\x04@a:b");
        assert_eq!(split(&key[32..]), Some(("me-too", "@a:b")));
    }
}
