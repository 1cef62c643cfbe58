//! The group's working state: the small records most events of a group read and change
//! (each origin's head and run, each topic's counts), read once and written once per group.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use kindred_protocol::{EventId, NodeId};

use super::super::keys::Position;
use super::super::origin_log::{Run, decode_u64, origin_seq_key};
use super::super::to_json;
use super::super::topics::TopicStats;
use super::tx::{Tx, TxError, abort};

/// Working copies of the small records that most events of a group read and change (their
/// origin's head and run, their topic's counts): each is read once and written once per
/// group instead of once per event, which matters when a catch-up stores hundreds of one
/// origin's posts in one topic per group.
#[derive(Default)]
pub(super) struct GroupState {
    /// Each origin's head as stored before this group (read once).
    pub(super) heads: HashMap<NodeId, u64>,
    /// Each origin's run of events this group is storing, written when it ends; its last
    /// event is the origin's new head.
    pub(super) runs: HashMap<NodeId, Run>,
    /// The topic counts this group changed, by `stats_key`.
    pub(super) stats: HashMap<Vec<u8>, TopicStats>,
    /// Replies this group added, by thread (a post taken down in the same group takes them
    /// too; the committed ones are found by scanning).
    pub(super) replies: HashMap<EventId, Vec<Position>>,
    /// This group held an event.
    pub(super) held_any: bool,
    /// What an erasure in this group took down, for live updates (one effect, many
    /// changes).
    pub(super) erased: Vec<super::Change>,
}

impl Tx<'_> {
    /// The highest contiguous sequence number held from `origin`, this group included.
    pub(super) fn head(&self, origin: &NodeId) -> Result<u64, TxError> {
        let group = self.group.borrow();
        if let Some(run) = group.runs.get(origin) {
            return Ok(run.last_seq());
        }
        if let Some(head) = group.heads.get(origin) {
            return Ok(*head);
        }
        drop(group);
        let head = match self.origin_head.get(origin.as_bytes())? {
            None => 0,
            Some(v) => decode_u64("origin_head", &v).map_err(abort)?,
        };
        self.group.borrow_mut().heads.insert(*origin, head);
        Ok(head)
    }

    /// Records that `origin`'s event `seq` (the next after its head) is stored at arrival
    /// number `local`.
    pub(super) fn add_to_run(&self, origin: &NodeId, seq: u64, local: u64) -> Result<(), TxError> {
        let mut group = self.group.borrow_mut();
        match group.runs.entry(*origin) {
            Entry::Occupied(mut e) => {
                if !e.get_mut().extend(seq, local) {
                    let ended = e.insert(Run::new(seq, local));
                    self.put_run(origin, &ended)?;
                }
            }
            Entry::Vacant(e) => {
                e.insert(Run::new(seq, local));
            }
        }
        Ok(())
    }

    fn put_run(&self, origin: &NodeId, run: &Run) -> Result<(), TxError> {
        self.origin_runs
            .insert(&origin_seq_key(origin, run.first_seq)[..], run.value())?;
        Ok(())
    }

    /// Writes the group's runs with their origins' new heads, and its topic counts.
    pub(super) fn finish_group(&self) -> Result<(), TxError> {
        let group = self.group.borrow();
        for (origin, run) in &group.runs {
            self.put_run(origin, run)?;
            self.origin_head
                .insert(origin.as_bytes(), run.last_seq().to_be_bytes())?;
        }
        for (key, stats) in &group.stats {
            self.topic_stats.insert(
                key.as_slice(),
                to_json("topic_stats", stats).map_err(abort)?,
            )?;
        }
        Ok(())
    }
}
