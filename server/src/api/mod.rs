//! The client API under `/api/v1/` (JSON) plus `/healthz`. Handlers are thin: they extract,
//! call the node, and map errors; the node holds the logic. Every endpoint is listed in
//! `docs/api.md`. The app (`app/`) mounts these routes beside the web pages.

mod accounts;
pub(crate) mod auth;
mod chat;
mod content;
mod extract;
mod federation;
mod health;
pub(crate) mod limits;
mod mentoring;
pub(crate) mod metrics;
mod moderation;
mod notifications;
mod stream;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};
use kindred_protocol::api::ErrorCode;

use crate::http::error_response;
use crate::node::Node;

pub(crate) use metrics::serve as serve_metrics;

/// The API's routes: `/healthz` and everything under `/api/v1`, whose unknown paths answer
/// a JSON 404 and whose answers are never cached.
pub(crate) fn routes() -> Router<Node> {
    let api = Router::new()
        .route("/setup", post(accounts::setup))
        .route("/sessions", post(accounts::login).get(accounts::sessions))
        .route("/sessions/current", delete(accounts::logout))
        .route("/sessions/{id}", delete(accounts::revoke_session))
        .route("/me", get(accounts::me).patch(accounts::update_me))
        .route("/me/password", post(accounts::change_password))
        .route(
            "/invites",
            post(accounts::create_invite).get(accounts::invites),
        )
        .route("/invites/redeem", post(accounts::redeem_invite))
        .route("/invites/{id}", delete(accounts::revoke_invite))
        .route("/members", get(accounts::members))
        .route("/members/{member}", patch(accounts::update_member))
        .route("/members/{member}/reset-link", post(accounts::reset_link))
        .route("/me/delete", post(accounts::delete_me))
        .route("/me/export", get(accounts::export_me))
        .route("/members/{member}/export", get(accounts::export_member))
        .route(
            "/members/{member}/delete",
            post(accounts::delete_member).delete(accounts::stop_deletion),
        )
        .route("/password-reset", post(accounts::reset_password))
        .route("/members/{member}/posts", get(content::member_posts))
        .route("/topics", get(content::topics).post(content::create_topic))
        .route("/topics/{topic}", patch(content::update_topic))
        .route(
            "/topics/{topic}/posts",
            get(content::topic_posts).post(content::create_post),
        )
        .route(
            "/posts/{id}",
            get(content::thread)
                .put(content::edit)
                .delete(content::retract),
        )
        .route("/post-ids/{short}", get(content::post_id))
        .route("/posts/{id}/replies", post(content::reply))
        .route("/posts/{id}/reactions", post(content::react))
        .route("/posts/{id}/reactions/{reaction}", delete(content::unreact))
        .route("/search", get(content::search))
        .route("/messages", get(chat::messages).post(chat::send_message))
        .route("/people", get(chat::people))
        .route("/people/{member}", get(chat::person))
        .route("/conversations", get(chat::list).post(chat::create))
        .route("/conversations/{id}", get(chat::get).patch(chat::update))
        .route(
            "/conversations/{id}/messages",
            get(chat::history).post(chat::post),
        )
        .route(
            "/conversations/{id}/messages/{message}",
            put(chat::edit).delete(chat::retract),
        )
        .route(
            "/conversations/{id}/messages/{message}/reactions",
            post(chat::react),
        )
        .route(
            "/conversations/{id}/messages/{message}/reactions/{reaction}",
            delete(chat::unreact),
        )
        .route("/conversations/{id}/read", post(chat::read))
        .route("/conversations/{id}/members", post(chat::add_member))
        .route(
            "/conversations/{id}/members/{member}",
            delete(chat::remove_member),
        )
        .route("/blocks", get(chat::blocks).post(chat::block))
        .route("/blocks/{member}", delete(chat::unblock))
        .route("/mentoring/topics", get(mentoring::topics))
        .route("/mentoring/offers", get(mentoring::offers))
        .route(
            "/mentoring/offer",
            get(mentoring::my_offer).put(mentoring::publish_offer),
        )
        .route("/mentoring/offer/{action}", post(mentoring::offer_status))
        .route(
            "/mentoring/requests",
            get(mentoring::requests).post(mentoring::create_request),
        )
        .route(
            "/mentoring/requests/{id}",
            delete(mentoring::withdraw_request),
        )
        .route("/mentoring/suggestions", get(mentoring::suggestions))
        .route("/mentoring/proposals", post(mentoring::propose))
        .route("/mentoring/matches", get(mentoring::matches))
        .route("/mentoring/matches/{id}", get(mentoring::get_match))
        .route("/mentoring/matches/{id}/answer", post(mentoring::answer))
        .route(
            "/mentoring/matches/{id}/withdraw",
            post(mentoring::withdraw),
        )
        .route(
            "/mentoring/matches/{id}/checkins",
            post(mentoring::check_in),
        )
        .route("/mentoring/matches/{id}/agreement", put(mentoring::agree))
        .route(
            "/mentoring/matches/{id}/agreement/confirm",
            post(mentoring::confirm),
        )
        .route("/mentoring/matches/{id}/close", post(mentoring::close))
        .route(
            "/mentoring/matches/{id}/reflection",
            post(mentoring::reflect),
        )
        .route("/mentoring/cohort", post(mentoring::run_round))
        .route(
            "/mentoring/cohort/{id}",
            get(mentoring::get_round).patch(mentoring::edit_round),
        )
        .route("/mentoring/cohort/{id}/send", post(mentoring::send_round))
        .route("/mentoring/dashboard", get(mentoring::dashboard))
        .route("/mentoring/dashboard.csv", get(mentoring::dashboard_csv))
        .route("/peers", get(federation::peers).post(federation::add))
        .route("/peers/invites", post(federation::create_invite))
        .route("/peers/warnings", get(federation::warnings))
        .route("/peers/{node}/block", post(federation::block))
        .route("/peers/{node}/unblock", post(federation::unblock))
        .route("/peers/{node}/decisions", put(federation::decisions))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read", post(notifications::read))
        .route(
            "/me/email",
            get(notifications::email).put(notifications::update_email),
        )
        .route("/reports", post(moderation::report))
        .route("/moderation/queue", get(moderation::queue))
        .route("/moderation/actions", post(moderation::act))
        .route("/moderation/audit", get(moderation::audit))
        .route("/moderation/audit.csv", get(moderation::audit_csv))
        .route(
            "/safeguarding/referrals",
            get(moderation::referrals).post(moderation::refer),
        )
        .route(
            "/safeguarding/referrals/{id}/acknowledge",
            post(moderation::acknowledge),
        )
        .route("/me/standing", get(moderation::standing))
        .route(
            "/me/safety",
            get(moderation::safety).put(moderation::update_safety),
        )
        .route("/me/appeal", post(moderation::appeal))
        .route("/appeal", post(moderation::appeal_signed_out))
        .route("/stream", get(stream::stream))
        .fallback(|| async {
            error_response(ErrorCode::NotFound, "No such API endpoint.".to_owned())
        });
    Router::new()
        .route("/healthz", get(health::health))
        .nest("/api/v1", api)
        .layer(axum::middleware::from_fn(crate::http::answers::api_answers))
}
