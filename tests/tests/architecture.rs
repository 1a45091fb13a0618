//! The crate boundaries of ARCHITECTURE.md ("Boundaries that never bend", the crate map) as a test: it reads
//! `cargo metadata` and fails on a dependency edge between our crates that the table below does not allow, and
//! the table itself is checked against the rules it documents (nothing points up the stack, the client knows no
//! product crate, no production crate links the sandbox except the CLI through its `sandbox` feature).
//!
//! Adding an edge means adding it to [`ALLOWED`] (and to ARCHITECTURE.md's map): if the edge breaks a rule, the
//! rule test says which one and why, so the change is a decision, not an accident.
//!
//! It also holds the environment variables to their modules: production code names a variable only in
//! [`ENV_MODULES`], so the template, the CLI's help and the docs have one list to follow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Where each crate sits. A normal dependency must point to a strictly lower layer: down the stack, never up it
/// or sideways (two adapters know nothing of each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// Knows Miro (the client) or plays it (the sandbox), and nothing of the product.
    Miro,
    /// The product: domain, policy, plans, jobs, ports.
    Core,
    /// The signed links miro-sam hands out (`shared/links`: connect links, keep links): on the core alone, so
    /// every crate that issues or checks a link (the console, the functions, the CLI) can, and nothing under the
    /// core knows them.
    Links,
    /// Implementations of the core's ports, and the console (a router over them).
    Adapter,
    /// What the Lambda functions share on top of the AWS adapters.
    LambdaSupport,
    /// Binaries that wire the crates together: the functions and the CLI.
    EntryPoint,
    /// The test kit and the benchmarks: never a normal dependency of anything else.
    DevOnly,
}

/// Every crate of the workspace and its layer. A new crate must be placed here (the test fails until it is).
const LAYERS: &[(&str, Layer)] = &[
    ("miro-client", Layer::Miro),
    ("miro-sandbox", Layer::Miro),
    ("miro-sam-core", Layer::Core),
    ("miro-sam-links", Layer::Links),
    ("miro-sam-sqlite", Layer::Adapter),
    ("miro-sam-aws", Layer::Adapter),
    ("miro-sam-notify", Layer::Adapter),
    ("miro-sam-console", Layer::Adapter),
    ("miro-sam-lambda", Layer::LambdaSupport),
    ("oauth-callback", Layer::EntryPoint),
    ("download-subscriptions", Layer::EntryPoint),
    ("reclaim-subscription", Layer::EntryPoint),
    ("console-function", Layer::EntryPoint),
    ("miro-sam", Layer::EntryPoint),
    ("miro-sam-tests", Layer::DevOnly),
    ("miro-sam-bench", Layer::DevOnly),
    ("miro-sam-testkit", Layer::DevOnly),
];

/// The sandbox: a fake Miro for tests and the demo. Production code never links it; the CLI may, behind
/// [`SANDBOX_FEATURE`], so a lean install (`--no-default-features`) carries no fake Miro.
const SANDBOX: &str = "miro-sandbox";
/// The CLI's feature that links the sandbox (`demo`, `sandbox`); on by default.
const SANDBOX_FEATURE: &str = "sandbox";
const CLI: &str = "miro-sam";

/// The allowed normal (non-dev) dependencies between our crates: this table is the crate map of
/// ARCHITECTURE.md, and every edge `cargo metadata` shows must be in it, and every edge in it must exist.
/// Dev-dependencies are not listed: tests may use the sandbox, the SQLite store and the test kit anywhere.
/// The dev-only crates (`miro-sam-tests`, `miro-sam-bench`) may depend on anything and are not listed either.
const ALLOWED: &[(&str, &[Edge])] = &[
    ("miro-client", &[]),
    ("miro-sandbox", &[]),
    ("miro-sam-core", &[Edge::Normal("miro-client")]),
    ("miro-sam-links", &[Edge::Normal("miro-sam-core")]),
    ("miro-sam-sqlite", &[Edge::Normal("miro-sam-core")]),
    ("miro-sam-aws", &[Edge::Normal("miro-sam-core")]),
    ("miro-sam-notify", &[Edge::Normal("miro-sam-core")]),
    (
        "miro-sam-console",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-client"),
            Edge::Normal("miro-sam-links"),
        ],
    ),
    (
        "miro-sam-lambda",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-client"),
            Edge::Normal("miro-sam-aws"),
        ],
    ),
    (
        "oauth-callback",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-client"),
            Edge::Normal("miro-sam-aws"),
            Edge::Normal("miro-sam-lambda"),
            Edge::Normal("miro-sam-links"),
        ],
    ),
    (
        "download-subscriptions",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-client"),
            Edge::Normal("miro-sam-aws"),
            Edge::Normal("miro-sam-lambda"),
            Edge::Normal("miro-sam-links"),
            Edge::Normal("miro-sam-notify"),
        ],
    ),
    (
        "reclaim-subscription",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-sam-lambda"),
        ],
    ),
    (
        "console-function",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-sam-aws"),
            Edge::Normal("miro-sam-console"),
            Edge::Normal("miro-sam-lambda"),
        ],
    ),
    (
        "miro-sam",
        &[
            Edge::Normal("miro-sam-core"),
            Edge::Normal("miro-client"),
            Edge::Normal("miro-sam-sqlite"),
            Edge::Normal("miro-sam-console"),
            Edge::Normal("miro-sam-links"),
            Edge::Normal("miro-sam-notify"),
            Edge::Feature("miro-sam-aws", "aws"),
            Edge::Feature("miro-sam-lambda", "aws"),
            Edge::Feature(SANDBOX, SANDBOX_FEATURE),
        ],
    ),
];

