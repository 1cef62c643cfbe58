//! Scoring a buddy's request against a mentor's offer. Hard filters ("must" criteria,
//! paused or full offers) exclude an offer; everything else adds to a score out of about
//! 100, and each part that counted is reported as a reason people can read.

use std::collections::BTreeSet;

use kindred_protocol::event::body::mentoring::{
    Availability, BuddyRequest, MentorOffer, Mode, OfferStatus,
};

/// The criteria a request can make hard ("must") or weight ("nice to have").
pub const CRITERIA: &[&str] = &[
    "topics",
    "language",
    "region",
    "mode",
    "availability",
    "other_org",
];

/// What is known about an offer besides its body.
#[derive(Debug, Clone)]
pub struct OfferContext<'a> {
    /// The offer.
    pub offer: &'a MentorOffer,
    /// The mentor's organisation's node name.
    pub node: &'a str,
}

/// The buddy's side.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    /// The request.
    pub request: &'a BuddyRequest,
    /// The buddy's node name.
    pub node: &'a str,
    /// This node's own mentoring topics as configured (their spelling, for reasons).
    pub topic_names: &'a [String],
}

/// A scored pairing.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Higher is better (0 to about 100).
    pub score: f64,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// What does not fit the request, in words ("meets in person only, in Kent"), so a
    /// buddy can weigh it; criteria marked essential never reach here (they exclude).
    pub trade_offs: Vec<String>,
}

