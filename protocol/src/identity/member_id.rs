//! A member's federation-wide id, `@name:node`, e.g. `@sam:chex.example.org`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::NodeName;
use crate::error::IdError;
use crate::limits::MAX_LOCALPART_BYTES;

/// A member id: a local name at a node. The node named is the member's home node, the
/// authority for their profile, capacity and data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId {
    /// The whole id as text, kept so `as_str` costs nothing.
    full: String,
    /// Byte offset of the `:` separating name and node.
    colon: usize,
}

impl MemberId {
    /// Builds a member id from a local name and a node name.
    pub fn new(localpart: &str, node: &NodeName) -> Result<Self, IdError> {
        validate_localpart(localpart)?;
        Ok(Self {
            full: format!("@{localpart}:{node}"),
            colon: 1 + localpart.len(),
        })
    }

    /// Parses `@name:node`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let rest = s.strip_prefix('@').ok_or(IdError::MemberShape)?;
        let (localpart, node) = rest.split_once(':').ok_or(IdError::MemberShape)?;
        let node = NodeName::new(node)?;
        Self::new(localpart, &node)
    }

    /// The name part (between `@` and `:`).
    pub fn localpart(&self) -> &str {
        &self.full[1..self.colon]
    }

    /// The home node's name.
    pub fn node_name(&self) -> &str {
        &self.full[self.colon + 1..]
    }

    /// The whole id as text.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

/// A valid local name close to what someone typed ("Priya Shah" → "priya.shah", "José"
/// → "jose"), to suggest when what they typed cannot be used; `None` when nothing usable
/// is left (a name written only in another script, for example).
pub fn suggest_localpart(typed: &str) -> Option<String> {
    let folded = crate::text::fold(typed);
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if (c.is_whitespace() || matches!(c, '.' | '_' | '-')) && !out.is_empty() {
            // One separator between words, never two in a row.
            if !out.ends_with(['.', '_', '-']) {
                out.push(if c.is_whitespace() { '.' } else { c });
            }
        }
    }
    let trimmed: String = out
        .trim_end_matches(['.', '_', '-'])
        .chars()
        .take(MAX_LOCALPART_BYTES)
        .collect();
    let trimmed = trimmed.trim_end_matches(['.', '_', '-']).to_owned();
    (validate_localpart(&trimmed).is_ok() && trimmed != typed).then_some(trimmed)
}

/// Local names: lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit.
fn validate_localpart(localpart: &str) -> Result<(), IdError> {
    let first = localpart.chars().next().ok_or(IdError::Empty)?;
    if localpart.len() > MAX_LOCALPART_BYTES {
        return Err(IdError::TooLong {
            len: localpart.len(),
            max: MAX_LOCALPART_BYTES,
        });
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(IdError::BadChar(first));
    }
    match localpart
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(IdError::BadChar(c)),
        None => Ok(()),
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl FromStr for MemberId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MemberId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MemberId> for String {
    fn from(m: MemberId) -> Self {
        m.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_username_is_suggested_for_what_was_typed() {
        for (typed, suggested) in [
            ("Priya Shah", Some("priya.shah")),
            ("José", Some("jose")),
            ("  Sam--P  ", Some("sam-p")),
            ("_x", Some("x")),
            ("王芳", None),
            ("sam", None),
        ] {
            assert_eq!(
                super::suggest_localpart(typed).as_deref(),
                suggested,
                "{typed}"
            );
        }
    }

    #[test]
    fn parses_and_splits() {
        let m = MemberId::parse("@sam.o-k_1:chex.example.org").unwrap();
        assert_eq!(m.localpart(), "sam.o-k_1");
        assert_eq!(m.node_name(), "chex.example.org");
        assert_eq!(m.to_string(), "@sam.o-k_1:chex.example.org");
    }

    #[test]
    fn refuses_malformed_ids() {
        for bad in [
            "sam:chex.org",
            "@sam",
            "@:chex.org",
            "@Sam:chex.org",
            "@_sam:chex.org",
            "@sa m:chex.org",
            "@sam:Chex.org",
            "@sam:chex.org:1",
        ] {
            assert!(MemberId::parse(bad).is_err(), "{bad}");
        }
        assert!(MemberId::parse(&format!("@{}:a.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn json_form_is_the_text_form() {
        let m = MemberId::parse("@sam:chex.org").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"@sam:chex.org\"");
        let back: MemberId = serde_json::from_str("\"@sam:chex.org\"").unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<MemberId>("\"sam\"").is_err());
    }
}
