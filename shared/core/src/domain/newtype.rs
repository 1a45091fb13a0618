//! The trait impls every checked text newtype of the domain shares (ids, addresses), written once: each type
//! keeps only its own `parse`, and everything that builds one from text goes through that `parse`.

/// `Debug` as `Name(value)` and `FromStr` through `Name::parse`.
macro_rules! named_debug_and_from_str {
    ($name:ident) => {
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

/// For a newtype over a checked `String`: `Display` as the text, the impls above, and serde as a plain string that
/// is parsed again on the way in, so stored text that no longer parses is refused rather than trusted.
macro_rules! parsed_string {
    ($name:ident) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        $crate::domain::newtype::named_debug_and_from_str!($name);

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use {named_debug_and_from_str, parsed_string};
