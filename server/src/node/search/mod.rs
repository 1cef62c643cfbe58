//! Full-text search over titles, bodies and tags: an inverted index in sled, ranked with
//! BM25. A background thread follows the arrival log and keeps the index a moment behind
//! it, so indexing never slows down posting; a search first waits (briefly) for the index
//! to cover everything stored before it, so members always find what they just wrote.
//!
//! Why not a search engine crate: tantivy would add a large dependency tree and a second
//! storage engine to back up; a node's corpus (thousands to a few hundred thousand posts)
//! is well served by a sled inverted index. See `docs/architecture.md`.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use kindred_protocol::{EventBody, EventId};
use tokio::sync::watch;

use crate::config::SearchLanguage;
use crate::store::{
    EventMeta, IndexOp, IndexedEntry, SearchDoc, Store, StoreError, StoredEvent, payload_of,
};

mod analyzer;
mod query;

pub(crate) use analyzer::Analyzer;
pub(crate) use query::concurrency;

/// Names the text pipeline an index was built with; a different one rebuilds the index.
fn pipeline_id(language: SearchLanguage) -> String {
    format!("uax29-nfkc-fold-cjk2-snowball/3/{language:?}/postings-by-arrival/df/merged")
}

fn document(analyzer: &Analyzer, title: Option<&str>, body: &str, tags: &[String]) -> SearchDoc {
    let mut terms: BTreeMap<String, u32> = BTreeMap::new();
    let mut len = 0u32;
    let mut add = |text: &str, weight: u32| {
        for word in analyzer.terms(text) {
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
    SearchDoc { len, terms }
}

/// The words of a stored post or reply (`None` for anything else, a tombstone included).
fn words_of(analyzer: &Analyzer, event: &kindred_protocol::SignedEvent) -> Option<SearchDoc> {
    let p = payload_of(event).ok()?;
    match &p.body {
        EventBody::Post(post) => Some(document(
            analyzer,
            Some(&post.title),
            &post.body,
            &post.tags,
        )),
        EventBody::Reply(reply) => Some(document(analyzer, None, &reply.body, &[])),
        _ => None,
    }
}

/// The words the index holds for `entry`: its indexed version read again through the same
/// pipeline (`None` when it is not indexed or that version's words are gone).
fn indexed_words(
    store: &Store,
    analyzer: &Analyzer,
    entry: &IndexedEntry,
) -> Result<Option<SearchDoc>, StoreError> {
    let Some(doc) = store.indexed_doc(entry.local_seq)? else {
        return Ok(None);
    };
    let words = match store.stored_at(doc.version)? {
        Some(version) => words_of(analyzer, &version.event),
        None => None,
    };
    // A version redacted since it was indexed: its former bytes are kept until the
    // indexer has passed the redaction.
    let words = match words {
        Some(words) => Some(words),
        None => store
            .redacted_version(doc.version)?
            .and_then(|event| words_of(analyzer, &event)),
    };
    Ok(words.filter(|words| words.len == doc.len))
}

/// The indexer waits for writing to pause this long before indexing at full speed...
const QUIET: Duration = Duration::from_millis(250);
/// ...but never leaves new events unindexed for longer than this: under sustained writing
/// it then indexes at a pace (see [`PACE`])...
const MAX_DELAY: Duration = Duration::from_secs(2);
/// ...or lets more than this many pile up before it starts.
const MAX_BACKLOG: u64 = 20_000;
/// Events indexed per transaction: a batch of 650-byte posts takes a few milliseconds to
/// write, so the storage's one writer is never held long away from acknowledgements.
const BATCH: usize = 256;
/// While writing goes on, the indexer rests this many times as long as each batch took
/// (a third of one core at most), so indexing never takes the cores acknowledgements
/// need; measured with `kindred-bench load`, where indexing at full speed during a
/// sustained load used more CPU than storing the posts did.
const PACE: u32 = 2;

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
    /// Starts indexing with `language`'s pipeline; an index built by another pipeline is
    /// dropped first and rebuilt from the event log.
    pub(crate) fn start(store: Store, language: SearchLanguage) -> Result<Self, StoreError> {
        if store.index_built_by(&pipeline_id(language))? {
            tracing::info!(
                ?language,
                "search index will be rebuilt for this text pipeline"
            );
        }
        let (wake, rx) = mpsc::channel();
        let (progress_tx, progress) = watch::channel(store.indexed_up_to()?);
        let analyzer = Analyzer::new(language);
        let thread = std::thread::Builder::new()
            .name("kindred-index".to_owned())
            .spawn(move || run(store, &analyzer, rx, progress_tx))
            .map_err(|source| StoreError::Thread {
                what: "search indexer",
                source,
            })?;
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

fn run(store: Store, analyzer: &Analyzer, rx: mpsc::Receiver<Wake>, progress: watch::Sender<u64>) {
    let mut up_to = *progress.borrow();
    // What the node left unindexed when it last stopped is treated as a burst too: a node
    // restarted after downtime is about to catch up with its peers, and that comes first.
    let mut wake = Some(Wake::Written);
    loop {
        let speed = match wake {
            Some(Wake::Written) => match wait_for_quiet(&store, &rx, up_to) {
                Some(speed) => speed,
                None => return,
            },
            Some(Wake::Search) => Speed::Searched,
            None => Speed::Full,
        };
        match index_pending(&store, analyzer, up_to, speed, &rx, &progress) {
            Ok(done) => up_to = done,
            Err(e) => tracing::error!(error = %e, "search indexing failed; will retry"),
        }
        wake = match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(w) => Some(w),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
    }
}

/// How fast to index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speed {
    /// Writing has paused: as fast as the core allows until writing resumes (then
    /// [`Speed::Paced`]), so a backlog left by a burst does not take a core from the posts
    /// and live updates that follow it.
    Full,
    /// A search is waiting: as fast as the core allows until the index has caught up.
    Searched,
    /// Writing goes on: one batch, then a rest (see [`PACE`]).
    Paced,
}

/// Lets a burst of writes (a catch-up after downtime, say) finish before indexing at full
/// speed: indexing many events at once costs far less than one at a time, and the burst
/// keeps both cores for storing and acknowledging. A waiting search cuts the wait short;
/// writing that goes on past [`MAX_DELAY`] or [`MAX_BACKLOG`] is indexed at a pace.
/// `None` when the node is stopping.
fn wait_for_quiet(store: &Store, rx: &mpsc::Receiver<Wake>, up_to: u64) -> Option<Speed> {
    let since = std::time::Instant::now();
    loop {
        match rx.recv_timeout(QUIET) {
            Ok(Wake::Search) => return Some(Speed::Searched),
            Err(mpsc::RecvTimeoutError::Timeout) => return Some(Speed::Full),
            Ok(Wake::Written)
                if since.elapsed() >= MAX_DELAY || backlog(store, up_to) >= MAX_BACKLOG =>
            {
                return Some(Speed::Paced);
            }
            Ok(Wake::Written) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// How many stored events are not indexed yet (none if the store cannot say).
fn backlog(store: &Store, up_to: u64) -> u64 {
    store
        .last_local_seq()
        .map_or(0, |last| last.saturating_sub(up_to))
}

/// Indexes everything after `up_to` in batches of [`BATCH`], publishing progress after
/// each; returns the new watermark. Paced, it rests between batches while writes keep
/// coming, and goes to full speed when they stop or a search waits; at full speed, it
/// falls back to its pace when writing resumes, unless a search is waiting.
fn index_pending(
    store: &Store,
    analyzer: &Analyzer,
    mut up_to: u64,
    mut speed: Speed,
    rx: &mpsc::Receiver<Wake>,
    progress: &watch::Sender<u64>,
) -> Result<u64, StoreError> {
    loop {
        let started = std::time::Instant::now();
        let batch = store.stored_after(up_to, BATCH)?;
        let Some(last) = batch.last().map(|e| e.local_seq) else {
            return Ok(up_to);
        };
        let mut ops = Vec::new();
        for stored in batch {
            if let Some(op) = op_for(store, analyzer, stored)? {
                ops.push(op);
            }
        }
        store.apply_index(&ops, last)?;
        store.drop_redacted_up_to(last)?;
        up_to = last;
        progress.send_replace(up_to);
        speed = match speed {
            Speed::Paced => rest(rx, started.elapsed() * PACE),
            Speed::Full => match latest_wake(rx) {
                Some(Wake::Search) => Speed::Searched,
                Some(Wake::Written) => Speed::Paced,
                None => Speed::Full,
            },
            Speed::Searched => Speed::Searched,
        };
    }
}

/// The wakes that came during a batch, without waiting: a waiting search if any came,
/// else whether anything was written.
fn latest_wake(rx: &mpsc::Receiver<Wake>) -> Option<Wake> {
    let mut seen = None;
    while let Ok(wake) = rx.try_recv() {
        if seen != Some(Wake::Search) {
            seen = Some(wake);
        }
    }
    seen
}

/// Rests for `time` unless a search comes to wait; then, or if no write came meanwhile,
/// indexing goes on at full speed.
fn rest(rx: &mpsc::Receiver<Wake>, time: Duration) -> Speed {
    let until = std::time::Instant::now() + time;
    let mut written = false;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Wake::Search) => return Speed::Searched,
            Ok(Wake::Written) => written = true,
            // Stopping: the caller's next receive sees it.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Speed::Full,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return if written { Speed::Paced } else { Speed::Full };
            }
        }
    }
}

/// What the index must do for one stored event.
fn op_for(
    store: &Store,
    analyzer: &Analyzer,
    stored: StoredEvent,
) -> Result<Option<IndexOp>, StoreError> {
    let StoredEvent {
        id, meta, event, ..
    } = stored;
    let p = payload_of(&event)?;
    if let EventBody::Retraction(_) = &p.body {
        let Some(target) = p.refs.retracts else {
            return Ok(None);
        };
        let Some((entry, _)) = original_of(store, target)? else {
            return Ok(None);
        };
        let indexed = indexed_words(store, analyzer, &entry)?;
        return Ok(Some(IndexOp::Remove { entry, indexed }));
    }
    let Some(doc) = words_of(analyzer, &event) else {
        return Ok(None);
    };
    let version = meta.local_seq;
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
    let indexed = indexed_words(store, analyzer, &original)?;
    Ok(Some(IndexOp::Put {
        entry: original,
        version,
        doc,
        indexed,
    }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_search_outweighs_writes_between_batches() {
        let (tx, rx) = mpsc::channel();
        assert_eq!(latest_wake(&rx), None, "nothing came: full speed goes on");
        for wake in [Wake::Written, Wake::Search, Wake::Written] {
            tx.send(wake).expect("receiver held");
        }
        assert_eq!(latest_wake(&rx), Some(Wake::Search));
        assert_eq!(latest_wake(&rx), None, "all taken");
        tx.send(Wake::Written).expect("receiver held");
        assert_eq!(
            latest_wake(&rx),
            Some(Wake::Written),
            "writing resumed: paced"
        );
    }

    #[test]
    fn titles_and_tags_count_double() {
        let analyzer = Analyzer::new(SearchLanguage::English);
        let doc = document(
            &analyzer,
            Some("Funding"),
            "funding again",
            &["grants".to_owned()],
        );
        assert_eq!(doc.terms["fund"], 3);
        assert_eq!(doc.terms["grant"], 2);
        assert_eq!(doc.len, 6);
    }
}
