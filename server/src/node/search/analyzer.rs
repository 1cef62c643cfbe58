//! The search text pipeline: one way of turning text into terms, used to index posts and to
//! read queries alike, so whatever way a word was typed, it meets itself.
//!
//! 1. Invisible characters dropped and compatibility forms replaced (NFKC), then words by
//!    the Unicode word boundaries of UAX #29 (`unicode-segmentation`).
//! 2. Each word folded ([`kindred_protocol::text::fold`]: NFC, case, accents, invisible
//!    characters).
//! 3. Chinese and Japanese, written without spaces: each run of Han, Hiragana and
//!    Katakana becomes its overlapping pairs of characters ("学习小组" → 学习, 习小, 小组), as
//!    Lucene's CJK bigram filter does; a lone character stays itself. Posts also index
//!    each character, so a one-character query finds it too. A two-character word typed
//!    as a query then matches inside any sentence.
//! 4. Common words of the node's language dropped; the others stemmed with its Snowball
//!    stemmer (`rust-stemmers`), so "grants" meets "grant" and "tried" meets "try".
//!    Digits and single letters are kept ("type 1 diabetes").
//! 5. A term longer than [`MAX_TERM_BYTES`] is cut at a character boundary, never dropped.

use std::cell::RefCell;
use std::collections::HashMap;

use kindred_protocol::text::{fold, nfkc, without_invisible};
use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

use crate::config::SearchLanguage;

/// Longest term kept, in bytes.
pub(crate) const MAX_TERM_BYTES: usize = 64;

/// English words too common to help a search (the Snowball English stop list's most
/// frequent words).
const ENGLISH_STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "i",
    "in", "is", "it", "its", "of", "on", "or", "our", "so", "that", "the", "their", "this", "to",
    "was", "we", "were", "with", "you",
];

/// Most words remembered by [`Analyzer`]'s word cache before it starts again.
const CACHE_WORDS: usize = 50_000;

/// Turns text into search terms for one language.
///
/// Remembers the term of each word it has read (up to [`CACHE_WORDS`]): folding and
/// stemming were most of the indexer's time (profiled at 650-byte posts), and a few
/// thousand words make up most of what people write, so each is worked out once.
pub(crate) struct Analyzer {
    stemmer: Option<Stemmer>,
    stopwords: &'static [&'static str],
    /// Word as written (after NFKC) → its term (`None`: nothing left once folded).
    cache: RefCell<HashMap<Box<str>, Option<Term>>>,
}

impl Analyzer {
    /// The pipeline for `language`.
    pub(crate) fn new(language: SearchLanguage) -> Self {
        let algorithm = match language {
            SearchLanguage::None => None,
            SearchLanguage::English => Some(Algorithm::English),
            SearchLanguage::French => Some(Algorithm::French),
            SearchLanguage::German => Some(Algorithm::German),
            SearchLanguage::Spanish => Some(Algorithm::Spanish),
            SearchLanguage::Portuguese => Some(Algorithm::Portuguese),
            SearchLanguage::Italian => Some(Algorithm::Italian),
            SearchLanguage::Dutch => Some(Algorithm::Dutch),
            SearchLanguage::Russian => Some(Algorithm::Russian),
            SearchLanguage::Arabic => Some(Algorithm::Arabic),
            SearchLanguage::Turkish => Some(Algorithm::Turkish),
        };
        Self {
            stemmer: algorithm.map(Stemmer::create),
            stopwords: if language == SearchLanguage::English {
                ENGLISH_STOPWORDS
            } else {
                &[]
            },
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// The terms a post is indexed under, in order (repeats kept): common words left out,
    /// and Chinese and Japanese as pairs and single characters.
    pub(crate) fn terms(&self, text: &str) -> Vec<String> {
        self.tokens(text, Use::Index)
    }

    /// The terms a query searches for: common words left out, Chinese and Japanese as
    /// pairs (a single character alone).
    pub(crate) fn query_terms(&self, text: &str) -> Vec<String> {
        self.tokens(text, Use::Query)
    }

    /// Every term in order, common words included: what an exact phrase is compared by.
    pub(crate) fn phrase(&self, text: &str) -> Vec<String> {
        self.tokens(text, Use::Phrase)
    }

    fn tokens(&self, text: &str, usage: Use) -> Vec<String> {
        let text = nfkc(&without_invisible(text));
        let mut out = Vec::new();
        let mut run: Vec<char> = Vec::new();
        let mut run_end = 0;
        let unigrams = usage == Use::Index;
        for (at, word) in text.unicode_word_indices() {
            if word.chars().all(is_unspaced_script) {
                if at != run_end {
                    flush_run(&mut run, &mut out, unigrams);
                }
                run.extend(word.chars());
                run_end = at + word.len();
                continue;
            }
            flush_run(&mut run, &mut out, unigrams);
            if let Some(term) = self.word_term(word, usage == Use::Phrase) {
                out.push(term);
            }
        }
        flush_run(&mut run, &mut out, unigrams);
        out
    }

    fn word_term(&self, word: &str, keep_common: bool) -> Option<String> {
        let known = self.cache.borrow().get(word).cloned();
        let term = match known {
            Some(term) => term,
            None => {
                let term = self.work_out(word);
                let mut cache = self.cache.borrow_mut();
                if cache.len() >= CACHE_WORDS {
                    cache.clear();
                }
                cache.insert(word.into(), term.clone());
                term
            }
        };
        match term {
            Some(Term { common: true, .. }) if !keep_common => None,
            Some(term) => Some(term.text.into()),
            None => None,
        }
    }

    fn work_out(&self, word: &str) -> Option<Term> {
        let folded = fold(word);
        if folded.is_empty() {
            return None;
        }
        let common = self.stopwords.contains(&folded.as_str());
        let stemmed = match &self.stemmer {
            Some(s) => s.stem(&folded).into_owned(),
            None => folded,
        };
        Some(Term {
            common,
            text: cut(stemmed).into(),
        })
    }
}

/// A word's term, as the cache keeps it.
#[derive(Debug, Clone)]
struct Term {
    /// One of the language's common words (left out of the index and of queries).
    common: bool,
    text: Box<str>,
}

/// Han, Hiragana or Katakana: scripts written without spaces between words.
fn is_unspaced_script(c: char) -> bool {
    matches!(
        c,
        '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
            | '\u{31F0}'..='\u{31FF}' // Katakana phonetic extensions
            | '\u{3400}'..='\u{4DBF}' // CJK extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
            | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
            | '\u{FF66}'..='\u{FF9F}' // half-width Katakana
            | '\u{20000}'..='\u{2FA1F}' // CJK extensions B onwards
    )
}

/// What a text is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A post, for the index.
    Index,
    /// A query.
    Query,
    /// Comparing phrases (common words kept).
    Phrase,
}

/// Emits a run of unspaced-script characters as overlapping pairs (one alone as itself),
/// and each character too when `unigrams`.
fn flush_run(run: &mut Vec<char>, out: &mut Vec<String>, unigrams: bool) {
    let chars = std::mem::take(run);
    match chars.len() {
        0 => {}
        1 => out.push(fold(&chars[0].to_string())),
        _ => {
            for pair in chars.windows(2) {
                out.push(fold(&pair.iter().collect::<String>()));
            }
            if unigrams {
                out.extend(chars.iter().map(|c| fold(&c.to_string())));
            }
        }
    }
}

/// `term` cut to at most [`MAX_TERM_BYTES`], at a character boundary.
fn cut(mut term: String) -> String {
    if term.len() > MAX_TERM_BYTES {
        let mut end = MAX_TERM_BYTES;
        while !term.is_char_boundary(end) {
            end -= 1;
        }
        term.truncate(end);
    }
    term
}

#[cfg(test)]
mod tests {
    use super::*;

