//! Redaction: after a retraction, the home node publishes its tombstones for the entry
//! and each of its edits, so every node drops their words (`docs/protocol.md`,
//! "Redaction"); and housekeeping publishes those a stop or a full disk cut short.

use kindred_protocol::event::body::erasure::{ErasedSlot, Redaction};
use kindred_protocol::{EventBody, EventId, MemberId, References, SignedEvent};

use super::{Draft, Node, Reach};
use crate::node::AppError;

impl Node {
    /// Publishes the redactions still owed (a stop or a full disk came between a
    /// retraction and its redaction); an entry that was not retracted after all owes none.
    pub(crate) async fn finish_redactions(&self) -> Result<usize, AppError> {
        let mut done = 0;
        for (id, author) in self.store().redactions_due()? {
            let retracted = self
                .store()
                .event_meta(&id)?
                .is_some_and(|m| m.retracted_by.is_some());
            if retracted {
                self.redact(&id, &author).await?;
                done += 1;
            } else {
                self.store().redaction_done(&id)?;
            }
        }
        Ok(done)
    }

    /// Publishes the redaction of a retracted entry of this node: this node's tombstone
    /// for the entry and each edit of it, so every node drops their words
    /// (`docs/protocol.md`, "Redaction"). Authored as the entry's author, as the
    /// tombstones are. Organisation-only entries have no shared-log slot and are not
    /// redacted (their words stay on this node only).
    pub(super) async fn redact(&self, id: &EventId, author: &MemberId) -> Result<(), AppError> {
        let own = self.node_id();
        let slots: Vec<ErasedSlot> = self
            .store()
            .versions_in_slots(id, &own, author)?
            .into_iter()
            .map(|(seq, version)| ErasedSlot {
                seq,
                id: version,
                signature: *SignedEvent::tombstone(self.keypair(), seq, &version, author)
                    .signature(),
            })
            .collect();
        // An entry edited more often than one redaction lists gets as many as it needs.
        for part in slots.chunks(kindred_protocol::event::body::erasure::MAX_ERASED_SLOTS) {
            let draft = Draft {
                author: author.clone(),
                reach: Reach::Shared,
                refs: References::default(),
                body: EventBody::Redaction(Redaction {
                    slots: part.to_vec(),
                }),
                not_before: 0,
            };
            self.ingest().local(draft).await?;
        }
        self.store().redaction_done(id)?;
        Ok(())
    }
}
