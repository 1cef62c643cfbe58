//! Names people read and compare: display names, organisation, topic and group names.
//!
//! A name is enforced with the PRECIS Nickname profile (RFC 8266, on the framework of
//! RFC 8264): spaces of every kind become one ASCII space, leading and trailing spaces go,
//! compatibility forms are normalised (NFKC: full-width "Ａｎｎ" is "Ann"), and code points
//! that change how text looks without being seen are refused: zero-width spaces and
//! joiners, Hangul fillers, bidirectional overrides, marks and isolates, control
//! characters. What is left has at least one visible character.
//!
//! Two names *look the same* when their lower-cased skeletons match (UTS #39,
//! "Confusable Detection"): "Admin" and "Αdmin" with a Greek Alpha, "rn" and "m".

use precis_core::profile::PrecisFastInvocation;
use precis_core::{CodepointInfo, Error as PrecisError};
use precis_profiles::Nickname;

/// Why a name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing visible is left.
    #[error("a name needs at least one visible letter, number or symbol")]
    Empty,
    /// A character that is invisible or changes how the text around it is shown.
    #[error(
        "a name cannot contain {0} (invisible characters, and ones that change the direction or look of the text around them, are not allowed)"
    )]
    Invisible(String),
}

/// `text` as a name (RFC 8266 Nickname enforcement; see the module documentation).
///
/// Errors: [`NameError::Empty`] when nothing visible remains, [`NameError::Invisible`]
/// naming the first character not allowed.
pub fn name(text: &str) -> Result<String, NameError> {
    match Nickname::enforce(text) {
        Ok(name) if name.chars().any(|c| !c.is_whitespace()) => Ok(name.into_owned()),
        Ok(_) | Err(PrecisError::Invalid) => Err(NameError::Empty),
        Err(PrecisError::BadCodepoint(CodepointInfo { cp, .. })) => {
            Err(NameError::Invisible(describe(cp)))
        }
        Err(_) => Err(NameError::Empty),
    }
}

/// How a refused character is named to the person who typed it.
fn describe(cp: u32) -> String {
    let what = match cp {
        0x200B => "a zero-width space",
        0x200C | 0x200D => {
            "a zero-width joiner (emoji made of several joined emoji cannot be used in names)"
        }
        0x200E | 0x200F | 0x061C => "a direction mark",
        0x202A..=0x202E | 0x2066..=0x2069 => "a text direction override",
        0x3164 | 0xFFA0 | 0x115F | 0x1160 => "a Hangul filler",
        0x00AD => "a soft hyphen",
        0x2060 | 0xFEFF => "a word joiner",
        c if c < 0x20 || (0x7F..0xA0).contains(&c) => "a control character",
        _ => "",
    };
    if what.is_empty() {
        format!("the character U+{cp:04X}")
    } else {
        format!("{what} (U+{cp:04X})")
    }
}

/// What a name looks like, for telling apart names that would be mistaken for each other:
/// lower case, then the UTS #39 skeleton. Equal skeletons: the names look the same.
pub fn skeleton(name: &str) -> String {
    let lower = name.to_lowercase();
    unicode_security::skeleton(&lower)
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_invisible_tricks_refused() {
        let ok =
            |typed: &str, kept: &str| assert_eq!(name(typed).as_deref(), Ok(kept), "{typed:?}");
        ok("Ann", "Ann");
        ok("  Ann   Lee ", "Ann Lee");
        ok("Ａｎｎ", "Ann");
        ok("Zoe\u{308}", "Zoë");
        ok("محمد", "محمد");
        ok("李小龙", "李小龙");
        ok("Ann 🌻", "Ann 🌻");
        let refused = |typed: &str| assert!(name(typed).is_err(), "{typed:?}");
        for typed in [
            "",
            "   ",
            "\u{200B}",
            "\u{3164}",
            "\u{FFA0}",
            "Admin\u{200B}",
            "\u{202E}nimdA",
            "Sam\u{2066}x",
            "a\u{7}b",
            "Ann\u{200F}",
        ] {
            refused(typed);
        }
        assert_eq!(
            name("\u{3164}"),
            Err(NameError::Invisible("a Hangul filler (U+3164)".into()))
        );
        assert_eq!(name("  "), Err(NameError::Empty));
    }

    #[test]
    fn names_that_look_the_same_have_one_skeleton() {
        for (a, b) in [
            ("Admin", "Αdmin"),
            ("Sam", "sam"),
            ("paypal", "pаypal"),
            ("rn", "m"),
        ] {
            assert_eq!(skeleton(a), skeleton(b), "{a} {b}");
        }
        for (a, b) in [("Ann", "Anne"), ("Sam", "Pam")] {
            assert_ne!(skeleton(a), skeleton(b), "{a} {b}");
        }
    }
}
