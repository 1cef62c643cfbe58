//! The journal's records: how one commit's writes are framed, and how a run of them
//! is read back (where it ends, and what counts as damage rather than a torn append).

pub(super) const MAGIC: [u8; 4] = *b"KJr1";

/// magic, payload length (u32), generation (u64), seq (u64), CRC-32 (u32).
const HEADER: usize = 4 + 4 + 8 + 8 + 4;

/// One write of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store::kv) enum Op {
    Insert {
        table: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        table: String,
        key: Vec<u8>,
    },
}

/// One commit, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store::kv) struct Record {
    pub(super) generation: u64,
    pub(super) seq: u64,
    pub(super) ops: Vec<Op>,
}

const INSERT: u8 = 1;
const REMOVE: u8 = 2;

pub(super) fn encode(generation: u64, seq: u64, ops: &[Op]) -> Vec<u8> {
    let mut payload = Vec::new();
    for op in ops {
        let (tag, table, key, value) = match op {
            Op::Insert { table, key, value } => (INSERT, table, key, Some(value)),
            Op::Remove { table, key } => (REMOVE, table, key, None),
        };
        payload.push(tag);
        payload.extend_from_slice(&(table.len() as u16).to_le_bytes());
        payload.extend_from_slice(table.as_bytes());
        payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
        payload.extend_from_slice(key);
        if let Some(value) = value {
            payload.extend_from_slice(&(value.len() as u32).to_le_bytes());
            payload.extend_from_slice(value);
        }
    }
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&checksum(generation, seq, &payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn checksum(generation: u64, seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&generation.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// What lies at an offset of the records.
enum Found {
    Whole(Record),
    /// A header whose record fails its checksum, does not decode or runs past the file's
    /// end (generation and seq as the header says).
    Bad {
        generation: u64,
        seq: u64,
    },
    /// Zeros, or not even a header.
    End,
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The record at `at` and where the next one starts.
fn read_at(bytes: &[u8], at: usize) -> (Found, usize) {
    let Some(header) = bytes.get(at..at + HEADER) else {
        return (Found::End, at);
    };
    if header[..4] != MAGIC {
        return (Found::End, at);
    }
    let (Some(len), Some(generation), Some(seq), Some(crc)) = (
        u32_at(header, 4),
        u64_at(header, 8),
        u64_at(header, 16),
        u32_at(header, 24),
    ) else {
        return (Found::End, at);
    };
    let start = at + HEADER;
    let next = start.saturating_add(len as usize);
    let Some(payload) = bytes.get(start..next) else {
        return (Found::Bad { generation, seq }, next);
    };
    if checksum(generation, seq, payload) != crc {
        return (Found::Bad { generation, seq }, next);
    }
    match decode_ops(payload) {
        Some(ops) => (
            Found::Whole(Record {
                generation,
                seq,
                ops,
            }),
            next,
        ),
        None => (Found::Bad { generation, seq }, next),
    }
}

fn decode_ops(mut p: &[u8]) -> Option<Vec<Op>> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (p.get(..n)?, p.get(n..)?);
        *p = rest;
        Some(head)
    }
    let mut ops = Vec::new();
    while !p.is_empty() {
        let tag = take(&mut p, 1)?[0];
        let n = u16::from_le_bytes(take(&mut p, 2)?.try_into().ok()?) as usize;
        let table = String::from_utf8(take(&mut p, n)?.to_vec()).ok()?;
        let n = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
        let key = take(&mut p, n)?.to_vec();
        ops.push(match tag {
            INSERT => {
                let n = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
                let value = take(&mut p, n)?.to_vec();
                Op::Insert { table, key, value }
            }
            REMOVE => Op::Remove { table, key },
            _ => return None,
        });
    }
    Some(ops)
}

/// The records of `generation` in `records` (the file past its header), in order: from
/// the start while each follows on from the one before (seq 1, 2, ...). A torn last
/// append ends the run. Damage is anything of this generation past the run's end (a
/// record inside it failed), described; the run before it is returned with it.
pub(super) fn parse(records: &[u8], generation: u64) -> (Vec<Record>, Option<String>) {
    let mut out: Vec<Record> = Vec::new();
    let mut at = 0;
    let stop = loop {
        let expected = out.len() as u64 + 1;
        match read_at(records, at) {
            (Found::Whole(r), next) if r.generation == generation && r.seq == expected => {
                out.push(r);
                at = next;
            }
            (Found::Bad { generation: g, seq }, next)
                if g == generation && seq == expected && next > records.len() =>
            {
                return (
                    out,
                    Some(format!(
                        "record {seq} runs past the end of the file (it was cut)"
                    )),
                );
            }
            _ => break at,
        }
    };
    // A torn append is the last thing written: nothing of this generation follows it.
    let mut from = stop + 1;
    while let Some(found) = records
        .get(from..)
        .and_then(|rest| rest.windows(4).position(|w| w == MAGIC))
    {
        let here = from + found;
        if let (Found::Whole(r), _) = read_at(records, here)
            && r.generation == generation
        {
            let why = format!(
                "record {} fails its checksum or framing, and record {} follows it",
                stop_seq(&out),
                r.seq
            );
            return (out, Some(why));
        }
        from = here + 1;
    }
    (out, None)
}

fn stop_seq(run: &[Record]) -> u64 {
    run.last().map_or(1, |r| r.seq + 1)
}
#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Two writes (an insert and a removal) named after `n`; the journal's tests use them too.
    pub(in super::super) fn ops(n: u8) -> Vec<Op> {
        vec![
            Op::Insert {
                table: "events".into(),
                key: vec![n],
                value: vec![n; 3],
            },
            Op::Remove {
                table: "held".into(),
                key: vec![n, n],
            },
        ]
    }

    /// Three records of generation 9, and where each starts.
    fn three() -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for seq in 1..=3 {
            starts.push(bytes.len());
            bytes.extend(encode(9, seq, &ops(seq as u8)));
        }
        bytes.resize(bytes.len() + 4096, 0);
        (bytes, starts)
    }

    fn seqs(run: &[Record]) -> Vec<u64> {
        run.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_run_is_its_generation_in_order_and_ends_at_a_torn_append() {
        let (bytes, starts) = three();
        let (run, damage) = parse(&bytes, 9);
        assert_eq!((seqs(&run), damage), (vec![1, 2, 3], None));
        assert_eq!(run[2].ops, ops(3));
        // Another generation's records are not this one's.
        assert_eq!(parse(&bytes, 8), (Vec::new(), None));

        // A torn last append: the two before it stand, nothing is damaged.
        let mut torn = bytes.clone();
        torn[starts[2] + HEADER + 2..starts[2] + HEADER + 6].fill(0);
        let (run, damage) = parse(&torn, 9);
        assert_eq!((seqs(&run), damage), (vec![1, 2], None));

        // A new generation written over the start of an older one ends where it ends.
        let mut newer = bytes.clone();
        let first = encode(10, 1, &ops(4));
        newer[..first.len()].copy_from_slice(&first);
        let (run, damage) = parse(&newer, 10);
        assert_eq!((seqs(&run), damage), (vec![1], None));
    }

    #[test]
    fn damage_inside_the_run_or_a_cut_file_is_found() {
        let (bytes, starts) = three();
        for at in [
            starts[1] + HEADER + 3, // the payload
            starts[1],              // the magic
            starts[1] + 5,          // the length
            starts[1] + 12,         // the generation
        ] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            let (run, damage) = parse(&damaged, 9);
            assert_eq!(seqs(&run), vec![1], "byte {at}");
            assert!(damage.is_some_and(|d| d.contains("record 2")), "byte {at}");
        }
        // Cut inside the last record.
        let (run, damage) = parse(&bytes[..starts[2] + HEADER + 2], 9);
        assert_eq!(seqs(&run), vec![1, 2]);
        assert!(damage.is_some_and(|d| d.contains("cut")));
    }
}
