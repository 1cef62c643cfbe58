//! Protocol hot-path figures: sign/s, verify_strict/s, batch verify/s (64 and 256),
//! encode/decode/s for a 1 KiB post. Run with `cargo bench -p kindred-protocol`;
//! criterion prints throughput in elements per second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kindred_protocol::event::body::peer_learning::Post;
use kindred_protocol::event::verify_batch;
use kindred_protocol::*;
use std::hint::black_box;

fn post_payload(keypair: &NodeKeypair, seq: u64) -> EventPayload {
    let node = NodeName::new("chex.example.org").expect("valid name");
    EventPayload {
        origin: keypair.node_id(),
        created_at: Timestamp(1_764_000_000_000),
        audience: Audience::Shared { seq },
        author: MemberId::new("sam", &node).expect("valid id"),
        refs: References::default(),
        body: EventBody::Post(Post {
            topic: "Funding".into(),
            title: "What we learned from our lottery bid".into(),
            body: "x".repeat(1024),
            tags: vec!["grants".into()],
            content_warning: None,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let keypair = NodeKeypair::from_seed(&[7; 32]);
    let payload = post_payload(&keypair, 1);
    let bytes = payload.to_bytes().expect("valid payload");
    let event = SignedEvent::sign(&payload, &keypair).expect("signs");

    let mut g = c.benchmark_group("single");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign (1 KiB post, incl. encode)", |b| {
        b.iter(|| SignedEvent::sign(black_box(&payload), &keypair))
    });
    g.bench_function("verify_strict (1 KiB post, incl. parse)", |b| {
        b.iter(|| black_box(event.clone()).verify())
    });
    let key = keypair.node_id().verifying_key().expect("valid key");
    g.bench_function(
        "verify_strict, cached origin key (1 KiB post, incl. parse)",
        |b| b.iter(|| black_box(event.clone()).verify_with(&key)),
    );
    let short = b"kindred";
    let short_sig = ed25519_dalek::Signature::from_bytes(&keypair.sign(short));
    g.bench_function("raw ed25519-dalek verify_strict (7-byte message)", |b| {
        b.iter(|| key.verify_strict(black_box(short), &short_sig))
    });
    g.bench_function("encode 1 KiB post", |b| {
        b.iter(|| black_box(&payload).to_bytes())
    });
    g.bench_function("decode 1 KiB post", |b| {
        b.iter(|| EventPayload::from_bytes(black_box(&bytes)))
    });
    g.finish();

    let mut g = c.benchmark_group("batch verify");
    for size in [64usize, 256] {
        let events: Vec<SignedEvent> = (1..=size as u64)
            .map(|seq| SignedEvent::sign(&post_payload(&keypair, seq), &keypair).expect("signs"))
            .collect();
        g.throughput(Throughput::Elements(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &events, |b, events| {
            b.iter(|| verify_batch(black_box(events.clone())))
        });
        let key = keypair.node_id().verifying_key().expect("valid key");
        let messages: Vec<&[u8]> = events.iter().map(|e| e.payload_bytes()).collect();
        let signatures: Vec<_> = events
            .iter()
            .map(|e| ed25519_dalek::Signature::from_bytes(e.signature()))
            .collect();
        let keys = vec![key; size];
        g.bench_function(
            BenchmarkId::new("raw ed25519-dalek verify_batch", size),
            |b| b.iter(|| ed25519_dalek::verify_batch(&messages, &signatures, &keys)),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
