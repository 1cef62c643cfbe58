//! What every engine must do the same, run against each: ordering, scans in both
//! directions and across pages, compare-and-swap, batches, transactions that commit or
//! leave nothing, keyspaces that are independent, and data that survives a reopen.

use std::ops::Bound;

use proptest::prelude::*;

use super::{Batch, Db, Engine, KvError, TransactionError, TxError};

const ENGINES: [Engine; 3] = [Engine::Memory, Engine::Sled, Engine::Redb];

fn each(test: impl Fn(&Db, Engine)) {
    for engine in ENGINES {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("db"), engine).expect("open");
        test(&db, engine);
    }
}

fn keys(iter: super::Iter) -> Vec<Vec<u8>> {
    iter.map(|e| e.expect("read").0.into_vec()).collect()
}

#[test]
fn plain_reads_and_writes() {
    each(|db, engine| {
        let a = db.keyspace("a").expect("keyspace");
        assert_eq!(a.get(b"k").expect("get"), None, "{engine}");
        assert_eq!(a.insert(b"k", b"1").expect("insert"), None);
        assert_eq!(
            a.insert(b"k", b"2").expect("insert").as_deref(),
            Some(&b"1"[..])
        );
        assert_eq!(a.get(b"k").expect("get").as_deref(), Some(&b"2"[..]));
        assert!(a.contains_key(b"k").expect("contains"));
        assert_eq!(a.remove(b"k").expect("remove").as_deref(), Some(&b"2"[..]));
        assert_eq!(a.remove(b"k").expect("remove"), None);
        // Empty keys and values are values like any other.
        a.insert(b"", b"").expect("insert");
        assert_eq!(
            a.get(b"").expect("get").as_deref(),
            Some(&b""[..]),
            "{engine}"
        );
    });
}

#[test]
fn keyspaces_are_independent() {
    each(|db, engine| {
        let a = db.keyspace("a").expect("keyspace");
        let b = db.keyspace("b").expect("keyspace");
        a.insert(b"k", b"a").expect("insert");
        assert_eq!(b.get(b"k").expect("get"), None, "{engine}");
        b.insert(b"k", b"b").expect("insert");
        a.clear().expect("clear");
        assert!(a.is_empty(), "{engine}");
        assert_eq!(b.len(), 1, "{engine}");
        assert!(db.drop_keyspace("b").expect("drop"), "{engine}");
        let names = db.keyspace_names().expect("names");
        assert!(names.iter().any(|n| n == "a"), "{engine}: {names:?}");
        assert!(!names.iter().any(|n| n == "b"), "{engine}: {names:?}");
    });
}

#[test]
fn scans_are_ordered_bytewise_both_ways_and_across_pages() {
    each(|db, engine| {
        let t = db.keyspace("t").expect("keyspace");
        // More than a page, with keys that sort differently as numbers and as bytes.
        let mut batch = Batch::default();
        for i in 0u32..700 {
            batch.insert(i.to_be_bytes(), i.to_le_bytes());
        }
        batch.insert([0xFF, 0xFF, 0xFF, 0xFF, 0x00], b"high");
        t.apply_batch(batch).expect("batch");
        let all = keys(t.iter());
        assert_eq!(all.len(), 701, "{engine}");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{engine}: in order");
        let mut back = keys(t.iter().rev());
        back.reverse();
        assert_eq!(all, back, "{engine}: reverse is the same backwards");
        let from = 300u32.to_be_bytes();
        let to = 310u32.to_be_bytes();
        assert_eq!(keys(t.range(from..to)).len(), 10, "{engine}");
        assert_eq!(keys(t.range(from..=to)).len(), 11, "{engine}");
        assert_eq!(
            keys(t.range(from..=to).rev()).first(),
            Some(&to.to_vec()),
            "{engine}"
        );
        let last = |r: std::ops::RangeInclusive<[u8; 4]>| {
            t.last_in(r).expect("last in").map(|(k, _)| k.into_vec())
        };
        assert_eq!(last(from..=to), Some(to.to_vec()), "{engine}");
        let nothing = 5000u32.to_be_bytes()..=6000u32.to_be_bytes();
        assert_eq!(last(nothing), None, "{engine}: an empty range");
        // A prefix: 0x00 0x00 0x01 covers 256..512.
        assert_eq!(keys(t.scan_prefix([0, 0, 1])).len(), 256, "{engine}");
        // A prefix of all 0xFF has no end key.
        assert_eq!(keys(t.scan_prefix([0xFF, 0xFF])).len(), 1, "{engine}");
        let excluded = (Bound::Excluded(from.to_vec()), Bound::Unbounded);
        assert_eq!(keys(t.range(excluded)).len(), 700 - 301 + 1, "{engine}");
        assert_eq!(
            t.last().expect("last").map(|(k, _)| k.into_vec()),
            Some(vec![0xFF, 0xFF, 0xFF, 0xFF, 0x00])
        );
        assert!(
            keys(t.range(to..from)).is_empty(),
            "{engine}: a reversed range"
        );
    });
}