/// One dependency of a crate on another of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    /// Always linked.
    Normal(&'static str),
    /// Optional, linked only with this feature of the depending crate.
    Feature(&'static str, &'static str),
}

impl Edge {
    fn to(self) -> &'static str {
        match self {
            Edge::Normal(to) | Edge::Feature(to, _) => to,
        }
    }
}

/// External crates the Miro client and the core never link: the same jobs run on one machine and on AWS, and the
/// client is tested against the sandbox alone. (A prefix ends in `-` or `_` where it names a family.)
const NO_BACKENDS: &[&str] = &[
    "rusqlite",
    "aws-",
    "aws_lambda_events",
    "lambda_runtime",
    "lambda_http",
    "axum",
];

/// What `cargo metadata` says about one crate: its normal dependencies on our crates, its external normal
/// dependencies, and its features.
#[derive(Debug, Default, Clone)]
struct Crate {
    /// The directory of its Cargo.toml.
    dir: PathBuf,
    /// (dependency, optional)
    internal: Vec<(String, bool)>,
    external: Vec<String>,
    features: BTreeMap<String, Vec<String>>,
}

/// The workspace as `cargo metadata --no-deps` lists it (the manifests only: no resolution, no network).
fn workspace() -> BTreeMap<String, Crate> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Cargo sets CARGO for the processes it runs, so the test asks the same cargo that builds it.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_metadata(&serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON"))
}

fn parse_metadata(meta: &Value) -> BTreeMap<String, Crate> {
    let packages = meta["packages"].as_array().expect("packages");
    let ours: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    packages
        .iter()
        .map(|p| {
            let mut krate = Crate {
                dir: Path::new(p["manifest_path"].as_str().expect("a manifest path"))
                    .parent()
                    .expect("a manifest's directory")
                    .to_owned(),
                ..Crate::default()
            };
            for d in p["dependencies"].as_array().expect("dependencies") {
                // `kind` is null for normal dependencies, "dev" or "build" otherwise; build-dependencies run on
                // the build machine, but they are code we link all the same, so only dev ones are exempt.
                if d["kind"].as_str() == Some("dev") {
                    continue;
                }
                let name = d["name"].as_str().expect("a dependency name").to_owned();
                if ours.contains(name.as_str()) {
                    krate
                        .internal
                        .push((name, d["optional"].as_bool().unwrap_or(false)));
                } else {
                    krate.external.push(name);
                }
            }
            if let Some(features) = p["features"].as_object() {
                for (f, enables) in features {
                    let enables = enables
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    krate.features.insert(f.clone(), enables);
                }
            }
            (p["name"].as_str().expect("a name").to_owned(), krate)
        })
        .collect()
}

