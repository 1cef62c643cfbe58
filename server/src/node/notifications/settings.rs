//! A member's email address and choices: giving and confirming an address, choosing
//! what is emailed, and unsubscribing from a link without signing in.

use kindred_protocol::MemberId;
use kindred_protocol::api::{EmailKinds, EmailSettings, ErrorCode, UpdateEmailSettings};

use super::links::{self, LinkError, Purpose};
use crate::node::AppError;
use crate::node::{Auth, Node};

/// A confirmation link works this long (ms).
const VERIFY_FOR_MS: u64 = 48 * 60 * 60 * 1000;

/// A confirmation link is sent again to the same address at most this often (ms).
const RESEND_AFTER_MS: u64 = 60 * 1000;

/// Confirmation links one member may have sent in an hour, to any addresses.
const LINKS_PER_HOUR: usize = 3;

const HOUR_MS: u64 = 60 * 60 * 1000;

/// The longest address accepted (RFC 5321 §4.5.3.1.3: a path is at most 256 octets).
const MAX_ADDRESS_BYTES: usize = 254;

/// What a one-click unsubscribe link turns off: a kind of notification, the digest,
/// or every email.
pub(crate) const UNSUBSCRIBE_CHOICES: [&str; 6] =
    ["chat", "replies", "mentoring", "reactions", "digest", "all"];

/// What a confirmation link that does not work says (damaged, another's, or for an
/// address no longer on the account).
const LINK_FAILED: &str = "This link is not complete, or is for an address the account no longer has. Copy the whole link from the newest email, or ask for a new one in your settings (Email).";

/// Checks an address as typed: one address, no display name, no spaces.
///
/// Errors: a bad request saying what is wrong.
pub(crate) fn clean_address(typed: &str) -> Result<String, AppError> {
    let address = typed.trim();
    if address.len() > MAX_ADDRESS_BYTES {
        return Err(AppError::bad_request(format!(
            "An email address can be at most {MAX_ADDRESS_BYTES} characters long."
        )));
    }
    let refused = || {
        AppError::bad_request(
            "That does not look like an email address. It should look like name@example.org.",
        )
    };
    // Nothing invisible, direction-changing or look-alike (full-width letters): the
    // address is shown back to the member, and to whoever reads the node's logs.
    if address.chars().any(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{FF00}'..='\u{FFEF}')
            || ['<', '>', ',', '[', ']'].contains(&c)
    }) {
        return Err(refused());
    }
    let parsed = address.parse::<lettre::Address>().map_err(|_| refused())?;
    // A domain people can be reached at: a name with a dot, not this machine.
    let domain = parsed.domain().to_ascii_lowercase();
    if !domain.contains('.') || domain == "localhost" || domain.ends_with(".localhost") {
        return Err(refused());
    }
    Ok(parsed.to_string())
}

impl Node {
    /// The member's email settings.
    pub(crate) fn email_settings(&self, member: &MemberId) -> Result<EmailSettings, AppError> {
        let s = self.store().notify_settings(member)?;
        Ok(EmailSettings {
            available: self.config().email.enabled(),
            address: s.address,
            verified: s.verified_at.is_some(),
            kinds: s.kinds,
            digest: s.digest,
            topics: self.followed_topic_names(&s.topics)?,
            previews: s.previews,
            quiet_from: s.quiet_from,
            quiet_to: s.quiet_to,
            last_failure: s.last_failure,
        })
    }

