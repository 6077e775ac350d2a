//! Validated field values: [`EventId`] and [`EventType`], and the error for bad input.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The text of a field value: a literal, an owned string, or an integer written out
/// inline (no allocation: ids are most often counters).
#[derive(Clone)]
enum Text {
    Static(&'static str),
    Owned(Box<str>),
    /// ASCII digits and a sign: every 64-bit integer fits (the longest, `i64::MIN`,
    /// has 20); wider ones are owned. As small as the other variants.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
}

const INLINE: usize = 22;

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Static(text) => text,
            Text::Owned(text) => text,
            // Written by `itoa`: always ASCII.
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
        }
    }

    /// The text as bytes, without the UTF-8 check `as_str` makes of inline digits:
    /// what the encoder writes.
    fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Static(text) => text.as_bytes(),
            Text::Owned(text) => text.as_bytes(),
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
        }
    }

    fn integer(digits: &str) -> Self {
        if digits.len() > INLINE {
            return Text::Owned(digits.into());
        }
        let mut bytes = [0; INLINE];
        bytes[..digits.len()].copy_from_slice(digits.as_bytes());
        Text::Inline {
            // At most INLINE (22).
            len: digits.len() as u8,
            bytes,
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// The `id` of an event: any text without CR, LF or NUL.
///
/// A browser stores the id of the last event it saw and sends it back in the
/// `Last-Event-ID` header when it reconnects. A line break inside an id would end the
/// `id:` line early and let the rest of the value be read as another field, and a NUL
/// makes browsers ignore the id, so both are refused when the value is built.
///
/// Build one from a literal with [`EventId::from_static`] (checked at compile time in
/// a `const`), from runtime text with [`TryFrom`] / [`str::parse`], or from any
/// integer (always valid).
///
/// ```
/// use sse_rs_core::EventId;
///
/// const FIRST: EventId = EventId::from_static("first");
/// let numeric = EventId::from(42_u64);
/// let parsed: EventId = "user-7".parse()?;
/// assert_eq!(numeric.as_str(), "42");
/// assert!("bad\nid".parse::<EventId>().is_err());
/// # let _ = (FIRST, parsed);
/// # Ok::<(), sse_rs_core::InvalidField>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Text);

/// The type of an event (the `event:` field): any text without CR or LF.
///
/// Browsers dispatch an event of type `T` to `addEventListener("T", ..)`; without a
/// type (or with an empty one) the event is a `message`.
///
/// ```
/// use sse_rs_core::EventType;
///
/// const TICK: EventType = EventType::from_static("tick");
/// let runtime = EventType::try_from(String::from("user-joined"))?;
/// assert_eq!(runtime.as_str(), "user-joined");
/// assert!(EventType::try_from("two\r\nlines").is_err());
/// # let _ = TICK;
/// # Ok::<(), sse_rs_core::InvalidField>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(Text);

/// Which field a value was meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldKind {
    /// The `id` field ([`EventId`]).
    Id,
    /// The `event` field ([`EventType`]).
    Type,
}

impl FieldKind {
    fn name(self) -> &'static str {
        match self {
            FieldKind::Id => "event id",
            FieldKind::Type => "event type",
        }
    }
}

/// A value that may not appear in an event field: it holds a CR or LF (or a NUL, in an
/// id).
///
/// ```
/// use sse_rs_core::{EventId, FieldKind};
///
/// let err = EventId::try_from("a\nb").unwrap_err();
/// assert_eq!(err.field(), FieldKind::Id);
/// assert_eq!(err.position(), 1);
/// assert_eq!(err.to_string(), "event id contains a line feed at byte 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidField {
    field: FieldKind,
    position: usize,
    byte: u8,
}

impl InvalidField {
    /// The field the value was meant for.
    pub fn field(&self) -> FieldKind {
        self.field
    }

    /// The byte offset of the first forbidden character.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The forbidden byte itself (`\r`, `\n` or `\0`).
    pub fn byte(&self) -> u8 {
        self.byte
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.byte {
            b'\r' => "a carriage return",
            b'\n' => "a line feed",
            _ => "a NUL character",
        };
        write!(
            f,
            "{} contains {} at byte {}",
            self.field.name(),
            what,
            self.position
        )
    }
}

impl std::error::Error for InvalidField {}

/// The first byte of `value` that `field` forbids, with its position.
const fn find_forbidden(value: &[u8], field: FieldKind) -> Option<(usize, u8)> {
    let nul_forbidden = matches!(field, FieldKind::Id);
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'\r' || b == b'\n' || (nul_forbidden && b == 0) {
            return Some((i, b));
        }
        i += 1;
    }
    None
}

fn check(value: &str, field: FieldKind) -> Result<(), InvalidField> {
    // memchr3 scans in wide words; the const path above is for literals only.
    let found = match field {
        FieldKind::Id => memchr::memchr3(b'\r', b'\n', 0, value.as_bytes()),
        FieldKind::Type => memchr::memchr2(b'\r', b'\n', value.as_bytes()),
    };
    match found {
        None => Ok(()),
        Some(position) => Err(InvalidField {
            field,
            position,
            byte: value.as_bytes()[position],
        }),
    }
}

