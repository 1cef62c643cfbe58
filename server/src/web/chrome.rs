//! What every page shares: the title, who is signed in, the navigation, the help banner,
//! a one-shot notice, and the asset links. Pages hold a `Chrome` and the base template
//! reads it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::PageError;
use super::session::{FLASH_COOKIE, Viewer, set_cookie};
use crate::config::HelpLine;
use crate::node::AppError;
use crate::node::Node;

/// Declares the notices, each with its cookie code and its text in one place.
macro_rules! notices {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $text:literal;)+) => {
        /// A notice shown once after a redirect. Only these fixed texts can be shown, so
        /// nothing a visitor controls ever ends up in the cookie's message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Flash {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Flash {
            const ALL: &'static [Flash] = &[$(Flash::$variant),+];

            fn code(self) -> &'static str {
                match self {
                    $(Flash::$variant => $code,)+
                }
            }

            /// The notice's text.
            pub(crate) fn message(self) -> &'static str {
                match self {
                    $(Flash::$variant => $text,)+
                }
            }
        }
    };
}

notices! {
    /// After signing in.
    SignedIn = "signed-in", "You are signed in.";
    /// After signing out.
    SignedOut = "signed-out", "You are signed out. Thank you for being here.";
    /// After setting a new password with a reset link.
    PasswordReset = "password-reset", "Your new password is set, and every other sign-in has ended. Sign in with it now.";
    /// After publishing a post.
    Posted = "posted", "Your post is published.";
    /// After replying.
    Replied = "replied", "Your reply is posted.";
    /// After editing.
    Edited = "edited", "Your changes are saved.";
    /// After retracting.
    Retracted = "retracted", "It has been taken down everywhere it was shared.";
    /// After creating an account.
    Welcome = "welcome", "Welcome to Kindred. Your account is ready.";
    /// After changing the password.
    PasswordChanged = "password-changed", "Your password is changed. Any other devices signed in to your account are now signed out.";
    /// After signing other devices out.
    DevicesSignedOut = "devices-signed-out", "Signed out. That device will need your password to come back in.";
    /// After revoking an invite.
    InviteRevoked = "invite-revoked", "The invite link no longer works.";
    /// After an admin changes a member.
    MemberUpdated = "member-updated", "Their account is updated.";
    /// After creating or changing a topic.
    TopicSaved = "topic-saved", "The topic is saved.";
    /// After redeeming a federation invite.
    PeerAdded = "peer-added", "Paired. The two nodes are connecting now; this page shows when they are.";
    /// After blocking a node.
    PeerBlocked = "peer-blocked", "Blocked. Nothing more is exchanged with that node.";
    /// After choosing what to do with a peer's shared decisions.
    PeerUpdated = "peer-updated", "Saved.";
    /// After unblocking a node.
    PeerUnblocked = "peer-unblocked", "Unblocked. The nodes will reconnect.";
    /// After leaving a group conversation.
    LeftConversation = "left-conversation", "You have left the conversation.";
    /// After publishing an offer.
    OfferPublished = "offer-published", "Your offer is published. People looking for a mentor or buddy can now find it.";
    /// After sending a proposal.
    ProposalSent = "proposal-sent", "Your request is sent. You will see the answer here, and on the Mentoring page.";
    /// After answering a proposal.
    Answered = "answered", "Your answer is sent.";
    /// After a check-in.
    CheckedIn = "checked-in", "Thank you for checking in.";
    /// After closing a match.
    MatchClosed = "match-closed", "The match has ended. Thank you both.";
    /// After sending a cohort round.
    RoundSent = "round-sent", "The proposals are sent to the mentors.";
    /// After taking back a chat message.
    MessageTakenBack = "message-taken-back", "Your message is taken back.";
    /// An admin stopped a member's account deletion.
    DeletionStopped = "deletion-stopped", "Their account will not be deleted.";
    /// An admin deleted a member's account.
    MemberDeleted = "member-deleted", "The account is deleted: what they wrote is erased here, and every partner node is told to erase it.";
    /// After saving mutes or a break.
    SafetySaved = "safety-saved", "Saved. Only what you see has changed.";
    /// After blocking someone.
    Blocked = "blocked", "Blocked. What they write is folded away for you, and they cannot message you.";
    /// After unblocking someone.
    Unblocked = "unblocked", "Unblocked.";
    /// After raising a safeguarding concern.
    Referred = "referred", "Sent to their safeguarding leads. You will be told when one has read it.";
    /// After acknowledging a safeguarding concern.
    Acknowledged = "acknowledged", "Marked as read. The organisation that raised it has been told.";
    /// After reporting a concern.
    Reported = "reported", "Thank you for telling us. The moderators will look at it, and you will get a notification when they have decided.";
    /// After a moderation action.
    Moderated = "moderated", "Done. It is recorded in the moderation log.";
    /// After asking for a review.
    Appealed = "appealed", "Your request for a review is with the moderators.";
    /// An admin asked for a member's account to be deleted after the grace period.
    MemberDeletionScheduled = "member-deletion-scheduled", "The account will be deleted when the grace period ends. Until then they cannot sign in, and you can stop it here.";
}

