//! Every client API endpoint, declared once: its method, its path and the types of its
//! request body and answer. The node's router mounts each at its declared path and the
//! client calls it through the same declaration, so the two cannot drift apart; a test
//! checks that `docs/api.md` documents each one.
//!
//! Paths are absolute (`/api/v1/...`, and `/healthz`); `{name}` marks a path parameter,
//! filled in order. A request type `()` means no body; an answer `()` means
//! `204 No Content`. [`Download`] is an answer of bytes (a ZIP or a CSV file) and
//! [`Upgrade`] a websocket (the live stream, `docs/api.md`, "Live updates").

use crate::api;
use crate::event::body::mentoring;

/// Where the client API lives; every endpoint but `/healthz` is under it.
pub const API_ROOT: &str = "/api/v1";

/// An HTTP method the client API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Reads.
    Get,
    /// Creates, or acts.
    Post,
    /// Replaces.
    Put,
    /// Changes some fields.
    Patch,
    /// Removes.
    Delete,
}

impl Method {
    /// The method's name on the wire (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One endpoint: what a request line looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Its name in this module (`Login`), for messages.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The absolute path, `{name}` marking each parameter.
    pub path: &'static str,
}

impl Endpoint {
    /// The path below [`API_ROOT`] (`/sessions`), or `None` for one outside it.
    pub fn under_api_root(&self) -> Option<&'static str> {
        self.path.strip_prefix(API_ROOT)
    }

    /// How many `{...}` parameters the path has.
    pub fn parameters(&self) -> usize {
        self.path.matches('{').count()
    }
}

/// An endpoint as a type: its declaration and the types it carries.
pub trait Call {
    /// Method and path.
    const ENDPOINT: Endpoint;
    /// The JSON request body (`()`: none).
    type Request;
    /// The JSON answer (`()`: 204 No Content).
    type Response;
}

/// The answer is a file to save (a ZIP export, a CSV table), not JSON.
#[derive(Debug, Clone, Copy)]
pub struct Download;

/// The request upgrades to a websocket.
#[derive(Debug, Clone, Copy)]
pub struct Upgrade;

macro_rules! endpoints {
    ($( $(#[$doc:meta])* $name:ident: $method:ident $path:literal, $req:ty => $resp:ty; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Call for $name {
                const ENDPOINT: Endpoint = Endpoint {
                    name: stringify!($name),
                    method: Method::$method,
                    path: $path,
                };
                type Request = $req;
                type Response = $resp;
            }
        )*

        /// Every endpoint, in `docs/api.md`'s order.
        pub const ALL: &[Endpoint] = &[$(<$name as Call>::ENDPOINT),*];
    };
}

