//! Federation invites: a token carrying the inviting node's address, id, name and a fresh
//! secret. The other admin redeems it; pairing then happens over an authenticated link.
//!
//! Token: `kdpeer1_` + hex of: node id (32) ‖ secret (32) ‖ expiry ms (u64 BE) ‖ name
//! length (u8) ‖ name ‖ address length (u16 BE) ‖ address.

use kindred_protocol::api::{AddPeer, ErrorCode, PeerInviteCreated, PeerView};
use kindred_protocol::peer::Role;
use kindred_protocol::{NodeId, NodeName, Timestamp};
use tokio::sync::oneshot;

use super::dial::{connect, ensure_dialer};
use super::link::{Intent, run};
use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::store::PeerInviteRecord;

const PREFIX: &str = "kdpeer1_";
/// How long a federation invite stays valid.
const VALID_FOR_MS: u64 = 7 * 24 * 3_600_000;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) node_id: NodeId,
    pub(crate) secret: [u8; 32],
    pub(crate) expires_at: u64,
    pub(crate) name: NodeName,
    pub(crate) address: String,
}

impl Token {
    pub(crate) fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(80 + self.address.len());
        bytes.extend_from_slice(self.node_id.as_bytes());
        bytes.extend_from_slice(&self.secret);
        bytes.extend_from_slice(&self.expires_at.to_be_bytes());
        let name = self.name.as_str().as_bytes();
        bytes.push(name.len() as u8);
        bytes.extend_from_slice(name);
        let address = self.address.as_bytes();
        bytes.extend_from_slice(&(address.len() as u16).to_be_bytes());
        bytes.extend_from_slice(address);
        format!("{PREFIX}{}", hex::encode(bytes))
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim().strip_prefix(PREFIX)?).ok()?;
        let node_id = NodeId::from_bytes(bytes.get(..32)?.try_into().ok()?);
        let secret = bytes.get(32..64)?.try_into().ok()?;
        let expires_at = u64::from_be_bytes(bytes.get(64..72)?.try_into().ok()?);
        let name_len = *bytes.get(72)? as usize;
        let name = std::str::from_utf8(bytes.get(73..73 + name_len)?).ok()?;
        let at = 73 + name_len;
        let addr_len = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize;
        let address = std::str::from_utf8(bytes.get(at + 2..at + 2 + addr_len)?).ok()?;
        if bytes.len() != at + 2 + addr_len {
            return None;
        }
        Some(Self {
            node_id,
            secret,
            expires_at,
            name: NodeName::new(name).ok()?,
            address: address.to_owned(),
        })
    }
}

impl Node {
    /// Creates a single-use federation invite (admins).
    pub(crate) async fn create_peer_invite(
        &self,
        auth: &Auth,
    ) -> Result<PeerInviteCreated, AppError> {
        auth.require(kindred_protocol::api::Role::Admin)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        let now = Timestamp::now().as_millis();
        let token = Token {
            node_id: self.node_id(),
            secret,
            expires_at: now + VALID_FOR_MS,
            name: self.config().node.name.clone(),
            address: self.config().public_url(),
        };
        self.store().put_peer_invite(
            &crate::node::hash_bytes(&secret),
            &PeerInviteRecord {
                created_by: auth.member.username.clone(),
                created_at: now,
                expires_at: token.expires_at,
                used_by: None,
            },
        )?;
        self.store().durable().await?;
        tracing::info!(by = %auth.member_id, "federation invite created");
        Ok(PeerInviteCreated {
            token: token.encode(),
            expires_at: Timestamp(token.expires_at),
        })
    }
}

/// Redeems another node's federation invite: connects, proves keys, presents the secret,
/// and records the peer on both sides.
pub(crate) async fn redeem(node: &Node, auth: &Auth, req: AddPeer) -> Result<PeerView, AppError> {
    auth.require(kindred_protocol::api::Role::Admin)?;
    let token = Token::decode(&req.token).ok_or_else(|| {
        AppError::bad_request("That is not a federation invite token (they start with kdpeer1_).")
    })?;
    if token.node_id == node.node_id() {
        return Err(AppError::bad_request(
            "That invite is from this node itself.",
        ));
    }
    if token.expires_at <= Timestamp::now().as_millis() {
        return Err(AppError::new(
            ErrorCode::Gone,
            "That federation invite has expired.",
        ));
    }
    if let Err(why) = super::name_free_for(node, token.name.as_str(), &token.node_id) {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("This invite cannot be used: {why}."),
        ));
    }
    if node.store().peer(&token.node_id)?.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("{} is already paired with this node.", token.name),
        ));
    }
    let wire = connect(&token.address, node.tls_client())
        .await
        .map_err(|e| {
            AppError::new(
                ErrorCode::Unavailable,
                format!("Could not reach {} at {}: {e}.", token.name, token.address),
            )
        })?;
    let (done, result) = oneshot::channel();
    let intent = Intent::Redeem {
        expected: token.node_id,
        name: token.name.clone(),
        secret: token.secret,
        address: token.address.clone(),
        done,
    };
    let link_node = node.clone();
    let shutdown = node.shutdown_signal();
    node.tasks().spawn(async move {
        tokio::select! {
            result = run(link_node, wire, Role::Initiator, intent) => {
                if let Err(e) = result {
                    tracing::info!(error = %e, "link after pairing ended");
                }
            }
            _ = shutdown.cancelled() => {}
        }
    });
    match result.await {
        Ok(Ok(peer)) => {
            tracing::info!(by = %auth.member_id, peer = %peer.node_id, name = %peer.name, "paired with a node");
            ensure_dialer(node, peer.node_id);
            let views = node.peer_views()?;
            views
                .into_iter()
                .find(|v| v.node_id == peer.node_id)
                .ok_or_else(|| AppError::internal(std::io::Error::other("peer vanished")))
        }
        Ok(Err(e)) => Err(AppError::new(
            ErrorCode::Forbidden,
            format!("{} did not accept the pairing: {e}.", token.name),
        )),
        Err(_) => Err(AppError::new(
            ErrorCode::Unavailable,
            "The pairing was interrupted.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_junk() {
        let token = Token {
            node_id: NodeId::from_bytes([1; 32]),
            secret: [2; 32],
            expires_at: 1_800_000_000_000,
            name: NodeName::new("chex.example.org").unwrap(),
            address: "https://kindred.chex.example.org".into(),
        };
        let text = token.encode();
        assert!(text.starts_with("kdpeer1_"));
        assert_eq!(Token::decode(&text), Some(token));
        assert_eq!(Token::decode("kdpeer1_zz"), None);
        assert_eq!(Token::decode(&text[..text.len() - 2]), None);
        assert_eq!(Token::decode("kdi_1234"), None);
    }
}
