//! Arguments of the account, session, invite, member, topic, peer, people and chat
//! commands.

use super::BodyArgs;
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub(crate) enum SessionsCommand {
    /// List your sessions.
    List,
    /// Sign out one session by id.
    Revoke {
        /// The session id.
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum TopicsCommand {
    /// List topics with counts.
    List,
    /// Create a topic (moderators and admins).
    Create {
        /// The name.
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Keep it inside your organisation (not shared with the federation).
        #[arg(long)]
        org_only: bool,
    },
    /// Change a topic (moderators and admins).
    Update {
        /// The name.
        name: String,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// Share with the federation (true) or keep inside the organisation (false).
        #[arg(long)]
        shared: Option<bool>,
    },
}

#[derive(Subcommand)]
pub(crate) enum InvitesCommand {
    /// Create an invite link.
    Create {
        /// The role it gives.
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
        /// A note for your records (e.g. who it is for).
        #[arg(long)]
        note: Option<String>,
    },
    /// List invites.
    List,
    /// Revoke an unused invite.
    Revoke {
        /// The invite id.
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum PeersCommand {
    /// Create a single-use invite token for another organisation's admin.
    Invite,
    /// Pair with another node using the invite token its admin gave you.
    Add {
        /// The token (starts with kdpeer1_).
        token: String,
    },
    /// List paired and blocked nodes with link status.
    List,
    /// Block (defederate) a node now: its link drops and its posts disappear.
    Block {
        /// The node's id (64 hex characters) or its name, as `peers list` shows them.
        // Not called `node`: that is the global `--node` address, which clap would
        // overwrite with this value.
        #[arg(value_name = "NODE")]
        target: String,
    },
    /// Lift a block.
    Unblock {
        /// The node's id or name.
        #[arg(value_name = "NODE")]
        target: String,
    },
    /// What to do with a node's shared moderation decisions: adopt them, review them in
    /// the queue, or ignore them.
    Decisions {
        /// The node's id or name.
        #[arg(value_name = "NODE")]
        target: String,
        /// adopt, review or ignore.
        #[arg(value_enum)]
        policy: PolicyArg,
    },
}

/// What to do with a node's shared moderation decisions.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PolicyArg {
    /// Follow them: what they hide is hidden here too.
    Adopt,
    /// Put them in the review queue.
    Review,
    /// Do nothing with them.
    Ignore,
}

#[derive(Subcommand)]
pub(crate) enum PeopleCommand {
    /// Find people who are happy to talk (by name, organisation or topic); with no words,
    /// everyone listed.
    #[command(visible_alias = "list")]
    Search {
        /// Words to look for (none: everyone listed).
        words: Vec<String>,
        /// Continue after this cursor (printed at the end of a page).
        #[arg(long)]
        after: Option<String>,
    },
    /// Appear in the people directory, so others can find you and write to you.
    Join {
        /// What you are happy to talk about.
        #[arg(long)]
        about: Option<String>,
    },
    /// Leave the people directory (people you already talk with can still write to you).
    Leave,
    /// One person's profile: organisation, what they are happy to talk about, and whether
    /// they take new messages.
    Show {
        /// Their member id (@name:node).
        member: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ChatCommand {
    /// Your conversations, most recent first, with unread counts.
    List,
    /// Open a one-to-one conversation with someone (@name:node).
    Open {
        /// Who with.
        with: String,
    },
    /// Send a message: to a person (@name:node) or to a conversation (its id).
    Send {
        /// A member id or a conversation id.
        to: String,
        #[command(flatten)]
        body: BodyArgs,
        /// The message you are replying to.
        #[arg(long)]
        reply_to: Option<String>,
    },
    /// Read a conversation (a person's @name:node or a conversation id); marks it read.
    Read {
        /// A member id or a conversation id.
        with: String,
        /// How many of the latest messages.
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// Print new messages as they arrive (Ctrl-C to stop).
    Follow,
    /// Block someone: nothing from them reaches you (they are not told).
    Block {
        /// Who.
        member: String,
        /// Lift the block instead.
        #[arg(long)]
        undo: bool,
    },
    /// Mute a conversation (or unmute it).
    Mute {
        /// The conversation id.
        conversation: String,
        /// Unmute instead.
        #[arg(long)]
        undo: bool,
    },
    /// Share how far you have read with the others in your conversations (on or off).
    ReadMarkers {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        setting: String,
    },
    /// Group conversations.
    #[command(subcommand)]
    Group(GroupCommand),
}

#[derive(Subcommand)]
pub(crate) enum GroupCommand {
    /// Start a group with a name and people (@name:node ...).
    Create {
        /// The group's name.
        name: String,
        /// The people to include.
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Add someone (group admins).
    Add {
        /// The conversation id.
        conversation: String,
        /// Who.
        member: String,
        /// Make them a group admin too.
        #[arg(long)]
        admin: bool,
    },
    /// Remove someone (group admins).
    Remove {
        /// The conversation id.
        conversation: String,
        /// Who.
        member: String,
    },
    /// Leave a group.
    Leave {
        /// The conversation id.
        conversation: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum MembersCommand {
    /// List members.
    List,
    /// Change a member's role.
    Role {
        /// The username.
        username: String,
        /// The new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Suspend a member (they cannot sign in or post).
    Suspend {
        /// The username.
        username: String,
    },
    /// Reinstate a suspended member.
    Reinstate {
        /// The username.
        username: String,
    },
    /// Delete a member's account and erase what they wrote across the federation (after
    /// the node's grace period, if it has one).
    Delete {
        /// The username.
        username: String,
        /// The username typed again, to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Download everything the node holds about a member, as a ZIP (for a subject-access
    /// request).
    Export {
        /// The username.
        username: String,
        /// Where to save it (default: kindred-export-<username>.zip here).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Stop a member's account deletion while the grace period runs.
    StopDeletion {
        /// The username.
        username: String,
    },
    /// Make a single-use link for a member who forgot their password (a new link
    /// replaces the last; it expires after accounts.reset_link_hours).
    ResetLink {
        /// The username.
        username: String,
    },
}

/// A role, as typed on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// Reads and writes.
    Member,
    /// Also creates topics and retracts posts.
    Moderator,
    /// Also manages members and invites.
    Admin,
}

impl From<RoleArg> for kindred_protocol::api::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Member => Self::Member,
            RoleArg::Moderator => Self::Moderator,
            RoleArg::Admin => Self::Admin,
        }
    }
}
