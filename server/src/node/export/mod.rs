//! A member's data export (UK GDPR subject access and portability): everything this node
//! holds about them, as a ZIP with `kindred-export.json` (schema
//! [`SCHEMA`], documented in `docs/api.md`) and `index.html`, a page to read it with.
//! The member downloads their own; an admin can make one for a member (a subject-access
//! request). Made in memory: one member's data is bounded by the node's write limits.
//!
//! - `collect`: gathering the data;
//! - `page`: the readable page.

mod collect;
mod page;

use std::io::Write;

use kindred_protocol::api::Role;

use super::Node;
use super::accounts::Auth;
use crate::node::AppError;

/// The export format's name and version, in the JSON's `format` field.
pub(crate) const SCHEMA: &str = "kindred-export/1";

/// A finished export: the file name to save it as and its bytes.
pub(crate) struct ExportFile {
    /// E.g. `kindred-export-sam-2026-11-30.zip`.
    pub(crate) file_name: String,
    /// The ZIP.
    pub(crate) bytes: Vec<u8>,
}

impl Node {
    /// The signed-in member's own export.
    pub(crate) async fn export_own(&self, auth: &Auth) -> Result<ExportFile, AppError> {
        self.export_member(&auth.member.username, &auth.member_id.to_string())
            .await
    }

    /// An admin's export of a member's data.
    pub(crate) async fn export_for_admin(
        &self,
        auth: &Auth,
        username: &str,
    ) -> Result<ExportFile, AppError> {
        auth.require(Role::Admin)?;
        self.export_member(username, &auth.member_id.to_string())
            .await
    }

    async fn export_member(&self, username: &str, asked_by: &str) -> Result<ExportFile, AppError> {
        // One at a time (the others wait their turn): each reads the whole event log.
        let _turn = self
            .limits()
            .exports
            .acquire()
            .await
            .map_err(AppError::internal)?;
        let started = std::time::Instant::now();
        let node = self.clone();
        let name = username.to_owned();
        let export = tokio::task::spawn_blocking(move || collect::collect(&node, &name))
            .await
            .map_err(AppError::internal)??;
        let tz = match self.store().member(username)? {
            Some(m) => self.time_zone_of(&m),
            None => jiff::tz::TimeZone::UTC,
        };
        let json = serde_json::to_vec_pretty(&export).map_err(AppError::internal)?;
        let html = page::render(&export, &tz)?;
        let bytes = zip_of(&[
            ("kindred-export.json", &json),
            ("index.html", html.as_bytes()),
        ])?;
        let date = crate::calendar::date_value(export.exported_at.as_millis(), &tz);
        tracing::info!(
            member = %export.member,
            by = asked_by,
            bytes = bytes.len(),
            ms = started.elapsed().as_millis() as u64,
            "data export made"
        );
        Ok(ExportFile {
            file_name: format!("kindred-export-{username}-{date}.zip"),
            bytes,
        })
    }
}

fn zip_of(files: &[(&str, &[u8])]) -> Result<Vec<u8>, AppError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    for (name, bytes) in files {
        zip.start_file(*name, options).map_err(AppError::internal)?;
        zip.write_all(bytes).map_err(AppError::internal)?;
    }
    let cursor = zip.finish().map_err(AppError::internal)?;
    Ok(cursor.into_inner())
}
