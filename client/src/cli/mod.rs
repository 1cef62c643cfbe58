//! `kindred-cli`: argument parsing, saved sessions, output, and the commands themselves.

pub(crate) mod args;
mod commands;
mod credentials;
mod mentoring;
mod moderation;
mod notifications;
mod output;

pub(crate) use commands::run;
