//! Answering a search: the query read by the same pipeline as the posts, BM25 over the
//! index, then the best candidates re-ranked (exact phrases and titles first, ties to the
//! newest). Bounded so that one member's searches never slow other members' pages.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kindred_protocol::MemberId;
use kindred_protocol::api::{ErrorCode, SearchHit};

use super::{Analyzer, Wake};
use crate::node::AppError;
use crate::node::Node;
use crate::store::{MAX_POSTINGS_PER_TERM, Store, StoreError};

/// Longest query text accepted, in bytes.
pub(crate) const MAX_QUERY_BYTES: usize = 1_000;

/// Most distinct terms a search uses; later ones are ignored. A Chinese or Japanese
/// sentence gives one term per pair of characters, so this allows about 32 characters.
pub(crate) const MAX_TERMS: usize = 32;

/// Longest a search waits for the index to cover what was stored before it: long enough
/// for a member to find what they just wrote, short enough that a search during a long
/// burst of writing (when the indexer is paced) still answers promptly.
const INDEX_WAIT: Duration = Duration::from_secs(2);

/// How often (in postings) scoring checks its time budget.
const BUDGET_CHECK_EVERY: usize = 4_096;

/// How many searches may run at once: `configured`, or half the cores (at least one).
pub(crate) fn concurrency(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
        n => n,
    }
}

/// A turn to search, waiting at most `wait` for one; `None` if none came free.
async fn take_turn(
    turns: &tokio::sync::Semaphore,
    wait: Duration,
) -> Option<tokio::sync::SemaphorePermit<'_>> {
    match tokio::time::timeout(wait, turns.acquire()).await {
        Ok(Ok(permit)) => Some(permit),
        _ => None,
    }
}

/// The words of a query, distinct, in the order typed, at most [`MAX_TERMS`].
fn query_terms(analyzer: &Analyzer, query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in analyzer.query_terms(query) {
        if terms.len() == MAX_TERMS {
            break;
        }
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// Candidates re-ranked at least, whatever the limit.
const RERANK_AT_LEAST: usize = 50;

/// How much a hit's score is raised: by half when it holds the query as a phrase (its
/// words in the order typed, side by side, common words included: "plan a" is not "plan
/// b"); by up to a half as more of the query's neighbouring words stand side by side in
/// it, in either order ("diabetes type 1" and "type 1 diabetes"); and by half when its
/// title holds every word.
fn boost(
    analyzer: &Analyzer,
    phrase: &[String],
    terms: &[String],
    (title, body): (Option<&str>, &str),
) -> f32 {
    let mut factor = 1.0;
    let title = title.map(|t| analyzer.phrase(t)).unwrap_or_default();
    if phrase.len() > 1 {
        let mut text = title.clone();
        text.extend(analyzer.phrase(body));
        if text.windows(phrase.len()).any(|w| w == phrase) {
            factor *= 1.5;
        }
        let near = |a: &String, b: &String| {
            text.windows(2)
                .any(|w| (&w[0] == a && &w[1] == b) || (&w[0] == b && &w[1] == a))
        };
        let pairs = phrase.len() - 1;
        let side_by_side = phrase.windows(2).filter(|p| near(&p[0], &p[1])).count();
        factor *= 1.0 + 0.5 * side_by_side as f32 / pairs as f32;
    }
    // The title's words, common ones too, hold every query term (common words are never
    // query terms).
    if !title.is_empty() && terms.iter().all(|q| title.contains(q)) {
        factor *= 1.5;
    }
    factor
}

/// The best `keep` BM25 scores of the entries (by arrival number) matching `terms`, best
/// first. Each term's newest [`MAX_POSTINGS_PER_TERM`] postings are read (so a common
/// word costs the same at 10,000 posts as at a million) and weighed by its true document
/// frequency. Rarer terms say most about what was meant, so they are scored first; if
/// `deadline` passes, the scores so far are used.
fn score(
    store: &Store,
    terms: &[String],
    keep: usize,
    deadline: Instant,
) -> Result<(Vec<(u64, f32)>, bool), StoreError> {
    let (docs, total_len) = store.index_stats()?;
    let n = docs.max(1) as f32;
    let avg_len = (total_len as f32 / n).max(1.0);
    let (k1, b) = (1.2f32, 0.75f32);
    let mut lists = Vec::with_capacity(terms.len());
    for term in terms {
        if Instant::now() >= deadline {
            return Ok((Vec::new(), true));
        }
        let postings = store.postings(term, MAX_POSTINGS_PER_TERM)?;
        let df = store.term_entries(term)?.max(postings.len() as u64);
        lists.push((df, postings));
    }
    lists.sort_by_key(|(df, _)| *df);
    let mut scores: HashMap<u64, f32> =
        HashMap::with_capacity(lists.iter().map(|(_, p)| p.len()).sum());
    let mut cut_short = false;
    'terms: for (df, postings) in lists {
        let df = df as f32;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        for (i, (seq, tf, len)) in postings.into_iter().enumerate() {
            if i % BUDGET_CHECK_EVERY == 0 && Instant::now() >= deadline {
                cut_short = true;
                break 'terms;
            }
            let tf = tf as f32;
            let norm = k1 * (1.0 - b + b * len as f32 / avg_len);
            *scores.entry(seq).or_default() += idf * tf * (k1 + 1.0) / (tf + norm);
        }
    }
    let mut ranked: Vec<(u64, f32)> = scores.into_iter().collect();
    // Best first, ties to the newest; only the best `keep` are put in order.
    let order = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0));
    if ranked.len() > keep {
        ranked.select_nth_unstable_by(keep, order);
        ranked.truncate(keep);
    }
    ranked.sort_by(order);
    Ok((ranked, cut_short))
}

