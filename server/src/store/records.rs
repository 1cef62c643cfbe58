//! Local records stored as JSON (accounts, settings, standings, matches: never events,
//! which are kept as their signed bytes), and changing one as a single compare-and-swap
//! step so two writers at once never lose each other's change.

use super::StoreError;
use super::kv;

/// Changes the JSON record at `key` of `space` with `change`, as one step: when something
/// else wrote it meanwhile, it is read again and `change` applied again (compare-and-swap),
/// so no writer's change overwrites another's. A missing record starts as `absent()`;
/// when that is `None`, nothing is written (a record removed meanwhile is never put back)
/// and the answer is `None`. Nothing is written either when `change` fails or leaves the
/// record as it was (a missing one included: it stays missing, read as `absent()`).
///
/// Errors: `change`'s own, or the store's.
pub(crate) fn update_json<T, R, E>(
    space: &kv::Keyspace,
    tree: &'static str,
    key: &[u8],
    absent: impl Fn() -> Option<T>,
    mut change: impl FnMut(&mut T) -> Result<R, E>,
) -> Result<Option<R>, E>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    E: From<StoreError>,
{
    loop {
        let before = space.get(key).map_err(StoreError::from)?;
        let record = match &before {
            Some(v) => from_json(tree, v)?,
            None => match absent() {
                Some(record) => record,
                None => return Ok(None),
            },
        };
        if let Some(out) = swap_json(space, tree, key, before.as_deref(), record, &mut change)? {
            return Ok(Some(out));
        }
    }
}

/// As [`update_json`] for a record that a missing one reads as its default (settings,
/// standings): there is always a record to change, so always an answer.
///
/// Errors: `change`'s own, or the store's.
pub(crate) fn update_json_or_default<T, R, E>(
    space: &kv::Keyspace,
    tree: &'static str,
    key: &[u8],
    mut change: impl FnMut(&mut T) -> Result<R, E>,
) -> Result<R, E>
where
    T: Default + serde::Serialize + serde::de::DeserializeOwned,
    E: From<StoreError>,
{
    loop {
        let before = space.get(key).map_err(StoreError::from)?;
        let record = match &before {
            Some(v) => from_json(tree, v)?,
            None => T::default(),
        };
        if let Some(out) = swap_json(space, tree, key, before.as_deref(), record, &mut change)? {
            return Ok(out);
        }
    }
}

/// One try of a compare-and-swap change: `record` (read as `before`) changed by `change`
/// and written if `key` still holds `before`. `None`: something else wrote it meanwhile;
/// read it again.
fn swap_json<T, R, E>(
    space: &kv::Keyspace,
    tree: &'static str,
    key: &[u8],
    before: Option<&[u8]>,
    mut record: T,
    change: &mut impl FnMut(&mut T) -> Result<R, E>,
) -> Result<Option<R>, E>
where
    T: serde::Serialize,
    E: From<StoreError>,
{
    // Compared with the record as read (not the stored bytes, which an older version may
    // have written differently), so an unchanged record, or a new one left at its
    // default, is not written.
    let start = to_json(tree, &record)?;
    let out = change(&mut record)?;
    let after = to_json(tree, &record)?;
    if after == start {
        return Ok(Some(out));
    }
    let swapped = space
        .compare_and_swap(key, before, Some(&after))
        .map_err(StoreError::from)?;
    Ok(swapped.is_ok().then_some(out))
}

/// Encodes a record as JSON (local records only; events are stored as their signed bytes).
pub(crate) fn to_json<T: serde::Serialize>(
    tree: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::corrupt(tree, e))
}

/// Decodes a JSON record.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(tree, e))
}