    /// Changes the member's email settings. A new address (or the same one while it is
    /// unconfirmed) is sent a confirmation link; nothing else is emailed to it until the
    /// link is followed.
    ///
    /// A link to the same unconfirmed address within a minute of the last is not sent
    /// again (the other changes are saved).
    ///
    /// Errors: the node sends no email (when an address is given); a bad address or
    /// hour; more than three confirmation links in an hour.
    pub(crate) async fn update_email_settings(
        &self,
        auth: &Auth,
        req: UpdateEmailSettings,
    ) -> Result<EmailSettings, AppError> {
        let member = &auth.member_id;
        let now = self.now().0;
        for (name, hour) in [("quiet_from", req.quiet_from), ("quiet_to", req.quiet_to)] {
            if hour.is_some_and(|h| h > 23) {
                return Err(AppError::bad_request(format!(
                    "{name} is an hour of the day, from 0 to 23."
                )));
            }
        }
        // `None` inside: the address is being removed.
        let new_address = match &req.address {
            None => None,
            Some(typed) if typed.trim().is_empty() => Some(None),
            Some(typed) => {
                if !self.config().email.enabled() {
                    return Err(AppError::new(
                        ErrorCode::Unavailable,
                        "This node does not send email yet: its administrator has not set it up.",
                    ));
                }
                Some(Some(clean_address(typed)?))
            }
        };
        let topics = req
            .topics
            .as_ref()
            .map(|t| self.topic_keys_of(t))
            .transpose()?;
        // Read, changed and saved as one step: the mailer saving the same settings
        // meanwhile neither loses this change nor has its own lost.
        let link_to = self.store().update_notify_settings(member, |s| {
            let mut link_to = None;
            match &new_address {
                None => {}
                Some(None) => {
                    s.address = None;
                    s.verified_at = None;
                    s.last_failure = None;
                }
                Some(Some(address)) => {
                    let same = s.address.as_deref() == Some(address.as_str());
                    let just_sent =
                        same && s.link_sent_at.is_some_and(|t| now < t + RESEND_AFTER_MS);
                    if !(just_sent || same && s.verified_at.is_some()) {
                        s.links_sent.retain(|t| now < t + HOUR_MS);
                        if s.links_sent.len() >= LINKS_PER_HOUR {
                            return Err(AppError::new(
                                ErrorCode::RateLimited,
                                "Several confirmation links were sent in the last hour. Please look for them (and in your spam folder), or try again in an hour.",
                            ));
                        }
                        s.links_sent.push(now);
                        s.address = Some(address.clone());
                        s.verified_at = None;
                        s.last_failure = None;
                        s.link_sent_at = Some(now);
                        link_to = Some(address.clone());
                    }
                }
            }
            if let Some(kinds) = &req.kinds {
                s.kinds = *kinds;
            }
            if let Some(digest) = req.digest {
                // A digest turned on covers from now, not from when the address was
                // confirmed.
                if s.digest == kindred_protocol::api::DigestFrequency::Off
                    && digest != kindred_protocol::api::DigestFrequency::Off
                {
                    s.digest_since = Some(now);
                }
                s.digest = digest;
            }
            if let Some(topics) = &topics {
                s.topics = topics.clone();
            }
            if let Some(previews) = req.previews {
                s.previews = previews;
            }
            if let Some(h) = req.quiet_from {
                s.quiet_from = h;
            }
            if let Some(h) = req.quiet_to {
                s.quiet_to = h;
            }
            Ok(link_to)
        })?;
        if let Some(address) = link_to {
            let expires = now + VERIFY_FOR_MS;
            let token = links::token(self.keypair(), Purpose::Verify, member, &address, expires);
            let link = format!(
                "{}/email/verify?member={}&token={token}",
                self.config().public_url(),
                urlencode(member.as_str())
            );
            let job = self.verification_email(member, &address, &link);
            self.queue_mail(job)?;
        }
        self.email_settings(member)
    }

    /// Confirms `member`'s address from the link sent to it.
    ///
    /// Errors: a link that is damaged, expired, or for an address the member no longer
    /// has.
    pub(crate) fn verify_email(&self, member: &MemberId, token: &str) -> Result<String, AppError> {
        let now = self.now().0;
        // Checked against the address as saved when the confirmation is saved: a change
        // of address meanwhile is not confirmed by the old address's link.
        let (address, confirmed) = self.store().update_notify_settings(member, |s| {
            // One answer for every link that does not work, so a forged one tells nobody
            // whether the member has an address.
            let Some(address) = s.address.clone() else {
                return Err(AppError::bad_request(LINK_FAILED));
            };
            match links::check(
                self.keypair(),
                Purpose::Verify,
                member,
                &address,
                token,
                now,
            ) {
                Ok(()) => {}
                Err(LinkError::Expired) => {
                    return Err(AppError::bad_request(
                        "This link has expired. Ask for a new one in your settings (Email).",
                    ));
                }
                Err(LinkError::Damaged) => return Err(AppError::bad_request(LINK_FAILED)),
            }
            let confirmed = s.verified_at.is_none();
            if confirmed {
                s.verified_at = Some(now);
                s.digest_since.get_or_insert(now);
                s.last_failure = None;
            }
            Ok((address, confirmed))
        })?;
        if confirmed {
            tracing::info!(%member, "email address confirmed");
        }
        Ok(address)
    }

