//! The generated corpus the search benchmarks share: a fixed vocabulary, a deterministic
//! word generator, the writers that post it, and percentiles of what was timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kindred_client::Client;
use kindred_protocol::api::NewPost;

/// Words posts and searches are made of: enough that each word is in a few percent of
/// posts, as real vocabulary is.
pub(crate) fn vocabulary() -> Vec<String> {
    let stems = [
        "grant",
        "fund",
        "burnout",
        "volunteer",
        "peer",
        "support",
        "mental",
        "health",
        "youth",
        "carer",
        "housing",
        "wellbeing",
        "training",
        "group",
        "walk",
        "garden",
        "cafe",
        "recovery",
        "lived",
        "experience",
        "coproduction",
        "evaluation",
        "report",
        "trustee",
        "board",
        "budget",
        "rural",
        "urban",
        "digital",
        "phone",
    ];
    let endings = ["", "s", "ing", "ed", "er", "al", "ful", "ness"];
    let mut words = Vec::new();
    for stem in stems {
        for ending in endings {
            for n in 0..8 {
                words.push(format!("{stem}{ending}{n}"));
            }
        }
    }
    words
}

/// A small deterministic generator (xorshift), so every run writes the same posts.
pub(crate) struct Words {
    pub(crate) state: u64,
    pub(crate) vocabulary: Vec<String>,
}

impl Words {
    pub(crate) fn next(&mut self) -> &str {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let i = (self.state % self.vocabulary.len() as u64) as usize;
        &self.vocabulary[i]
    }

    pub(crate) fn text(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| self.next().to_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Writes posts until `total` are stored, 16 writers at once.
pub(crate) async fn write_posts(admin: &Client, from: u64, total: u64) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(from));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let admin = admin.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut words = Words {
                    state: 0x9e37_79b9_7f4a_7c15 ^ (w + 1 + from),
                    vocabulary: vocabulary(),
                };
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let post = NewPost {
                        title: words.text(6),
                        body: words.text(60),
                        tags: vec![words.next().to_owned()],
                        content_warning: None,
                    };
                    admin.create_post("Bench", &post).await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    Ok(())
}

/// Words a writer uses between the topical ones; the search pipeline drops most of them.
const COMMON: [&str; 24] = [
    "the", "and", "to", "of", "a", "in", "we", "our", "for", "with", "it", "was", "that", "this",
    "on", "is", "were", "they", "at", "from", "but", "more", "about", "people",
];

impl Words {
    /// A word drawn with a skew towards the start of the vocabulary, as real vocabulary is
    /// (a few words are in many posts, most in few): roughly Zipf-like.
    pub(crate) fn skewed(&mut self) -> &str {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let u = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        let i = ((self.vocabulary.len() as f64) * u.powf(2.5)) as usize;
        &self.vocabulary[i.min(self.vocabulary.len() - 1)]
    }

    /// About `bytes` bytes of prose: topical words (skewed) with common words between.
    pub(crate) fn prose(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 16);
        let mut n = 0u64;
        while out.len() < bytes {
            if !out.is_empty() {
                out.push(' ');
            }
            n += 1;
            if n % 2 == 0 {
                let i = (self.state % COMMON.len() as u64) as usize;
                out.push_str(COMMON[i]);
            } else {
                let word = self.skewed().to_owned();
                out.push_str(&word);
            }
        }
        out
    }
}

/// A post the size of a real reflection: a six-word title, one tag and a body of about
/// 650 bytes (about 100 words), the size the measurements used.
pub(crate) fn realistic_post(words: &mut Words) -> NewPost {
    NewPost {
        title: (0..6)
            .map(|_| words.skewed().to_owned())
            .collect::<Vec<_>>()
            .join(" "),
        body: words.prose(650),
        tags: vec![words.skewed().to_owned()],
        content_warning: None,
    }
}
