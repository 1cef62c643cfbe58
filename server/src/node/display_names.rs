//! Members' display names: one line, a nickname (`kindred_protocol::names`), short
//! enough for a byline, and not one that looks like another member's here (so nobody can
//! take the admin's byline with a Greek "Α" or an invisible character).

use kindred_protocol::limits::MAX_DISPLAY_NAME_BYTES;

use super::Node;
use crate::node::AppError;

/// `name` as a display name, without looking at other members.
///
/// Errors: a bad request saying what is wrong (empty, too long, an invisible or
/// direction-changing character).
pub(crate) fn clean(name: &str) -> Result<String, AppError> {
    // Typed on several lines (a paste): one line. Invisible characters are refused by the
    // nickname rules, never quietly removed (that would let "Admin" plus one pass as "Admin").
    let name = name.replace(['\n', '\r', '\t'], " ");
    let name = kindred_protocol::names::name(&name).map_err(|e| {
        AppError::bad_request(match e {
            kindred_protocol::names::NameError::Empty => "Please give a display name.".to_owned(),
            other => format!("That display name cannot be used: {other}."),
        })
    })?;
    if name.len() > MAX_DISPLAY_NAME_BYTES {
        return Err(AppError::bad_request(format!(
            "A display name can be at most {MAX_DISPLAY_NAME_BYTES} bytes long."
        )));
    }
    Ok(name)
}

impl Node {
    /// `name` as the display name of `username` (`None`: a new member): cleaned, and
    /// refused when it looks the same as another member's here (UTS #39 skeletons).
    ///
    /// Errors: as [`clean`], or a conflict naming nobody (the other member's username is
    /// not revealed) when it looks like someone else's name.
    pub(crate) fn display_name_for(
        &self,
        name: &str,
        username: Option<&str>,
    ) -> Result<String, AppError> {
        let name = clean(name)?;
        let lookalike = self.store().members()?.into_iter().any(|m| {
            Some(m.username.as_str()) != username
                && kindred_protocol::names::look_alike(&m.display_name, &name)
        });
        if lookalike {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::Conflict,
                "Another member here already has a name that looks the same. Please add something to tell you apart (a surname, an initial, your team).",
            ));
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_one_visible_line() {
        assert_eq!(clean("  Ann\nLee ").unwrap(), "Ann Lee");
        for bad in ["", "\u{200B}", "\u{3164}", "Admin\u{200B}", "\u{202E}nimdA"] {
            assert!(clean(bad).is_err(), "{bad:?}");
        }
        assert!(clean(&"a".repeat(MAX_DISPLAY_NAME_BYTES + 1)).is_err());
    }
}
