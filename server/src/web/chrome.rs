//! What every page shares: the title, who is signed in, the navigation, the help banner,
//! a one-shot notice, and the asset links. Pages hold a `Chrome` and the base template
//! reads it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::PageError;
use super::session::{FLASH_COOKIE, Viewer, set_cookie};
use crate::config::HelpLine;
use crate::error::AppError;
use crate::node::Node;

/// A notice shown once after a redirect. Only these fixed texts can be shown, so nothing a
/// visitor controls ever ends up in the cookie's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flash {
    /// After signing in.
    SignedIn,
    /// After signing out.
    SignedOut,
    /// After publishing a post.
    Posted,
    /// After replying.
    Replied,
    /// After editing.
    Edited,
    /// After retracting.
    Retracted,
    /// After creating an account.
    Welcome,
    /// After changing the password.
    PasswordChanged,
    /// After signing other devices out.
    DevicesSignedOut,
    /// After revoking an invite.
    InviteRevoked,
    /// After an admin changes a member.
    MemberUpdated,
    /// After creating or changing a topic.
    TopicSaved,
    /// After redeeming a federation invite.
    PeerAdded,
    /// After blocking a node.
    PeerBlocked,
    /// After unblocking a node.
    PeerUnblocked,
    /// After leaving a group conversation.
    LeftConversation,
    /// After publishing an offer.
    OfferPublished,
    /// After sending a proposal.
    ProposalSent,
    /// After answering a proposal.
    Answered,
    /// After a check-in.
    CheckedIn,
    /// After closing a match.
    MatchClosed,
    /// After sending a cohort round.
    RoundSent,
    /// After taking back a chat message.
    MessageTakenBack,
}

impl Flash {
    const ALL: [Flash; 23] = [
        Flash::SignedIn,
        Flash::SignedOut,
        Flash::Posted,
        Flash::Replied,
        Flash::Edited,
        Flash::Retracted,
        Flash::Welcome,
        Flash::PasswordChanged,
        Flash::DevicesSignedOut,
        Flash::InviteRevoked,
        Flash::MemberUpdated,
        Flash::TopicSaved,
        Flash::PeerAdded,
        Flash::PeerBlocked,
        Flash::PeerUnblocked,
        Flash::LeftConversation,
        Flash::OfferPublished,
        Flash::ProposalSent,
        Flash::Answered,
        Flash::CheckedIn,
        Flash::MatchClosed,
        Flash::RoundSent,
        Flash::MessageTakenBack,
    ];

    fn code(self) -> &'static str {
        match self {
            Flash::SignedIn => "signed-in",
            Flash::SignedOut => "signed-out",
            Flash::Posted => "posted",
            Flash::Replied => "replied",
            Flash::Edited => "edited",
            Flash::Retracted => "retracted",
            Flash::Welcome => "welcome",
            Flash::PasswordChanged => "password-changed",
            Flash::DevicesSignedOut => "devices-signed-out",
            Flash::InviteRevoked => "invite-revoked",
            Flash::MemberUpdated => "member-updated",
            Flash::TopicSaved => "topic-saved",
            Flash::PeerAdded => "peer-added",
            Flash::PeerBlocked => "peer-blocked",
            Flash::PeerUnblocked => "peer-unblocked",
            Flash::LeftConversation => "left-conversation",
            Flash::OfferPublished => "offer-published",
            Flash::ProposalSent => "proposal-sent",
            Flash::Answered => "answered",
            Flash::CheckedIn => "checked-in",
            Flash::MatchClosed => "match-closed",
            Flash::RoundSent => "round-sent",
            Flash::MessageTakenBack => "message-taken-back",
        }
    }

    /// The notice's text.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Flash::SignedIn => "You are signed in.",
            Flash::SignedOut => "You are signed out. Thank you for being here.",
            Flash::Posted => "Your post is published.",
            Flash::Replied => "Your reply is posted.",
            Flash::Edited => "Your changes are saved.",
            Flash::Retracted => "It has been taken down everywhere it was shared.",
            Flash::Welcome => "Welcome to Kindred. Your account is ready.",
            Flash::PasswordChanged => {
                "Your password is changed. Any other devices signed in to your account are now signed out."
            }
            Flash::DevicesSignedOut => {
                "Signed out. That device will need your password to come back in."
            }
            Flash::InviteRevoked => "The invite link no longer works.",
            Flash::MemberUpdated => "Their account is updated.",
            Flash::TopicSaved => "The topic is saved.",
            Flash::PeerAdded => {
                "Paired. The two nodes are connecting now; this page shows when they are."
            }
            Flash::PeerBlocked => "Blocked. Nothing more is exchanged with that node.",
            Flash::PeerUnblocked => "Unblocked. The nodes will reconnect.",
            Flash::LeftConversation => "You have left the conversation.",
            Flash::OfferPublished => {
                "Your offer is published. People looking for a mentor or buddy can now find it."
            }
            Flash::ProposalSent => {
                "Your request is sent. You will see the answer here, and on the Mentoring page."
            }
            Flash::Answered => "Your answer is sent.",
            Flash::CheckedIn => "Thank you for checking in.",
            Flash::MatchClosed => "The match has ended. Thank you both.",
            Flash::RoundSent => "The proposals are sent to the mentors.",
            Flash::MessageTakenBack => "Your message is taken back.",
        }
    }

    pub(crate) fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The cookie that carries this notice to the next page.
    pub(crate) fn cookie(self, node: &Node) -> HeaderValue {
        set_cookie(
            FLASH_COOKIE,
            self.code(),
            60,
            super::session::secure_cookies(node),
        )
    }
}