    /// The one-click unsubscribe link (RFC 8058) for `choice` (see
    /// [`UNSUBSCRIBE_CHOICES`]).
    pub(crate) fn unsubscribe_link(&self, member: &MemberId, choice: &str) -> String {
        let token = links::token(self.keypair(), Purpose::Unsubscribe, member, choice, 0);
        format!(
            "{}/email/unsubscribe?member={}&choice={choice}&token={token}",
            self.config().public_url(),
            urlencode(member.as_str())
        )
    }

    /// Whether an unsubscribe link is whole and this node's.
    ///
    /// Errors: an unknown choice or a damaged link (a bad request saying what to do).
    pub(crate) fn check_unsubscribe(
        &self,
        member: &MemberId,
        choice: &str,
        token: &str,
    ) -> Result<(), AppError> {
        if !UNSUBSCRIBE_CHOICES.contains(&choice)
            || links::check(
                self.keypair(),
                Purpose::Unsubscribe,
                member,
                choice,
                token,
                0,
            )
            .is_err()
        {
            return Err(AppError::bad_request(
                "This unsubscribe link is not complete. Copy the whole link from the email, or change what you get in your settings (Email).",
            ));
        }
        Ok(())
    }

    /// Turns off `choice` for `member`, from a link in an email (no sign-in).
    ///
    /// Errors: an unknown choice or a damaged link.
    pub(crate) fn unsubscribe(
        &self,
        member: &MemberId,
        choice: &str,
        token: &str,
    ) -> Result<(), AppError> {
        self.check_unsubscribe(member, choice, token)?;
        if member.node_name() != self.config().node.name.as_str()
            || self.store().member(member.localpart())?.is_none()
        {
            // The account is gone, and with it everything it was emailed.
            return Ok(());
        }
        self.store().update_notify_settings(member, |s| {
            match choice {
                "chat" => s.kinds.chat = false,
                "replies" => s.kinds.replies = false,
                "mentoring" => s.kinds.mentoring = false,
                "reactions" => s.kinds.reactions = false,
                "moderation" => s.kinds.moderation = false,
                "digest" => s.digest = kindred_protocol::api::DigestFrequency::Off,
                _ => {
                    s.kinds = EmailKinds {
                        chat: false,
                        replies: false,
                        mentoring: false,
                        reactions: false,
                        moderation: false,
                    };
                    s.digest = kindred_protocol::api::DigestFrequency::Off;
                }
            }
            Ok::<_, AppError>(())
        })?;
        tracing::info!(%member, choice, "unsubscribed from a link");
        Ok(())
    }
}

impl Node {
    /// Keys of the topics named (as typed, any case), refusing names of no known topic.
    fn topic_keys_of(&self, names: &[String]) -> Result<Vec<String>, AppError> {
        let known: Vec<String> = self.topic_views()?.into_iter().map(|t| t.name).collect();
        let mut keys = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let key = crate::rules::topic_key(name);
            if !known.iter().any(|k| crate::rules::topic_key(k) == key) {
                return Err(AppError::bad_request(format!(
                    "There is no topic called {name:?}. Topics: {}.",
                    known.join(", ")
                )));
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The names followed topics are shown by.
    fn followed_topic_names(&self, keys: &[String]) -> Result<Vec<String>, AppError> {
        let known = self.topic_views()?;
        Ok(keys
            .iter()
            .map(|k| {
                known
                    .iter()
                    .find(|t| crate::rules::topic_key(&t.name) == *k)
                    .map_or_else(|| k.clone(), |t| t.name.clone())
            })
            .collect())
    }
}

/// Percent-encodes a query value (member ids hold `@` and `:`).
pub(crate) fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_people_can_be_reached_at_and_nothing_hidden() {
        assert_eq!(
            clean_address(" sam@riverside.example ").ok().as_deref(),
            Some("sam@riverside.example")
        );
        for bad in [
            "sam at riverside",
            "Sam <sam@riverside.example>",
            "sam@riverside.example, ann@riverside.example",
            "user\u{202e}@riverside.example",
            "user\u{200b}@riverside.example",
            "\u{FF55}ser@riverside.example",
            "user@[127.0.0.1]",
            "user@localhost",
            "a@b",
            "sam@riverside.example\r\nBcc: x@y.example",
        ] {
            assert!(clean_address(bad).is_err(), "{bad:?}");
        }
    }
}
