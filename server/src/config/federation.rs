//! The `[federation]` section: how much a node trusts and holds for other nodes.

use serde::Deserialize;

/// Federation safety settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSection {
    /// Bytes of directed events (chat, mentoring) one other node may have waiting here at
    /// once for something that has not arrived yet (a conversation, a message). Beyond
    /// it, its further waiting events are refused. Default 4 MiB.
    pub hold_bytes_per_node: u64,
    /// Bytes of one origin's shared-log events a link holds in memory while it waits for
    /// a gap before them to fill (more are dropped and sent again later). Default 8 MiB.
    pub gap_bytes_per_origin: u64,
    /// At start, how long writing to the shared log waits for the paired nodes to say how
    /// far they hold this node's own log, so a node restored from a backup fetches back
    /// what it wrote after the backup instead of reusing its numbers. Default 20 s.
    pub own_log_wait_seconds: u64,
    /// Whether addresses in other nodes' announcements may be dialled when they are on
    /// loopback or private ranges (127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16, ...), so an
    /// announcement cannot make this node connect to services on its own network. Unset
    /// (the default), it follows this node's own public address: on for a node that is
    /// itself on a loopback or private address (a trial on one machine, a federation inside
    /// one private network), off for a node on the public internet.
    pub dial_private_addresses: Option<bool>,
    /// How far (ms) a peer's clock may be from this node's before the Peers page warns.
    pub clock_warning_ms: u64,
    /// How many nodes this node has never heard of one paired node may bring it (relay
    /// the first events of) in a day. A federation introduces its organisations once;
    /// a node making up new keys to flood others is held to this (and the admin is told
    /// when a peer reaches it). Default 500.
    pub new_origins_per_peer_per_day: u32,
    /// How many of one other node's members may be listed in this node's people directory
    /// (and ten times as many profiles stored, listed or not). Profiles beyond that are
    /// refused (and counted on the Peers page), so no node can fill the directory or the
    /// disk; a member who unlists frees a place. Default 2,000.
    pub profiles_per_node: u64,
}

impl Default for FederationSection {
    fn default() -> Self {
        Self {
            hold_bytes_per_node: 4 * 1024 * 1024,
            gap_bytes_per_origin: 8 * 1024 * 1024,
            own_log_wait_seconds: 20,
            dial_private_addresses: None,
            clock_warning_ms: 60_000,
            new_origins_per_peer_per_day: 500,
            profiles_per_node: 2_000,
        }
    }
}
