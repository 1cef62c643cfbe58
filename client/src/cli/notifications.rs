//! `kindred-cli notifications` and `kindred-cli email`.

use kindred_client::Client;
use kindred_protocol::api::{DigestFrequency, EmailSettings, UpdateEmailSettings};

use super::args::{Digest, EmailCommand, OnOff};
use super::commands::erased::Json;
use super::output;

type Print<'a> = dyn Fn(String, &dyn Json) -> anyhow::Result<()> + 'a;

/// Lists notifications, newest first, and marks them seen unless asked not to.
pub(crate) async fn list(
    client: &Client,
    before: Option<u64>,
    keep_unread: bool,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let list = client.notifications(before).await?;
    let mut lines: Vec<String> = list
        .items
        .iter()
        .map(|n| {
            format!(
                "{:>6}  {}{}  {}",
                n.seq,
                output::time(n.at),
                if n.read { "" } else { "  NEW" },
                n.text
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push(if before.is_some() {
            "No older notifications.".to_owned()
        } else {
            "No notifications yet.".to_owned()
        });
    }
    if let Some(older) = list.next_before {
        lines.push(format!(
            "Older ones: kindred-cli notifications --before {older}"
        ));
    }
    if !keep_unread && let Some(top) = list.items.iter().map(|n| n.seq).max() {
        client.mark_notifications_read(top).await?;
    }
    print(lines.join("\n"), &list)
}

fn on(v: Option<OnOff>) -> Option<bool> {
    v.map(|v| v == OnOff::On)
}

fn settings_text(s: &EmailSettings) -> String {
    if !s.available {
        return "This node does not send email: its administrator has not set it up.".to_owned();
    }
    let address = match (&s.address, s.verified) {
        (None, _) => "No email address: nothing is emailed.".to_owned(),
        (Some(a), true) => format!("Emails go to {a}."),
        (Some(a), false) => format!(
            "{a} is waiting to be confirmed: open the link sent to it (nothing else is emailed until then)."
        ),
    };
    let yes = |b: bool| if b { "on" } else { "off" };
    let digest = match s.digest {
        DigestFrequency::Off => "off",
        DigestFrequency::Daily => "daily",
        DigestFrequency::Weekly => "weekly",
    };
    let mut text = format!(
        "{address}\nchat {}, replies {}, mentoring {}, reactions {}, moderation {}, previews {}, digest {digest}",
        yes(s.kinds.chat),
        yes(s.kinds.replies),
        yes(s.kinds.mentoring),
        yes(s.kinds.reactions),
        yes(s.kinds.moderation),
        yes(s.previews)
    );
    if !s.topics.is_empty() {
        text.push_str(&format!("\nthe digest covers: {}", s.topics.join(", ")));
    }
    if s.quiet_from != s.quiet_to {
        text.push_str(&format!(
            "\nquiet hours {:02}:00-{:02}:00",
            s.quiet_from, s.quiet_to
        ));
    }
    if let Some(why) = &s.last_failure {
        text.push_str(&format!("\nThe last email could not be delivered: {why}"));
    }
    text
}

/// Shows or changes the member's email settings.
pub(crate) async fn email(
    client: &Client,
    cmd: EmailCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let settings = match cmd {
        EmailCommand::Show => client.email_settings().await?,
        EmailCommand::Remove => {
            client
                .update_email_settings(&UpdateEmailSettings {
                    address: Some(String::new()),
                    ..UpdateEmailSettings::default()
                })
                .await?
        }
        EmailCommand::Set {
            address,
            chat,
            replies,
            mentoring,
            reactions,
            moderation,
            previews,
            digest,
            topics,
            all_topics,
            quiet_from,
            quiet_to,
        } => {
            let current = client.email_settings().await?;
            let mut kinds = current.kinds;
            kinds.chat = on(chat).unwrap_or(kinds.chat);
            kinds.replies = on(replies).unwrap_or(kinds.replies);
            kinds.mentoring = on(mentoring).unwrap_or(kinds.mentoring);
            kinds.reactions = on(reactions).unwrap_or(kinds.reactions);
            kinds.moderation = on(moderation).unwrap_or(kinds.moderation);
            client
                .update_email_settings(&UpdateEmailSettings {
                    address,
                    kinds: Some(kinds),
                    digest: digest.map(|d| match d {
                        Digest::Off => DigestFrequency::Off,
                        Digest::Daily => DigestFrequency::Daily,
                        Digest::Weekly => DigestFrequency::Weekly,
                    }),
                    topics: if all_topics {
                        Some(Vec::new())
                    } else {
                        (!topics.is_empty()).then_some(topics)
                    },
                    previews: on(previews),
                    quiet_from,
                    quiet_to,
                })
                .await?
        }
    };
    print(settings_text(&settings), &settings)
}