endpoints! {
    /// Who this node is and whether it is well.
    Health: Get "/healthz", () => api::Health;

    // Accounts and sessions.
    /// Creates the first admin with the one-time set-up token.
    Setup: Post "/api/v1/setup", api::SetupRequest => api::SessionCreated;
    /// Signs in.
    Login: Post "/api/v1/sessions", api::LoginRequest => api::SessionCreated;
    /// The caller's sessions.
    Sessions: Get "/api/v1/sessions", () => Vec<api::SessionView>;
    /// Signs this session out.
    Logout: Delete "/api/v1/sessions/current", () => ();
    /// Signs another of the caller's sessions out.
    RevokeSession: Delete "/api/v1/sessions/{id}", () => ();
    /// The caller's account.
    Me: Get "/api/v1/me", () => api::MemberView;
    /// Changes the caller's account settings.
    UpdateMe: Patch "/api/v1/me", api::UpdateMe => api::MemberView;
    /// Changes the caller's password.
    ChangePassword: Post "/api/v1/me/password", api::ChangePassword => ();
    /// Makes a member invite.
    CreateInvite: Post "/api/v1/invites", api::CreateInvite => api::InviteCreated;
    /// The member invites.
    Invites: Get "/api/v1/invites", () => Vec<api::InviteView>;
    /// Revokes an invite.
    RevokeInvite: Delete "/api/v1/invites/{id}", () => ();
    /// Joins with an invite code.
    RedeemInvite: Post "/api/v1/invites/redeem", api::RedeemInviteRequest => api::SessionCreated;
    /// The members (admins).
    Members: Get "/api/v1/members", () => Vec<api::MemberView>;
    /// Changes a member's role or suspension.
    UpdateMember: Patch "/api/v1/members/{member}", api::UpdateMember => api::MemberView;
    /// A single-use link for a member to choose a new password.
    ResetLink: Post "/api/v1/members/{member}/reset-link", () => api::ResetLinkCreated;
    /// Everything this node holds about the caller.
    ExportMe: Get "/api/v1/me/export", () => Download;
    /// Everything this node holds about a member (admins).
    ExportMember: Get "/api/v1/members/{member}/export", () => Download;
    /// Deletes the caller's account.
    DeleteMe: Post "/api/v1/me/delete", api::DeleteAccount => api::AccountDeletion;
    /// Deletes a member's account (admins).
    DeleteMember: Post "/api/v1/members/{member}/delete", api::DeleteMember => api::AccountDeletion;
    /// Stops a deletion waiting out its grace period.
    StopDeletion: Delete "/api/v1/members/{member}/delete", () => ();
    /// Chooses a new password with a reset link's token.
    ResetPassword: Post "/api/v1/password-reset", api::ResetPassword => ();

    // Peer-learning posts.
    /// The topics.
    Topics: Get "/api/v1/topics", () => Vec<api::TopicView>;
    /// Makes a topic (moderators).
    CreateTopic: Post "/api/v1/topics", api::CreateTopic => api::TopicView;
    /// Changes a topic (moderators).
    UpdateTopic: Patch "/api/v1/topics/{topic}", api::UpdateTopic => api::TopicView;
    /// A page of a topic's posts (`?before=&limit=`).
    TopicPosts: Get "/api/v1/topics/{topic}/posts", () => api::Page<api::PostView>;
    /// Posts in a topic.
    CreatePost: Post "/api/v1/topics/{topic}/posts", api::NewPost => api::PostView;
    /// A post with a page of its replies (`?after=&limit=`).
    Thread: Get "/api/v1/posts/{id}", () => api::ThreadView;
    /// Edits a post or reply.
    EditPost: Put "/api/v1/posts/{id}", api::EditPost => api::PostView;
    /// Takes a post or reply down everywhere (optional body `Retract`).
    RetractPost: Delete "/api/v1/posts/{id}", api::Retract => ();
    /// The post or reply a short id stands for.
    PostId: Get "/api/v1/post-ids/{short}", () => api::PostIdView;
    /// Replies to a post.
    Reply: Post "/api/v1/posts/{id}/replies", api::NewReply => api::PostView;
    /// Reacts to a post or reply.
    React: Post "/api/v1/posts/{id}/reactions", api::React => Vec<api::ReactionCount>;
    /// Takes a reaction back.
    Unreact: Delete "/api/v1/posts/{id}/reactions/{reaction}", () => Vec<api::ReactionCount>;
    /// A page of one member's posts (`?before=&limit=`).
    MemberPosts: Get "/api/v1/members/{member}/posts", () => api::Page<api::PostView>;
    /// Searches posts (`?q=&limit=`).
    Search: Get "/api/v1/search", () => Vec<api::SearchHit>;

    // People and chat.
    /// The people directory (`?q=&after=&limit=`).
    People: Get "/api/v1/people", () => api::Page<api::PersonView>;
    /// One person as the caller sees them.
    Person: Get "/api/v1/people/{member}", () => api::ProfileView;
    /// The caller's conversations.
    Conversations: Get "/api/v1/conversations", () => Vec<api::ConversationView>;
    /// Starts a conversation.
    CreateConversation: Post "/api/v1/conversations", api::CreateConversation => api::ConversationView;
    /// One conversation.
    Conversation: Get "/api/v1/conversations/{id}", () => api::ConversationView;
    /// Renames or mutes a conversation.
    UpdateConversation: Patch "/api/v1/conversations/{id}", api::UpdateConversation => api::ConversationView;
    /// A page of a conversation's messages (`?before=&limit=`).
    History: Get "/api/v1/conversations/{id}/messages", () => api::Page<api::MessageView>;
    /// Writes in a conversation.
    PostMessage: Post "/api/v1/conversations/{id}/messages", api::NewMessage => api::MessageView;
    /// Edits a message.
    EditMessage: Put "/api/v1/conversations/{id}/messages/{message}", api::EditMessage => api::MessageView;
    /// Takes a message back.
    RetractMessage: Delete "/api/v1/conversations/{id}/messages/{message}", () => ();
    /// Reacts to a message.
    ReactToMessage: Post "/api/v1/conversations/{id}/messages/{message}/reactions", api::React => Vec<api::ReactionCount>;
    /// Takes a reaction to a message back.
    UnreactToMessage: Delete "/api/v1/conversations/{id}/messages/{message}/reactions/{reaction}", () => Vec<api::ReactionCount>;
    /// Marks a conversation read up to a message.
    MarkRead: Post "/api/v1/conversations/{id}/read", api::MarkRead => ();
    /// Adds someone to a group conversation.
    AddParticipant: Post "/api/v1/conversations/{id}/members", api::AddParticipant => api::ConversationView;
    /// Removes someone from a group conversation (or leaves it).
    RemoveParticipant: Delete "/api/v1/conversations/{id}/members/{member}", () => ();
    /// The people the caller blocked.
    Blocks: Get "/api/v1/blocks", () => Vec<String>;
    /// Blocks someone.
    Block: Post "/api/v1/blocks", api::BlockMember => ();
    /// Unblocks someone.
    Unblock: Delete "/api/v1/blocks/{member}", () => ();
    /// Sends a one-to-one message.
    SendMessage: Post "/api/v1/messages", api::SendMessage => api::MessageView;
    /// The one-to-one conversation with someone (`?with=`).
    Messages: Get "/api/v1/messages", () => Vec<api::MessageView>;

    // Mentoring and buddying.
    /// The mentoring topic vocabulary.
    MentoringTopics: Get "/api/v1/mentoring/topics", () => Vec<String>;
    /// Open offers across the federation.
    Offers: Get "/api/v1/mentoring/offers", () => Vec<api::OfferView>;
    /// The caller's offer.
    MyOffer: Get "/api/v1/mentoring/offer", () => api::OfferView;
    /// Publishes the caller's offer.
    PublishOffer: Put "/api/v1/mentoring/offer", api::PublishOffer => api::OfferView;
    /// Pauses, resumes or withdraws the caller's offer (`pause`, `resume`, `withdraw`).
    OfferStatus: Post "/api/v1/mentoring/offer/{action}", () => api::OfferView;
    /// The caller's buddy requests.
    BuddyRequests: Get "/api/v1/mentoring/requests", () => Vec<api::RequestView>;
    /// Asks for a mentor or buddy.
    CreateRequest: Post "/api/v1/mentoring/requests", mentoring::BuddyRequest => api::RequestView;
    /// Withdraws a request.
    WithdrawRequest: Delete "/api/v1/mentoring/requests/{id}", () => ();
    /// Offers that fit a request (`?request=&limit=`).
    Suggestions: Get "/api/v1/mentoring/suggestions", () => Vec<api::Suggestion>;
    /// Proposes a match to a mentor.
    Propose: Post "/api/v1/mentoring/proposals", api::Propose => api::MatchView;
    /// The caller's matches.
    Matches: Get "/api/v1/mentoring/matches", () => Vec<api::MatchView>;
    /// One match.
    Match: Get "/api/v1/mentoring/matches/{id}", () => api::MatchView;
    /// Accepts or declines a proposal (mentors).
    AnswerProposal: Post "/api/v1/mentoring/matches/{id}/answer", api::AnswerProposal => api::MatchView;
    /// Withdraws a proposal (buddies).
    WithdrawProposal: Post "/api/v1/mentoring/matches/{id}/withdraw", () => ();
    /// Proposes an agreement.
    ProposeAgreement: Put "/api/v1/mentoring/matches/{id}/agreement", mentoring::Agreement => api::MatchView;
    /// Confirms the other person's agreement.
    ConfirmAgreement: Post "/api/v1/mentoring/matches/{id}/agreement/confirm", api::ConfirmAgreement => api::MatchView;
    /// Checks in.
    CheckIn: Post "/api/v1/mentoring/matches/{id}/checkins", api::NewCheckIn => api::MatchView;
    /// Ends a match.
    CloseMatch: Post "/api/v1/mentoring/matches/{id}/close", mentoring::Closing => api::MatchView;
    /// Writes one's private reflection on an ended match.
    Reflect: Post "/api/v1/mentoring/matches/{id}/reflection", mentoring::Closing => api::MatchView;
    /// Drafts a cohort round (moderators).
    RunRound: Post "/api/v1/mentoring/cohort", () => api::CohortRound;
    /// A cohort round.
    Round: Get "/api/v1/mentoring/cohort/{id}", () => api::CohortRound;
    /// Changes a draft round.
    EditRound: Patch "/api/v1/mentoring/cohort/{id}", api::EditRound => api::CohortRound;
    /// Sends a round's pairs as proposals.
    SendRound: Post "/api/v1/mentoring/cohort/{id}/send", () => api::CohortRound;
    /// The coordinators' counts.
    Dashboard: Get "/api/v1/mentoring/dashboard", () => api::Dashboard;
    /// The same counts as CSV.
    DashboardCsv: Get "/api/v1/mentoring/dashboard.csv", () => Download;

    // Federation.
    /// A single-use token another node pairs with.
    CreatePeerInvite: Post "/api/v1/peers/invites", () => api::PeerInviteCreated;
    /// Pairs with another node by its token.
    AddPeer: Post "/api/v1/peers", api::AddPeer => api::PeerView;
    /// The peers and how their links are.
    Peers: Get "/api/v1/peers", () => Vec<api::PeerView>;
    /// What the admin is warned about (forks, name claims, clocks).
    FederationWarnings: Get "/api/v1/peers/warnings", () => Vec<api::FederationWarning>;
    /// Blocks (defederates) a node.
    BlockPeer: Post "/api/v1/peers/{node}/block", () => ();
    /// Lifts a block.
    UnblockPeer: Post "/api/v1/peers/{node}/unblock", () => ();
    /// What this node does with a node's shared moderation decisions.
    SetDecisionPolicy: Put "/api/v1/peers/{node}/decisions", api::SetDecisionPolicy => api::SetDecisionPolicy;

    // Notifications and email.
    /// The caller's notifications (`?before=`).
    Notifications: Get "/api/v1/notifications", () => api::NotificationList;
    /// Marks notifications seen.
    MarkNotificationsRead: Post "/api/v1/notifications/read", api::MarkNotificationsRead => ();
    /// The caller's email settings.
    EmailSettings: Get "/api/v1/me/email", () => api::EmailSettings;
    /// Changes the caller's email settings.
    UpdateEmailSettings: Put "/api/v1/me/email", api::UpdateEmailSettings => api::EmailSettings;

    // Keeping people safe.
    /// Reports content or a person.
    Report: Post "/api/v1/reports", api::ReportRequest => api::ReportFiled;
    /// What waits for review (moderators).
    ModerationQueue: Get "/api/v1/moderation/queue", () => api::ModerationQueue;
    /// Takes a moderation action.
    Moderate: Post "/api/v1/moderation/actions", api::ModerationRequest => api::ModerationDone;
    /// The moderation log (admins, `?before=`).
    AuditLog: Get "/api/v1/moderation/audit", () => api::AuditLog;
    /// The whole moderation log as CSV.
    AuditCsv: Get "/api/v1/moderation/audit.csv", () => Download;
    /// Raises a safeguarding concern.
    Refer: Post "/api/v1/safeguarding/referrals", api::NewReferral => api::ReferralView;
    /// Safeguarding concerns received and sent.
    Referrals: Get "/api/v1/safeguarding/referrals", () => Vec<api::ReferralView>;
    /// Marks a concern received as read.
    AcknowledgeReferral: Post "/api/v1/safeguarding/referrals/{id}/acknowledge", () => api::ReferralView;
    /// The caller's standing (warnings, suspension, appeals).
    Standing: Get "/api/v1/me/standing", () => api::Standing;
    /// The caller's muted words, topics and breaks.
    Safety: Get "/api/v1/me/safety", () => api::SafetySettings;
    /// Changes them.
    UpdateSafety: Put "/api/v1/me/safety", api::UpdateSafety => api::SafetySettings;
    /// Appeals the latest decision about the caller.
    Appeal: Post "/api/v1/me/appeal", api::AppealRequest => ();
    /// Appeals a suspension without signing in.
    AppealSignedOut: Post "/api/v1/appeal", api::SignedOutAppeal => ();

    /// Live updates (websocket; `?token=` or the session cookie).
    Stream: Get "/api/v1/stream", () => Upgrade;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_endpoint_is_declared_once_with_a_well_formed_path() {
        let mut seen = HashSet::new();
        for e in ALL {
            assert!(
                seen.insert((e.method, e.path)),
                "{} {} declared twice",
                e.method.as_str(),
                e.path
            );
            assert!(e.path.starts_with('/'), "{}: {}", e.name, e.path);
            assert_eq!(
                e.path.matches('{').count(),
                e.path.matches('}').count(),
                "{}",
                e.name
            );
            assert!(
                e.path == "/healthz" || e.under_api_root().is_some(),
                "{}",
                e.name
            );
        }
    }

    /// `docs/api.md` documents every endpoint: a table row whose first cell has the
    /// method (`GET`, or `GET / POST`) and whose second cell has the path in backticks
    /// (parameters may be named differently).
    #[test]
    fn docs_api_md_lists_every_endpoint() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md"))
            .expect("docs/api.md");
        let documented = documented_endpoints(&docs);
        let missing: Vec<String> = ALL
            .iter()
            .filter(|e| !documented.contains(&(e.method.as_str().to_owned(), shape(e.path))))
            .map(|e| format!("{} {} ({})", e.method.as_str(), e.path, e.name))
            .collect();
        assert!(
            missing.is_empty(),
            "not in docs/api.md:\n{}",
            missing.join("\n")
        );
    }

    /// A path with each parameter written `{}`.
    fn shape(path: &str) -> String {
        let mut out = String::new();
        let mut inside = false;
        for c in path.chars() {
            match c {
                '{' => {
                    inside = true;
                    out.push_str("{}");
                }
                '}' => inside = false,
                _ if inside => {}
                c => out.push(c),
            }
        }
        out
    }

    fn documented_endpoints(docs: &str) -> HashSet<(String, String)> {
        let mut out = HashSet::new();
        for line in docs.lines() {
            let cells: Vec<&str> = line.split(" | ").collect();
            if cells.len() < 2 {
                continue;
            }
            let methods: Vec<String> = cells[0]
                .trim_start_matches('|')
                .split('/')
                .map(|m| m.trim().to_owned())
                .filter(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
                .collect();
            for path in cells[1].split('`').skip(1).step_by(2) {
                let path = path.split('?').next().unwrap_or(path);
                for m in &methods {
                    out.insert((m.clone(), shape(path)));
                }
            }
        }
        out
    }
}