/// A link in the main navigation.
pub(crate) struct NavLink {
    /// Where it goes.
    pub(crate) href: &'static str,
    /// What it says.
    pub(crate) label: &'static str,
    /// Whether it is the current section.
    pub(crate) current: bool,
    /// A short mark after the label, such as "new" on Chat.
    pub(crate) badge: Option<&'static str>,
}

/// The signed-in member as the page header shows them.
pub(crate) struct Me {
    /// Display name.
    pub(crate) name: String,
    /// The form token for the sign-out form (and every other form on the page).
    pub(crate) csrf: String,
}

/// The shared part of every page.
pub(crate) struct Chrome {
    /// The page's own title (the `<title>` adds the organisation).
    pub(crate) title: String,
    /// The organisation running this node.
    pub(crate) organisation: String,
    /// Who is signed in, if anyone.
    pub(crate) me: Option<Me>,
    /// Main navigation (signed in only).
    pub(crate) nav: Vec<NavLink>,
    /// The one-shot notice.
    pub(crate) flash: Option<&'static str>,
    /// Help banner: the first lines are shown on every page.
    pub(crate) help_lines: Vec<HelpLine>,
    /// Stylesheet URL.
    pub(crate) css: String,
    /// Script URL.
    pub(crate) js: String,
    /// `data-topic` for live updates.
    pub(crate) live_topic: Option<String>,
    /// `data-thread` for live updates.
    pub(crate) live_thread: Option<String>,
    /// Whether this is the home page (live updates of new posts anywhere).
    pub(crate) live_home: bool,
    /// Whether this is the conversation list (refreshed live).
    pub(crate) live_chat_list: bool,
    /// `data-conversation` for live messages.
    pub(crate) live_conversation: Option<String>,
    /// Other `data-*` attributes on `<body>` for the live script (name without `data-`).
    pub(crate) live_data: Vec<(&'static str, String)>,
}

impl Chrome {
    /// Chrome for a signed-in page in `section` (a nav href such as `/` or `/search`).
    pub(crate) fn member(
        node: &Node,
        viewer: &Viewer,
        title: impl Into<String>,
        section: &str,
    ) -> Self {
        let mut nav = vec![
            NavLink {
                href: "/",
                label: "Home",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/people",
                label: "People",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/chat",
                label: "Chat",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/mentoring",
                label: "Mentoring",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/search",
                label: "Search",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/settings",
                label: "Settings",
                current: false,
                badge: None,
            },
            NavLink {
                href: "/help",
                label: "Help",
                current: false,
                badge: None,
            },
        ];
        if viewer.is_moderator() {
            // Before Help, which stays last.
            nav.insert(
                nav.len() - 1,
                NavLink {
                    href: "/admin",
                    label: "Admin",
                    current: false,
                    badge: None,
                },
            );
        }
        for link in &mut nav {
            link.current = link.href == section;
        }
        let mut chrome = Self {
            me: Some(Me {
                name: viewer.auth.member.display_name.clone(),
                csrf: viewer.csrf.clone(),
            }),
            nav,
            flash: viewer.flash.map(Flash::message),
            ..Self::public(node, title)
        };
        chrome.mark_unread(node, viewer);
        chrome
    }

    /// Marks the Chat link "new" when a conversation has unread messages (again after a
    /// page has just read some).
    pub(crate) fn mark_unread(&mut self, node: &Node, viewer: &Viewer) {
        let unread = node.has_unread(&viewer.auth.member_id).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot tell whether there are unread messages");
            false
        });
        for link in &mut self.nav {
            if link.href == "/chat" {
                link.badge = unread.then_some("new");
            }
        }
    }

    /// Chrome for a page anyone may see.
    pub(crate) fn public(node: &Node, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            organisation: node.config().node.organisation.clone(),
            me: None,
            nav: Vec::new(),
            flash: None,
            help_lines: node.config().help.lines.clone(),
            css: super::assets::css_url(),
            js: super::assets::js_url(),
            live_topic: None,
            live_thread: None,
            live_home: false,
            live_chat_list: false,
            live_conversation: None,
            live_data: Vec::new(),
        }
    }

    /// The help lines shown in the banner (the first two).
    pub(crate) fn banner_lines(&self) -> &[HelpLine] {
        &self.help_lines[..self.help_lines.len().min(2)]
    }
}

/// Renders a page; clears the one-shot notice once shown.
pub(crate) fn render(page: &impl askama::Template, chrome: &Chrome) -> Result<Response, PageError> {
    render_with_status(page, chrome, StatusCode::OK)
}

/// Renders a page with a status (e.g. 400 for a form shown again with errors).
pub(crate) fn render_with_status(
    page: &impl askama::Template,
    chrome: &Chrome,
    status: StatusCode,
) -> Result<Response, PageError> {
    let html = page.render().map_err(AppError::internal)?;
    let mut response = (status, Html(html)).into_response();
    if chrome.flash.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!("{FLASH_COOKIE}=; Path=/; Max-Age=0"))
                .unwrap_or_else(|_| HeaderValue::from_static("")),
        );
    }
    Ok(response)
}

/// A redirect after a form (303: the browser fetches the target with GET), optionally
/// leaving a notice for the next page.
pub(crate) fn see_other(node: &Node, to: &str, flash: Option<Flash>) -> Response {
    let mut response = axum::response::Redirect::to(to).into_response();
    if let Some(flash) = flash {
        response
            .headers_mut()
            .append(header::SET_COOKIE, flash.cookie(node));
    }
    response
}