fn norm(items: &[String]) -> BTreeSet<String> {
    items
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn weight(request: &BuddyRequest, criterion: &str) -> f64 {
    request
        .nice_to_have
        .iter()
        .find(|w| w.criterion == criterion)
        .map(|w| 1.0 + f64::from(w.weight) / 100.0)
        .unwrap_or(1.0)
}

fn must(request: &BuddyRequest, criterion: &str) -> bool {
    request.must.iter().any(|m| m == criterion)
}

fn modes_fit(a: Mode, b: Mode) -> bool {
    a == Mode::Either || b == Mode::Either || a == b
}

fn days(av: Availability) -> u32 {
    (av.days & 0x7f).count_ones()
}

/// Scores `request` against `offer`; `None` when the offer must not be suggested.
pub fn score(request: &RequestContext<'_>, offer: &OfferContext<'_>) -> Option<Scored> {
    let (r, o) = (request.request, offer.offer);
    if o.status != OfferStatus::Open || o.places_left == 0 || o.capacity == 0 {
        return None;
    }
    let mut score = 0.0;
    let mut reasons = Vec::new();
    let mut trade_offs = Vec::new();

    let wanted = norm(&r.topics);
    let mut offered = norm(&o.topics);
    offered.extend(norm(std::slice::from_ref(&o.other_topics)));
    let shared: Vec<&String> = wanted.iter().filter(|t| offered.contains(*t)).collect();
    if must(r, "topics") && shared.is_empty() {
        return None;
    }
    if !shared.is_empty() && !wanted.is_empty() {
        score += 40.0 * weight(r, "topics") * shared.len() as f64 / wanted.len() as f64;
        // Names, not keys, mid-sentence: "burnout and wellbeing".
        let list: Vec<String> = shared
            .iter()
            .map(|s| topic_words(request.topic_names, s))
            .collect();
        reasons.push(if shared.len() == 1 {
            format!("can help with {}", list[0])
        } else {
            format!(
                "shares {} of your topics: {}",
                shared.len(),
                list.join(", ")
            )
        });
    } else if !wanted.is_empty() {
        trade_offs.push("offers none of the topics you asked about".to_owned());
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|t| !offered.contains(*t))
        .map(|t| topic_words(request.topic_names, t))
        .collect();
    if !shared.is_empty() && !missing.is_empty() {
        trade_offs.push(format!("does not offer help with {}", missing.join(" or ")));
    }

    let languages: Vec<String> = norm(&r.languages)
        .intersection(&norm(&o.languages))
        .cloned()
        .collect();
    if must(r, "language") && languages.is_empty() {
        return None;
    }
    if !languages.is_empty() {
        score += 15.0 * weight(r, "language");
        let names: Vec<String> = languages.iter().map(|l| capitalise(l)).collect();
        reasons.push(format!("speaks {}", names.join(" and ")));
    } else if !norm(&r.languages).is_empty() {
        let asked: Vec<String> = norm(&r.languages).iter().map(|l| capitalise(l)).collect();
        trade_offs.push(format!("does not speak {}", asked.join(" or ")));
    }

    let same_region =
        !r.region.trim().is_empty() && r.region.trim().eq_ignore_ascii_case(o.region.trim());
    let online = r.mode == Mode::Online || o.mode == Mode::Online;
    if must(r, "region") && !same_region && !(online && modes_fit(r.mode, o.mode)) {
        return None;
    }
    if same_region {
        score += 10.0 * weight(r, "region");
        reasons.push(format!("also in {}", o.region.trim()));
    }

    let mode_ok = modes_fit(r.mode, o.mode);
    if must(r, "mode") && !mode_ok {
        return None;
    }
    let where_ = if o.region.trim().is_empty() {
        String::new()
    } else {
        format!(", in {}", o.region.trim())
    };
    if mode_ok {
        score += 10.0 * weight(r, "mode");
        reasons.push(match (r.mode, o.mode) {
            (Mode::Online, _) | (_, Mode::Online) => "meets online".to_owned(),
            (Mode::InPerson, _) | (_, Mode::InPerson) => "meets in person".to_owned(),
            _ => "online or in person".to_owned(),
        });
        // Meeting face to face somewhere else is a real cost even when both say so.
        let in_person = r.mode == Mode::InPerson || o.mode == Mode::InPerson;
        if in_person && !same_region && !r.region.trim().is_empty() && !where_.is_empty() {
            trade_offs.push(format!(
                "meets in person{where_}, not in {}",
                r.region.trim()
            ));
        }
    } else {
        trade_offs.push(match o.mode {
            Mode::InPerson => format!("meets in person only{where_}"),
            _ => "meets online only".to_owned(),
        });
    }

    let hours_fit = if r.availability.hours_per_month == 0 {
        1.0
    } else {
        (f64::from(o.availability.hours_per_month) / f64::from(r.availability.hours_per_month))
            .min(1.0)
    };
    let shared_days = days(Availability {
        hours_per_month: 0,
        days: r.availability.days & o.availability.days,
    });
    if must(r, "availability")
        && (hours_fit < 1.0 || (r.availability.days != 0 && shared_days == 0))
    {
        return None;
    }
    score += 10.0 * weight(r, "availability") * hours_fit;
    let hours = |h: u16| crate::calendar::count(u64::from(h), "hour", "hours");
    if hours_fit >= 1.0 && o.availability.hours_per_month > 0 {
        reasons.push(format!(
            "has {} a month",
            hours(o.availability.hours_per_month)
        ));
    } else if hours_fit < 1.0 {
        trade_offs.push(format!(
            "has {} a month (you asked for {})",
            hours(o.availability.hours_per_month),
            hours(r.availability.hours_per_month)
        ));
    }
    if shared_days > 0 {
        score += 2.0 * shared_days as f64 / 7.0;
    } else if r.availability.days != 0 && o.availability.days != 0 {
        trade_offs.push("is free on other days than you".to_owned());
    }

    let other_org = request.node != offer.node;
    if must(r, "other_org") && !other_org {
        return None;
    }
    if other_org {
        if r.wants_other_org {
            score += 10.0 * weight(r, "other_org");
        }
        if o.prefers_other_orgs {
            score += 5.0;
        }
        reasons.push("from another organisation".to_owned());
    } else if r.wants_other_org {
        trade_offs.push("from your own organisation".to_owned());
    }

    // A little for free places, so a mentor with room is slightly preferred.
    score += 5.0 * f64::from(o.places_left) / f64::from(o.capacity.max(1));
    if o.places_left == 1 {
        reasons.push("has 1 place left".to_owned());
    } else {
        reasons.push(format!("has {} places", o.places_left));
    }
    Some(Scored {
        score,
        reasons,
        trade_offs,
    })
}

/// A topic key as words mid-sentence: as the organisation configured it ("NHS-and-GP
/// access"), else the vocabulary's name in lower case ("burnout and wellbeing").
fn topic_words(configured: &[String], key: &str) -> String {
    if let Some(name) = configured.iter().find(|t| t.trim().to_lowercase() == key) {
        return name.trim().to_owned();
    }
    let name = kindred_protocol::api::topic_name(key);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_protocol::event::body::mentoring::Weighted;

    fn offer() -> MentorOffer {
        MentorOffer {
            status: OfferStatus::Open,
            topics: vec![
                "funding".into(),
                "volunteers".into(),
                "co-production".into(),
            ],
            other_topics: String::new(),
            lived_experience: vec![],
            languages: vec!["English".into(), "Gaelic".into()],
            region: "Highlands".into(),
            mode: Mode::Online,
            availability: Availability {
                hours_per_month: 4,
                days: 0b0000_0101,
            },
            capacity: 2,
            places_left: 2,
            bio: String::new(),
            prefers_other_orgs: true,
        }
    }

    fn request() -> BuddyRequest {
        BuddyRequest {
            topics: vec![
                "Funding".into(),
                "volunteers".into(),
                "co-production".into(),
            ],
            goals: "Write our first bid".into(),
            languages: vec!["gaelic".into()],
            region: "Glasgow".into(),
            mode: Mode::Either,
            availability: Availability {
                hours_per_month: 2,
                days: 0b0000_0001,
            },
            must: vec![],
            nice_to_have: vec![],
            wants_other_org: true,
        }
    }

    fn run(r: &BuddyRequest, o: &MentorOffer, same_org: bool) -> Option<Scored> {
        let offer_node = if same_org { "a.test" } else { "b.test" };
        score(
            &RequestContext {
                request: r,
                node: "a.test",
                topic_names: &[],
            },
            &OfferContext {
                offer: o,
                node: offer_node,
            },
        )
    }

    /// Each mismatch is said plainly beside what fits; essentials exclude instead.
    #[test]
    fn what_does_not_fit_is_said_and_essentials_exclude() {
        let in_kent = MentorOffer {
            mode: Mode::InPerson,
            region: "Kent".into(),
            availability: Availability {
                hours_per_month: 1,
                days: 0b0000_0010,
            },
            languages: vec!["English".into()],
            ..offer()
        };
        let online = BuddyRequest {
            mode: Mode::Online,
            ..request()
        };
        let s = run(&online, &in_kent, true).unwrap_or_else(|| panic!("suggested"));
        for expected in [
            "meets in person only, in Kent",
            "does not speak Gaelic",
            "has 1 hour a month (you asked for 2 hours)",
            "is free on other days than you",
            "from your own organisation",
        ] {
            assert!(
                s.trade_offs.iter().any(|t| t == expected),
                "{expected:?} in {:?}",
                s.trade_offs
            );
        }
        assert!(
            !s.reasons.iter().any(|r| r.contains("online")),
            "{:?}",
            s.reasons
        );
        // Both happy to meet face to face, but in different places.
        let face_to_face = BuddyRequest {
            mode: Mode::InPerson,
            ..request()
        };
        let s = run(&face_to_face, &in_kent, false).unwrap_or_else(|| panic!("suggested"));
        assert!(
            s.trade_offs
                .contains(&"meets in person, in Kent, not in Glasgow".to_owned()),
            "{:?}",
            s.trade_offs
        );
        // The same mismatches marked essential exclude the offer.
        for criterion in ["mode", "language", "availability", "other_org"] {
            let strict = BuddyRequest {
                must: vec![criterion.to_owned()],
                ..online.clone()
            };
            assert_eq!(run(&strict, &in_kent, true), None, "{criterion}");
        }
        // A topic asked for that the mentor does not cover is named.
        let more = BuddyRequest {
            topics: vec!["funding".into(), "governance".into()],
            ..request()
        };
        let s = run(&more, &offer(), false).unwrap_or_else(|| panic!("suggested"));
        assert!(
            s.trade_offs
                .contains(&"does not offer help with governance".to_owned()),
            "{:?}",
            s.trade_offs
        );
        // A good fit has nothing to weigh.
        let s = run(&request(), &offer(), false).unwrap_or_else(|| panic!("suggested"));
        assert!(s.trade_offs.is_empty(), "{:?}", s.trade_offs);
    }

    #[test]
    fn reasons_explain_the_score() {
        let s = run(&request(), &offer(), false).unwrap();
        assert!(
            s.reasons.contains(
                &"shares 3 of your topics: co-production, funding, volunteers".to_owned()
            ),
            "{:?}",
            s.reasons
        );
        assert!(s.reasons.contains(&"speaks Gaelic".to_owned()));
        assert!(s.reasons.contains(&"meets online".to_owned()));
        assert!(s.reasons.contains(&"from another organisation".to_owned()));
        assert!(s.score > 80.0, "{}", s.score);
    }

    #[test]
    fn musts_filter_and_paused_or_full_offers_are_never_suggested() {
        let mut r = request();
        r.must = vec!["language".into()];
        let mut o = offer();
        o.languages = vec!["Welsh".into()];
        assert!(run(&r, &o, false).is_none());
        r.must = vec!["other_org".into()];
        assert!(run(&r, &offer(), true).is_none());
        let mut paused = offer();
        paused.status = OfferStatus::Paused;
        assert!(run(&request(), &paused, false).is_none());
        let mut full = offer();
        full.places_left = 0;
        assert!(run(&request(), &full, false).is_none());
    }

    #[test]
    fn weights_raise_what_matters_to_the_buddy() {
        let plain = run(&request(), &offer(), false).unwrap().score;
        let mut r = request();
        r.nice_to_have = vec![Weighted {
            criterion: "language".into(),
            weight: 100,
        }];
        assert!(run(&r, &offer(), false).unwrap().score > plain);
    }
}
