//! The kind-specific bodies of events, one file per family.

pub mod chat;
pub mod erasure;
pub mod mentoring;
pub mod moderation;
pub mod peer_learning;
pub mod profile;
pub mod report;
pub mod safeguarding;

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;

/// Encoding of one body type; a body's bytes are exactly what `encode` writes.
pub(crate) trait BodyCodec: Sized {
    fn encode(&self, w: &mut Writer);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Defines a `u8`-coded enum with its wire decoding; undefined values are refused.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code),+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The byte this value is encoded as.
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The value with this code, if defined.
            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            // Not every enum is read on its own (`Fit` is read as an option).
            #[allow(dead_code)]
            pub(crate) fn decode(
                r: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                let v = r.u8($field)?;
                Self::from_code(v).ok_or($crate::error::DecodeError::InvalidValue {
                    field: $field,
                    value: u64::from(v),
                })
            }
        }
    };
}

pub(crate) use wire_enum;

/// Reads a member id written as text.
pub(crate) fn read_member(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<crate::MemberId, DecodeError> {
    let text = r.str(field, crate::limits::MAX_MEMBER_ID_BYTES)?;
    crate::MemberId::parse(text).map_err(|source| DecodeError::InvalidId { field, source })
}

/// Reads a 32-byte event id.
pub(crate) fn read_event_id(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<crate::EventId, DecodeError> {
    Ok(crate::EventId::from_bytes(r.array(field)?))
}
