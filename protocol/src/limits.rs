//! Size limits for every frame and field. Decoders enforce them, so a peer can never make
//! a node allocate more than a frame's worth of memory or store an oversized field.

/// Largest link frame accepted, in bytes (whole websocket binary message).
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Largest signed event payload, in bytes.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 64 * 1024;
/// Largest event body (the kind-specific part of a payload), in bytes.
pub const MAX_EVENT_BODY_BYTES: usize = 60 * 1024;
/// Most events in one replication batch frame.
pub const MAX_BATCH_EVENTS: usize = 512;
/// Most origins in one have-vector frame.
pub const MAX_HAVE_ENTRIES: usize = 4096;
/// Most nodes a directed event may be addressed to.
pub const MAX_DIRECTED_RECIPIENTS: usize = 32;

/// Longest node name (a DNS name), in bytes.
pub const MAX_NODE_NAME_BYTES: usize = 253;
/// Longest member name (the part between `@` and `:`), in bytes.
pub const MAX_LOCALPART_BYTES: usize = 64;
/// Longest member id (`@name:node`), in bytes.
pub const MAX_MEMBER_ID_BYTES: usize = 1 + MAX_LOCALPART_BYTES + 1 + MAX_NODE_NAME_BYTES;

/// Longest topic name, in bytes.
pub const MAX_TOPIC_BYTES: usize = 80;
/// Longest post title, in bytes.
pub const MAX_TITLE_BYTES: usize = 300;
/// Longest post or reply body (Markdown), in bytes.
pub const MAX_POST_BODY_BYTES: usize = 32 * 1024;
/// Most tags on a post.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in bytes.
pub const MAX_TAG_BYTES: usize = 40;
/// Longest content warning, in bytes.
pub const MAX_CONTENT_WARNING_BYTES: usize = 200;
/// Longest reaction name, in bytes.
pub const MAX_REACTION_BYTES: usize = 32;
/// Longest free-text reason (retraction, moderation, closing a match), in bytes.
pub const MAX_REASON_BYTES: usize = 1000;
/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 100;
/// Longest profile or mentor bio, in bytes.
pub const MAX_BIO_BYTES: usize = 2000;
/// Longest chat message body, in bytes.
pub const MAX_CHAT_BODY_BYTES: usize = 8 * 1024;
/// Longest personal note (proposal, check-in, goals), in bytes.
pub const MAX_NOTE_BYTES: usize = 2000;
/// Most items in a short list (topics, languages, lived-experience areas, days).
pub const MAX_LIST_ITEMS: usize = 32;
/// Longest item of a short list (a topic, a language, a region), in bytes.
pub const MAX_SHORT_TEXT_BYTES: usize = 100;
/// Longest error message carried in an error frame, in bytes.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;
/// Longest node address (a URL) carried in a pairing frame, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 512;
/// Most people in one conversation (the node's own limit may be lower).
pub const MAX_CONVERSATION_MEMBERS: usize = 64;
