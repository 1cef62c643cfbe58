//! The byte-level encoding shared by signed payloads and link frames: fixed-width big-endian
//! integers and `u32`-length-prefixed byte strings. Every read names its field and checks
//! its own limit, so a decoding error says exactly what was wrong.

use crate::error::DecodeError;

/// Appends encoded values to a growing buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// Raw bytes with no length prefix (fixed-size fields).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Length (u32) then bytes. Lengths above u32::MAX are impossible under our limits;
    /// saturating keeps the writer total and the decoder then refuses the value.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.raw(bytes);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Presence byte (0 or 1) then the text when present.
    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    /// Count (u32) then each string.
    pub(crate) fn str_list<S: AsRef<str>>(&mut self, items: &[S]) {
        self.count(items.len());
        for item in items {
            self.str(item.as_ref());
        }
    }

    pub(crate) fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads encoded values from a byte slice, refusing anything over its limit.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { field });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A byte that must be exactly 0 or 1.
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::InvalidValue {
                field,
                value: u64::from(v),
            }),
        }
    }

    /// A u32 list count, refused before anything is allocated if it is over `max`.
    pub(crate) fn count(&mut self, field: &'static str, max: usize) -> Result<usize, DecodeError> {
        let count = self.u32(field)? as usize;
        if count > max {
            return Err(DecodeError::TooMany { field, count, max });
        }
        Ok(count)
    }

    pub(crate) fn bytes(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { field, len, max });
        }
        self.take(len, field)
    }

    pub(crate) fn str(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(field, max)?).map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    pub(crate) fn string(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<String, DecodeError> {
        self.str(field, max).map(str::to_owned)
    }

    pub(crate) fn opt_string(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Option<String>, DecodeError> {
        if self.bool(field)? {
            Ok(Some(self.string(field, max)?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn str_list(
        &mut self,
        field: &'static str,
        max_items: usize,
        max_item_bytes: usize,
    ) -> Result<Vec<String>, DecodeError> {
        let count = self.count(field, max_items)?;
        (0..count)
            .map(|_| self.string(field, max_item_bytes))
            .collect()
    }

    /// Refuses leftover bytes, so each value has exactly one encoding.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { what, count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_strings_length_prefixed() {
        let mut w = Writer::default();
        w.u16(0x0102);
        w.u64(3);
        w.str("hé");
        assert_eq!(
            w.into_bytes(),
            [1, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, b'h', 0xc3, 0xa9]
        );
    }

    #[test]
    fn over_limit_lengths_are_refused_before_reading() {
        let bytes = [0xff, 0xff, 0xff, 0xff];
        let err = Reader::new(&bytes).bytes("title", 10).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TooLong {
                field: "title",
                len: u32::MAX as usize,
                max: 10
            }
        );
    }

    #[test]
    fn bools_other_than_zero_or_one_are_refused() {
        assert!(Reader::new(&[2]).bool("listed").is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut r = Reader::new(&[0, 1]);
        r.u8("a").unwrap();
        assert_eq!(
            r.finish("test"),
            Err(DecodeError::TrailingBytes {
                what: "test",
                count: 1
            })
        );
    }
}
