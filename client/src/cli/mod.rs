//! `kindred-cli`: argument parsing, saved sessions, output, and the commands themselves.

mod account;
pub(crate) mod args;
mod chat;
mod commands;
mod content;
mod credentials;
mod follow;
mod mentoring;
mod moderation;
mod notifications;
mod output;
mod peers;

pub(crate) use commands::run;