    fn english() -> Analyzer {
        Analyzer::new(SearchLanguage::English)
    }

    #[test]
    fn words_meet_their_other_forms() {
        let a = english();
        for (one, other) in [
            ("grant", "grants"),
            ("Small GRANTS", "small grant"),
            ("try", "tried"),
            ("project", "projects"),
            ("volunteering", "volunteer"),
            ("café", "cafe\u{301}"),
            ("Zoë", "zoe"),
            ("co\u{AD}production", "coproduction"),
            ("net\u{200B}work", "network"),
            ("can’t", "can't"),
            ("Łukasz", "lukasz"),
            ("Ｃａｆｅ", "cafe"),
        ] {
            assert_eq!(a.terms(one), a.terms(other), "{one} / {other}");
        }
    }

    #[test]
    fn digits_and_single_letters_are_terms_and_common_words_are_not() {
        let a = english();
        assert_eq!(a.terms("type 1 diabetes"), ["type", "1", "diabet"]);
        assert_eq!(a.terms("vitamin D"), ["vitamin", "d"]);
        assert_eq!(a.terms("the and of"), Vec::<String>::new());
        // Phrases keep common words: "plan a" is told from "plan b".
        assert_eq!(a.phrase("Plan A"), ["plan", "a"]);
    }

    #[test]
    fn chinese_and_japanese_are_found_inside_sentences() {
        let a = english();
        let sentence = a.terms("我们的学习小组每周见面");
        for word in ["学习", "小组", "见面", "组", "周"] {
            let t = a.query_terms(word);
            assert_eq!(t.len(), 1, "{word}");
            assert!(sentence.contains(&t[0]), "{word} in {sentence:?}");
        }
        let japanese = a.terms("コーヒーショップで会いましょう");
        let coffee = a.query_terms("コーヒー");
        assert!(
            coffee.iter().all(|t| japanese.contains(t)),
            "{coffee:?} in {japanese:?}"
        );
        // One character alone is still a term, and half-width kana meet full-width.
        assert_eq!(a.query_terms("茶"), ["茶"]);
        assert_eq!(a.query_terms("ｶﾀｶﾅ"), a.query_terms("カタカナ"));
        // Runs separated by other text are not joined.
        assert_eq!(a.query_terms("学 and 习"), ["学", "习"]);
    }

    #[test]
    fn other_scripts_are_words() {
        let a = english();
        assert_eq!(a.terms("سلام دنیا"), ["سلام", "دنیا"]);
        assert_eq!(a.terms("Dzień dobry"), ["dzien", "dobri"]);
        // "i" is an English common word, so it goes; the Welsh words stay.
        assert_eq!(a.terms("Croeso i Gŵyl"), ["croeso", "gwyl"]);
    }

    #[test]
    fn long_terms_are_cut_not_dropped() {
        let a = Analyzer::new(SearchLanguage::None);
        let long = "ä".repeat(100);
        let t = a.terms(&long);
        assert_eq!(t.len(), 1);
        assert!(t[0].len() <= MAX_TERM_BYTES);
        assert!(t[0].starts_with("aaa"));
    }

    #[test]
    fn a_remembered_word_gives_the_same_term() {
        let a = english();
        let text = "Grants and granting: the GRANT fund's funding, Café cafe\u{301}";
        let first = a.terms(text);
        let again = a.terms(text);
        assert_eq!(first, again);
        assert_eq!(first, Analyzer::new(SearchLanguage::English).terms(text));
        // Phrases keep common words even once the cache has learnt they are common.
        assert!(a.phrase(text).contains(&"the".to_owned()));
    }
}