#[test]
fn compare_and_swap() {
    each(|db, engine| {
        let t = db.keyspace("t").expect("keyspace");
        assert!(
            t.compare_and_swap(b"k", None::<&[u8]>, Some(b"1"))
                .expect("cas")
                .is_ok()
        );
        let taken = t
            .compare_and_swap(b"k", None::<&[u8]>, Some(b"2"))
            .expect("cas");
        assert_eq!(
            taken.map_err(|e| e.current.map(|v| v.into_vec())),
            Err(Some(b"1".to_vec())),
            "{engine}: the holder is named"
        );
        assert!(
            t.compare_and_swap(b"k", Some(b"1"), None::<&[u8]>)
                .expect("cas")
                .is_ok()
        );
        assert_eq!(t.get(b"k").expect("get"), None, "{engine}");
    });
}

#[test]
fn a_transaction_commits_all_or_nothing() {
    each(|db, engine| {
        let a = db.keyspace("a").expect("keyspace");
        let b = db.keyspace("b").expect("keyspace");
        a.insert(b"seen", b"before").expect("insert");
        let r: Result<u32, TransactionError<&str>> = db.transaction([&a, &b], |[a, b]| {
            // Reads see the transaction's own writes.
            a.insert(b"x", b"1")?;
            assert_eq!(a.get(b"x")?.as_deref(), Some(&b"1"[..]));
            assert_eq!(a.get(b"seen")?.as_deref(), Some(&b"before"[..]));
            b.insert(b"y", b"2")?;
            b.remove(b"y")?;
            assert_eq!(b.get(b"y")?, None);
            Ok(7)
        });
        assert_eq!(r.ok(), Some(7), "{engine}");
        assert_eq!(a.get(b"x").expect("get").as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get(b"y").expect("get"), None);
        let r: Result<(), TransactionError<&str>> = db.transaction([&a, &b], |[a, b]| {
            a.insert(b"x", b"changed")?;
            b.insert(b"z", b"3")?;
            Err(TxError::Abort("no"))
        });
        assert!(
            matches!(r, Err(TransactionError::Abort("no"))),
            "{engine}: the abort's own error comes out"
        );
        assert_eq!(
            a.get(b"x").expect("get").as_deref(),
            Some(&b"1"[..]),
            "{engine}: nothing of an aborted transaction is kept"
        );
        assert_eq!(b.get(b"z").expect("get"), None, "{engine}");
    });
}

