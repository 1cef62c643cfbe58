//! Who is who: node keys and ids, node names, member ids. Every identifier is a validated
//! newtype, so an invalid one cannot exist past the point where it was parsed.

mod keypair;
mod member_id;
mod node_id;
mod node_name;

pub use keypair::NodeKeypair;
pub use member_id::{MemberId, suggest_localpart};
pub use node_id::NodeId;
pub use node_name::NodeName;
