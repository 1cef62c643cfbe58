//! End-to-end tests: real nodes on loopback, with temporary data folders, driven through
//! `kindred-client` (and the web pages, and a real browser). One test binary, one module
//! per area: each binary links the whole node, and one per file cost thirteen links and
//! about 700 MB of disk.

mod accounts;
mod backup;
mod browser;
mod chat;
mod doctor;
mod endpoints;
mod erasure;
mod erasure_catch_up;
mod export;
mod federation;
mod finding;
mod idempotency;
mod live;
mod long_lists;
mod mentoring;
mod mentoring_agreement;
mod mentoring_races;
mod metrics;
mod moderation;
mod moderation_reports;
mod moderation_shared;
mod notifications;
mod peer_learning;
mod races;
mod redaction;
mod restart_and_limits;
mod safety;
mod slow_clients;
mod tls;
mod trust_moderation;
mod trust_names;
mod trust_order;
mod trust_private;
mod trust_support;
mod web;
mod web_admin;
mod web_chat;
mod web_mentoring;
mod web_moderation;
mod web_people;
