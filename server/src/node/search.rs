//! Full-text search over titles, bodies and tags: an inverted index in sled, ranked with
//! BM25. A background thread follows the arrival log and keeps the index a moment behind
//! it, so indexing never slows down posting; a search first waits (briefly) for the index
//! to cover everything stored before it, so members always find what they just wrote.
//!
//! Why not a search engine crate: tantivy would add a large dependency tree and a second
//! storage engine to back up; a node's corpus (thousands to a few hundred thousand posts)
//! is well served by a sled inverted index. See `docs/architecture.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kindred_protocol::api::{ErrorCode, SearchHit};
use kindred_protocol::{EventBody, EventId, MemberId};
use tokio::sync::watch;

use super::Node;
use crate::error::AppError;
use crate::store::{
    EventMeta, IndexOp, IndexedEntry, SearchDoc, Store, StoreError, StoredEvent, payload_of,
};

/// Words too common to help a search.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "i",
    "in", "is", "it", "its", "of", "on", "or", "our", "so", "that", "the", "their", "this", "to",
    "was", "we", "were", "with", "you",
];

/// Lower-cased words of at least two characters, without stopwords.
pub(crate) fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && w.len() <= 40)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

fn document(title: Option<&str>, body: &str, tags: &[String]) -> SearchDoc {
    let mut terms: BTreeMap<String, u32> = BTreeMap::new();
    let mut len = 0u32;
    let mut add = |text: &str, weight: u32| {
        for word in tokenize(text) {
            *terms.entry(word).or_default() += weight;
            len += weight;
        }
    };
    // Titles and tags say what a post is about, so they count double.
    if let Some(t) = title {
        add(t, 2);
    }
    for tag in tags {
        add(tag, 2);
    }
    add(body, 1);
    SearchDoc {
        len,
        terms,
        segment: 0,
    }
}

/// The indexer waits for writing to pause this long before indexing...
const QUIET: Duration = Duration::from_millis(250);
/// ...but never leaves new events unindexed for longer than this...
const MAX_DELAY: Duration = Duration::from_secs(10);
/// ...or lets more than this many pile up: about two seconds of indexing on a small
/// machine, which bounds how long a search made in the middle of a burst waits.
const MAX_BACKLOG: u64 = 150_000;

/// Why the indexer is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Events were stored: index them when writing pauses (or within `MAX_DELAY`), so
    /// bursts of posts and catch-ups keep the CPU for storing and acknowledging.
    Written,
    /// A search is waiting: index now.
    Search,
}

