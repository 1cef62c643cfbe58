//! Node-to-node link messages: the handshake and the frames exchanged afterwards.

mod frame;
mod handshake;

pub use frame::{ErrorCode, HaveEntry, PeerFrame};
pub use handshake::{HANDSHAKE_MAGIC, Handshake, Hello, Nonce, Proof, Role, transcript};
