//! The command line of `kindred-cli`.

mod mentoring;
mod people;
mod safety;

use clap::{Args, Parser, Subcommand};
pub(crate) use mentoring::*;
pub(crate) use people::*;
pub(crate) use safety::*;

/// kindred-cli: use a Kindred node from the command line.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Cli {
    /// The node's address, e.g. https://kindred.chex.example.org (default: the node you last
    /// signed in to, else http://127.0.0.1:7070).
    #[arg(long, global = true, env = "KINDRED_NODE")]
    pub(crate) node: Option<String>,
    /// An extra certificate authority (PEM file) to trust for the node's HTTPS certificate,
    /// for nodes on a private network with their own CA.
    #[arg(long, global = true, env = "KINDRED_CA_FILE")]
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the first admin with the set-up token the node printed.
    Setup {
        /// The set-up token.
        #[arg(long)]
        token: String,
        /// Your sign-in name.
        #[arg(long)]
        username: String,
        /// The name others see (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Create your account from an invite link or code.
    Join {
        /// The invite link (or just its code).
        invite: String,
        /// Your sign-in name.
        #[arg(long)]
        username: String,
        /// The name others see (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Sign in.
    Login {
        /// Your sign-in name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Sign out on this computer.
    Logout,
    /// Show who you are signed in as.
    Whoami,
    /// Change your password (signs out your other sessions).
    Password {
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Download everything your node holds about you, as a ZIP (JSON and a readable page).
    Export {
        /// Where to save it (default: kindred-export-<username>.zip here).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Delete your account: everything you wrote is erased here and on every partner
    /// node (after the node's grace period, if it has one). Cannot be undone.
    DeleteAccount {
        /// Your username, typed again to confirm.
        #[arg(long)]
        confirm: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Change your display name.
    Rename {
        /// The new display name.
        display_name: String,
    },
    /// Your sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Write a post in a topic (the body comes from --body, --body-file or standard input).
    Post {
        /// The topic.
        topic: String,
        /// The title.
        #[arg(long)]
        title: String,
        #[command(flatten)]
        body: BodyArgs,
        /// A tag (repeat for more).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A content warning; readers see it before the post.
        #[arg(long)]
        cw: Option<String>,
    },
    /// Read a topic's posts, newest first.
    Read {
        /// The topic.
        topic: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue after this cursor (printed at the end of a page).
        #[arg(long)]
        before: Option<String>,
    },
    /// Read a post and its replies (a page at a time).
    Thread {
        /// The post's id (its first 8 or more characters are enough).
        id: String,
        /// Continue after this cursor (printed at the end of a page).
        #[arg(long)]
        after: Option<String>,
    },
    /// Reply to a post (or, with --to, to a reply in its thread).
    Reply {
        /// The post's id (its first 8 or more characters are enough).
        id: String,
        /// The reply you are answering.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        body: BodyArgs,
        /// A content warning.
        #[arg(long)]
        cw: Option<String>,
    },
    /// React to a post or reply: thank-you, i-hear-you, helpful, me-too.
    React {
        /// The post or reply's id (its first 8 or more characters are enough).
        id: String,
        /// The reaction.
        reaction: String,
        /// Take the reaction back.
        #[arg(long)]
        remove: bool,
    },
    /// Edit your post or reply.
    Edit {
        /// The post or reply's id (its first 8 or more characters are enough).
        id: String,
        /// A new title (posts).
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        body: BodyArgs,
        /// New tags (posts; repeat).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A content warning.
        #[arg(long)]
        cw: Option<String>,
    },
    /// Retract a post or reply (yours, or as a moderator one from your organisation).
    Retract {
        /// The post or reply's id (its first 8 or more characters are enough).
        id: String,
        /// Why (kept for moderators).
        #[arg(long)]
        reason: Option<String>,
    },
    /// A member's posts and replies (username or @name:node).
    Posts {
        /// The member.
        member: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Search posts and replies.
    Search {
        /// Words to look for.
        #[arg(required = true)]
        words: Vec<String>,
        /// How many results.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print new posts, replies and reactions as they arrive (Ctrl-C to stop).
    Follow,
    /// Member invites (admins).
    #[command(subcommand)]
    Invites(InvitesCommand),
    /// Other organisations' nodes: pairing, status, blocking (admins).
    #[command(subcommand)]
    Peers(PeersCommand),
    /// Private conversations with members here or at paired organisations.
    #[command(subcommand)]
    Chat(ChatCommand),
    /// The people directory.
    #[command(subcommand)]
    People(PeopleCommand),
    /// Offer to mentor: publish, pause, resume, withdraw.
    #[command(subcommand)]
    Mentor(MentorCommand),
    /// Ask for a mentor or buddy, see explained suggestions, propose.
    #[command(subcommand)]
    Buddy(BuddyCommand),
    /// Your proposals and matches: answer, agree, check in, close.
    #[command(subcommand)]
    Matches(MatchesCommand),
    /// Cohort rounds for coordinators: run, review, adjust, send.
    #[command(subcommand)]
    Cohort(CohortCommand),
    /// Mentoring for coordinators.
    #[command(subcommand)]
    Mentoring(MentoringCommand),
    /// What concerns you: replies and reactions to what you wrote, and mentoring news.
    /// Listing them marks them seen.
    Notifications {
        /// Only those older than this number (from an earlier list).
        #[arg(long)]
        before: Option<u64>,
        /// Leave them unread.
        #[arg(long)]
        keep_unread: bool,
    },
    /// Your email address and what is emailed to you.
    #[command(subcommand)]
    Email(EmailCommand),
    /// Report a post, reply, chat message or person to the moderators. The person is
    /// never told who reported them.
    Report {
        /// A post's or reply's id (or its first 8+ characters), a chat message's id, or a
        /// member id such as @sam:riverside.example.
        what: String,
        /// Why.
        #[arg(long, value_enum)]
        reason: ReasonArg,
        /// Anything the moderators should know (stays on your organisation's node).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Moderators: the review queue, actions, and the log (admins).
    #[command(subcommand)]
    Moderation(ModerationCommand),
    /// Muted words and topics, and taking a break (what you see only).
    #[command(subcommand)]
    Safety(SafetyCommand),
    /// Safeguarding concerns raised with other organisations' leads (moderators, admins,
    /// safeguarding leads).
    #[command(subcommand)]
    Safeguarding(SafeguardingCommand),
    /// Your warnings, pause or suspension; `--appeal` asks once for a review.
    Standing {
        /// Why the latest decision should be looked at again.
        #[arg(long)]
        appeal: Option<String>,
    },
    /// Ask for a suspension to be reviewed, when you cannot sign in because of it (your
    /// username and password show it is you; once per decision).
    Appeal {
        /// Your sign-in name.
        #[arg(long)]
        username: String,
        /// Why the decision should be looked at again.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Members (admins).
    #[command(subcommand)]
    Members(MembersCommand),
}

#[derive(Args)]
pub(crate) struct PasswordArgs {
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Args)]
pub(crate) struct BodyArgs {
    /// The text (Markdown).
    #[arg(long, conflicts_with = "body_file")]
    pub(crate) body: Option<String>,
    /// Read the text from a file.
    #[arg(long)]
    pub(crate) body_file: Option<std::path::PathBuf>,
}

/// A setting turned on or off.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}
