//! Arguments of the email, reporting, moderation, safeguarding and personal safety
//! commands.

use super::OnOff;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum EmailCommand {
    /// Show your address and choices.
    Show,
    /// Change your address or choices (a new address is sent a link to confirm it).
    Set {
        /// Your email address.
        #[arg(long)]
        address: Option<String>,
        /// Email about chat messages (never their words).
        #[arg(long)]
        chat: Option<OnOff>,
        /// Email about replies to what you wrote.
        #[arg(long)]
        replies: Option<OnOff>,
        /// Email about mentoring.
        #[arg(long)]
        mentoring: Option<OnOff>,
        /// Email about reactions to what you wrote.
        #[arg(long)]
        reactions: Option<OnOff>,
        /// Email about moderators' decisions on your reports or account.
        #[arg(long)]
        moderation: Option<OnOff>,
        /// Quote the first lines of replies.
        #[arg(long)]
        previews: Option<OnOff>,
        /// The digest: off, daily or weekly.
        #[arg(long)]
        digest: Option<Digest>,
        /// A topic the digest covers (repeat for more; the digest covers every topic
        /// when none is followed).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Follow every topic again.
        #[arg(long, conflicts_with = "topics")]
        all_topics: bool,
        /// Quiet hours start (0-23, your time zone).
        #[arg(long)]
        quiet_from: Option<u8>,
        /// Quiet hours end (0-23).
        #[arg(long)]
        quiet_to: Option<u8>,
    },
    /// Remove your address: no more email.
    Remove,
}

/// Why something is reported.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReasonArg {
    /// Harmful or abusive.
    Harmful,
    /// A risk to someone's safety.
    Safety,
    /// Spam.
    Spam,
    /// Misinformation.
    Misinformation,
    /// Breaks the community guidelines.
    Guidelines,
    /// Something else (say what in --note).
    Other,
}

/// What a moderator does.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ActionArg {
    /// Close the reports: no action needed (an appeal: the decision stands).
    Dismiss,
    /// Hide it (or everything a person writes) on this node; --note is shown in its place.
    Hide,
    /// Show it again.
    Restore,
    /// Take it down everywhere (content written here only; needs --yes).
    Retract,
    /// Warn the author (a member here).
    Warn,
    /// Suspend the author, the next step of the ladder (admins; needs --yes).
    Suspend,
    /// End a suspension or pause (admins).
    Reinstate,
}

#[derive(Subcommand)]
pub(crate) enum SafeguardingCommand {
    /// Concerns raised with you (leads) and those you raised.
    List,
    /// Raise a concern about a member of any organisation with their safeguarding leads.
    Refer {
        /// Their member id, like @sam:riverside.example.
        member: String,
        /// The concern, in your words.
        #[arg(long)]
        concern: String,
        /// A post, reply or message it is about (its whole id; repeat for more).
        #[arg(long)]
        content: Vec<String>,
    },
    /// Mark a concern raised with you as read (leads); the organisation that raised it is
    /// told.
    Ack {
        /// Its number, from `safeguarding list`.
        id: u64,
    },
}

#[derive(Subcommand)]
pub(crate) enum SafetyCommand {
    /// Show your mutes and break.
    Show,
    /// Change them.
    Set {
        /// Mute a word or phrase (repeat for more).
        #[arg(long)]
        mute: Vec<String>,
        /// Unmute a word or phrase.
        #[arg(long)]
        unmute: Vec<String>,
        /// Mute a topic.
        #[arg(long)]
        mute_topic: Vec<String>,
        /// Unmute a topic.
        #[arg(long)]
        unmute_topic: Vec<String>,
        /// Take a break of this many days.
        #[arg(long = "break", conflicts_with = "end_break")]
        break_days: Option<u32>,
        /// End your break now.
        #[arg(long)]
        end_break: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum ModerationCommand {
    /// Open reports, grouped by what they are about, and appeals.
    Queue,
    /// Act on a post, reply, chat message (by id) or person (by member id).
    Act {
        /// What the action is about.
        what: String,
        /// The action.
        #[arg(value_enum)]
        action: ActionArg,
        /// The reason (needed to hide, take down, warn or suspend; the people concerned
        /// see it).
        #[arg(long, default_value = "")]
        note: String,
        /// Confirm an action that is hard to undo (retract, suspend).
        #[arg(long)]
        yes: bool,
        /// For hide and restore: also share the decision (without your name) with partner
        /// organisations, who choose whether to follow it.
        #[arg(long)]
        share: bool,
    },
    /// The moderation log, newest first (admins).
    Log {
        /// Only entries older than this number.
        #[arg(long)]
        before: Option<u64>,
        /// The whole log as CSV.
        #[arg(long)]
        csv: bool,
    },
}

/// How often the digest comes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Digest {
    /// Never.
    Off,
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
}
