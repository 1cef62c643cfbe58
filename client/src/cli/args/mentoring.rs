//! Arguments of the mentoring and buddying commands: offers, requests, matches, cohort
//! rounds and the coordinators' counts.

use clap::{Args, Subcommand, ValueEnum};

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

impl From<ModeArg> for kindred_protocol::event::body::mentoring::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Online => Self::Online,
            ModeArg::InPerson => Self::InPerson,
            ModeArg::Either => Self::Either,
        }
    }
}
