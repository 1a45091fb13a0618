//! Identifiers. Miro's org and member ids are 19-digit numbers that exceed 2^53, so they stay strings; parsing
//! once at the edge means no later code has to wonder whether an id is a real one.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::newtype::{named_debug_and_from_str, parsed_string};
use crate::error::DomainError;

macro_rules! numeric_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                let t = s.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DomainError::NotAnId { what: $what, value: s.to_owned() });
                }
                Ok(Self(t.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        // Numeric order without converting: a shorter digit string is a smaller number (Miro ids carry no
        // leading zeros), so listings come out in the order people expect.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        parsed_string!($name);
    };
}

numeric_id!(
    /// A Miro organization id.
    OrgId,
    "org id"
);
numeric_id!(
    /// A Miro member (user) id, unique across Miro.
    MemberId,
    "member id"
);

/// A UUID id. `$err` builds the parse error from the refused input: each id names itself when it refuses one (a
/// bad run id is not "not a plan id").
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, |$value:ident| $err:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }

            pub fn parse(s: &str) -> Result<Self, DomainError> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| {
                    let $value = s.to_owned();
                    $err
                })
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        named_debug_and_from_str!($name);
    };
}

uuid_id!(
    /// One reclaim plan.
    PlanId,
    |value| DomainError::NotAPlanId { value }
);
uuid_id!(
    /// One download run; ties checkpoints and the "last complete download" together.
    RunId,
    |value| DomainError::Invalid {
        what: "run id",
        detail: format!("{value:?}: expected a UUID such as 6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f"),
    }
);

/// The key of an audit entry. Jobs derive it from what the entry is about (e.g. `reclaim/{plan}/{member}`), so a
/// retried job that already wrote its entry finds it instead of writing a second one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuditEntryId(String);

impl AuditEntryId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.trim().is_empty() || s.len() > 512 || s.chars().any(char::is_control) {
            return Err(DomainError::Invalid {
                what: "audit entry id",
                detail: format!("{s:?}: expected 1-512 printable characters"),
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The one entry recording how the reclaim of `member` under `plan` ended.
    pub fn for_reclaim(plan: PlanId, member: &MemberId) -> Self {
        Self(format!("reclaim/{plan}/{member}"))
    }

    /// The entry recording that `plan` was created.
    pub fn for_plan(plan: PlanId) -> Self {
        Self(format!("plan/{plan}"))
    }

    /// A fresh id for an event that has no natural key (every undo is its own event).
    pub fn unique(prefix: &str) -> Self {
        Self(format!("{prefix}/{}", Uuid::new_v4().hyphenated()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AuditEntryId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AuditEntryId> for String {
    fn from(id: AuditEntryId) -> String {
        id.0
    }
}

impl fmt::Display for AuditEntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

named_debug_and_from_str!(AuditEntryId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_parse_and_reject() {
        assert_eq!(
            OrgId::parse(" 3074457345821141000 ").unwrap().as_str(),
            "3074457345821141000"
        );
        for bad in ["", "  ", "12a", "-1", "1.5", "３"] {
            assert!(OrgId::parse(bad).is_err(), "{bad:?} must be rejected");
            assert!(MemberId::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn member_ids_order_numerically() {
        let mut ids: Vec<MemberId> = ["100", "9", "30"]
            .iter()
            .map(|s| MemberId::parse(s).unwrap())
            .collect();
        ids.sort();
        let got: Vec<&str> = ids.iter().map(MemberId::as_str).collect();
        assert_eq!(got, ["9", "30", "100"]);
    }

    #[test]
    fn ids_refuse_bad_json() {
        assert!(serde_json::from_str::<MemberId>("\"abc\"").is_err());
        assert_eq!(
            serde_json::from_str::<MemberId>("\"42\"").unwrap().as_str(),
            "42"
        );
        assert!(serde_json::from_str::<AuditEntryId>("\"\"").is_err());
        assert!(PlanId::parse("not-a-uuid").is_err());
    }

    /// Each id names itself when it refuses input: a run id is not called a plan id.
    #[test]
    fn uuid_id_errors_name_their_id() {
        let plan = PlanId::parse("not-a-uuid").unwrap_err().to_string();
        assert!(plan.contains("not a plan id"), "{plan}");
        let run = RunId::parse("not-a-uuid").unwrap_err().to_string();
        assert!(run.contains("run id"), "{run}");
        assert!(run.contains("\"not-a-uuid\""), "quotes the input: {run}");
        assert!(!run.contains("plan"), "a run id is not a plan id: {run}");
        let member = MemberId::parse("x").unwrap_err().to_string();
        assert!(member.starts_with("member id"), "{member}");
        let org = OrgId::parse("x").unwrap_err().to_string();
        assert!(org.starts_with("org id"), "{org}");
    }
}