impl Node {
    /// Ranked search over visible posts and replies: at most `limit` (1-100) hits.
    ///
    /// Bounded so that one member's searches never slow other members' pages: at most
    /// [`MAX_QUERY_BYTES`] of text and [`MAX_TERMS`] words; at most
    /// `limits.concurrent_searches` run at once, the rest wait up to
    /// `limits.search_wait_ms` and are then refused (`rate_limited`); each runs on a
    /// blocking thread, for at most `limits.search_budget_ms` of scoring, after which the
    /// best of what was scored is returned.
    pub(crate) async fn search(
        &self,
        query: &str,
        limit: usize,
        viewer: &MemberId,
    ) -> Result<Vec<SearchHit>, AppError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!(
                    "That search is too long. Please use fewer words (at most {MAX_QUERY_BYTES} bytes; accented and non-Latin letters take two to four each)."
                ),
            ));
        }
        let analyzer = Analyzer::new(self.config().search.language);
        let terms = query_terms(&analyzer, query);
        if terms.is_empty() {
            return Err(AppError::bad_request(
                "Please add a less common word: that search has only words such as “the” and “a”, or no letters at all.",
            ));
        }
        let limits = &self.config().limits;
        let wait = Duration::from_millis(limits.search_wait_ms);
        let Some(permit) = take_turn(&self.limits().searches, wait).await else {
            tracing::warn!(member = %viewer, "search refused: too many running");
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "Many people are searching just now. Please try again in a moment.",
            ));
        };
        self.wait_for_index().await?;
        let budget = Duration::from_millis(limits.search_budget_ms);
        let node = self.clone();
        let viewer = viewer.clone();
        let mut phrase = analyzer.phrase(query);
        phrase.truncate(MAX_TERMS);
        let limit = limit.clamp(1, 100);
        let hits = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            // Enough for the re-ranking below even when some are hidden from this viewer.
            let keep = (limit * 4).max(RERANK_AT_LEAST) * 4;
            let (ranked, cut_short) = score(node.store(), &terms, keep, started + budget)?;
            if cut_short {
                tracing::info!(
                    terms = terms.len(),
                    "search used its time budget; ranking what was scored"
                );
            }
            // Re-rank a few more than are shown: enough for a phrase or title match from
            // lower down to come up, few enough to stay cheap. Re-ranking reads each
            // candidate's text only; pages are drawn for the hits shown.
            let want = (limit * 4).max(RERANK_AT_LEAST);
            let mut candidates = Vec::with_capacity(want);
            for (seq, score) in ranked {
                if candidates.len() >= want {
                    break;
                }
                // Postings name entries by arrival; only those re-ranked are looked up.
                let Some(id) = node.store().id_at(seq)? else {
                    continue;
                };
                // Hidden here (or gone): its words must not be found either.
                let Some((title, body)) = node.searchable_text(&id)? else {
                    continue;
                };
                let score = score * boost(&analyzer, &phrase, &terms, (title.as_deref(), &body));
                candidates.push((score, seq, id));
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            let mut hits = Vec::with_capacity(limit);
            for (score, _, id) in candidates {
                if hits.len() >= limit {
                    break;
                }
                if let Some(post) = node.post_view(&id, Some(&viewer))?
                    && post.hidden.is_none()
                {
                    hits.push(SearchHit { score, post });
                }
            }
            // Best first; equal scores go to the newest, then by id, so the order is the
            // same every time.
            hits.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(b.post.created_at.cmp(&a.post.created_at))
                    .then(a.post.id.cmp(&b.post.id))
            });
            hits.truncate(limit);
            Ok::<_, AppError>(hits)
        })
        .await
        .map_err(AppError::internal)??;
        drop(permit);
        Ok(hits)
    }

    /// Waits until the index covers every event stored before now, at most
    /// [`INDEX_WAIT`]; then answers from what is indexed (the indexer, told a search is
    /// waiting, goes at full speed meanwhile).
    async fn wait_for_index(&self) -> Result<(), AppError> {
        let target = self.store().last_local_seq()?;
        let mut progress = self.indexer().progress.clone();
        if let Some(w) = self.indexer().waker() {
            // The indexer may be stopping; then the wait below times out.
            let _ = w.send(Wake::Search);
        }
        let reached =
            tokio::time::timeout(INDEX_WAIT, progress.wait_for(|done| *done >= target)).await;
        if !matches!(reached, Ok(Ok(_))) {
            tracing::warn!(
                target,
                "search index is behind; answering from what is indexed"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_uses_its_first_distinct_terms_up_to_the_cap() {
        let many: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
        let a = Analyzer::new(crate::config::SearchLanguage::English);
        let terms = query_terms(&a, &many.join(" "));
        assert_eq!(terms.len(), MAX_TERMS);
        assert_eq!(terms[0], "word0");
        assert_eq!(terms[31], "word31");
        assert_eq!(
            query_terms(&a, "grant Grant GRANT funding"),
            ["grant", "fund"]
        );
    }

    #[tokio::test]
    async fn a_search_waits_its_turn_then_is_refused() {
        let turns = tokio::sync::Semaphore::new(1);
        let first = take_turn(&turns, Duration::ZERO).await;
        assert!(first.is_some());
        assert!(take_turn(&turns, Duration::ZERO).await.is_none());
        drop(first);
        assert!(take_turn(&turns, Duration::ZERO).await.is_some());
    }

    #[test]
    fn scoring_stops_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let past = Instant::now();
        let (ranked, cut_short) = score(&store, &["grant".to_owned()], 10, past).unwrap();
        assert!(ranked.is_empty());
        assert!(cut_short);
    }
}
