//! Stored bytes as the storage interface hands them out.

/// Stored bytes (a key or a value) as read: derefs to `[u8]`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Value(Vec<u8>);

impl Value {
    #[cfg(test)]
    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x?}", self.0)
    }
}

impl std::ops::Deref for Value {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::borrow::Borrow<[u8]> for Value {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl From<Value> for Vec<u8> {
    fn from(v: Value) -> Self {
        v.0
    }
}

pub(super) fn owned(v: Option<Vec<u8>>) -> Option<Value> {
    v.map(Value)
}
