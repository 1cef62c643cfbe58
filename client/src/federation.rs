//! Client calls for federation (admins): pairing, peers and their links, warnings, blocks
//! and what is done with a peer's shared moderation decisions.

use super::{Client, ClientError};
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// Creates a federation invite for another organisation's admin (admins).
    pub async fn create_peer_invite(&self) -> Result<PeerInviteCreated, ClientError> {
        self.call::<ep::CreatePeerInvite>(&[], None).await
    }

    /// Redeems another node's federation invite (admins); returns the new peer.
    pub async fn add_peer(&self, token: &str) -> Result<PeerView, ClientError> {
        let req = AddPeer {
            token: token.to_owned(),
        };
        self.call::<ep::AddPeer>(&[], Some(&req)).await
    }

    /// Paired and blocked nodes with link status (admins).
    pub async fn peers(&self) -> Result<Vec<PeerView>, ClientError> {
        self.call::<ep::Peers>(&[], None).await
    }

    /// What the admin should know about the federation: forks, name claims, clocks
    /// (admins).
    pub async fn federation_warnings(&self) -> Result<Vec<FederationWarning>, ClientError> {
        self.call::<ep::FederationWarnings>(&[], None).await
    }

    /// Blocks (defederates) a node (admins).
    pub async fn block_peer(&self, node: &kindred_protocol::NodeId) -> Result<(), ClientError> {
        self.block_peer_named(&node.to_hex()).await
    }

    /// Blocks a node given by its id or by the name the node knows it by (admins): also
    /// a node known only through the federation.
    pub async fn block_peer_named(&self, node: &str) -> Result<(), ClientError> {
        self.call::<ep::BlockPeer>(&[node], None).await
    }

    /// Sets what this node does with another node's shared moderation decisions (admins);
    /// the node by its id or name.
    pub async fn set_peer_decisions(
        &self,
        node: &str,
        policy: DecisionPolicy,
    ) -> Result<SetDecisionPolicy, ClientError> {
        self.call::<ep::SetDecisionPolicy>(&[node], Some(&SetDecisionPolicy { policy }))
            .await
    }

    /// Lifts a block on a node given by its id or name (admins).
    pub async fn unblock_peer_named(&self, node: &str) -> Result<(), ClientError> {
        self.call::<ep::UnblockPeer>(&[node], None).await
    }

    /// Lifts a block (admins).
    pub async fn unblock_peer(&self, node: &kindred_protocol::NodeId) -> Result<(), ClientError> {
        self.call::<ep::UnblockPeer>(&[&node.to_hex()], None).await
    }
}
