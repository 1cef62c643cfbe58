//! Text as Kindred compares it (normalisation by ICU4X's `icu_normalizer`): one folding used wherever two texts must match however
//! they were typed (topic names, search terms, people search), on every node alike.
//!
//! [`fold`] is, in order:
//! 1. Unicode Normalization Form C (UAX #15), so a precomposed "é" and "e" plus a
//!    combining acute are one;
//! 2. lower case, with the full case folds that lower-casing alone misses ("ß" and "ẞ" to
//!    "ss", final sigma to sigma; Unicode `CaseFolding.txt`, status F and C);
//! 3. accents removed: characters are decomposed (NFD) and the combining marks of the
//!    diacritical-mark blocks (U+0300-036F, U+1AB0-1AFF, U+1DC0-1DFF, U+20D0-20FF,
//!    U+FE20-FE2F) dropped, then recomposed. Marks that are letters' vowel signs in other
//!    scripts (Devanagari, Arabic, ...) are kept: dropping them changes the word;
//! 4. invisible format characters dropped (soft hyphen, zero-width space and joiners,
//!    bidirectional marks and isolates, word joiner, byte order mark), so text pasted
//!    from elsewhere matches what is typed.
//!
//! The original text is always kept for display; folded text is only compared.

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

/// `text` in Normalization Form C.
pub fn nfc(text: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(text)
        .into_owned()
}

/// `text` folded for matching (see the module documentation). Idempotent.
pub fn fold(text: &str) -> String {
    let mut lower = String::with_capacity(text.len());
    let composed = ComposingNormalizerBorrowed::new_nfc().normalize(text);
    for c in composed.chars() {
        if is_invisible(c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => lower.push_str("ss"),
                'ς' => lower.push('σ'),
                other => lower.push(other),
            }
        }
    }
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(&lower);
    let bare: String = decomposed
        .chars()
        .filter(|c| !is_diacritic_mark(*c))
        .collect();
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&bare)
        .into_owned()
}

/// The key a topic is known by on every node: its name [`fold`]ed, with runs of spaces as
/// one. "Café", "CAFE" and "Cafe" typed with a combining accent are one topic.
pub fn topic_key(name: &str) -> String {
    fold(name).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "1 reply", "2 replies": a number with the noun that agrees with it (English).
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "every day", "every week", "every 2 weeks", "every 10 days".
pub fn every_days(days: u32) -> String {
    match days {
        1 => "every day".to_owned(),
        7 => "every week".to_owned(),
        d if d > 0 && d % 7 == 0 => format!("every {} weeks", d / 7),
        d => format!("every {d} days"),
    }
}

/// A combining mark from one of the diacritical-mark blocks (accents on Latin, Greek and
/// Cyrillic letters).
fn is_diacritic_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// A format character that is never seen but can hide inside a word.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::{fold, topic_key};

    #[test]
    fn a_topic_has_one_key_however_its_name_is_typed() {
        for typed in ["Café", "cafe\u{301}", "  CAFÉ ", "Cafe"] {
            assert_eq!(topic_key(typed), "cafe", "{typed:?}");
        }
        assert_eq!(topic_key("Peer   support\tgroups"), "peer support groups");
        assert_ne!(topic_key("Funding"), topic_key("Fund ing"));
    }

    #[test]
    fn one_word_however_it_was_typed() {
        let cases = [
            // Composed and decomposed accents.
            ("caf\u{e9}", "cafe"),
            ("cafe\u{301}", "cafe"),
            ("CAFÉ", "cafe"),
            ("Zo\u{eb}", "zoe"),
            ("Zoe\u{308}", "zoe"),
            // Welsh and Gaelic.
            ("Gŵyl", "gwyl"),
            ("tŷ", "ty"),
            ("Fàilte", "failte"),
            ("Sláinte", "slainte"),
            // Polish: the ogonek goes; ł is its own letter.
            ("Łódź", "łodz"),
            ("pięć", "piec"),
            // German ß and Greek final sigma fold fully.
            ("Straße", "strasse"),
            ("STRASSE", "strasse"),
            ("ΟΔΟΣ", "οδοσ"),
            ("οδος", "οδοσ"),
            // Turkish dotted capital I loses its dot like any accent.
            ("İstanbul", "istanbul"),
            // Invisible characters hidden in a word.
            ("co\u{AD}production", "coproduction"),
            ("burn\u{200B}out", "burnout"),
            ("\u{200F}שלום\u{200E}", "שלום"),
            // Scripts without case, and vowel signs that are part of the word, are kept.
            ("学习", "学习"),
            ("カタカナ", "カタカナ"),
            ("اردو", "اردو"),
            ("हिन्दी", "हिन्दी"),
            // Emoji with joiners are left alone (the joiner is invisible).
            ("👩\u{200D}⚕️", "👩⚕️"),
        ];
        for (typed, folded) in cases {
            assert_eq!(fold(typed), folded, "{typed:?}");
            assert_eq!(fold(&fold(typed)), fold(typed), "idempotent: {typed:?}");
        }
    }
}
