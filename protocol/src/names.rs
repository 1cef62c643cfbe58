//! Names people read and compare: display names, organisation, topic and group names.
//!
//! A name follows the rules of the PRECIS Nickname profile (RFC 8266) with current
//! Unicode data (ICU4X's properties; the PRECIS crates' tables stop at Unicode 6.3 and
//! refuse every emoji since): spaces of every kind become one ASCII space, leading and
//! trailing spaces go, compatibility forms are normalised (NFKC: full-width "Ａｎｎ" is
//! "Ann"), and code points that change how text looks without being seen are refused:
//! default-ignorable characters (zero-width spaces, fillers, bidirectional overrides,
//! marks and isolates), controls, unassigned and private-use code points, and blank
//! symbols such as the Braille blank. Joiners and variation selectors are kept where they
//! join or select something visible (emoji sequences, Persian and Indic text). What is
//! left has at least one visible character.
//!
//! Two names *look the same* when their skeletons match (UTS #39, "Confusable
//! Detection"), compared as typed ("BiII" and "Bill") and lower-cased ("ADMIN" and
//! "admin"): "Admin" and "Αdmin" with a Greek Alpha, "rn" and "m".

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

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

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Symbols that print as nothing (not default-ignorable, so listed here).
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\u{2800}' | '\u{3164}' | '\u{FFA0}' | '\u{115F}' | '\u{1160}' | '\u{2028}' | '\u{2029}'
    )
}

/// Kept only between two visible characters: joiners, and variation selectors after one.
fn joins(c: char) -> bool {
    matches!(c, ZWNJ | ZWJ | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn refused(c: char) -> bool {
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    matches!(
        gc,
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    ) || is_blank(c)
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// `text` as a name (see the module documentation).
///
/// Errors: [`NameError::Empty`] when nothing visible remains, [`NameError::Invisible`]
/// naming the first character not allowed.
pub fn name(text: &str) -> Result<String, NameError> {
    let normal = crate::text::nfkc(text);
    let chars: Vec<char> = normal.chars().collect();
    let mut out = String::with_capacity(normal.len());
    let mut pending_space = false;
    let mut visible = false;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() && !is_blank(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if joins(c) {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            let seen = |o: Option<&char>| o.is_some_and(|o| !o.is_whitespace() && !refused(*o));
            // A variation selector needs something before it; a joiner, both sides.
            let ok = if matches!(c, ZWNJ | ZWJ) {
                (seen(before) || before.is_some_and(|b| joins(*b)))
                    && (seen(after) || after.is_some_and(|a| joins(*a)))
            } else {
                seen(before) || before.is_some_and(|b| joins(*b))
            };
            if !ok {
                return Err(NameError::Invisible(describe(c)));
            }
            out.push(c);
            continue;
        }
        if refused(c) {
            return Err(NameError::Invisible(describe(c)));
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        visible = true;
    }
    if !visible {
        return Err(NameError::Empty);
    }
    Ok(out)
}

/// How a refused character is named to the person who typed it.
fn describe(c: char) -> String {
    let cp = u32::from(c);
    let what = match c {
        '\u{200B}' => "a zero-width space",
        ZWNJ => "a zero-width non-joiner that joins nothing",
        ZWJ => "a zero-width joiner that joins nothing",
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => {
            "a variation selector with nothing before it"
        }
        '\u{200E}' | '\u{200F}' | '\u{061C}' => "a direction mark",
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "a text direction override",
        '\u{3164}' | '\u{FFA0}' | '\u{115F}' | '\u{1160}' => "a Hangul filler",
        '\u{2800}' => "a Braille blank",
        '\u{00AD}' => "a soft hyphen",
        '\u{2060}' | '\u{FEFF}' => "a word joiner",
        '\u{2028}' | '\u{2029}' => "a line or paragraph separator",
        c if c.is_control() => "a control character",
        _ => "",
    };
    if what.is_empty() {
        format!("the character U+{cp:04X}")
    } else {
        format!("{what} (U+{cp:04X})")
    }
}

/// The UTS #39 skeleton of `name` without its joiners and variation selectors.
fn skeleton_of(name: &str) -> String {
    let bare: String = name.chars().filter(|c| !joins(*c)).collect();
    unicode_security::skeleton(&bare)
        .collect::<String>()
        .to_lowercase()
}

/// Whether two names would be mistaken for each other: their skeletons match, as typed
/// or lower-cased.
pub fn look_alike(a: &str, b: &str) -> bool {
    let keys = |n: &str| [skeleton_of(n), skeleton_of(&n.to_lowercase())];
    let (ka, kb) = (keys(a), keys(b));
    ka.iter().any(|x| kb.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_invisible_tricks_refused() {
        let ok = |typed: &str, kept: &str| {
            assert_eq!(name(typed).as_deref(), Ok(kept), "{typed:?}");
        };
        ok("Ann", "Ann");
        ok("  Ann   Lee ", "Ann Lee");
        ok("Ａｎｎ", "Ann");
        ok("Zoe\u{308}", "Zoë");
        ok("محمد", "محمد");
        ok("محمـد", "محمـد");
        ok("محمد\u{200C}رضا", "محمد\u{200C}رضا");
        ok("李小龙", "李小龙");
        ok("Ann 🌻", "Ann 🌻");
        ok("Ann 🙂", "Ann 🙂");
        ok("👋🏽 Sam", "👋🏽 Sam");
        ok("❤\u{FE0F} Sam", "❤\u{FE0F} Sam");
        ok("👩\u{200D}⚕\u{FE0F} Ann", "👩\u{200D}⚕\u{FE0F} Ann");
        ok("🏳\u{FE0F}\u{200D}🌈 Youth", "🏳\u{FE0F}\u{200D}🌈 Youth");
        ok("𞤀𞤣𞤤𞤢𞤥", "𞤀𞤣𞤤𞤢𞤥");
        ok("Rainbow ₾ ₿", "Rainbow ₾ ₿");
        for typed in [
            "",
            "   ",
            "\u{200B}",
            "\u{3164}",
            "\u{FFA0}",
            "\u{2800}",
            "Admin\u{2800}",
            "Admin\u{200B}",
            "Admin\u{200D}",
            "\u{200D}Admin",
            "\u{FE0F}Admin",
            "\u{202E}nimdA",
            "Sam\u{2066}x",
            "a\u{7}b",
            "Ann\u{200F}",
            "Ann\u{E000}",
            "Ann\u{E0041}",
        ] {
            assert!(name(typed).is_err(), "{typed:?}");
        }
        // (NFKC turns U+3164 into U+1160: both are fillers.)
        assert!(
            matches!(name("\u{3164}"), Err(NameError::Invisible(m)) if m.contains("Hangul filler"))
        );
        assert_eq!(name("  "), Err(NameError::Empty));
    }

    #[test]
    fn names_that_look_the_same_are_told() {
        for (a, b) in [
            ("Admin", "Αdmin"),
            ("Sam", "sam"),
            ("paypal", "pаypal"),
            ("rn", "m"),
            ("Bill", "BiII"),
            ("Bill", "BilI"),
            ("OLIVIA", "OLlVIA"),
            ("OLIVIA", "OL1VIA"),
            ("Admin", "Adm\u{200D}in"),
        ] {
            assert!(look_alike(a, b), "{a} {b}");
        }
        for (a, b) in [("Ann", "Anne"), ("Sam", "Pam")] {
            assert!(!look_alike(a, b), "{a} {b}");
        }
    }
}
