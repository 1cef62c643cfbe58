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
    /// Never going to work as it is: the relay refused the address or the message
    /// (5xx), or the settings are wrong.
    #[error("the email server refused it: {0}")]
    Permanent(String),
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
        let host = config.smtp_host.as_deref().ok_or_else(|| {
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

    /// Sends `job`.
    pub(crate) async fn send(&self, job: &MailJob) -> Result<(), SendError> {
        let to: Mailbox = job
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("the address {:?}: {e}", job.to)))?;
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(job.subject.clone());
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
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}