impl Flash {
    pub(crate) fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.code() == code)
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
    /// A short mark after the label, such as "new" on Chat or "3 new" on
    /// Notifications.
    pub(crate) badge: Option<String>,
}

/// The signed-in member as the page header shows them.
pub(crate) struct Me {
    /// Display name.
    pub(crate) name: String,
    /// Unread notifications (the Notifications link's mark and the page title's count;
    /// 0 on the notifications page itself).
    pub(crate) unread: u32,
    /// Whether this is the notifications page.
    pub(crate) on_notifications: bool,
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
    /// Icon URL (the tab's, and the home screen's through the manifest).
    pub(crate) icon: String,
    /// The browser's colour for the page's surroundings (`theme-color`).
    pub(crate) theme_colour: &'static str,
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
    /// What is wrong with the node that the viewer should know: a full disk (everyone
    /// signed in: why saving fails), space running low (admins).
    pub(crate) alerts: Vec<String>,
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
                unread: 0,
                on_notifications: section == "/notifications",
                csrf: viewer.csrf.clone(),
            }),
            nav,
            flash: viewer.flash.map(Flash::message),
            ..Self::public(node, title)
        };
        let disk = node.disk_status();
        if disk.full || viewer.auth.member.role >= kindred_protocol::api::Role::Admin {
            chrome.alerts = disk.problems();
        }
        // The Chat link says "new" while an unmuted conversation has unread messages.
        let unread = node.has_unread(&viewer.auth.member_id).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot tell whether there are unread messages");
            false
        });
        // The Mentoring link, while a request or an agreement waits for their answer.
        let waiting = node
            .mentoring_waiting(&viewer.auth.member_id)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot tell whether mentoring waits for an answer");
                false
            });
        let notifications = node
            .unread_notifications(&viewer.auth.member_id)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot count unread notifications");
                0
            });
        for link in &mut chrome.nav {
            if link.href == "/chat" {
                link.badge = unread.then(|| "new".to_owned());
            }
            if link.href == "/mentoring" {
                link.badge = waiting.then(|| "new".to_owned());
            }
            if link.href == "/admin" {
                // Moderators see how much waits in the review queue.
                link.badge = match node.open_reports(&viewer.auth) {
                    Ok(0) => None,
                    Ok(n) => Some(format!("{n} to review")),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot count open reports");
                        None
                    }
                };
            }
        }
        if let Some(me) = &mut chrome.me
            && section != "/notifications"
        {
            me.unread = notifications;
        }
        chrome
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
            icon: super::assets::icon_url(),
            theme_colour: super::assets::THEME_COLOUR,
            live_topic: None,
            live_thread: None,
            live_home: false,
            live_chat_list: false,
            live_conversation: None,
            live_data: Vec::new(),
            alerts: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_comes_back_from_its_cookie_code() {
        for flash in Flash::ALL {
            assert_eq!(Flash::parse(flash.code()), Some(*flash));
            assert!(!flash.message().is_empty());
        }
        assert_eq!(Flash::parse("<script>"), None);
    }
}
