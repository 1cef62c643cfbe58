//! The web interface: server-rendered pages for members, mentors and admins. Every action
//! is a plain form (post, then redirect), so everything works without JavaScript; one small
//! script (`assets/kindred.js`) adds live updates. Handlers call the same node methods as
//! the JSON API.

mod assets;
mod chrome;
mod confirm;
pub(crate) mod error;
mod forms;
mod pages;
mod session;
mod time;
mod views;

pub(crate) use session::SESSION_COOKIE;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::node::Node;

/// No inline script or style, nothing from anywhere else, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The web pages' routes (merged into the node's router).
pub(crate) fn routes(node: Node) -> Router<Node> {
    use pages::{
        accounts, admin, chat, content, coordinator, help, mentoring, moderation, notifications,
        profile, safeguarding, safety, settings, standing, your_data,
    };
    Router::new()
        .route("/", get(content::home))
        .route("/signin", get(accounts::signin_form).post(accounts::signin))
        .route("/signout", post(accounts::signout))
        .route("/setup", get(accounts::setup_form).post(accounts::setup))
        .route(
            "/join/{code}",
            get(accounts::join_form).post(accounts::join),
        )
        .route(
            "/reset/{token}",
            get(accounts::reset_form).post(accounts::reset),
        )
        .route("/help", get(help::help))
        .route("/guidelines", get(standing::guidelines))
        .route(
            "/report",
            get(moderation::report_form).post(moderation::report),
        )
        .route("/admin/moderation", get(moderation::queue))
        .route("/admin/moderation/act", post(moderation::act))
        .route("/admin/moderation/log", get(moderation::log))
        .route("/admin/moderation/log.csv", get(moderation::log_csv))
        .route(
            "/admin/safeguarding",
            get(safeguarding::safeguarding).post(safeguarding::refer),
        )
        .route(
            "/admin/safeguarding/{id}/acknowledge",
            post(safeguarding::acknowledge),
        )
        .route("/standing", get(standing::standing))
        .route("/standing/appeal", post(standing::appeal))
        .route(
            "/appeal",
            get(standing::appeal_form).post(standing::appeal_signed_out),
        )
        .route("/topics/{topic}", get(content::topic))
        .route(
            "/topics/{topic}/new",
            get(content::compose_form).post(content::compose),
        )
        .route("/posts/{id}", get(content::thread))
        .route("/posts/{id}/reply", post(content::reply))
        .route("/posts/{id}/react", post(content::react))
        .route(
            "/posts/{id}/edit",
            get(content::edit_form).post(content::edit),
        )
        .route(
            "/posts/{id}/retract",
            get(content::retract_form).post(content::retract),
        )
        .route("/search", get(content::search))
        .route("/admin", get(admin::index))
        .route("/admin/members", get(admin::members))
        .route("/admin/members/{username}", post(admin::update_member))
        .route(
            "/admin/members/{username}/reset-link",
            post(admin::reset_link),
        )
        .route("/admin/invites", post(admin::create_invite))
        .route("/admin/invites/{id}/revoke", post(admin::revoke_invite))
        .route(
            "/admin/topics",
            get(admin::topics).post(admin::create_topic),
        )
        .route("/admin/topics/{topic}", post(admin::update_topic))
        .route("/admin/peers", get(admin::peers).post(admin::add_peer))
        .route("/admin/peers/invites", post(admin::create_peer_invite))
        .route("/admin/peers/{node}/block", post(admin::block_peer))
        .route("/admin/peers/{node}/unblock", post(admin::unblock_peer))
        .route("/admin/peers/{node}/decisions", post(admin::peer_decisions))
        .route("/people", get(chat::people))
        .route("/people/{member}", get(profile::profile))
        .route("/people/{member}/{action}", post(safety::block))
        .route("/settings/safety", get(safety::safety).post(safety::save))
        .route("/chat", get(chat::list))
        .route("/chat/start", post(chat::start))
        .route("/chat/new", get(chat::new_group_form).post(chat::new_group))
        .route("/chat/{id}", get(chat::conversation))
        .route("/chat/{id}/send", post(chat::send))
        .route("/chat/{id}/mute", post(chat::mute))
        .route("/chat/{id}/leave", post(chat::leave))
        .route("/chat/{id}/add", post(chat::add))
        .route("/chat/{id}/read", post(chat::read))
        .route(
            "/chat/{id}/messages/{message}/edit",
            get(chat::edit_message_form).post(chat::edit_message),
        )
        .route(
            "/chat/{id}/messages/{message}/retract",
            get(chat::retract_message_form).post(chat::retract_message),
        )
        .route("/fragments/conversations", get(chat::list_fragment))
        .route(
            "/fragments/messages/{id}/{message}",
            get(chat::message_fragment),
        )
        .route("/mentoring", get(mentoring::overview))
        .route(
            "/mentoring/offer",
            get(mentoring::offer_form).post(mentoring::publish_offer),
        )
        .route("/mentoring/offer/{action}", post(mentoring::offer_status))
        .route(
            "/mentoring/ask",
            get(mentoring::ask_form).post(mentoring::ask),
        )
        .route(
            "/mentoring/requests/{id}/withdraw",
            post(mentoring::withdraw_request),
        )
        .route("/mentoring/suggestions", get(mentoring::suggestions))
        .route("/mentoring/propose", post(mentoring::propose))
        .route("/mentoring/matches/{id}", get(mentoring::match_detail))
        .route("/mentoring/matches/{id}/answer", post(mentoring::answer))
        .route(
            "/mentoring/matches/{id}/withdraw",
            post(mentoring::withdraw),
        )
        .route("/mentoring/matches/{id}/agreement", post(mentoring::agree))
        .route(
            "/mentoring/matches/{id}/checkins",
            post(mentoring::check_in),
        )
        .route(
            "/mentoring/matches/{id}/agreement/confirm",
            post(mentoring::confirm),
        )
        .route("/mentoring/matches/{id}/close", post(mentoring::close))
        .route(
            "/mentoring/matches/{id}/reflection",
            post(mentoring::reflect),
        )
        .route("/admin/mentoring", get(coordinator::dashboard))
        .route("/admin/mentoring/counts.csv", get(coordinator::counts_csv))
        .route("/admin/mentoring/rounds", post(coordinator::run_round))
        .route("/admin/mentoring/rounds/{id}", get(coordinator::round))
        .route(
            "/admin/mentoring/rounds/{id}/edit",
            post(coordinator::edit_round),
        )
        .route(
            "/admin/mentoring/rounds/{id}/send",
            post(coordinator::send_round),
        )
        .route("/settings", get(settings::settings))
        .route("/notifications", get(notifications::list))
        .route(
            "/settings/email",
            get(notifications::email).post(notifications::save_email),
        )
        .route("/email/verify", get(notifications::verify))
        .route(
            "/email/unsubscribe",
            get(notifications::unsubscribe_form).post(notifications::unsubscribe),
        )
        .route("/settings/export", get(your_data::export_own))
        .route(
            "/settings/delete",
            get(your_data::delete_own_form).post(your_data::delete_own),
        )
        .route("/privacy", get(your_data::privacy))
        .route(
            "/admin/members/{username}/export",
            get(your_data::export_member),
        )
        .route(
            "/admin/members/{username}/delete",
            get(your_data::delete_member_form).post(your_data::delete_member),
        )
        .route(
            "/admin/members/{username}/stop-deletion",
            post(your_data::stop_deletion),
        )
        .route("/settings/profile", post(settings::profile))
        .route("/settings/password", post(settings::password))
        .route(
            "/settings/devices/sign-out-others",
            post(settings::sign_out_others),
        )
        .route(
            "/settings/devices/{id}/sign-out",
            post(settings::sign_out_device),
        )
        .route("/fragments/posts/{id}", get(content::fragment))
        .route("/assets/{name}", get(assets::asset))
        .route("/manifest.webmanifest", get(assets::manifest))
        // Browsers ask for it on every site; there is none, and that is not an error.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .fallback(error::not_found_page)
        .layer(axum::middleware::from_fn_with_state(
            node,
            error::error_pages,
        ))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Adds the security headers every page gets; pages are never cached (they hold people's
/// words and may be on a shared computer), assets are cached for good (content-hashed).
async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut response = next.run(req).await;
    let cacheable = is_asset && response.status().is_success();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: other sites learn nothing, but browsers still
    // send a real `Origin` on our own form posts (with `no-referrer` it is "null",
    // which the form check must refuse).
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
