//! Page handlers, one module per area of the site.

pub(crate) mod accounts;
pub(crate) mod admin;
pub(crate) mod chat;
pub(crate) mod content;
pub(crate) mod coordinator;
pub(crate) mod help;
pub(crate) mod mentoring;
pub(crate) mod moderation;
pub(crate) mod notifications;
pub(crate) mod profile;
pub(crate) mod safeguarding;
pub(crate) mod safety;
pub(crate) mod settings;
pub(crate) mod standing;
pub(crate) mod your_data;