macro_rules! field_type {
    ($name:ident, $kind:expr, $panic:literal) => {
        impl $name {
            /// Builds the value from a literal, checked at compile time when used in a
            /// `const`.
            ///
            /// # Panics
            ///
            /// If the literal holds a forbidden character. In a `const` item this is a
            /// compile error, which is why this constructor exists; use [`TryFrom`]
            /// for text that is only known at run time.
            #[must_use]
            pub const fn from_static(value: &'static str) -> Self {
                if find_forbidden(value.as_bytes(), $kind).is_some() {
                    #[allow(clippy::panic)]
                    {
                        panic!($panic)
                    }
                }
                Self(Text::Static(value))
            }

            /// The value as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The value as bytes, for the encoder.
            pub(crate) fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidField;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                check(value, $kind)?;
                Ok(Self(Text::Owned(value.into())))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidField;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                check(&value, $kind)?;
                Ok(Self(Text::Owned(value.into_boxed_str())))
            }
        }

        impl TryFrom<&String> for $name {
            type Error = InvalidField;

            fn try_from(value: &String) -> Result<Self, Self::Error> {
                Self::try_from(value.as_str())
            }
        }

        impl FromStr for $name {
            type Err = InvalidField;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::try_from(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

field_type!(
    EventId,
    FieldKind::Id,
    "an event id may not contain CR, LF or NUL"
);
field_type!(
    EventType,
    FieldKind::Type,
    "an event type may not contain CR or LF"
);

macro_rules! id_from_integer {
    ($($int:ty),*) => {$(
        impl From<$int> for EventId {
            fn from(value: $int) -> Self {
                Self(Text::integer(itoa::Buffer::new().format(value)))
            }
        }
    )*};
}

id_from_integer!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

#[cfg(test)]
mod tests {
    use super::*;

    /// Integer ids are written out inline, whatever their width, and compare, hash
    /// and order as the same text built any other way.
    #[test]
    fn integer_ids_are_their_digits_and_equal_the_same_text() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |id: &EventId| {
            let mut hasher = DefaultHasher::new();
            id.hash(&mut hasher);
            hasher.finish()
        };
        for (id, text) in [
            (EventId::from(0_u8), "0"),
            (EventId::from(42_u64), "42"),
            (EventId::from(-7_i32), "-7"),
            (
                EventId::from(u128::MAX),
                "340282366920938463463374607431768211455",
            ),
            (
                EventId::from(i128::MIN),
                "-170141183460469231731687303715884105728",
            ),
        ] {
            assert_eq!(id.as_str(), text);
            let parsed: EventId = text.parse().unwrap();
            assert_eq!(id, parsed);
            assert_eq!(hash(&id), hash(&parsed));
            assert_eq!(id.cmp(&parsed), Ordering::Equal);
        }
        assert!(EventId::from(1_u8) < EventId::from_static("2"));
        assert_eq!(
            std::mem::size_of::<EventId>(),
            std::mem::size_of::<&str>() + 8,
            "inline ids made EventId larger"
        );
    }

    #[test]
    fn ids_refuse_cr_lf_nul_and_say_where() {
        for (input, position, byte) in [
            ("a\rb", 1, b'\r'),
            ("ab\n", 2, b'\n'),
            ("\0", 0, 0),
            ("ok\r\n", 2, b'\r'),
        ] {
            let err = EventId::try_from(input).unwrap_err();
            assert_eq!(
                (err.field(), err.position(), err.byte()),
                (FieldKind::Id, position, byte)
            );
            assert_eq!(input.parse::<EventId>().unwrap_err(), err);
            assert_eq!(EventId::try_from(input.to_owned()).unwrap_err(), err);
        }
    }

    #[test]
    fn types_refuse_cr_lf_but_allow_nul() {
        assert_eq!(
            EventType::try_from("x\ry").unwrap_err().to_string(),
            "event type contains a carriage return at byte 1"
        );
        assert_eq!(
            EventType::try_from("\n").unwrap_err().to_string(),
            "event type contains a line feed at byte 0"
        );
        assert_eq!(EventType::try_from("a\0b").unwrap().as_str(), "a\0b");
    }

    #[test]
    fn nul_error_message() {
        assert_eq!(
            EventId::try_from("x\0").unwrap_err().to_string(),
            "event id contains a NUL character at byte 1"
        );
    }

    #[test]
    fn valid_values_keep_their_text() {
        assert_eq!(EventId::try_from("").unwrap(), "");
        assert_eq!(EventId::try_from("ünï 🎉").unwrap(), "ünï 🎉");
        assert_eq!(EventType::from_static("tick"), "tick");
        assert_eq!(EventId::from(-5_i32), "-5");
        assert_eq!(EventId::from(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(format!("{:?}", EventId::from(7_u8)), "\"7\"");
    }

    #[test]
    fn const_and_runtime_checks_agree() {
        for input in ["", "a", "a\r", "\nb", "c\0", "é\u{2028}"] {
            for kind in [FieldKind::Id, FieldKind::Type] {
                let const_found = find_forbidden(input.as_bytes(), kind).map(|(p, _)| p);
                let runtime_found = check(input, kind).err().map(|e| e.position());
                assert_eq!(const_found, runtime_found, "{input:?} {kind:?}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "may not contain")]
    fn from_static_panics_on_a_bad_literal_outside_const() {
        let line_break = if std::hint::black_box(true) {
            "a\nb"
        } else {
            "ab"
        };
        let _ = EventId::from_static(line_break);
    }
}
