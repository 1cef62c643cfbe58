//! Schema 5 → 6: one name, one node, and conversations in arrival order.
//!
//! - `node_names` (name → node) is filled from `origin_names` (node → the name it first
//!   wrote as); where two nodes used one name, the first in key order keeps it.
//! - Chat messages were ordered by their sender's clock; they are now ordered by when this
//!   node received them, and read positions and markers move with them.

use super::super::chat::ParticipantState;
use super::super::origin_log::decode_u64;
use super::super::{Store, StoreError, from_json, to_json};

impl Store {
    pub(super) fn bind_names_and_order_chat_by_arrival(&self) -> Result<(), StoreError> {
        let t = self.trees();
        // Paired nodes first: their names were given first-hand.
        for peer in self.peers()? {
            if !t.node_names.contains_key(peer.name.as_bytes())? {
                t.node_names.insert(
                    peer.name.as_bytes(),
                    &super::super::names::binding_value(&peer.node_id, true)[..],
                )?;
                t.origin_names
                    .insert(peer.node_id.as_bytes(), peer.name.as_bytes())?;
            }
        }
        for item in t.origin_names.iter() {
            let (k, v) = item?;
            if k.len() == 32 && !t.node_names.contains_key(&v)? {
                let node = super::super::names::decode_node("origin_names", &k)?;
                t.node_names
                    .insert(v, &super::super::names::binding_value(&node, false)[..])?;
            }
        }
        // Where each message now sits: (arrival time, arrival number).
        let arrival = |seq: u64| -> Result<u64, StoreError> {
            Ok(self
                .stored_at(seq)?
                .map(|e| e.meta.received_at)
                .unwrap_or(0))
        };
        let mut batch = crate::store::kv::Batch::default();
        for item in t.chat.scan_prefix(b"x") {
            let (k, v) = item?;
            if k.len() != 33 {
                continue;
            }
            let seq = decode_u64("chat", &k[25..])?;
            let mut key = k.to_vec();
            key[17..25].copy_from_slice(&arrival(seq)?.to_be_bytes());
            if key != k.as_ref() {
                batch.remove(k);
                batch.insert(key, v);
            }
        }
        for item in t.chat.scan_prefix(b"m") {
            let (k, v) = item?;
            let mut state: ParticipantState = from_json("chat", &v)?;
            if let Some((_, seq)) = state.last_read {
                state.last_read = Some((arrival(seq)?, seq));
                batch.insert(k, to_json("chat", &state)?);
            }
        }
        for item in t.chat.scan_prefix(b"r") {
            let (k, v) = item?;
            let mut marker: super::super::chat::MarkerRecord = from_json("chat", &v)?;
            marker.pos = (arrival(marker.pos.1)?, marker.pos.1);
            batch.insert(k, to_json("chat", &marker)?);
        }
        t.chat.apply_batch(batch)?;
        Ok(())
    }
}