/// Handle on the indexer thread.
pub(crate) struct Indexer {
    /// Wakes the thread; dropping it stops the thread.
    wake: std::sync::Mutex<Option<mpsc::Sender<Wake>>>,
    /// The last local seq indexed.
    progress: watch::Receiver<u64>,
    /// Joined at shutdown.
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Indexer {
    pub(crate) fn start(store: Store) -> Result<Self, StoreError> {
        let (wake, rx) = mpsc::channel();
        let (progress_tx, progress) = watch::channel(store.indexed_up_to()?);
        let thread = std::thread::Builder::new()
            .name("kindred-index".to_owned())
            .spawn(move || run(store, rx, progress_tx))
            .map_err(|e| StoreError::corrupt("indexer", e))?;
        Ok(Self {
            wake: std::sync::Mutex::new(Some(wake)),
            progress,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// A sender that wakes the indexer (given to the ingest path).
    pub(crate) fn waker(&self) -> Option<mpsc::Sender<Wake>> {
        self.wake.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the thread after its current batch and waits for it.
    pub(crate) fn stop(&self) {
        self.wake.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread
            && t.join().is_err()
        {
            tracing::error!("the search indexer panicked");
        }
    }
}

fn run(store: Store, rx: mpsc::Receiver<Wake>, progress: watch::Sender<u64>) {
    let mut up_to = *progress.borrow();
    // What the node left unindexed when it last stopped is treated as a burst too: a node
    // restarted after downtime is about to catch up with its peers, and that comes first.
    let mut wake = Some(Wake::Written);
    loop {
        if wake == Some(Wake::Written) && !wait_for_quiet(&store, &rx, up_to) {
            return;
        }
        match index_pending(&store, up_to) {
            Ok(done) => {
                if done != up_to {
                    up_to = done;
                    progress.send_replace(up_to);
                }
            }
            Err(e) => tracing::error!(error = %e, "search indexing failed; will retry"),
        }
        wake = match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(w) => Some(w),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
    }
}

/// Lets a burst of writes (a catch-up after downtime, say) finish before indexing:
/// indexing many events in one transaction costs far less than one at a time, and the
/// burst keeps both cores for storing and acknowledging. A waiting search cuts the wait
/// short. False when the node is stopping.
fn wait_for_quiet(store: &Store, rx: &mpsc::Receiver<Wake>, up_to: u64) -> bool {
    let since = std::time::Instant::now();
    loop {
        match rx.recv_timeout(QUIET) {
            Ok(Wake::Search) | Err(mpsc::RecvTimeoutError::Timeout) => return true,
            Ok(Wake::Written)
                if since.elapsed() >= MAX_DELAY || backlog(store, up_to) >= MAX_BACKLOG =>
            {
                return true;
            }
            Ok(Wake::Written) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// How many stored events are not indexed yet (none if the store cannot say).
fn backlog(store: &Store, up_to: u64) -> u64 {
    store
        .last_local_seq()
        .map_or(0, |last| last.saturating_sub(up_to))
}

/// Indexes everything after `up_to`; returns the new watermark.
fn index_pending(store: &Store, mut up_to: u64) -> Result<u64, StoreError> {
    loop {
        let batch = store.stored_after(up_to, 512)?;
        let Some(last) = batch.last().map(|e| e.local_seq) else {
            return Ok(up_to);
        };
        let mut ops = Vec::new();
        for stored in batch {
            if let Some(op) = op_for(store, stored)? {
                ops.push(op);
            }
        }
        store.apply_index(&ops, last)?;
        up_to = last;
    }
}

/// What the index must do for one stored event.
fn op_for(store: &Store, stored: StoredEvent) -> Result<Option<IndexOp>, StoreError> {
    let StoredEvent {
        id, meta, event, ..
    } = stored;
    let p = payload_of(&event)?;
    let doc = match &p.body {
        EventBody::Post(post) => document(Some(&post.title), &post.body, &post.tags),
        EventBody::Reply(reply) => document(None, &reply.body, &[]),
        EventBody::Retraction(_) => {
            let Some(target) = p.refs.retracts else {
                return Ok(None);
            };
            return Ok(original_of(store, target)?.map(|(e, _)| IndexOp::Remove(e)));
        }
        _ => return Ok(None),
    };
    let (original, original_meta) = match meta.original {
        None => (
            IndexedEntry {
                id,
                local_seq: meta.local_seq,
            },
            meta,
        ),
        Some(original) => match original_of(store, original)? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let shown = original_meta.latest.unwrap_or(original.id);
    if original_meta.retracted_by.is_some() || shown != id {
        // Retracted, or an older version than the one shown: nothing to index.
        return Ok(None);
    }
    Ok(Some(IndexOp::Put(original, doc)))
}

/// The entry an event belongs to (itself, or what it is a version of), with its meta.
fn original_of(
    store: &Store,
    id: EventId,
) -> Result<Option<(IndexedEntry, EventMeta)>, StoreError> {
    let Some(meta) = store.event_meta(&id)? else {
        return Ok(None);
    };
    let original = meta.original.unwrap_or(id);
    let meta = if original == id {
        meta
    } else {
        match store.event_meta(&original)? {
            Some(m) => m,
            None => return Ok(None),
        }
    };
    let entry = IndexedEntry {
        id: original,
        local_seq: meta.local_seq,
    };
    Ok(Some((entry, meta)))
}

/// Longest query text accepted, in bytes.
pub(crate) const MAX_QUERY_BYTES: usize = 1_000;

/// Most distinct words a search uses; later ones are ignored.
pub(crate) const MAX_TERMS: usize = 16;

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
fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in tokenize(query) {
        if terms.len() == MAX_TERMS {
            break;
        }
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// BM25 scores of the entries matching `terms`. Rarer terms say most about what was
/// meant, so they are scored first; if `deadline` passes, the scores so far are used.
fn score(
    store: &Store,
    terms: &[String],
    deadline: Instant,
) -> Result<(Vec<(EventId, f32)>, bool), StoreError> {
    let (docs, total_len) = store.index_stats()?;
    let n = docs.max(1) as f32;
    let avg_len = (total_len as f32 / n).max(1.0);
    let (k1, b) = (1.2f32, 0.75f32);
    let mut lists = Vec::with_capacity(terms.len());
    for term in terms {
        if Instant::now() >= deadline {
            return Ok((Vec::new(), true));
        }
        lists.push(store.postings(term)?);
    }
    lists.sort_by_key(Vec::len);
    let mut scores: HashMap<EventId, f32> = HashMap::new();
    let mut cut_short = false;
    'terms: for postings in lists {
        let df = postings.len() as f32;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        for (i, (id, tf, len)) in postings.into_iter().enumerate() {
            if i % BUDGET_CHECK_EVERY == 0 && Instant::now() >= deadline {
                cut_short = true;
                break 'terms;
            }
            let tf = tf as f32;
            let norm = k1 * (1.0 - b + b * len as f32 / avg_len);
            *scores.entry(id).or_default() += idf * tf * (k1 + 1.0) / (tf + norm);
        }
    }
    let mut ranked: Vec<(EventId, f32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
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
        let terms = query_terms(query);
        if terms.is_empty() {
            return Err(AppError::bad_request(
                "Please search for at least one word of two or more letters.",
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
        let limit = limit.clamp(1, 100);
        let hits = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let (ranked, cut_short) = score(node.store(), &terms, started + budget)?;
            if cut_short {
                tracing::info!(
                    terms = terms.len(),
                    "search used its time budget; ranking what was scored"
                );
            }
            let mut hits = Vec::new();
            for (id, score) in ranked {
                if hits.len() >= limit {
                    break;
                }
                if let Some(post) = node.post_view(&id, Some(&viewer))? {
                    hits.push(SearchHit { score, post });
                }
            }
            Ok::<_, AppError>(hits)
        })
        .await
        .map_err(AppError::internal)??;
        drop(permit);
        Ok(hits)
    }

    /// Waits until the index covers every event stored before now (at most a few seconds).
    async fn wait_for_index(&self) -> Result<(), AppError> {
        let target = self.store().last_local_seq()?;
        let mut progress = self.indexer().progress.clone();
        if let Some(w) = self.indexer().waker() {
            // The indexer may be stopping; then the wait below times out.
            let _ = w.send(Wake::Search);
        }
        let reached = tokio::time::timeout(
            Duration::from_secs(5),
            progress.wait_for(|done| *done >= target),
        )
        .await;
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
    fn a_query_uses_its_first_sixteen_distinct_words() {
        let many: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
        let terms = query_terms(&many.join(" "));
        assert_eq!(terms.len(), MAX_TERMS);
        assert_eq!(terms[0], "word0");
        assert_eq!(terms[15], "word15");
        assert_eq!(
            query_terms("grant Grant GRANT funding"),
            ["grant", "funding"]
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
        let (ranked, cut_short) = score(&store, &["grant".to_owned()], past).unwrap();
        assert!(ranked.is_empty());
        assert!(cut_short);
    }

    #[test]
    fn tokens_are_lowercase_words_without_stopwords() {
        let words: Vec<String> =
            tokenize("The Lottery-bid: what WE learned, ça marche! a").collect();
        assert_eq!(words, ["lottery", "bid", "what", "learned", "ça", "marche"]);
    }

    #[test]
    fn titles_and_tags_count_double() {
        let doc = document(Some("Funding"), "funding again", &["grants".to_owned()]);
        assert_eq!(doc.terms["funding"], 3);
        assert_eq!(doc.terms["grants"], 2);
        assert_eq!(doc.len, 6);
    }
}