fn layer(name: &str) -> Option<Layer> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// The rules every allowed edge obeys, whatever the table says; each message says why the rule exists.
fn rule_violations(from: &str, edge: Edge) -> Vec<String> {
    let to = edge.to();
    let mut v = Vec::new();
    let (Some(lf), Some(lt)) = (layer(from), layer(to)) else {
        v.push(format!(
            "{from} -> {to}: a crate missing from LAYERS; place it in the stack first"
        ));
        return v;
    };
    if lf == Layer::DevOnly {
        return v;
    }
    // The test kit (and the bench) start sandboxes and SMTP servers and panic on failure: fine in a test, never
    // in a build someone runs, so they are only ever dev-dependencies (the `tests` crate, itself test code, is
    // the one DevOnly crate that links the kit normally, and DevOnly crates return above).
    if lt == Layer::DevOnly {
        v.push(format!(
            "{from} -> {to}: {to} is test code; take it as a [dev-dependencies] entry, never a normal one"
        ));
    }
    if lt >= lf {
        v.push(format!(
            "{from} ({lf:?}) -> {to} ({lt:?}) points up or across the stack: dependencies point down only, so \
             that each layer builds and is tested without the ones above it"
        ));
    }
    if from == "miro-client" {
        v.push(format!(
            "miro-client -> {to}: the client knows Miro, not the product, so that it is tested against the \
             sandbox alone"
        ));
    }
    if to == SANDBOX {
        let behind_feature = matches!(edge, Edge::Feature(_, f) if f == SANDBOX_FEATURE);
        if !(from == CLI && behind_feature) {
            v.push(format!(
                "{from} -> {SANDBOX}: production code never links the fake Miro; only the CLI may, behind its \
                 `{SANDBOX_FEATURE}` feature (demo, sandbox), so a lean install has none"
            ));
        }
    }
    v
}

/// Edges of the real workspace that differ from [`ALLOWED`], and crates missing from [`LAYERS`].
fn table_differences(ws: &BTreeMap<String, Crate>) -> Vec<String> {
    let mut v = Vec::new();
    for (name, krate) in ws {
        let Some(l) = layer(name) else {
            v.push(format!(
                "{name} is not in LAYERS: place the new crate in the stack (and in ARCHITECTURE.md's map)"
            ));
            continue;
        };
        if l == Layer::DevOnly {
            continue;
        }
        let allowed: BTreeSet<Edge> = ALLOWED
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.iter().copied().collect())
            .unwrap_or_default();
        let actual: BTreeSet<(String, Option<String>)> = krate
            .internal
            .iter()
            .map(|(to, optional)| {
                let feature = optional.then(|| enabling_feature(krate, to)).flatten();
                (
                    to.clone(),
                    if *optional {
                        feature.or(Some(String::new()))
                    } else {
                        None
                    },
                )
            })
            .collect();
        let expected: BTreeSet<(String, Option<String>)> = allowed
            .iter()
            .map(|e| match e {
                Edge::Normal(to) => (to.to_string(), None),
                Edge::Feature(to, f) => (to.to_string(), Some(f.to_string())),
            })
            .collect();
        for (to, feature) in actual.difference(&expected) {
            v.push(format!(
                "{name} -> {to}{}: not an allowed edge; if it should be, add it to ALLOWED in \
                 tests/tests/architecture.rs and to ARCHITECTURE.md's crate map",
                describe(feature)
            ));
        }
        for (to, feature) in expected.difference(&actual) {
            v.push(format!(
                "{name} -> {to}{}: allowed but no longer in the manifests; remove it from ALLOWED and from \
                 ARCHITECTURE.md's crate map so the map stays true",
                describe(feature)
            ));
        }
    }
    v
}

fn describe(feature: &Option<String>) -> String {
    match feature {
        None => String::new(),
        Some(f) if f.is_empty() => " (optional, enabled by no feature)".into(),
        Some(f) => format!(" (behind feature `{f}`)"),
    }
}

/// The feature of `krate` that turns on the optional dependency `dep` (`dep:name` or `name/feature`).
fn enabling_feature(krate: &Crate, dep: &str) -> Option<String> {
    let dep_ref = format!("dep:{dep}");
    krate
        .features
        .iter()
        .find(|(_, enables)| enables.iter().any(|e| *e == dep_ref || e == dep))
        .map(|(f, _)| f.clone())
}

