//! A node's human name, a DNS-like name such as `chex.example.org`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;
use crate::limits::MAX_NODE_NAME_BYTES;

/// A node's name: lowercase DNS labels (`a-z`, `0-9`, `-`) joined by dots.
///
/// A name is what people read; the node's key is what identifies it. Two nodes may claim the
/// same name, which is why peers are always matched by [`crate::NodeId`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeName(String);

impl NodeName {
    /// Validates a node name. Uppercase is refused rather than folded, so every name has
    /// exactly one spelling on the wire.
    pub fn new(name: impl Into<String>) -> Result<Self, IdError> {
        let name = name.into();
        validate(&name)?;
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate(name: &str) -> Result<(), IdError> {
    if name.is_empty() {
        return Err(IdError::Empty);
    }
    if name.len() > MAX_NODE_NAME_BYTES {
        return Err(IdError::TooLong {
            len: name.len(),
            max: MAX_NODE_NAME_BYTES,
        });
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(IdError::BadChar(c));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return Err(IdError::BadLabel(label.to_owned()));
        }
    }
    Ok(())
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NodeName {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for NodeName {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<NodeName> for String {
    fn from(n: NodeName) -> Self {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_like_names() {
        for ok in ["chex.example.org", "localhost", "node-1.hub.example", "a"] {
            assert!(NodeName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        for bad in [
            "",
            "Chex.org",
            "chex..org",
            "-chex.org",
            "chex-.org",
            ".chex",
            "chex.org.",
            "ch ex",
            "chex_org",
            "ché.org",
        ] {
            assert!(NodeName::new(bad).is_err(), "{bad}");
        }
        assert!(NodeName::new("a".repeat(64)).is_err());
        assert!(NodeName::new(["a"; 130].join(".")).is_err());
    }
}
