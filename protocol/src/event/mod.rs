//! Events: the signed payload format, the kinds and their bodies, signing, verification.

mod batch;
pub mod body;
mod ids;
mod kind;
mod payload;
mod signed;

pub use batch::verify_batch;
pub use ids::{ConversationId, EventId, Timestamp};
pub use kind::{DeliveryClass, EventBody, EventKind};
pub use payload::{
    Audience, EVENT_FORMAT_VERSION, EVENT_MAGIC, EventPayload, ORIGIN_RANGE, References,
    TOMBSTONE_MAGIC,
};
pub use signed::{SignedEvent, VerifiedEvent};