#[test]
fn the_allowed_edges_obey_the_boundaries() {
    let broken: Vec<String> = ALLOWED
        .iter()
        .flat_map(|(from, edges)| edges.iter().flat_map(|e| rule_violations(from, *e)))
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_workspace_has_exactly_the_allowed_edges() {
    let ws = workspace();
    // The test would pass vacuously if it read the wrong manifest.
    assert!(
        ws.contains_key("miro-sam-core") && ws.contains_key(CLI),
        "{ws:?}"
    );
    let differences = table_differences(&ws);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn the_cli_links_the_sandbox_only_through_its_default_feature() {
    let ws = workspace();
    let cli = &ws[CLI];
    let dep = cli.internal.iter().find(|(to, _)| to == SANDBOX);
    assert_eq!(
        dep.map(|(_, optional)| *optional),
        Some(true),
        "the CLI must link {SANDBOX} as an optional dependency"
    );
    assert_eq!(
        enabling_feature(cli, SANDBOX).as_deref(),
        Some(SANDBOX_FEATURE)
    );
    assert!(
        cli.features["default"].iter().any(|f| f == SANDBOX_FEATURE),
        "`{SANDBOX_FEATURE}` must be a default feature, so `cargo install` gets the demo: {:?}",
        cli.features
    );
}

#[test]
fn the_client_and_the_core_link_no_backend() {
    let ws = workspace();
    for name in ["miro-client", "miro-sam-core"] {
        let bad: Vec<&String> = ws[name]
            .external
            .iter()
            .filter(|d| NO_BACKENDS.iter().any(|b| d.starts_with(b)))
            .collect();
        assert!(
            bad.is_empty(),
            "{name} links {bad:?}: the same jobs run on one machine and on AWS, so storage, AWS and HTTP \
             serving belong to the adapters"
        );
    }
}

/// The checks themselves catch what they are for: a table that lets the core use an adapter, the client use the
/// core, a function link the sandbox, or the CLI link it unconditionally.
#[test]
fn the_rules_refuse_forbidden_edges() {
    let refused = |from: &str, edge: Edge, why: &str| {
        let v = rule_violations(from, edge);
        assert!(
            v.iter().any(|m| m.contains(why)),
            "{from} -> {edge:?}: {v:?}"
        );
    };
    refused(
        "miro-sam-core",
        Edge::Normal("miro-sam-sqlite"),
        "points up",
    );
    refused("miro-sam-core", Edge::Normal("miro-sam-aws"), "points up");
    refused(
        "miro-client",
        Edge::Normal("miro-sam-core"),
        "the client knows Miro",
    );
    refused("miro-sam-aws", Edge::Normal("miro-sam-sqlite"), "across");
    refused("miro-sam-console", Edge::Normal("miro-sam"), "points up");
    refused("miro-sam-aws", Edge::Normal("oauth-callback"), "points up");
    refused(
        "oauth-callback",
        Edge::Normal(SANDBOX),
        "never links the fake Miro",
    );
    refused(CLI, Edge::Normal(SANDBOX), "never links the fake Miro");
    refused(
        CLI,
        Edge::Feature(SANDBOX, "aws"),
        "never links the fake Miro",
    );
    refused("miro-sam-core", Edge::Normal("miro-sam-tests"), "points up");
    // The links sit on the core: the core and the client never know them, and they know no adapter.
    refused("miro-sam-core", Edge::Normal("miro-sam-links"), "points up");
    refused(
        "miro-client",
        Edge::Normal("miro-sam-links"),
        "the client knows Miro",
    );
    refused("miro-sam-links", Edge::Normal("miro-sam-aws"), "points up");
    refused(
        "miro-sam-links",
        Edge::Normal("miro-sam-console"),
        "points up",
    );
    assert!(rule_violations(CLI, Edge::Feature(SANDBOX, SANDBOX_FEATURE)).is_empty());
    assert!(rule_violations("miro-sam-tests", Edge::Normal(SANDBOX)).is_empty());
    // The test kit is a dev-dependency only, even of a crate at the top of the stack.
    refused(
        "miro-sam-notify",
        Edge::Normal("miro-sam-testkit"),
        "take it as a [dev-dependencies] entry",
    );
    refused(CLI, Edge::Normal("miro-sam-testkit"), "never a normal one");
    assert!(rule_violations("miro-sam-tests", Edge::Normal("miro-sam-testkit")).is_empty());
}

/// The comparison with the manifests reports an edge the table lacks and one the manifests lost.
#[test]
fn an_edge_outside_the_table_is_reported() {
    let mut ws = workspace();
    let core = ws.get_mut("miro-sam-core").expect("the core");
    core.internal.push(("miro-sam-sqlite".into(), false));
    core.internal.retain(|(to, _)| to != "miro-client");
    let d = table_differences(&ws);
    assert!(
        d.iter()
            .any(|m| m.starts_with("miro-sam-core -> miro-sam-sqlite: not an allowed edge")),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|m| m.starts_with("miro-sam-core -> miro-client: allowed but no longer")),
        "{d:?}"
    );
    ws.insert("miro-sam-new".into(), Crate::default());
    assert!(
        table_differences(&ws)
            .iter()
            .any(|m| m.starts_with("miro-sam-new is not in LAYERS")),
    );
}

/// The only files of production code that write an environment variable's name. Each documents its names; the
/// template and `infra/test_stack.py` follow the first two, the CLI's help and README the third.
const ENV_MODULES: &[&str] = &[
    "shared/aws/src/env.rs",
    "shared/lambda-support/src/env.rs",
    "cli/src/env.rs",
];

/// Where `text` (the file `path`) names an environment variable itself: a string literal given to `env::var`
/// (and its kin) or to clap's `env =`, or any literal that looks like one of our names or AWS's. A name read
/// through a constant of an env module passes.
fn env_names_written(path: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Comments may mention a name; only code reads one.
    let code: String = text
        .lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    let literal_at = |rest: &str| -> Option<String> {
        let rest = rest.trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    };
    for call in [
        "env::var(",
        "env::var_os(",
        "env::set_var(",
        "env::remove_var(",
    ] {
        for (at, _) in code.match_indices(call) {
            if let Some(name) = literal_at(&code[at + call.len()..]) {
                found.push(format!("{path}: {call}\"{name}\")"));
            }
        }
    }
    for (at, _) in code.match_indices("env =") {
        if let Some(name) = literal_at(&code[at + "env =".len()..]) {
            found.push(format!("{path}: clap env = \"{name}\""));
        }
    }
    for piece in code.split('"').skip(1).step_by(2) {
        let looks_like_ours = ["MIRO_", "AWS_"].iter().any(|p| piece.starts_with(p))
            && piece
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if looks_like_ours {
            found.push(format!("{path}: \"{piece}\""));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Production code (every crate's `src/` but the dev-only ones and the sandbox, whose harnesses name their own
/// variables) names environment variables only in the env modules.
#[test]
fn environment_variable_names_live_in_the_env_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root");
    let ws = workspace();
    let mut files = Vec::new();
    for (name, krate) in &ws {
        if name == SANDBOX || layer(name) == Some(Layer::DevOnly) {
            continue;
        }
        rust_files(&krate.dir.join("src"), &mut files);
    }
    // Vacuous if the walk found nothing (for example, a moved workspace).
    assert!(files.len() > 50, "only {} source files found", files.len());
    let mut written = Vec::new();
    let mut modules_seen = 0;
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        if ENV_MODULES.contains(&rel.as_str()) {
            modules_seen += 1;
            continue;
        }
        let text = std::fs::read_to_string(file).expect("a readable source file");
        written.extend(env_names_written(&rel, &text));
    }
    assert_eq!(
        modules_seen,
        ENV_MODULES.len(),
        "an env module moved: update ENV_MODULES"
    );
    assert!(
        written.is_empty(),
        "environment variable names written outside {ENV_MODULES:?} (add a constant to one of them and use \
         it):\n{}",
        written.join("\n")
    );
}

/// The scan catches each way of naming a variable in place, and lets a constant through.
#[test]
fn the_scan_finds_names_written_in_place() {
    let src = r#"
        // A comment may say "MIRO_SAM_TABLE_NAME".
        let a = std::env::var("HOME");
        let b = env::var_os(
            "PATH",
        );
        #[arg(long, env = "MIRO_CLIENT_ID")]
        const X: &str = "MIRO_SAM_SOMETHING";
        #[arg(long, env = env::DATA_DIR)]
        let c = std::env::var(env::OAUTH_CLIENT_ID);
        let msg = "set MIRO_SAM_TABLE_NAME to the table";
    "#;
    let found = env_names_written("x.rs", src);
    assert_eq!(
        found,
        vec![
            "x.rs: env::var(\"HOME\")",
            "x.rs: env::var_os(\"PATH\")",
            "x.rs: clap env = \"MIRO_CLIENT_ID\"",
            "x.rs: \"MIRO_CLIENT_ID\"",
            "x.rs: \"MIRO_SAM_SOMETHING\"",
        ]
    );
}

/// Every crate takes the workspace's lints (no unsafe code, no dbg!/todo!/unimplemented!): a crate whose manifest
/// forgot `[lints] workspace = true` would silently build without them.
#[test]
fn every_crate_takes_the_workspace_lints() {
    let ws = workspace();
    assert!(ws.len() >= 16, "the workspace's crates: {:?}", ws.keys());
    let missing: Vec<&String> = ws
        .iter()
        .filter(|(_, c)| {
            let manifest = std::fs::read_to_string(c.dir.join("Cargo.toml")).expect("manifest");
            !manifest.contains("[lints]\nworkspace = true")
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        missing.is_empty(),
        "add `[lints]\\nworkspace = true` to: {missing:?}"
    );
}
