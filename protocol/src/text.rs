//! Text as Kindred compares it (normalisation by ICU4X's `icu_normalizer`): one folding
//! used wherever two texts must match however they were typed (topic names, search
//! terms, people search), on every node alike.
//!
//! [`fold`] is, in order:
//! 1. Unicode Normalization Form KC (UAX #15): a precomposed "é" and "e" plus a combining
//!    acute are one, and so are full-width "Ｃａｆｅ" and "Cafe", half-width "ｶﾅ" and "カナ",
//!    the ligature "ﬁ" and "fi";
//! 2. invisible format characters dropped (soft hyphen, zero-width space and joiners,
//!    bidirectional marks and isolates, word joiner, byte order mark), so text pasted
//!    from elsewhere matches what is typed;
//! 3. lower case, with the full case folds that lower-casing alone misses ("ß" and "ẞ" to
//!    "ss", final sigma to sigma; Unicode `CaseFolding.txt`, status F and C);
//! 4. accents removed: characters are decomposed (NFD) and the combining marks of the
//!    diacritical-mark blocks (U+0300-036F, U+1AB0-1AFF, U+1DC0-1DFF, U+20D0-20FF,
//!    U+FE20-FE2F) dropped, then recomposed; Latin letters whose accent is part of the
//!    letter rather than a mark ("ł", "ø", "đ", "ħ", dotless "ı") become their base
//!    letter, as search engines' ASCII folding does. Marks that are letters' vowel signs
//!    in other scripts (Devanagari, Arabic, ...) are kept: dropping them changes the word;
//! 5. apostrophes typed any way (’ ‘ ʼ ′ ` ´) become "'", and hyphens and dashes
//!    (‐ ‑ ‒ – — ―, minus) become "-", so "can’t" meets "can't" and "Mae’r" meets "mae'r".
//!
//! The original text is always kept for display; folded text is only compared.

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

/// `text` in Normalization Form C.
pub fn nfc(text: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(text)
        .into_owned()
}

/// `text` in Normalization Form KC (compatibility forms such as full-width letters and
/// half-width kana replaced by the ordinary ones).
pub fn nfkc(text: &str) -> String {
    ComposingNormalizerBorrowed::new_nfkc()
        .normalize(text)
        .into_owned()
}

/// `text` without invisible format characters (see [`fold`], step 2).
pub fn without_invisible(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
}

/// `text` without the characters Unicode says are ignored in display
/// (Default_Ignorable_Code_Point, UAX #44: joiners, soft hyphens, variation selectors,
/// tag characters, direction controls, fillers), which can split a word without
/// showing.
pub fn without_default_ignorable(text: &str) -> String {
    let ignorable =
        icu_properties::CodePointSetData::new::<icu_properties::props::DefaultIgnorableCodePoint>();
    text.chars().filter(|c| !ignorable.contains(*c)).collect()
}

/// A word's look-alike key: its UTS #39 skeleton ("Confusable Detection"), lower-cased,
/// so a Cyrillic "і" or "е" standing in for the Latin letter matches it.
pub fn look_alike_key(word: &str) -> String {
    unicode_security::skeleton(word)
        .collect::<String>()
        .to_lowercase()
}

/// `text` folded for matching (see the module documentation). Idempotent.
pub fn fold(text: &str) -> String {
    let mut lower = String::with_capacity(text.len());
    let compatible = ComposingNormalizerBorrowed::new_nfkc().normalize(text);
    for c in compatible.chars() {
        if is_invisible(c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => lower.push_str("ss"),
                'ς' => lower.push('σ'),
                'ł' => lower.push('l'),
                'ı' => lower.push('i'),
                'ø' => lower.push('o'),
                'đ' | 'ð' => lower.push('d'),
                'ħ' => lower.push('h'),
                'ŧ' => lower.push('t'),
                'ŀ' => lower.push('l'),
                '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{2032}' | '`' | '\u{00B4}' => {
                    lower.push('\'');
                }
                '\u{2010}'..='\u{2015}' | '\u{2212}' => lower.push('-'),
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

/// The key a topic is known by on every node: its name [`fold`]ed, keeping only letters,
/// digits and marks. "Café", "CAFE", "Cafe" typed with a combining accent, "Peer support",
/// "Peer-support" and "peersupport" are each one topic, so no look-alike can be made.
/// (Look-alike letters from other scripts, such as Cyrillic "а" for Latin "a", are not
/// caught.)
pub fn topic_key(name: &str) -> String {
    fold(name)
        .chars()
        .filter(|c| c.is_alphanumeric() || is_mark(*c))
        .collect()
}

/// A mark that is part of a word in its script (vowel signs, viramas, Arabic harakat),
/// which `char::is_alphanumeric` does not count.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06ED}'
            | '\u{0900}'..='\u{0DFF}'
            | '\u{0E00}'..='\u{0E7F}'
            | '\u{1000}'..='\u{109F}'
    ) && !c.is_alphanumeric()
}

/// "1 reply", "2 replies", "1,204 posts": a number, grouped in thousands, with the noun
/// that agrees with it (English).
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", grouped(n))
    }
}

/// `n` with a comma between each group of three digits ("1,204").
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
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
    use super::{count, fold, topic_key};

    #[test]
    fn counts_read_as_people_write_them() {
        for (n, expected) in [
            (0, "0 posts"),
            (1, "1 post"),
            (999, "999 posts"),
            (1_204, "1,204 posts"),
            (1_000_000, "1,000,000 posts"),
        ] {
            assert_eq!(count(n, "post", "posts"), expected);
        }
    }

    #[test]
    fn a_topic_has_one_key_however_its_name_is_typed() {
        for typed in ["Café", "cafe\u{301}", "  CAFÉ ", "Cafe"] {
            assert_eq!(topic_key(typed), "cafe", "{typed:?}");
        }
        for same in [
            "Peer support",
            "Peer-support",
            "Peer‑support",
            "Peer–support",
            "peersupport",
        ] {
            assert_eq!(topic_key(same), "peersupport", "{same:?}");
        }
        for same in ["Plant a'r teulu", "Plant a’r teulu", "Plant aʼr teulu"] {
            assert_eq!(topic_key(same), "plantarteulu", "{same:?}");
        }
        assert_eq!(topic_key("Łódź"), topic_key("Lodz"));
        assert_eq!(topic_key("Ｃａｆｅ"), "cafe");
        assert_eq!(topic_key("हिन्दी"), "हिन्दी", "vowel signs stay");
        assert_eq!(topic_key("!!! ---"), "");
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
            // Polish: the ogonek goes; ł folds to l as search engines do.
            ("Łódź", "lodz"),
            ("Zażółć", "zazolc"),
            // Turkish dotless ı.
            ("IĞDIR", "igdir"),
            ("ığdır", "igdir"),
            // Full-width, half-width and ligatures.
            ("Ｃａｆｅ", "cafe"),
            ("２０２６", "2026"),
            ("ｶﾀｶﾅ", "カタカナ"),
            ("ﬁsh", "fish"),
            // Apostrophes and hyphens typed any way.
            ("can’t", "can't"),
            ("Mae’r", "mae'r"),
            ("aʼr", "a'r"),
            ("Peer‑support", "peer-support"),
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
