//! `kindred-bench matching`: ranking 10,000 offers for one request, and a cohort round of
//! 1,000 requests by 1,000 offers (capacities 1-3), with peak memory.

use std::time::Instant;

use kindred_protocol::event::body::mentoring::{
    Availability, BuddyRequest, MentorOffer, Mode, OfferStatus,
};
use kindred_server::matching::assign::{Scores, assign, total};
use kindred_server::matching::score::{OfferContext, RequestContext, score};

const TOPICS: &[&str] = kindred_protocol::api::MENTORING_TOPICS;
const LANGUAGES: &[&str] = &["english", "welsh", "gaelic", "urdu", "polish", "bsl"];
const REGIONS: &[&str] = &[
    "cheshire", "glasgow", "cardiff", "leeds", "bristol", "belfast",
];

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }

    fn pick(&mut self, from: &[&str], k: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..k)
            .map(|_| from[self.next(from.len())].to_owned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn mode(n: usize) -> Mode {
    [Mode::Online, Mode::InPerson, Mode::Either][n % 3]
}

fn offer(g: &mut Lcg) -> MentorOffer {
    let capacity = 1 + g.next(3) as u16;
    MentorOffer {
        status: OfferStatus::Open,
        topics: g.pick(TOPICS, 4),
        other_topics: String::new(),
        lived_experience: vec![],
        languages: g.pick(LANGUAGES, 2),
        region: REGIONS[g.next(REGIONS.len())].to_owned(),
        mode: mode(g.next(3)),
        availability: Availability {
            hours_per_month: 1 + g.next(8) as u16,
            days: g.next(128) as u8,
        },
        capacity,
        places_left: capacity,
        bio: String::new(),
        prefers_other_orgs: g.next(2) == 0,
    }
}

fn request(g: &mut Lcg) -> BuddyRequest {
    BuddyRequest {
        topics: g.pick(TOPICS, 3),
        goals: String::new(),
        languages: g.pick(LANGUAGES, 1),
        region: REGIONS[g.next(REGIONS.len())].to_owned(),
        mode: mode(g.next(3)),
        availability: Availability {
            hours_per_month: 1 + g.next(4) as u16,
            days: g.next(128) as u8,
        },
        must: if g.next(3) == 0 {
            vec!["language".into()]
        } else {
            vec![]
        },
        nice_to_have: vec![],
        wants_other_org: g.next(2) == 0,
    }
}

fn node(i: usize) -> String {
    format!("org{}.test", i % 20)
}

pub(crate) fn bench() {
    let mut g = Lcg(42);
    println!("Kindred matching benchmark");

    let offers: Vec<MentorOffer> = (0..10_000).map(|_| offer(&mut g)).collect();
    let nodes: Vec<String> = (0..offers.len()).map(node).collect();
    let req = request(&mut g);
    let start = Instant::now();
    let mut runs = 0;
    let mut shortlist = Vec::new();
    while start.elapsed().as_millis() < 2000 {
        let mut ranked: Vec<(f64, usize)> = offers
            .iter()
            .zip(&nodes)
            .enumerate()
            .filter_map(|(i, (o, n))| {
                score(
                    &RequestContext {
                        request: &req,
                        node: "org0.test",
                        topic_names: &[],
                    },
                    &OfferContext { offer: o, node: n },
                )
                .map(|s| (s.score, i))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.truncate(5);
        shortlist = ranked;
        runs += 1;
    }
    let per = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!(
        "ranking 10,000 offers for one request: {per:.2} ms (shortlist of {})",
        shortlist.len()
    );

    let offers: Vec<MentorOffer> = (0..1000).map(|_| offer(&mut g)).collect();
    let requests: Vec<BuddyRequest> = (0..1000).map(|_| request(&mut g)).collect();
    let before = crate::rss_mb(std::process::id()).unwrap_or(0.0);
    let start = Instant::now();
    let scores: Scores = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rn = node(i);
            offers
                .iter()
                .enumerate()
                .map(|(j, o)| {
                    let on = node(j + 7);
                    score(
                        &RequestContext {
                            request: r,
                            node: &rn,
                            topic_names: &[],
                        },
                        &OfferContext {
                            offer: o,
                            node: &on,
                        },
                    )
                    .map(|s| s.score)
                })
                .collect()
        })
        .collect();
    let scored = start.elapsed();
    let places: Vec<u32> = offers.iter().map(|o| u32::from(o.places_left)).collect();
    let assignment = assign(&scores, &places);
    let took = start.elapsed();
    let after = crate::rss_mb(std::process::id()).unwrap_or(0.0);
    let matched = assignment.iter().filter(|a| a.is_some()).count();
    println!(
        "cohort round 1,000 x 1,000 (capacities 1-3, {} places): {:.2} s ({:.2} s scoring, {:.2} s assignment); {matched} matched, total score {:.0}; RSS {before:.0} -> {after:.0} MB",
        places.iter().sum::<u32>(),
        took.as_secs_f64(),
        scored.as_secs_f64(),
        (took - scored).as_secs_f64(),
        total(&scores, &assignment)
    );
}
