//! Links in emails that work without signing in: confirming an address, and one-click
//! unsubscribing (RFC 8058). Each carries an ed25519 signature by the node's key over
//! what it allows (who, which address or kind, until when), so a link cannot be made for
//! another member or changed into another one; checking it is signing again (ed25519
//! signatures are deterministic, RFC 8032 §5.1.6) and comparing in constant time.

use kindred_protocol::{MemberId, NodeKeypair};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Confirms that the member reads this address.
    Verify,
    /// Stops one kind of email (or all: `"all"`).
    Unsubscribe,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// The bytes signed: a domain no event payload starts with, then each field on its line.
fn message(purpose: Purpose, member: &MemberId, value: &str, expires: u64) -> Vec<u8> {
    format!(
        "kindred email link v1\n{}\n{}\n{}\n{expires}",
        purpose.tag(),
        member.as_str(),
        value.replace('\n', " ")
    )
    .into_bytes()
}

/// The token for a link: `expires` (ms; 0 for never) and the signature, as hex.
pub(crate) fn token(
    keypair: &NodeKeypair,
    purpose: Purpose,
    member: &MemberId,
    value: &str,
    expires: u64,
) -> String {
    let signature = keypair.sign(&message(purpose, member, value, expires));
    format!("{expires:x}.{}", hex::encode(signature))
}

/// Whether `token` allows `purpose` for `member` and `value` at `now` (ms).
pub(crate) fn check(
    keypair: &NodeKeypair,
    purpose: Purpose,
    member: &MemberId,
    value: &str,
    token: &str,
    now: u64,
) -> Result<(), LinkError> {
    let (expires, signature) = token.split_once('.').ok_or(LinkError::Damaged)?;
    let expires = u64::from_str_radix(expires, 16).map_err(|_| LinkError::Damaged)?;
    let given = hex::decode(signature).map_err(|_| LinkError::Damaged)?;
    let expected = keypair.sign(&message(purpose, member, value, expires));
    if given.len() != expected.len() {
        return Err(LinkError::Damaged);
    }
    let differ = given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differ != 0 {
        return Err(LinkError::Damaged);
    }
    if expires != 0 && now > expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LinkError {
    /// Not made by this node for this, or cut when copied.
    #[error("this link is not complete or not for this")]
    Damaged,
    /// Past its time.
    #[error("this link has expired")]
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_only_for_what_it_was_made_for() {
        let key = NodeKeypair::from_seed(&[7; 32]);
        let other = NodeKeypair::from_seed(&[8; 32]);
        let sam: MemberId = "@sam:a.example".parse().unwrap();
        let ann: MemberId = "@ann:a.example".parse().unwrap();
        let t = token(&key, Purpose::Verify, &sam, "sam@x.example", 1_000);
        assert_eq!(
            check(&key, Purpose::Verify, &sam, "sam@x.example", &t, 999),
            Ok(())
        );
        let refused = [
            check(&key, Purpose::Verify, &sam, "sam@x.example", &t, 1_001),
            check(&key, Purpose::Verify, &ann, "sam@x.example", &t, 0),
            check(&key, Purpose::Verify, &sam, "evil@x.example", &t, 0),
            check(&key, Purpose::Unsubscribe, &sam, "sam@x.example", &t, 0),
            check(&other, Purpose::Verify, &sam, "sam@x.example", &t, 0),
            check(
                &key,
                Purpose::Verify,
                &sam,
                "sam@x.example",
                &t[..t.len() - 2],
                0,
            ),
            check(&key, Purpose::Verify, &sam, "sam@x.example", "", 0),
            check(&key, Purpose::Verify, &sam, "sam@x.example", "zz.zz", 0),
        ];
        assert_eq!(refused[0], Err(LinkError::Expired));
        for r in &refused[1..] {
            assert_eq!(*r, Err(LinkError::Damaged));
        }
        // A later expiry written into the token does not pass.
        let (_, sig) = t.split_once('.').unwrap();
        let stretched = format!("{:x}.{sig}", 9_999_u64);
        assert_eq!(
            check(
                &key,
                Purpose::Verify,
                &sam,
                "sam@x.example",
                &stretched,
                2_000
            ),
            Err(LinkError::Damaged)
        );
        let never = token(&key, Purpose::Unsubscribe, &sam, "chat", 0);
        assert_eq!(
            check(&key, Purpose::Unsubscribe, &sam, "chat", &never, u64::MAX),
            Ok(())
        );
    }
}
