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
use axum::handler::Handler;
use axum::routing::{delete, get, patch, post, put};
use kindred_protocol::api::ErrorCode;
use kindred_protocol::api::endpoints::{self as ep, API_ROOT, Call, Method};

use crate::http::error_response;
use crate::node::Node;

pub(crate) use metrics::serve as serve_metrics;

/// The API's routes: `/healthz` and everything under `/api/v1`, each at the method and
/// path its declaration in `kindred_protocol::api::endpoints` gives; unknown paths under
/// `/api/v1` answer a JSON 404, and no answer is cached.
pub(crate) fn routes() -> Router<Node> {
    let api = Router::new()
        .api(ep::Setup, accounts::setup)
        .api(ep::Login, accounts::login)
        .api(ep::Sessions, accounts::sessions)
        .api(ep::Logout, accounts::logout)
        .api(ep::RevokeSession, accounts::revoke_session)
        .api(ep::Me, accounts::me)
        .api(ep::UpdateMe, accounts::update_me)
        .api(ep::ChangePassword, accounts::change_password)
        .api(ep::CreateInvite, accounts::create_invite)
        .api(ep::Invites, accounts::invites)
        .api(ep::RedeemInvite, accounts::redeem_invite)
        .api(ep::RevokeInvite, accounts::revoke_invite)
        .api(ep::Members, accounts::members)
        .api(ep::UpdateMember, accounts::update_member)
        .api(ep::ResetLink, accounts::reset_link)
        .api(ep::DeleteMe, accounts::delete_me)
        .api(ep::ExportMe, accounts::export_me)
        .api(ep::ExportMember, accounts::export_member)
        .api(ep::DeleteMember, accounts::delete_member)
        .api(ep::StopDeletion, accounts::stop_deletion)
        .api(ep::ResetPassword, accounts::reset_password)
        .api(ep::MemberPosts, content::member_posts)
        .api(ep::Topics, content::topics)
        .api(ep::CreateTopic, content::create_topic)
        .api(ep::UpdateTopic, content::update_topic)
        .api(ep::TopicPosts, content::topic_posts)
        .api(ep::CreatePost, content::create_post)
        .api(ep::Thread, content::thread)
        .api(ep::EditPost, content::edit)
        .api(ep::RetractPost, content::retract)
        .api(ep::PostId, content::post_id)
        .api(ep::Reply, content::reply)
        .api(ep::React, content::react)
        .api(ep::Unreact, content::unreact)
        .api(ep::Search, content::search)
        .api(ep::Messages, chat::messages)
        .api(ep::SendMessage, chat::send_message)
        .api(ep::People, chat::people)
        .api(ep::Person, chat::person)
        .api(ep::Conversations, chat::list)
        .api(ep::CreateConversation, chat::create)
        .api(ep::Conversation, chat::get)
        .api(ep::UpdateConversation, chat::update)
        .api(ep::History, chat::history)
        .api(ep::PostMessage, chat::post)
        .api(ep::EditMessage, chat::edit)
        .api(ep::RetractMessage, chat::retract)
        .api(ep::ReactToMessage, chat::react)
        .api(ep::UnreactToMessage, chat::unreact)
        .api(ep::MarkRead, chat::read)
        .api(ep::AddParticipant, chat::add_member)
        .api(ep::RemoveParticipant, chat::remove_member)
        .api(ep::Blocks, chat::blocks)
        .api(ep::Block, chat::block)
        .api(ep::Unblock, chat::unblock)
        .api(ep::MentoringTopics, mentoring::topics)
        .api(ep::Offers, mentoring::offers)
        .api(ep::MyOffer, mentoring::my_offer)
        .api(ep::PublishOffer, mentoring::publish_offer)
        .api(ep::OfferStatus, mentoring::offer_status)
        .api(ep::BuddyRequests, mentoring::requests)
        .api(ep::CreateRequest, mentoring::create_request)
        .api(ep::WithdrawRequest, mentoring::withdraw_request)
        .api(ep::Suggestions, mentoring::suggestions)
        .api(ep::Propose, mentoring::propose)
        .api(ep::Matches, mentoring::matches)
        .api(ep::Match, mentoring::get_match)
        .api(ep::AnswerProposal, mentoring::answer)
        .api(ep::WithdrawProposal, mentoring::withdraw)
        .api(ep::CheckIn, mentoring::check_in)
        .api(ep::ProposeAgreement, mentoring::agree)
        .api(ep::ConfirmAgreement, mentoring::confirm)
        .api(ep::CloseMatch, mentoring::close)
        .api(ep::Reflect, mentoring::reflect)
        .api(ep::RunRound, mentoring::run_round)
        .api(ep::Round, mentoring::get_round)
        .api(ep::EditRound, mentoring::edit_round)
        .api(ep::SendRound, mentoring::send_round)
        .api(ep::Dashboard, mentoring::dashboard)
        .api(ep::DashboardCsv, mentoring::dashboard_csv)
        .api(ep::Peers, federation::peers)
        .api(ep::AddPeer, federation::add)
        .api(ep::CreatePeerInvite, federation::create_invite)
        .api(ep::FederationWarnings, federation::warnings)
        .api(ep::BlockPeer, federation::block)
        .api(ep::UnblockPeer, federation::unblock)
        .api(ep::SetDecisionPolicy, federation::decisions)
        .api(ep::Notifications, notifications::list)
        .api(ep::MarkNotificationsRead, notifications::read)
        .api(ep::EmailSettings, notifications::email)
        .api(ep::UpdateEmailSettings, notifications::update_email)
        .api(ep::Report, moderation::report)
        .api(ep::ModerationQueue, moderation::queue)
        .api(ep::Moderate, moderation::act)
        .api(ep::AuditLog, moderation::audit)
        .api(ep::AuditCsv, moderation::audit_csv)
        .api(ep::Referrals, moderation::referrals)
        .api(ep::Refer, moderation::refer)
        .api(ep::AcknowledgeReferral, moderation::acknowledge)
        .api(ep::Standing, moderation::standing)
        .api(ep::Safety, moderation::safety)
        .api(ep::UpdateSafety, moderation::update_safety)
        .api(ep::Appeal, moderation::appeal)
        .api(ep::AppealSignedOut, moderation::appeal_signed_out)
        .api(ep::Stream, stream::stream)
        .fallback(|| async {
            error_response(ErrorCode::NotFound, "No such API endpoint.".to_owned())
        });
    Router::new()
        .route(ep::Health::ENDPOINT.path, get(health::health))
        .nest(API_ROOT, api)
        .layer(axum::middleware::from_fn(crate::http::answers::api_answers))
}

/// Mounting a handler at an endpoint's declaration.
trait Mount {
    /// Mounts `handler` at `endpoint`'s method and path below the API root.
    fn api<C: Call, H: Handler<T, Node>, T: 'static>(self, endpoint: C, handler: H) -> Self;
}

impl Mount for Router<Node> {
    fn api<C: Call, H: Handler<T, Node>, T: 'static>(self, _: C, handler: H) -> Self {
        let e = C::ENDPOINT;
        let path = e.under_api_root().unwrap_or(e.path);
        let method = match e.method {
            Method::Get => get(handler),
            Method::Post => post(handler),
            Method::Put => put(handler),
            Method::Patch => patch(handler),
            Method::Delete => delete(handler),
        };
        self.route(path, method)
    }
}
