//! The command line of `kindred-cli`.

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// A setting turned on or off.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
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

/// How a pair would meet, as typed.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ModeArg {
    /// Video or phone.
    Online,
    /// Face to face.
    InPerson,
    /// Either works.
    Either,
}

impl From<ModeArg> for kindred_protocol::event::body::mentoring::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Online => Self::Online,
            ModeArg::InPerson => Self::InPerson,
            ModeArg::Either => Self::Either,
        }
    }
}

/// When and how much time someone has.
#[derive(Args)]
pub(crate) struct AvailabilityArgs {
    /// Hours a month.
    #[arg(long, default_value_t = 2)]
    pub(crate) hours: u16,
    /// Days, comma-separated (mon,tue,...), or none for any day.
    #[arg(long, value_delimiter = ',')]
    pub(crate) days: Vec<String>,
}

#[derive(Subcommand)]
pub(crate) enum MentorCommand {
    /// Publish or update your offer (shared with the whole federation).
    Offer {
        /// A topic from `kindred-cli mentor topics` (repeat).
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        /// Other topics, in your own words.
        #[arg(long, default_value = "")]
        other: String,
        /// Lived-experience areas you choose to show (repeat).
        #[arg(long = "lived-experience")]
        lived_experience: Vec<String>,
        /// A language you speak (repeat).
        #[arg(long = "language", required = true)]
        languages: Vec<String>,
        /// Your region.
        #[arg(long, default_value = "")]
        region: String,
        /// How you meet.
        #[arg(long, value_enum, default_value_t = ModeArg::Either)]
        mode: ModeArg,
        #[command(flatten)]
        availability: AvailabilityArgs,
        /// How many buddies at once.
        #[arg(long, default_value_t = 1)]
        capacity: u16,
        /// A short bio.
        #[arg(long, default_value = "")]
        bio: String,
        /// You prefer buddies from other organisations.
        #[arg(long)]
        prefer_other_orgs: bool,
    },
    /// Pause your offer (hidden everywhere until resumed).
    Pause,
    /// Reopen a paused offer.
    Resume,
    /// Withdraw your offer.
    Withdraw,
    /// The topic list offers and requests use.
    Topics,
}

#[derive(Subcommand)]
pub(crate) enum BuddyCommand {
    /// Ask for a mentor or buddy (the request stays on your node).
    Request {
        /// A topic you want help with (repeat).
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        /// Your goals, in your own words.
        #[arg(long, default_value = "")]
        goals: String,
        /// A language you speak (repeat).
        #[arg(long = "language")]
        languages: Vec<String>,
        /// Your region.
        #[arg(long, default_value = "")]
        region: String,
        /// How you would like to meet.
        #[arg(long, value_enum, default_value_t = ModeArg::Either)]
        mode: ModeArg,
        #[command(flatten)]
        availability: AvailabilityArgs,
        /// Hard requirements: topics, language, region, mode, availability, other_org.
        #[arg(long, value_delimiter = ',')]
        must: Vec<String>,
        /// Nice to have, with a weight 0-100: language=80 (repeat).
        #[arg(long = "nice")]
        nice: Vec<String>,
        /// You would like someone from another organisation.
        #[arg(long)]
        other_org: bool,
    },
    /// Mentors suggested for your request, with the reasons.
    Suggestions {
        /// How many.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// Ask a mentor, with a personal note.
    Propose {
        /// The mentor (@name:node).
        mentor: String,
        /// A personal note.
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum MatchesCommand {
    /// Your proposals and matches.
    List,
    /// One proposal or match.
    Show {
        /// Its id.
        id: String,
    },
    /// Accept a proposal (mentors).
    Accept {
        /// Its id.
        id: String,
        /// A kind word.
        #[arg(long)]
        message: Option<String>,
    },
    /// Decline a proposal gently (mentors; no reason needed).
    Decline {
        /// Its id.
        id: String,
        /// A kind word.
        #[arg(long)]
        message: Option<String>,
    },
    /// Propose goals and how often to meet; the other person confirms them.
    Agree {
        /// The match id.
        id: String,
        /// Goals.
        #[arg(long)]
        goals: String,
        /// Days between meetings.
        #[arg(long, default_value_t = 14)]
        rhythm_days: u16,
    },
    /// Confirm the agreement the other person proposed: the one `matches show` prints with
    /// its id (or, at a terminal, the one shown and agreed to at the prompt).
    Confirm {
        /// The match id.
        id: String,
        /// The proposal's id, as `matches show` prints it.
        #[arg(long)]
        agreement: Option<String>,
    },
    /// Check in: how it is going, 1 (hard going) to 4 (going well).
    Checkin {
        /// The match id.
        id: String,
        /// 1 to 4.
        #[arg(long)]
        pulse: u8,
        /// After the first meeting: good, deciding or not-good.
        #[arg(long, value_parser = ["good", "deciding", "not-good"])]
        fit: Option<String>,
        /// A private note (stays with you).
        #[arg(long)]
        note: Option<String>,
        /// Show the other person how the fit feels (otherwise only you know it).
        #[arg(long)]
        share_fit: bool,
    },
    /// End a match; the reason and rating are your private reflection.
    Close {
        /// The match id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// 1 to 5 (0: no rating).
        #[arg(long, default_value_t = 0)]
        rating: u8,
    },
    /// Say privately how a match that ended went (either person, after it ended).
    Reflect {
        /// The match id.
        id: String,
        /// Why it ended.
        #[arg(long)]
        reason: String,
        /// 1 to 5 (0: no rating).
        #[arg(long, default_value_t = 0)]
        rating: u8,
    },
}

#[derive(Subcommand)]
pub(crate) enum CohortCommand {
    /// Pair this organisation's open requests with mentors, optimally (a draft).
    Run,
    /// Show a round's pairs and reasons.
    Review {
        /// The round id.
        id: String,
    },
    /// Take a request out of a draft round.
    Drop {
        /// The round id.
        id: String,
        /// The request id.
        request: String,
    },
    /// Send a round's pairs as proposals.
    Send {
        /// The round id.
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum MentoringCommand {
    /// Counts of requests, proposals and matches (never content).
    Dashboard {
        /// Print the counts as CSV, for a spreadsheet or a funder report.
        #[arg(long)]
        csv: bool,
    },
}
