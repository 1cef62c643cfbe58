//! What the server's operator can do from the host when no admin can sign in:
//! `kindred admin reset-link <username>` makes a password-reset link, through the running
//! node's control socket, or in the data folder when the node is stopped. Reaching either
//! needs the data folder's owner (or root): that is the authority.

use kindred_protocol::api::ResetLinkCreated;

use super::NodeError;
use super::backup::BackupError;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Why the operator's command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The node could not be reached or the folder opened.
    #[error(transparent)]
    Control(#[from] BackupError),
    /// The data folder or database could not be used.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The node refused (an unknown member, say).
    #[error("{0}")]
    Refused(String),
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        OperatorError::Node(NodeError::Store(e))
    }
}

/// Makes a password-reset link for `username` on the node in `config.server.data_dir`.
///
/// Errors: [`OperatorError::Refused`] for an unknown member; [`OperatorError::Control`]
/// or [`OperatorError::Node`] when neither the running node nor the folder can be used
/// (a folder in use by a node that does not answer is refused, never opened twice).
pub fn reset_link(config: &Config, username: &str) -> Result<ResetLinkCreated, OperatorError> {
    let dir = &config.server.data_dir;
    if let Some(answer) = super::backup::control::request_reset_link(dir, username)? {
        return answer.map_err(OperatorError::Refused);
    }
    if crate::store::kv::Engine::holding_data_in(&dir.join("db")).is_none() {
        return Err(BackupError::NoNode(dir.clone()).into());
    }
    let store = Store::open(&dir.join("db"))?;
    let created = super::password_resets::create(
        &store,
        config,
        "the server's operator (kindred admin reset-link)",
        username,
    )
    .map_err(|e| OperatorError::Refused(e.to_string()))?;
    store.flush_now()?;
    Ok(created)
}
