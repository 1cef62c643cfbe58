//! Sending one email through the configured SMTP relay (lettre): STARTTLS or implicit
//! TLS with rustls, authentication when configured, and the RFC 8058 one-click
//! unsubscribe headers.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailSection, SmtpSecurity};
use crate::store::MailJob;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// Worth trying again later: the relay was unreachable, busy, or answered 4xx.
    #[error("the email server could not take it now: {0}")]
    Transient(String),
    /// The relay refused this recipient for good (no such mailbox, RFC 3463 5.1.x and
    /// 5.2.x): the member's address needs changing.
    #[error("the email server refused the address: {0}")]
    Recipient(String),
    /// The node's side is wrong (the relay refused its sign-in, its sender, or TLS), or
    /// the settings cannot be used: nothing any member can change, and every email would
    /// meet it. Kept, and tried again once the admin has fixed `[email]`.
    #[error("the node's email settings do not work: {0}")]
    Permanent(String),
}

impl SendError {
    /// Sorts a relay's answer: the recipient's fault, the node's, or passing.
    fn of(e: &lettre::transport::smtp::Error) -> SendError {
        let text = e.to_string();
        if !e.is_permanent() {
            return if e.is_tls() || e.is_client() {
                // No STARTTLS, a certificate that does not verify: settings, not a busy day.
                SendError::Permanent(text)
            } else {
                SendError::Transient(text)
            };
        }
        let code = e.status().map(u16::from);
        let lower = text.to_ascii_lowercase();
        // RFC 3463: 5.1.x are addressing problems, 5.2.x the mailbox's own. Without an
        // enhanced code, the words of a recipient refusal.
        let recipient = matches!(code, Some(550..=553))
            && (lower.contains(" 5.1.")
                || lower.contains(" 5.2.")
                || lower.contains("): 5.1.")
                || lower.contains("): 5.2.")
                || ["mailbox", "recipient", "user unknown", "no such user"]
                    .iter()
                    .any(|w| lower.contains(w)));
        if recipient {
            SendError::Recipient(text)
        } else {
            SendError::Permanent(text)
        }
    }
}

/// The relay, set up from `[email]`.
pub(crate) struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Relay {
    /// Sets up the relay (nothing is sent or connected yet).
    ///
    /// Errors: email is not configured, the sender or host is unusable, or the password
    /// file cannot be read.
    pub(crate) fn new(config: &EmailSection) -> Result<Self, SendError> {
        let host = config.host().ok_or_else(|| {
            SendError::Permanent("email is not set up ([email] smtp_host)".to_owned())
        })?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SendError::Permanent(format!("email.from: {e}")))?;
        let builder = match config.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|e| SendError::Permanent(format!("email.smtp_host {host:?}: {e}")))?;
        let mut builder = builder.port(config.port()).timeout(Some(TIMEOUT));
        if let Some(user) = &config.username {
            let password = match (&config.password, &config.password_file) {
                (Some(p), _) => p.clone(),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .map_err(|e| {
                        SendError::Permanent(format!(
                            "cannot read email.password_file {}: {e}",
                            file.display()
                        ))
                    })?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                (None, None) => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `job` (`id`: its queue number, in its Message-ID, so a copy sent again after
    /// an abrupt stop is known for the same email by mail programs).
    pub(crate) async fn send(&self, id: u64, job: &MailJob) -> Result<(), SendError> {
        let to: Mailbox = job
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("the address {:?}: {e}", job.to)))?;
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(job.subject.clone())
            .message_id(Some(format!(
                "<kindred.{}.{id}@{}>",
                job.created_at,
                self.from.email.domain()
            )));
        if let Some(link) = &job.unsubscribe {
            // RFC 2369 and RFC 8058: mail programs show an unsubscribe button that posts
            // `List-Unsubscribe=One-Click` to the link, no sign-in needed.
            message = message
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = message
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .header(ContentTransferEncoding::QuotedPrintable)
                            .body(job.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .header(ContentTransferEncoding::QuotedPrintable)
                            .body(job.html.clone()),
                    ),
            )
            .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError::of(&e)),
        }
    }
}