/// redb commits without waiting for the disk once the journal holds the writes: a copy
/// of the folder taken while it is open (what an abrupt stop leaves) holds every write
/// that returned, across checkpoints.
#[test]
fn redb_writes_survive_an_abrupt_stop_through_the_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let db = Db::open(&path, Engine::Redb).expect("open");
    let t = db.keyspace("t").expect("keyspace");
    let big = vec![7u8; 64 * 1024];
    for i in 0..40u32 {
        let r: Result<(), TransactionError<()>> = db.transaction([&t], |[t]| {
            t.insert(i.to_be_bytes(), &big)?;
            if i % 5 == 4 {
                t.remove((i - 1).to_be_bytes())?;
            }
            Ok(())
        });
        assert!(r.is_ok());
    }
    // A large commit is a checkpoint of its own instead of a journal record.
    let huge = vec![9u8; 300 * 1024];
    let r: Result<(), TransactionError<()>> = db.transaction([&t], |[t]| {
        t.insert(b"huge", &huge)?;
        Ok(())
    });
    assert!(r.is_ok());
    t.insert(b"single", b"1").expect("insert");
    assert!(
        t.compare_and_swap(b"single", Some(b"1"), Some(b"2"))
            .expect("cas")
            .is_ok()
    );
    let stopped = dir.path().join("stopped");
    std::fs::create_dir_all(&stopped).expect("dir");
    for file in [super::redb_engine::FILE, super::redb_journal::FILE] {
        std::fs::copy(path.join(file), stopped.join(file)).expect("copy");
    }
    // The database file alone has only what the last checkpoint held.
    let without = dir.path().join("without");
    std::fs::create_dir_all(&without).expect("dir");
    std::fs::copy(
        path.join(super::redb_engine::FILE),
        without.join(super::redb_engine::FILE),
    )
    .expect("copy");
    drop(t);
    drop(db);
    {
        // Refused without its journal, unless the loss is accepted.
        assert!(matches!(
            Db::open(&without, Engine::Redb),
            Err(KvError::Journal(why)) if why.contains("missing")
        ));
        let db = Db::open_expecting(&without, Engine::Redb, None, true).expect("accepted");
        let t = db.keyspace("t").expect("keyspace");
        assert_eq!(t.get(b"single").expect("get"), None);
    }
    let db = Db::open(&stopped, Engine::Redb).expect("open the copy");
    let t = db.keyspace("t").expect("keyspace");
    for i in 0..40u32 {
        let expected = if i % 5 == 3 { None } else { Some(&big[..]) };
        assert_eq!(
            t.get(i.to_be_bytes()).expect("get").as_deref(),
            expected,
            "{i}"
        );
    }
    assert_eq!(t.get(b"single").expect("get").as_deref(), Some(&b"2"[..]));
    assert_eq!(t.get(b"huge").expect("get").as_deref(), Some(&huge[..]));
    assert!(
        !db.keyspace_names()
            .expect("names")
            .iter()
            .any(|n| n.contains("journal"))
    );
}

#[test]
fn flushed_writes_survive_a_reopen() {
    for engine in [Engine::Sled, Engine::Redb] {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        {
            let db = Db::open(&path, engine).expect("open");
            let t = db.keyspace("t").expect("keyspace");
            t.insert(b"k", b"v").expect("insert");
            let r: Result<(), TransactionError<()>> = db.transaction([&t], |[t]| {
                t.insert(b"in-tx", b"v")?;
                Ok(())
            });
            assert!(r.is_ok());
            db.flush().expect("flush");
        }
        assert_eq!(Engine::found_in(&path), Some(engine));
        // sled lets go of its lock a moment after the last handle closes.
        let db = (0..100)
            .find_map(|_| match Db::open(&path, engine) {
                Err(KvError::Locked) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                }
                other => Some(other),
            })
            .expect("reopened in time")
            .expect("open");
        let t = db.keyspace("t").expect("keyspace");
        assert_eq!(t.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
        assert_eq!(t.get(b"in-tx").expect("get").as_deref(), Some(&b"v"[..]));
    }
}

#[test]
fn a_second_process_is_refused_as_locked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let _first = Db::open(&path, Engine::Redb).expect("open");
    assert!(matches!(
        Db::open(&path, Engine::Redb),
        Err(KvError::Locked)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any sequence of writes leaves every engine holding the same entries, in the same
    /// order, as a plain ordered map.
    #[test]
    fn every_engine_agrees_with_an_ordered_map(
        ops in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(0u8..4, 0..4), any::<u8>()),
            0..200,
        ),
    ) {
        let mut model = std::collections::BTreeMap::new();
        for (insert, k, v) in &ops {
            if *insert {
                model.insert(k.clone(), vec![*v]);
            } else {
                model.remove(k);
            }
        }
        let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
        for engine in ENGINES {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = Db::open(&dir.path().join("db"), engine).expect("open");
            let t = db.keyspace("t").expect("keyspace");
            for (insert, k, v) in &ops {
                if *insert {
                    t.insert(k, [*v]).expect("insert");
                } else {
                    t.remove(k).expect("remove");
                }
            }
            let got: Vec<(Vec<u8>, Vec<u8>)> = t
                .iter()
                .map(|e| e.map(|(k, v)| (k.into_vec(), v.into_vec())).expect("read"))
                .collect();
            prop_assert_eq!(&got, &expected, "{}", engine);
        }
    }
}
