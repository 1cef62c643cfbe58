//! Short post ids, as git takes short commit ids: any unique prefix of at least
//! [`MIN_SHORT_ID`] hex characters stands for the post or reply it begins.

use kindred_protocol::api::ErrorCode;
use kindred_protocol::{EventId, MemberId};

use super::Node;
use crate::node::AppError;

/// The fewest hex characters a short id may have (32 bits: a clash among a node's posts
/// is rare, and is answered with `conflict`, never a guess).
pub(crate) const MIN_SHORT_ID: usize = 8;

/// How many stored ids sharing a prefix are looked at; events that are not posts the
/// viewer may see (chat, mentoring, other members' private items) are skipped.
const CANDIDATES: usize = 64;

impl Node {
    /// The post or reply `viewer` may see whose id starts with `text` (8 to 64 hex
    /// characters, any case). Errors: `bad_request` for something that is not a short id,
    /// `not_found` when no visible post starts with it, `conflict` when more than one does.
    pub(crate) fn post_id_from_short(
        &self,
        text: &str,
        viewer: &MemberId,
    ) -> Result<EventId, AppError> {
        let prefix = text.trim().to_ascii_lowercase();
        let hex = prefix.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || prefix.len() < MIN_SHORT_ID || prefix.len() > 64 {
            return Err(AppError::bad_request(format!(
                "A post id is {MIN_SHORT_ID} to 64 characters from 0-9 and a-f, as shown beside each post."
            )));
        }
        let mut found = Vec::new();
        for id in self.store().ids_starting_with(&prefix, CANDIDATES)? {
            if self.post_view(&id, Some(viewer))?.is_some() {
                found.push(id);
            }
        }
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(AppError::not_found(format!(
                "No post or reply you can see has an id starting with {prefix}."
            ))),
            _ => Err(AppError::new(
                ErrorCode::Conflict,
                format!(
                    "More than one post has an id starting with {prefix}; type more of the id."
                ),
            )),
        }
    }
}
