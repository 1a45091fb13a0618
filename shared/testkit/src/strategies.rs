//! Property-test strategies the parsers' tests share: arbitrary JSON whose objects are keyed mostly by the names
//! the parser under test knows, so generated documents get past the first field and reach the deep cases. Each
//! test keeps its own texts (the ids, dates and enum values its parser cares about) and its own sizes. Also the
//! runner and the offline cold-start environment the functions' property tests share.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Number, Value};

/// How many cases a property test runs: `PROPTEST_CASES` when it is set (a longer fuzzing run), else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A runner of [`cases`]`(default)` cases, for a test that runs several properties in one `#[test]`.
pub fn runner(default: u32) -> TestRunner {
    TestRunner::new(Config::with_cases(cases(default)))
}

/// The URL of a local port nothing listens on: storage there fails fast, as in an outage.
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://127.0.0.1:{}", l.local_addr().expect("addr").port())
}

/// Sets the environment a function's cold start (`Runtime::from_env`) reads so that it makes no AWS call and
/// every AWS call it makes later goes to `storage` (see [`closed_port_url`]) and fails at once: a test table and
/// secret prefix, logs off, test credentials, one attempt, no instance metadata, and no OAuth app. `also` sets a
/// function's own variables on top; `unset` removes more.
///
/// # Safety
/// It writes the process environment (`std::env::set_var`): call it from the only test of its binary that
/// touches the environment, before that test starts any thread, so nothing reads or writes it concurrently.
#[allow(unsafe_code)]
pub unsafe fn set_offline_cold_start_env(storage: &str, also: &[(&str, &str)], unset: &[&str]) {
    let common = [
        ("MIRO_SAM_TABLE_NAME", "miro-sam-proptest"),
        ("MIRO_SAM_SECRET_PREFIX", "miro-sam-proptest"),
        ("MIRO_SAM_LOG_LEVEL", "off"),
        ("AWS_ENDPOINT_URL", storage),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    for (k, v) in common.iter().chain(also) {
        // SAFETY: the caller's promise: no other thread reads or writes the environment.
        unsafe { std::env::set_var(k, v) };
    }
    let no_oauth_app = [
        "MIRO_SAM_OAUTH_CLIENT_ID",
        "MIRO_SAM_OAUTH_CLIENT_SECRET_NAME",
    ];
    for k in no_oauth_app.iter().chain(unset) {
        // SAFETY: as above.
        unsafe { std::env::remove_var(k) };
    }
}

/// The field names of a reclaim request (`miro_sam_core::ports::ReclaimRequest`), the keys its parsers' tests
/// generate most.
pub const RECLAIM_REQUEST_KEYS: &[&str] = &[
    "schema_version",
    "plan_id",
    "org_id",
    "member_id",
    "email",
    "reason",
];

/// How big the generated documents grow: [`Strategy::prop_recursive`]'s depth, size and branch, the most items
/// in an array and entries in an object, and how many times likelier a known key is than any string.
#[derive(Debug, Clone, Copy)]
pub struct JsonShape {
    pub depth: u32,
    pub size: u32,
    pub branch: u32,
    pub items: usize,
    pub entries: usize,
    pub known_key_weight: u32,
}

impl JsonShape {
    /// The fields in their order, so a test states its sizes on one line.
    pub const fn new(
        depth: u32,
        size: u32,
        branch: u32,
        items: usize,
        entries: usize,
        known_key_weight: u32,
    ) -> JsonShape {
        JsonShape {
            depth,
            size,
            branch,
            items,
            entries,
            known_key_weight,
        }
    }
}

/// Any JSON number: any i64, any u64, any finite f64.
pub fn any_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
    .boxed()
}

/// Any JSON value of the given `shape`: strings from `text`, numbers from `number`, object keys mostly from `keys`.
pub fn json(
    keys: &'static [&'static str],
    text: impl Strategy<Value = String> + 'static,
    number: impl Strategy<Value = Value> + 'static,
    shape: JsonShape,
) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number,
        text.prop_map(Value::String),
    ];
    let key = prop_oneof![
        shape.known_key_weight => proptest::sample::select(keys).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf.prop_recursive(shape.depth, shape.size, shape.branch, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..shape.items).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..shape.entries)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing answers at the closed port's URL: what the offline cold start counts on.
    #[test]
    fn the_closed_port_refuses_connections() {
        let url = closed_port_url();
        let addr = url.strip_prefix("http://").expect("an http URL");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{url} answered"
        );
    }

    /// The known keys dominate, and documents nest: what the strategy is for.
    #[test]
    fn objects_use_the_known_keys_and_nest() {
        let strategy = json(
            &["org_id"],
            "[a-z]{0,3}",
            any_number(),
            JsonShape::new(3, 32, 4, 4, 5, 4),
        );
        let mut runner = TestRunner::deterministic();
        let (mut known, mut nested) = (0, 0);
        for _ in 0..300 {
            let v = strategy.new_tree(&mut runner).expect("a value").current();
            if let Value::Object(m) = &v {
                known += usize::from(m.contains_key("org_id"));
                nested += usize::from(m.values().any(|x| x.is_object() || x.is_array()));
            }
        }
        assert!(known > 20, "objects keyed by a known name: {known}");
        assert!(nested > 5, "nested documents: {nested}");
    }
}
