//! Federation administration: invites between organisations' nodes, peers and blocks.

use serde::{Deserialize, Serialize};

use crate::{NodeId, NodeName, Timestamp};

/// `POST /api/v1/peers/invites`: a single-use token for another organisation's admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerInviteCreated {
    /// Give this to the other admin (it is a secret, like a password).
    pub token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// `POST /api/v1/peers`: redeem another node's federation invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddPeer {
    /// The token from the other node's admin.
    pub token: String,
}

/// A paired node (or a blocked one) and the state of the link to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The node's key.
    pub node_id: NodeId,
    /// Its name.
    pub name: NodeName,
    /// Where it is reached, if known.
    pub address: Option<String>,
    /// Whether it is paired (false for nodes blocked without being paired).
    pub paired: bool,
    /// Whether it is blocked (defederated).
    pub blocked: bool,
    /// Whether a link is up right now.
    pub connected: bool,
    /// Since when the current link is up.
    pub connected_since: Option<Timestamp>,
    /// The last error on the link, if any.
    pub last_error: Option<String>,
    /// Events sent to it over current and past links since this node started.
    pub events_sent: u64,
    /// Events received from it since this node started.
    pub events_received: u64,
    /// Shared-log events it has that this node does not (as of its last report).
    pub we_lack: u64,
    /// Shared-log events this node has that it does not.
    pub they_lack: u64,
    /// Directed messages waiting to be delivered to it.
    pub outbox: u64,
    /// When it was paired.
    pub added_at: Option<Timestamp>,
    /// Events it signed that the rules refused since this node started (someone writing
    /// as another node's member, changing a conversation it may not, ...); see the logs.
    #[serde(default)]
    pub refused: u64,
    /// How far its clock was ahead of this node's (negative: behind) when the link came
    /// up, in ms.
    #[serde(default)]
    pub clock_offset_ms: Option<i64>,
    /// The link protocol version it spoke on its last link; below
    /// [`crate::ERASURE_PROTOCOL_VERSION`] it cannot carry out members' erasures.
    #[serde(default)]
    pub protocol_version: Option<u16>,
    /// The organisation running it, as its signed announcement says.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Since when no link has been up (a link went down or an attempt failed), while
    /// none is.
    #[serde(default)]
    pub down_since: Option<Timestamp>,
    /// What this node does with the moderation decisions it shares: paired peers' are
    /// reviewed unless an admin chose otherwise, others' ignored.
    #[serde(default = "review")]
    pub decisions: crate::api::DecisionPolicy,
}

fn review() -> crate::api::DecisionPolicy {
    crate::api::DecisionPolicy::Review
}

/// Where a link to a peer stands, for people: see [`PeerView::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerStatus {
    /// Blocked: nothing is exchanged.
    Blocked,
    /// Connected, and neither side lacks anything the other has.
    UpToDate,
    /// Connected, with this many shared events and waiting messages still to exchange.
    CatchingUp(u64),
    /// Not connected, and no attempt has finished yet (just started, or just paired).
    Connecting,
    /// Not connected since `since` (when known), for `reason` in plain words.
    Unreachable {
        /// Since when.
        since: Option<Timestamp>,
        /// Why, in plain words ("their address did not answer").
        reason: &'static str,
    },
}

impl PeerView {
    /// Where its link stands, in terms an admin can act on.
    pub fn status(&self) -> PeerStatus {
        if self.blocked {
            return PeerStatus::Blocked;
        }
        if self.connected {
            let to_go = self.we_lack + self.they_lack + self.outbox;
            return if to_go == 0 {
                PeerStatus::UpToDate
            } else {
                PeerStatus::CatchingUp(to_go)
            };
        }
        match (&self.last_error, self.down_since) {
            (None, None) => PeerStatus::Connecting,
            (error, since) => PeerStatus::Unreachable {
                since,
                reason: error
                    .as_deref()
                    .map(link_problem)
                    .unwrap_or("the link closed"),
            },
        }
    }
}

/// A link error as an admin can act on it: the operating system's and libraries' words
/// ("Connection reset by peer (os error 104)") become what happened from this side. The
/// raw text stays available in [`PeerView::last_error`].
pub fn link_problem(raw: &str) -> &'static str {
    let e = raw.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| e.contains(w));
    if has(&["certificate", "tls", "handshake", "unknownissuer"]) {
        "their certificate could not be checked"
    } else if has(&[
        "lookup",
        "resolve",
        "name or service",
        "dns",
        "no such host",
    ]) {
        "their address could not be found"
    } else if has(&["timed out", "timeout", "deadline"]) {
        "their address did not answer in time"
    } else if has(&["refused", "no route", "unreachable"]) {
        "their address did not answer"
    } else if has(&["reset", "broken pipe", "eof", "closed", "aborted"]) {
        "the connection was cut"
    } else if has(&["name", "hello", "pair", "key", "signature", "blocked"]) {
        "their node did not accept this one"
    } else {
        "the link failed"
    }
}

/// What kind of federation problem an admin is warned about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A node signed two different events with the same number in its log (a node
    /// restored from an old backup that wrote before catching up, or a lying node).
    Fork,
    /// A node wrote as, or announced, a node name that belongs to another node.
    NameClaim,
    /// A paired node's clock is far from this node's.
    Clock,
    /// A peer brought as many nodes this node had never heard of as it may in a day.
    NewNodes,
    /// A paired node runs an older Kindred that cannot carry out members' erasures.
    OldVersion,
}

/// `GET /api/v1/peers/warnings`: something about the federation an admin should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationWarning {
    /// What kind.
    pub kind: WarningKind,
    /// The node it is about.
    pub node_id: NodeId,
    /// Its name, if known.
    pub node_name: Option<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// How many times it was seen.
    pub count: u64,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// How far apart two clocks are, in words ("40 s", "2 min", "2 h 5 min"), for the same
/// wording on the Peers page, in warnings and in `peers list`.
pub fn clock_distance(ms: u64) -> String {
    let s = (ms + 500) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// "2 h 0 min behind" or "40 s ahead of": a peer's clock against this node's.
pub fn clock_offset_words(offset_ms: i64) -> String {
    let direction = if offset_ms > 0 { "ahead of" } else { "behind" };
    format!("{} {direction}", clock_distance(offset_ms.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_distances_read_naturally() {
        assert_eq!(clock_distance(40_000), "40 s");
        assert_eq!(clock_distance(125_000), "2 min");
        assert_eq!(clock_offset_words(-7_200_045), "2 h 0 min behind");
        assert_eq!(clock_offset_words(7_500_000), "2 h 5 min ahead of");
    }

    #[test]
    fn link_errors_read_as_what_happened() {
        for (raw, plain) in [
            (
                "IO error: Connection refused (os error 111)",
                "their address did not answer",
            ),
            (
                "Connection reset by peer (os error 104)",
                "the connection was cut",
            ),
            (
                "invalid peer certificate: UnknownIssuer",
                "their certificate could not be checked",
            ),
            (
                "failed to lookup address information: Name or service not known",
                "their address could not be found",
            ),
            ("connect timed out", "their address did not answer in time"),
            ("something new", "the link failed"),
        ] {
            assert_eq!(link_problem(raw), plain, "{raw}");
        }
    }
}
