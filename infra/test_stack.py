#!/usr/bin/env python3
"""Checks that infra/template.yaml deploys what the code expects, offline.

Two groups of tests, run by infra/check.sh with the test venv's python (boto3 comes with moto):

- TemplateTests read the translated CloudFormation (infra/translate.py's output) and the SAM source, and compare
  them with the code: the environment variable names (parsed from shared/aws/src/env.rs and
  shared/lambda-support/src/env.rs), the table shape (parsed from shared/aws/src/table.rs), the secret paths (parsed
  from shared/aws/src/secrets.rs), the AWS SDK calls the code makes (parsed from shared/aws, shared/lambda-support
  and functions/), and the IAM statements, routes, queue, event source, schedule and alarms of the template.
- StackTests deploy the translated template as a stack into the local AWS API (moto) at MIRO_SAM_TEST_AWS_ENDPOINT
  and check what moto creates: table, queues, redrive policy, event source mapping, functions and their environment,
  roles. moto's CloudFormation silently skips Secrets Manager secrets, ApiGatewayV2 resources, Scheduler schedules
  and CloudWatch alarms, and ignores a table's TTL, point-in-time recovery and SSE settings and a function's
  architecture; those are checked on the template only. A deploy into moto is a wiring test, not proof of a real
  deploy.

Usage: test_stack.py --translated PATH [unittest options]
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import sys
import time
import unittest
import uuid
import zipfile
from pathlib import Path

import yaml

INFRA = Path(__file__).resolve().parent
ROOT = INFRA.parent
SAM_TEMPLATE = INFRA / "template.yaml"
AWS_ENV_RS = ROOT / "shared/aws/src/env.rs"
LAMBDA_ENV_RS = ROOT / "shared/lambda-support/src/env.rs"
TABLE_RS = ROOT / "shared/aws/src/table.rs"
SECRETS_RS = ROOT / "shared/aws/src/secrets.rs"
DYNAMO_DIR = ROOT / "shared/aws/src/dynamo"
METRICS_RS = ROOT / "shared/lambda-support/src/metrics.rs"
DOWNLOAD_LIB_RS = ROOT / "functions/download-subscriptions/src/lib.rs"
# Where the functions' AWS SDK calls are written.
CODE_DIRS = [ROOT / "shared/aws/src", ROOT / "shared/lambda-support/src", ROOT / "functions"]

TRANSLATED: Path | None = None  # set by main()

# Function logical id -> binary (= package) name.
FUNCTIONS = {
    "OAuthCallbackFunction": "oauth-callback",
    "DownloadSubscriptionsFunction": "download-subscriptions",
    "ReclaimSubscriptionFunction": "reclaim-subscription",
    "ConsoleFunction": "console",
}
# The console's package is not named like its binary (crates.io's `console` is in the lock file).
PACKAGE_OF = {"console": "console-function"}
CONSOLE_SETTINGS_RS = ROOT / "functions/console/src/settings.rs"
CONSOLE_CONFIG_RS = ROOT / "shared/console/src/config.rs"

# What each function needs set, by the Rust constant's name (its value is parsed from the env modules, so a renamed
# variable fails here). Every function builds the same Settings and AwsConfig; these are the ones whose value must
# come from the deployment rather than a default.
COMMON_NEEDS = {
    "TABLE_NAME",  # AwsConfig: required
    "SECRET_PREFIX",  # AwsConfig: required
    "OAUTH_CLIENT_SECRET_NAME",  # every function exchanges or refreshes tokens
    "OAUTH_CLIENT_ID",
    "MIRO_API_BASE_URL",  # all four functions talk to the same Miro
    "MIRO_OAUTH_BASE_URL",
    "MIRO_SCIM_BASE_URL",
    "LOG_LEVEL",
}
NEEDS = {
    "OAuthCallbackFunction": COMMON_NEEDS
    | {
        "OAUTH_REDIRECT_URI",
        "CONNECT_LINK_KEY_NAME",
        "ALLOWED_ORGS",
        "DEFAULT_INACTIVITY_DAYS",
        "DEFAULT_DRY_RUN",
        "DEFAULT_CAP_COUNT",
        "DEFAULT_CAP_PERCENT",
    },
    "DownloadSubscriptionsFunction": COMMON_NEEDS
    | {
        "RECLAIM_QUEUE_URL",
        "DEADLINE_MARGIN_SECS",
        # Notices after each org's plan (empty values turn a channel off; the template sets them all).
        "NOTICE_FROM",
        "NOTICE_CONTACT",
        "NOTICE_SEND_RATE",
        "DIGEST_TO",
        "CONSOLE_URL",
        "WEBHOOK_SECRET_NAME",
        "KEEP_LINK_KEY_SECRET_NAME",
        # Sends through the configuration set whose bounces come back to it.
        "NOTICE_CONFIGURATION_SET",
    },
    "ReclaimSubscriptionFunction": COMMON_NEEDS | {"RECLAIM_WORKERS"},
    "ConsoleFunction": COMMON_NEEDS
    | {
        "RECLAIM_QUEUE_URL",
        "CONSOLE_SESSION_KEY_NAME",
        "CONSOLE_PUBLIC_URL",
        "CONSOLE_ADMIN_EMAILS",
        "CONSOLE_SEAT_PRICE_MINOR",
        "CONSOLE_CURRENCY",
        "KEEP_LINK_KEY_SECRET_NAME",
    },
}
# Names the template must never set: test-only ones, and the ones Lambda itself sets.
TEST_ONLY = {"TEST_AWS_ENDPOINT", "LAMBDA_FUNCTION_NAME"}

# Which secrets each function may touch, and how. Kinds: the two secrets of the stack, and the per-org paths.
SECRET_ACCESS = {
    "OAuthCallbackFunction": {
        "client-secret": {"GetSecretValue"},
        "connect-link-key": {"GetSecretValue"},
        "org-oauth": {"CreateSecret", "PutSecretValue", "RestoreSecret"},
    },
    "DownloadSubscriptionsFunction": {
        "client-secret": {"GetSecretValue"},
        "org-oauth": {"GetSecretValue", "PutSecretValue"},
        # Whether the SCIM token is stored (a policy that reclaims needs it): metadata only, never the token.
        "org-scim": {"DescribeSecret"},
        # Notices: signs the keep links, posts the digest to the webhook the operator's secret names.
        "keep-link-key": {"GetSecretValue"},
        "webhook-url": {"GetSecretValue"},
    },
    "ReclaimSubscriptionFunction": {
        "client-secret": {"GetSecretValue"},
        "org-oauth": {"GetSecretValue", "PutSecretValue"},
        "org-scim": {"GetSecretValue"},
    },
    "ConsoleFunction": {
        "client-secret": {"GetSecretValue"},
        "console-session-key": {"GetSecretValue"},
        # Verifies the keep links on the keep page.
        "keep-link-key": {"GetSecretValue"},
        # Read and refreshed, and replaced when the signing-in admin is the org's connecting admin.
        "org-oauth": {"GetSecretValue", "PutSecretValue"},
        # The overview's "no SCIM token" alert: metadata only. The console never reads the token.
        "org-scim": {"DescribeSecret"},
    },
}

ROUTES = {"GET /oauth/start", "GET /oauth/callback", "GET /health"}
# The console's routes: its base path and everything under it, pages (GET) and actions (POST).
CONSOLE_ROUTES = {"GET {base}", "GET {base}/{{proxy+}}", "POST {base}/{{proxy+}}"}

# Template parameter that carries each variable's value, to compare the parameter's default with the code's.
PARAMETER_OF = {
    "MIRO_API_BASE_URL": "MiroApiBaseUrl",
    "MIRO_OAUTH_BASE_URL": "MiroOAuthBaseUrl",
    "MIRO_SCIM_BASE_URL": "MiroScimBaseUrl",
    "DEFAULT_INACTIVITY_DAYS": "DefaultInactivityDays",
    "DEFAULT_DRY_RUN": "DefaultDryRun",
    "DEFAULT_CAP_COUNT": "DefaultCapCount",
    "DEFAULT_CAP_PERCENT": "DefaultCapPercent",
    "RECLAIM_WORKERS": "ReclaimWorkers",
    "LOG_LEVEL": "LogLevel",
    "CONSOLE_ADMIN_EMAILS": "ConsoleAdminEmails",
    "CONSOLE_SEAT_PRICE_MINOR": "ConsoleSeatPriceMinor",
    "CONSOLE_CURRENCY": "ConsoleCurrency",
    "NOTICE_FROM": "NoticeSender",
    "NOTICE_CONTACT": "NoticeContact",
    "NOTICE_SEND_RATE": "NoticeSendRate",
    "DIGEST_TO": "DigestTo",
    "WEBHOOK_SECRET_NAME": "WebhookUrlSecret",
}
# Parameters that carry a secret's NAME (never its value): their pattern must refuse a URL or anything with a colon.
SECRET_NAME_PARAMETERS = {"WebhookUrlSecret"}
# The SES identity ARN prefix; the download role may send as the sender's address or its domain, nothing else.
SES_IDENTITY = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
# The configuration set the notices go through (its ARN prefix): SendEmail is authorized on it too.
SES_CONFIGURATION_SET = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
# The SES tag the notices carry their reference in, and the bounce event's detail type (the function's code).
SES_RS = ROOT / "shared/aws/src/ses.rs"
BOUNCE_RS = ROOT / "functions/download-subscriptions/src/bounce.rs"
LINKS_KEEP_RS = ROOT / "shared/links/src/keep.rs"


# ----------------------------------------------------------------------------------------------------------------
# Reading the code
# ----------------------------------------------------------------------------------------------------------------

CONST_RE = re.compile(r'^\s*pub const (\w+): &str = "([^"]*)";', re.M)


def rust_consts(path: Path) -> dict[str, str]:
    found = dict(CONST_RE.findall(path.read_text()))
    if not found:
        raise AssertionError(f"no `pub const NAME: &str = \"VALUE\";` found in {path}")
    return found


def env_names() -> dict[str, str]:
    """Rust constant name -> environment variable name, from both env modules."""
    names = {}
    for path in (AWS_ENV_RS, LAMBDA_ENV_RS):
        for k, v in rust_consts(path).items():
            if k in names and names[k] != v:
                raise AssertionError(f"{k} is {names[k]!r} in one env module and {v!r} in {path}")
            names[k] = v
    return names


def env_defaults() -> dict[str, str]:
    """Rust constant name -> the default its doc comment states (`Default X.` or `` `X` (default)``)."""
    defaults = {}
    for path in (AWS_ENV_RS, LAMBDA_ENV_RS):
        doc: list[str] = []
        for line in path.read_text().splitlines():
            s = line.strip()
            if s.startswith("///"):
                doc.append(s[3:].strip())
                continue
            m = re.match(r"pub const (\w+): &str", s)
            if m:
                text = " ".join(doc)
                d = re.search(r"\(default\s+`?([^`)\s]+)`?\)", text) or re.search(
                    r"\bDefault\s+`([^`]+)`", text
                ) or re.search(r"\bDefault\s+([0-9]+)\b", text) or re.search(r"`([^`]+)`\s+\(default\)", text)
                if d:
                    defaults[m.group(1)] = d.group(1)
            doc = [] if not s.startswith("#[") else doc
    return defaults


def table_shape() -> dict:
    """The table as shared/aws/src/table.rs's create_table builds it."""
    src = TABLE_RS.read_text()
    consts = rust_consts(TABLE_RS)

    def name(ident: str) -> str:
        if ident not in consts:
            raise AssertionError(f"table.rs uses {ident}, which is not a `pub const` string there")
        return consts[ident]

    create_start = src.index(".create_table()")
    create_block = src[create_start : src.index(".send()", create_start)]

    def keys(block: str) -> list[tuple[str, str]]:
        return [
            (name(i), {"Hash": "HASH", "Range": "RANGE"}[t])
            for i, t in re.findall(r"key\((\w+), KeyType::(Hash|Range)\)", block)
        ]

    # create_table builds every index with one closure, `index(NAME, PK, SK)`: a hash key, a range key and one
    # projection (not the builders of an index added to an existing table, which take the built index).
    builder = re.search(r"let index = \|name: &str, pk: &str, sk: &str\| \{(.*?)\n    \};", src, re.S)
    if not builder or "GlobalSecondaryIndex::builder()" not in builder.group(1):
        raise AssertionError("table.rs's index builder no longer has the shape this test parses; update test_stack.py")
    body = builder.group(1)
    projection = re.search(r"ProjectionType::(\w+)", body)
    if not (projection and "key(pk, KeyType::Hash)" in body and "key(sk, KeyType::Range)" in body):
        raise AssertionError("table.rs's index builder no longer has the shape this test parses; update test_stack.py")
    gsis = {}
    for gsi_name, pk, sk in re.findall(r"(?<![A-Za-z_])index\((\w+), (\w+), (\w+)\)\?", src):
        gsis[name(gsi_name)] = {
            "key_schema": [(name(pk), "HASH"), (name(sk), "RANGE")],
            "projection": projection.group(1).upper(),
        }
    billing = re.search(r"BillingMode::(\w+)", create_block)
    ttl = re.search(r"TimeToLiveSpecification::builder\(\)\s*\.attribute_name\((\w+)\)", src)
    if not (gsis and billing and ttl):
        raise AssertionError("table.rs's create_table no longer has the shape this test parses; update test_stack.py")
    # Every attribute definition goes through `attr`, which is ScalarAttributeType::S.
    attr_fn = re.search(r"let attr = \|n: &str\| \{(.*?)\};", src, re.S)
    if not attr_fn or "ScalarAttributeType::S" not in attr_fn.group(1):
        raise AssertionError("table.rs's attribute definitions are no longer all strings (S); update test_stack.py")
    return {
        "key_schema": keys(create_block),
        "attributes": {name(i): "S" for i in re.findall(r"attribute_definitions\(attr\((\w+)\)\?\)", create_block)},
        "gsis": gsis,
        "billing": {"PayPerRequest": "PAY_PER_REQUEST", "Provisioned": "PROVISIONED"}[billing.group(1)],
        "ttl": name(ttl.group(1)),
    }


def secret_paths() -> dict[str, str]:
    """Kind -> the per-org secret's name with `*` for the org, from secrets.rs (`{prefix}/orgs/{org}/oauth`)."""
    src = SECRETS_RS.read_text()
    found = {}
    for kind in ("oauth", "scim"):
        m = re.search(r"fn %s_secret_name\b.*?format!\(\"\{\}(/[^\"]*)\", self\.prefix\)" % kind, src, re.S)
        if not m:
            raise AssertionError(f"cannot find {kind}_secret_name's format string in {SECRETS_RS}")
        found[f"org-{kind}"] = re.sub(r"\{org\}", "*", m.group(1))
    return found


def partition_prefixes() -> set[str]:
    """The base table's partition-key prefixes, from shared/aws/src/dynamo/*.rs: `*_PK` constants (`ORGS`) and
    `*_pk` functions (`ORG#`, `PLAN#`, `LINK#`, ...), a leading `{CONST}` in the format string resolved in the same
    file. Index keys (`*_gsi_pk`) are not partitions of the table."""
    found = set()
    for path in sorted(DYNAMO_DIR.glob("*.rs")):
        src = path.read_text().split("#[cfg(test)]")[0]
        consts = dict(re.findall(r'const (\w+): &str = "([^"]*)";', src))
        found |= {v for k, v in consts.items() if k.endswith("_PK")}
        for name, fmt in re.findall(r'fn (\w+)_pk\([^)]*\) -> String \{\s*format!\(\s*"([^"]*)"', src):
            if name.endswith("_gsi"):
                continue
            fmt = re.sub(r"^\{([A-Z_]+)\}", lambda m: consts.get(m.group(1), m.group(0)), fmt)
            m = re.match(r"([A-Z_]+#)", fmt)
            if not m:
                raise AssertionError(f"{path}: cannot read the prefix of {name}_pk ({fmt!r}); update test_stack.py")
            found.add(m.group(1))
    if not {"ORGS", "ORG#", "PLAN#", "AUDIT#", "OAUTH_STATE#"} <= found:
        raise AssertionError(
            f"{DYNAMO_DIR} no longer has the shape this test parses (found {sorted(found)}); update test_stack.py"
        )
    return found


def console_paths() -> tuple[str, str]:
    """The console's base path (functions/console/src/settings.rs) and its sign-in callback path under it
    (shared/console/src/config.rs, `callback_url`)."""
    base = rust_consts(CONSOLE_SETTINGS_RS).get("BASE_PATH")
    m = re.search(r"fn callback_url\b.*?self\.absolute\(\"([^\"]+)\"\)", CONSOLE_CONFIG_RS.read_text(), re.S)
    if not base or not m:
        raise AssertionError(
            f"cannot read the console's BASE_PATH ({CONSOLE_SETTINGS_RS}) or callback_url ({CONSOLE_CONFIG_RS}); "
            "update test_stack.py"
        )
    return base, m.group(1)


def metric_names() -> dict[str, str]:
    """The metrics' namespace, dimension and alarmed names, from shared/lambda-support/src/metrics.rs."""
    consts = rust_consts(METRICS_RS)
    for need in ("NAMESPACE", "DIMENSION", "ORGS_FAILED", "ORGS_NEEDING_ACTION"):
        if need not in consts:
            raise AssertionError(f"{METRICS_RS} no longer declares `pub const {need}`")
    return consts


# ----------------------------------------------------------------------------------------------------------------
# IAM evaluation, for the DynamoDB statements of the roles: enough of IAM's rules to ask "is this request allowed"
# (explicit Deny wins; an Allow must match action, resource and every condition). Condition operators: String(Not)
# Equals/Like with ForAllValues/ForAnyValue, and Null. An operator this does not know fails the test.
# ----------------------------------------------------------------------------------------------------------------

TABLE_RESOURCE = {"Fn::GetAtt": ["Table", "Arn"]}


def _resource_kind(r) -> str:
    if r == TABLE_RESOURCE:
        return "table"
    text = sub_text(r) or ""
    if text.startswith("${Table.Arn}/index/"):
        return "index"
    return f"other:{r}"


def _like(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value) is not None


def _condition_holds(condition: dict, context: dict[str, list[str]]) -> bool:
    for op, pairs in condition.items():
        for key, wanted in pairs.items():
            wanted = [str(w) for w in as_list(wanted)]
            values = context.get(key)
            if op == "Null":
                if (wanted == ["true"]) != (values is None):
                    return False
                continue
            qualifier, _, base = op.rpartition(":")
            one = {
                "StringLike": lambda v: any(_like(w, v) for w in wanted),
                # Negated operators with several values are a NOR: the value matches none of them.
                "StringNotLike": lambda v: not any(_like(w, v) for w in wanted),
                "StringEquals": lambda v: v in wanted,
                "StringNotEquals": lambda v: v not in wanted,
            }.get(base)
            if one is None or qualifier not in ("ForAllValues", "ForAnyValue"):
                raise AssertionError(f"condition operator {op} on {key}: not modelled by test_stack.py")
            if qualifier == "ForAllValues":
                # True for a request without the key (or with no values): why the Allows also say Null false.
                ok = values is None or all(one(v) for v in values)
            else:
                ok = values is not None and any(one(v) for v in values)
            if not ok:
                return False
    return True


def dynamodb_decision(stmts: list[dict], action: str, resource: str, leading_keys: list[str] | None) -> str:
    """"Allow", "Deny" (explicit) or "NotAllowed" for one DynamoDB request; `leading_keys` None: the request
    carries no partition key (Scan, PartiQL)."""
    context = {} if leading_keys is None else {"dynamodb:LeadingKeys": leading_keys}
    allowed = False
    for st in stmts:
        if f"dynamodb:{action}" not in as_list(st["Action"]):
            continue
        if resource not in {_resource_kind(r) for r in as_list(st["Resource"])}:
            continue
        if not _condition_holds(st.get("Condition", {}), context):
            continue
        if st["Effect"] == "Deny":
            return "Deny"
        allowed = True
    return "Allow" if allowed else "NotAllowed"


# Every DynamoDB request connecting an org makes, by partition (shared/aws/TABLE.md, shared/aws/src/dynamo/*.rs,
# shared/core/src/jobs/connect.rs). The oauth-callback role must allow exactly these and nothing else that writes.
CONNECT_REQUESTS = [
    ("PutItem", "OAUTH_STATE#0f3a"),  # /oauth/start: the state, put if absent (oauth_state.rs put)
    ("DeleteItem", "OAUTH_STATE#0f3a"),  # /oauth/callback: taken once (oauth_state.rs take)
    ("PutItem", "LINK#5d1c"),  # /oauth/start: the link's nonce, put if absent (link_nonce.rs use_link)
    ("GetItem", "LINK#5d1c"),  # (read-only, for the earlier use a refused put returns)
    ("GetItem", "ORGS"),  # orgs.rs get (a reconnect keeps connected_at)
    ("PutItem", "ORGS"),  # orgs.rs put
    ("UpdateItem", "ORG#3458764500000000000"),  # token_state.rs bump (ORG#/TOKENS); policies.rs counter
    ("Query", "ORG#3458764500000000000"),  # policies.rs latest
    ("PutItem", "ORG#3458764500000000000"),  # policies.rs put: the first version, if absent
    ("PutItem", "AUDIT#connect-0192"),  # audit.rs append, if absent
]
# What each partition prefix is to the oauth-callback role. A new prefix in keys.rs fails the test until it is
# added here (and to the role, if connecting writes it).
CALLBACK_PARTITIONS = {
    "OAUTH_STATE#": "written",
    "LINK#": "appended",
    "ORGS": "written",
    "ORG#": "written",
    "AUDIT#": "appended",
    "PLAN#": "never",
    "TIMELINE#": "never",
}
ITEM_ACTIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem"]

# Every DynamoDB request the console makes, by partition (shared/aws/src/dynamo/*.rs; the console's pages and the
# core jobs its actions run: approve_plan, reject_candidates, set_policy, pause_org/resume_org, remove_hold,
# request_reactivation, usable_access_token). The console role must allow these.
CONSOLE_REQUESTS = [
    ("PutItem", "table", ["OAUTH_STATE#0f3a"]),  # /console/login: the sign-in state, put if absent
    ("DeleteItem", "table", ["OAUTH_STATE#0f3a"]),  # /console/auth/callback: taken once
    ("GetItem", "table", ["ORGS"]),  # orgs.rs get: is the admin's org connected?
    ("GetItem", "table", ["ORG#3458764500000000000"]),  # a member, the pause item, a hold, a policy version
    # ORG#{org}/MEMBER_ID_LENGTHS (member_id_lengths.rs read): before members are paged in id order (members.csv)
    ("GetItem", "table", ["ORG#3458764500000000000"]),
    ("Query", "table", ["ORG#3458764500000000000"]),  # latest policy, snapshots, plan index, members by id
    ("PutItem", "table", ["ORG#3458764500000000000"]),  # a policy version (if absent), the pause item, a hold
    ("UpdateItem", "table", ["ORG#3458764500000000000"]),  # policy counter, token version item, refresh lease
    # ORG#{org}/MEMBER_ID_LENGTHS (member_id_lengths.rs backfill): marked complete once the members' keys were
    # read; a refused write only costs the next page a pass over the keys, so the role could do without it
    ("UpdateItem", "table", ["ORG#3458764500000000000"]),
    ("DeleteItem", "table", ["ORG#3458764500000000000"]),  # resume (the pause item), remove a hold
    ("GetItem", "table", ["PLAN#2f8e6c1a-0000-4000-8000-000000000001"]),  # plan header, one candidate, a record
    ("Query", "table", ["PLAN#2f8e6c1a-0000-4000-8000-000000000001"]),  # a page of candidates or exclusions
    ("PutItem", "table", ["PLAN#2f8e6c1a-0000-4000-8000-000000000001"]),  # approve/reject: the record, if absent
    ("PutItem", "table", ["AUDIT#console-0192"]),  # audit.rs append, if absent
    ("GetItem", "table", ["AUDIT#console-0192"]),  # (the entry a refused append finds)
    ("Query", "table", ["TIMELINE#3458764500000000000#3458764500000000001"]),  # a member's timeline
    ("Query", "index", ["ORG#3458764500000000000#AUDIT"]),  # the audit log in time order
    ("Query", "index", ["ORG#3458764500000000000#RECLAIMS"]),  # reclaimed members
    ("Query", "index", ["ORG#3458764500000000000#EMAIL#a@example.com"]),  # member by email
]
# What each partition prefix is to the console role. A new prefix fails the test until it is added here.
CONSOLE_PARTITIONS = {
    "OAUTH_STATE#": "written",
    "LINK#": "never",
    "ORGS": "read",
    "ORG#": "written",
    "AUDIT#": "appended",
    "PLAN#": "appended",
    "TIMELINE#": "read",
}


# The adapter's reads through GSI2 (files of shared/aws/src/dynamo with `KeyQuery::index(GSI2, ...)`), each with
# the call that reaches it through the core's ports: members by email prefix, a member's audit entries, the
# records in one state. (A records page without a state, and an audit page without a member, use GSI1.)
GSI2_READS = {
    "members.rs": r"\.search_members\(",
    "audit.rs": r"\bmember:\s*Some\(",
    "reclaims.rs": r"\.list_reclaim_records_page\(\s*[^,]+,\s*Some\(",
}
# The code each function runs: its own crate, plus the router for the console. Every function may also run the
# core's jobs and notices and the Lambda support crate (SHARED_CODE), so a GSI2 read there needs gsi2 in every
# role until the test is told which function runs it.
FUNCTION_CODE = {
    "ConsoleFunction": ["functions/console/src", "shared/console/src"],
    "DownloadSubscriptionsFunction": ["functions/download-subscriptions/src"],
    "ReclaimSubscriptionFunction": ["functions/reclaim-subscription/src"],
    "OAuthCallbackFunction": ["functions/oauth-callback/src"],
}
SHARED_CODE = ["shared/core/src/jobs", "shared/core/src/notices", "shared/lambda-support/src"]


def gsi2_reads(dirs: list[str]) -> list[str]:
    """`file: pattern` for each GSI2 read called in the Rust sources under `dirs` (test modules included: a
    conservative answer)."""
    hits = []
    for d in dirs:
        for path in sorted((ROOT / d).rglob("*.rs")):
            text = path.read_text()
            for source, pattern in GSI2_READS.items():
                if re.search(pattern, text):
                    hits.append(f"{path.relative_to(ROOT)} ({source}: {pattern})")
    return hits


def adapter_actions() -> dict[str, set[str]]:
    """IAM actions behind the AWS SDK calls the functions can make (shared/aws, shared/lambda-support, functions/),
    by service prefix."""
    calls = set()
    sources = [p for d in CODE_DIRS if d.is_dir() for p in d.rglob("*.rs")]
    for path in sources:
        text = path.read_text()
        # Unit tests mock calls; only the code outside `mod tests` counts.
        text = text.split("#[cfg(test)]")[0]
        calls |= set(re.findall(r"\.(\w+)\(\)\s*\n?\s*\.", text))
    pascal = lambda s: "".join(p.capitalize() for p in s.split("_"))  # noqa: E731
    dynamo = {
        "get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_write_item",
        "batch_get_item", "transact_write_items", "transact_get_items",
    }
    secrets = {"get_secret_value", "put_secret_value", "create_secret", "restore_secret", "describe_secret"}
    sqs = {"send_message_batch": "SendMessage", "send_message": "SendMessage"}
    ses = {"send_email", "get_email_identity"}
    out = {
        "ses": {pascal(c) for c in calls & ses},
        "dynamodb": {pascal(c) for c in calls & dynamo},
        "secretsmanager": {pascal(c) for c in calls & secrets},
        "sqs": {sqs[c] for c in calls & set(sqs)},
    }
    # The event source mapping polls with the worker's role: these are its calls, not the code's.
    out["sqs"] |= {"ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes"}
    return out


# ----------------------------------------------------------------------------------------------------------------
# Reading the template
# ----------------------------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    fn = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {fn: value}


_CfnLoader.add_multi_constructor("!", _tag)


def sam_template() -> dict:
    return yaml.load(SAM_TEMPLATE.read_text(), Loader=_CfnLoader)


def translated() -> dict:
    assert TRANSLATED is not None, "run with --translated PATH"
    return json.loads(TRANSLATED.read_text())


def sub_text(value) -> str | None:
    """A string or Fn::Sub/Ref value as Sub text (`${X}` for refs), or None for other intrinsics."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        if k == "Ref":
            return "${%s}" % v
        if k == "Fn::Sub" and isinstance(v, str):
            return v
        if k == "Fn::GetAtt":
            return "${%s}" % ".".join(v)
    return None


def as_list(x) -> list:
    return x if isinstance(x, list) else [x]


def statements(role: dict) -> list[tuple[dict, bool]]:
    """(statement, conditional) pairs of a role's inline policies; Fn::If statements are unwrapped."""
    out = []
    for policy in role["Properties"].get("Policies", []):
        for s in policy["PolicyDocument"]["Statement"]:
            if isinstance(s, dict) and "Fn::If" in s:
                _, yes, no = s["Fn::If"]
                for branch in (yes, no):
                    if isinstance(branch, dict) and branch != {"Ref": "AWS::NoValue"}:
                        out.append((branch, True))
            else:
                out.append((s, False))
    return out


SECRET_ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"


class TemplateTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfn = translated()
        cls.sam = sam_template()
        cls.res = cls.cfn["Resources"]
        cls.names = env_names()
        cls.known = {v for k, v in cls.names.items() if k not in TEST_ONLY}

    def env(self, fn: str) -> dict:
        return self.res[fn]["Properties"].get("Environment", {}).get("Variables", {})

    def role_of(self, fn: str) -> tuple[str, dict]:
        role = self.res[fn]["Properties"]["Role"]
        self.assertIn("Fn::GetAtt", role, f"{fn} must use a role written in the template")
        logical = role["Fn::GetAtt"][0]
        return logical, self.res[logical]

    # -- environment -------------------------------------------------------------------------------------------

    def test_the_four_functions_exist(self):
        lambdas = {k for k, r in self.res.items() if r["Type"] == "AWS::Lambda::Function"}
        self.assertEqual(lambdas, set(FUNCTIONS))

    def test_functions_set_only_known_variables(self):
        for fn in FUNCTIONS:
            unknown = set(self.env(fn)) - self.known
            self.assertFalse(
                unknown,
                f"{fn} sets {sorted(unknown)}, which no env module (shared/aws/src/env.rs, "
                "shared/lambda-support/src/env.rs) declares, or which are test-only",
            )

    def test_functions_set_what_they_need(self):
        for fn, needs in NEEDS.items():
            missing = {self.names[n] for n in needs} - set(self.env(fn))
            self.assertFalse(missing, f"{fn} does not set {sorted(missing)}")

    def test_environment_values_point_at_the_stack_resources(self):
        n = self.names
        for fn in FUNCTIONS:
            env = self.env(fn)
            self.assertEqual(env[n["TABLE_NAME"]], {"Ref": "Table"}, fn)
            self.assertEqual(sub_text(env[n["SECRET_PREFIX"]]), "${AWS::StackName}", fn)
            self.assertEqual(
                sub_text(env[n["OAUTH_CLIENT_SECRET_NAME"]]),
                sub_text(self.res["OAuthClientSecret"]["Properties"]["Name"]),
                f"{fn}: the client secret's name in the environment is not the secret's name",
            )
            self.assertEqual(env[n["OAUTH_CLIENT_ID"]], {"Ref": "OAuthClientId"}, fn)
            for var in ("MIRO_API_BASE_URL", "MIRO_OAUTH_BASE_URL", "MIRO_SCIM_BASE_URL", "LOG_LEVEL"):
                self.assertEqual(env[n[var]], {"Ref": PARAMETER_OF[var]}, f"{fn} {var}")
        cb = self.env("OAuthCallbackFunction")
        self.assertEqual(
            sub_text(cb[n["CONNECT_LINK_KEY_NAME"]]), sub_text(self.res["ConnectLinkKey"]["Properties"]["Name"])
        )
        self.assertEqual(
            self.env("DownloadSubscriptionsFunction")[n["RECLAIM_QUEUE_URL"]], {"Ref": "ReclaimQueue"}
        )
        self.assertEqual(
            self.env("ReclaimSubscriptionFunction")[n["RECLAIM_WORKERS"]],
            {"Ref": "ReclaimWorkers"},
            "the workers' share of Miro's budget must use the event source's maximum concurrency",
        )
        console = self.env("ConsoleFunction")
        self.assertEqual(console[n["RECLAIM_QUEUE_URL"]], {"Ref": "ReclaimQueue"})
        self.assertEqual(
            sub_text(console[n["CONSOLE_SESSION_KEY_NAME"]]),
            sub_text(self.res["ConsoleSessionKey"]["Properties"]["Name"]),
            "the console reads its session key from the secret the template generates",
        )
        for var in ("CONSOLE_ADMIN_EMAILS", "CONSOLE_SEAT_PRICE_MINOR", "CONSOLE_CURRENCY"):
            self.assertEqual(console[n[var]], {"Ref": PARAMETER_OF[var]}, var)
        download = self.env("DownloadSubscriptionsFunction")
        for var in ("NOTICE_FROM", "NOTICE_CONTACT", "NOTICE_SEND_RATE", "DIGEST_TO", "WEBHOOK_SECRET_NAME"):
            self.assertEqual(download[n[var]], {"Ref": PARAMETER_OF[var]}, var)
        keep_key = sub_text(self.res["KeepLinkKey"]["Properties"]["Name"])
        self.assertEqual(keep_key, "${AWS::StackName}/keep-link-key")
        # One key: the download function signs with the secret the console verifies with.
        self.assertEqual(sub_text(download[n["KEEP_LINK_KEY_SECRET_NAME"]]), keep_key, "download")
        self.assertEqual(sub_text(console[n["KEEP_LINK_KEY_SECRET_NAME"]]), keep_key, "console")
        # Keep links are {CONSOLE_URL}/keep/{token}: the console's own URL, base path included.
        self.assertEqual(
            sub_text(download[n["CONSOLE_URL"]]), sub_text(self.cfn["Outputs"]["ConsoleUrl"]["Value"])
        )

    def test_redirect_uri_is_the_callback_url_output(self):
        uri = sub_text(self.env("OAuthCallbackFunction")[self.names["OAUTH_REDIRECT_URI"]])
        self.assertEqual(uri, "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/oauth/callback")
        self.assertEqual(sub_text(self.cfn["Outputs"]["CallbackUrl"]["Value"]), uri)

    def test_console_sign_in_redirect_uri_is_an_output(self):
        base, callback = console_paths()
        origin = sub_text(self.env("ConsoleFunction")[self.names["CONSOLE_PUBLIC_URL"]])
        self.assertEqual(origin, "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}")
        outputs = self.cfn["Outputs"]
        # What the console sends Miro as its redirect URI (ConsoleConfig::callback_url: origin + base + callback),
        # and so what the Miro app's redirect URI list must include.
        self.assertEqual(sub_text(outputs["ConsoleCallbackUrl"]["Value"]), f"{origin}{base}{callback}")
        self.assertEqual(sub_text(outputs["ConsoleUrl"]["Value"]), f"{origin}{base}")
        self.assertEqual(
            sub_text(outputs["ConsoleSessionKeyName"]["Value"]),
            sub_text(self.res["ConsoleSessionKey"]["Properties"]["Name"]),
        )

    def test_parameter_defaults_are_the_codes_defaults(self):
        defaults = env_defaults()
        params = self.cfn["Parameters"]
        for must in ("MIRO_API_BASE_URL", "MIRO_OAUTH_BASE_URL", "MIRO_SCIM_BASE_URL", "RECLAIM_WORKERS"):
            self.assertIn(must, defaults, f"the doc comment of {must} no longer states its default")
        for var, param in PARAMETER_OF.items():
            if var in defaults:
                self.assertEqual(
                    str(params[param]["Default"]).rstrip("/"),
                    defaults[var].rstrip("/"),
                    f"parameter {param}'s default differs from {self.names[var]}'s default in the code",
                )
        self.assertEqual(params["DefaultDryRun"]["Default"], "true", "a new deployment must not reclaim by default")

    def test_no_secret_values_in_the_template(self):
        for logical, r in self.res.items():
            if r["Type"] == "AWS::SecretsManager::Secret":
                self.assertNotIn("SecretString", r["Properties"], logical)
        self.assertNotIn("GenerateSecretString", self.res["OAuthClientSecret"]["Properties"])
        self.assertIn("GenerateSecretString", self.res["ConnectLinkKey"]["Properties"])
        # The console reads its key as base64 of at least 32 bytes (functions/console/src/session_key.rs): letters
        # and digits only, a multiple of 4 characters, at least 44 of them.
        generated = self.res["ConsoleSessionKey"]["Properties"]["GenerateSecretString"]
        length = int(generated["PasswordLength"])
        self.assertTrue(generated.get("ExcludePunctuation"), "punctuation is not base64")
        self.assertFalse(generated.get("IncludeSpace", False))
        self.assertEqual(length % 4, 0, "unpadded base64 comes in groups of 4 characters")
        min_bytes = int(re.search(r"MIN_KEY_BYTES: usize = (\d+);", (ROOT / "functions/console/src/session_key.rs")
                                  .read_text()).group(1))
        self.assertGreaterEqual(length * 6 // 8, min_bytes)
        # The keep-link key: generated, 64 letters and digits (an HMAC key, like the connect-link key).
        keep = self.res["KeepLinkKey"]["Properties"]["GenerateSecretString"]
        self.assertEqual(int(keep["PasswordLength"]), 64)
        self.assertTrue(keep.get("ExcludePunctuation"))
        for p, spec in self.cfn["Parameters"].items():
            if p in SECRET_NAME_PARAMETERS:
                # It names a secret; a webhook URL (the secret itself) must not fit its pattern.
                pattern = spec["AllowedPattern"]
                self.assertIsNone(re.fullmatch(pattern, "https://hooks.slack.com/services/T0/B0/x"), p)
                self.assertIsNotNone(re.fullmatch(pattern, "ops/miro-sam-webhook"), p)
                self.assertIsNotNone(re.fullmatch(pattern, ""), p)
                continue
            self.assertNotRegex(p.lower(), r"secret|token|password", f"parameter {p} looks like it carries a secret")

    # -- table -------------------------------------------------------------------------------------------------

    def test_table_matches_table_rs(self):
        want = table_shape()
        t = self.res["Table"]["Properties"]
        self.assertEqual([(k["AttributeName"], k["KeyType"]) for k in t["KeySchema"]], want["key_schema"])
        attributes = {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
        self.assertEqual(attributes, want["attributes"])
        got_gsis = {
            g["IndexName"]: {
                "key_schema": [(k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]],
                "projection": g["Projection"]["ProjectionType"],
            }
            for g in t.get("GlobalSecondaryIndexes", [])
        }
        self.assertEqual(got_gsis, want["gsis"])
        self.assertNotIn("LocalSecondaryIndexes", t)
        self.assertEqual(t["BillingMode"], want["billing"])
        self.assertEqual(t["TimeToLiveSpecification"], {"AttributeName": want["ttl"], "Enabled": True})
        self.assertEqual(t["PointInTimeRecoverySpecification"], {"PointInTimeRecoveryEnabled": True})
        self.assertTrue(t["SSESpecification"]["SSEEnabled"])
        self.assertTrue(t["DeletionProtectionEnabled"])

    # -- IAM ---------------------------------------------------------------------------------------------------

    def test_roles_grant_only_what_the_code_calls_on_named_resources(self):
        allowed = adapter_actions()
        table_arns = [TABLE_RESOURCE] + [{"Fn::Sub": "${Table.Arn}/index/%s" % g} for g in table_shape()["gsis"]]
        # Every index at once, for reading only (the console's pages Query whichever index orders their items).
        every_index = {"Fn::Sub": "${Table.Arn}/index/*"}
        for fn in FUNCTIONS:
            role_id, role = self.role_of(fn)
            trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            self.assertEqual([s["Principal"] for s in trust], [{"Service": "lambda.amazonaws.com"}], role_id)
            self.assertNotIn("ManagedPolicyArns", role["Properties"], f"{role_id}: managed policies grant `*`")
            for s, conditional in statements(role):
                actions = as_list(s["Action"])
                if s["Effect"] == "Deny":
                    # Denials only narrow; they must still name actions and the table, never `*`.
                    self.assertEqual({a.split(":")[0] for a in actions}, {"dynamodb"}, f"{role_id}: {s.get('Sid')}")
                    kinds = {_resource_kind(r) for r in as_list(s["Resource"])}
                    self.assertLessEqual(kinds, {"table", "index"}, f"{role_id}: {s.get('Sid')}")
                    continue
                self.assertEqual(s["Effect"], "Allow")
                resources = as_list(s["Resource"])
                for a in actions:
                    self.assertNotIn("*", a, f"{role_id}: wildcard action {a}")
                services = {a.split(":")[0] for a in actions}
                self.assertEqual(len(services), 1, f"{role_id}: one service per statement ({actions})")
                service = services.pop()
                if "*" in resources:
                    self.assertTrue(conditional and service == "xray", f"{role_id}: `*` resource for {actions}")
                    continue
                names = {a.split(":")[1] for a in actions}
                if service == "logs":
                    self.assertEqual(names, {"CreateLogStream", "PutLogEvents"})
                    self.assertEqual(len(resources), 1)
                    lg = resources[0]["Fn::GetAtt"][0]
                    self.assertEqual(
                        self.res[fn]["Properties"]["LoggingConfig"]["LogGroup"], {"Ref": lg}, f"{fn} logs elsewhere"
                    )
                elif service == "dynamodb":
                    self.assertLessEqual(names, allowed["dynamodb"], f"{role_id}: actions the adapter never calls")
                    named = all(r in table_arns or (r == every_index and names == {"Query"}) for r in resources)
                    self.assertTrue(resources and named, f"{role_id}: {s.get('Sid')} on {resources}")
                elif service == "sqs":
                    self.assertLessEqual(names, allowed["sqs"], role_id)
                    # Each queue only to the roles that use it: the reclaim queue (every sender and its worker),
                    # the download queue (the download function, dispatcher and worker in one).
                    queues = [r["Fn::GetAtt"][0] for r in resources]
                    self.assertEqual(len(queues), 1, role_id)
                    if queues == ["DownloadQueue"]:
                        self.assertEqual(role_id, "DownloadSubscriptionsRole")
                    else:
                        self.assertEqual(queues, ["ReclaimQueue"], role_id)
                elif service == "secretsmanager":
                    self.assertLessEqual(names, allowed["secretsmanager"], role_id)
                elif service == "ses":
                    self.assertLessEqual(names, allowed["ses"], role_id)
                    self.assertEqual(names, {"SendEmail"}, role_id)
                    self.assertEqual(role_id, "DownloadSubscriptionsRole", "only the download function sends notices")
                    self.assertTrue(conditional, f"{role_id}: SES only when a sender is set")
                    self.assertEqual(
                        [sub_text(r) for r in resources],
                        [f"{SES_IDENTITY}${{NoticeSender}}", None, f"{SES_CONFIGURATION_SET}${{NoticeConfigurationSet}}"],
                        f"{role_id}: the sender's address identity, its domain's, the notices' configuration set "
                        f"({resources})",
                    )
                    domain = resources[1]["Fn::Sub"]
                    self.assertEqual(domain[0], f"{SES_IDENTITY}${{SenderDomain}}", role_id)
                    self.assertEqual(
                        domain[1]["SenderDomain"],
                        {"Fn::Select": [1, {"Fn::Split": ["@", {"Fn::Sub": "${NoticeSender}@"}]}]},
                        f"{role_id}: the domain is the part after the sender's @",
                    )
                else:
                    self.fail(f"{role_id}: unexpected service {service}")

    def test_secret_access_is_exactly_what_each_function_needs(self):
        paths = secret_paths()
        prefix = "${AWS::StackName}"
        kinds = {
            "${OAuthClientSecret}": "client-secret",
            "${ConnectLinkKey}": "connect-link-key",
            "${ConsoleSessionKey}": "console-session-key",
            "${KeepLinkKey}": "keep-link-key",
            f"{SECRET_ARN}${{WebhookUrlSecret}}-??????": "webhook-url",
            **{f"{SECRET_ARN}{prefix}{path}-??????": kind for kind, path in paths.items()},
        }
        for fn, want in SECRET_ACCESS.items():
            # The per-org pattern is built from the same prefix the function is given.
            self.assertEqual(sub_text(self.env(fn)[self.names["SECRET_PREFIX"]]), prefix)
            got: dict[str, set[str]] = {}
            _, role = self.role_of(fn)
            for s, _ in statements(role):
                actions = as_list(s["Action"])
                if not actions[0].startswith("secretsmanager:"):
                    continue
                for r in as_list(s["Resource"]):
                    text = sub_text(r)
                    self.assertIn(
                        text, kinds, f"{fn}: secret resource {r} is neither a stack secret nor a per-org path"
                    )
                    got.setdefault(kinds[text], set()).update(a.split(":")[1] for a in actions)
            self.assertEqual(got, want, fn)

    # -- least privilege of the table ---------------------------------------------------------------------------

    def dynamodb_statements(self, fn: str) -> list[dict]:
        _, role = self.role_of(fn)
        return [st for st, _ in statements(role) if as_list(st["Action"])[0].startswith("dynamodb:")]

    def test_callback_role_allows_exactly_what_connecting_writes(self):
        stmts = self.dynamodb_statements("OAuthCallbackFunction")
        for action, pk in CONNECT_REQUESTS:
            self.assertEqual(
                dynamodb_decision(stmts, action, "table", [pk]), "Allow", f"connecting needs {action} on {pk}"
            )
        denied = [(a, "PLAN#2f8e6c1a-0000-4000-8000-000000000001") for a in ITEM_ACTIONS]  # plans, reclaim records
        denied += [("UpdateItem", "AUDIT#connect-0192"), ("DeleteItem", "AUDIT#connect-0192")]
        denied += [("UpdateItem", "LINK#5d1c"), ("DeleteItem", "LINK#5d1c")]  # a used link stays used
        denied += [("DeleteItem", pk) for pk in ("ORGS", "ORG#3458764500000000000")]
        denied += [("BatchWriteItem", pk) for pk in ("ORG#3458764500000000000", "OAUTH_STATE#0f3a")]
        for action, pk in denied:
            self.assertEqual(dynamodb_decision(stmts, action, "table", [pk]), "Deny", f"{action} on {pk}")
        # Not allowed (implicitly): reads and writes connecting does not make.
        for action, keys in [
            ("GetItem", ["ORG#3458764500000000000"]),  # a member, a snapshot, the token version item
            ("Query", ["AUDIT#connect-0192"]),
            ("Query", ["ORGS"]),  # the org list
            ("ConditionCheckItem", ["ORG#3458764500000000000"]),  # transactions: each item is its own action
            ("BatchGetItem", ["ORGS", "PLAN#2f8e6c1a-0000-4000-8000-000000000001"]),
            ("Scan", None),
            ("PartiQLUpdate", None),
            ("PutItem", None),  # no partition key in the request context
            ("PutItem", ["SOMETHING#ELSE"]),
        ]:
            self.assertNotEqual(dynamodb_decision(stmts, action, "table", keys), "Allow", f"{action} on {keys}")
        for action in ("Query", "Scan"):
            self.assertNotEqual(
                dynamodb_decision(stmts, action, "index", ["ORG#3458764500000000000#AUDIT"]), "Allow", action
            )

    def test_callback_role_statements_have_the_shape_the_readme_describes(self):
        stmts = self.dynamodb_statements("OAuthCallbackFunction")
        allows = [st for st in stmts if st["Effect"] == "Allow"]
        self.assertTrue(allows)
        for st in allows:
            sid, actions = st.get("Sid"), {a.split(":")[1] for a in as_list(st["Action"])}
            self.assertEqual([_resource_kind(r) for r in as_list(st["Resource"])], ["table"], f"{sid}: no index")
            cond = st.get("Condition", {})
            patterns = next(
                (as_list(v["dynamodb:LeadingKeys"]) for k, v in cond.items()
                 if k.startswith("ForAllValues:") and "dynamodb:LeadingKeys" in v),
                None,
            )
            self.assertIsNotNone(patterns, f"{sid}: every Allow is limited by partition key (dynamodb:LeadingKeys)")
            self.assertEqual(cond.get("Null"), {"dynamodb:LeadingKeys": "false"}, f"{sid}: the key must be present")
            for p in patterns:
                self.assertFalse(_like(p, "PLAN#x"), f"{sid}: leading key {p} reaches plans and reclaim records")
            self.assertFalse(actions & {"BatchWriteItem", "Scan", "ConditionCheckItem"}, f"{sid}: {actions}")
            if "DeleteItem" in actions:
                self.assertLessEqual(set(patterns), {"OAUTH_STATE#*"}, f"{sid}: deletes beyond the OAuth state")
            if any(_like(p, "AUDIT#x") or _like(p, "LINK#x") for p in patterns):
                self.assertLessEqual(actions, {"PutItem", "GetItem"}, f"{sid}: audit entries, link uses are appended")
        # Every partition of the table has a decided place for the callback (a new one must be added here).
        new = partition_prefixes() - set(CALLBACK_PARTITIONS)
        self.assertFalse(
            new,
            f"partition prefixes new in keys.rs: {sorted(new)}. Give each its place in CALLBACK_PARTITIONS "
            "(infra/test_stack.py) and, if connecting writes it, allow it in OAuthCallbackRole (infra/template.yaml)",
        )
        for prefix, kind in CALLBACK_PARTITIONS.items():
            sample = prefix if prefix == "ORGS" else prefix + "x"
            writes = {a for a in ("PutItem", "UpdateItem", "DeleteItem")
                      if dynamodb_decision(stmts, a, "table", [sample]) == "Allow"}
            if kind == "never":
                self.assertFalse(writes, f"{prefix}: {writes}")
            elif kind == "appended":
                self.assertEqual(writes, {"PutItem"}, prefix)
            else:
                self.assertIn("PutItem", writes, prefix)
        # Said in check.sh's output, as in infra/README.md: what IAM cannot restrict.
        loose = sorted(
            {a for a in ("PutItem", "UpdateItem") if dynamodb_decision(stmts, a, "table", ["ORG#x"]) == "Allow"}
        )
        print(
            f"\n  NOTE oauth-callback may {'/'.join(loose)} any item of its org's partition ORG#{{org}}: IAM has no "
            "condition on sort keys, so IAM does not protect the members, snapshots, plan index, pause item and later "
            "policy versions there; only the code keeps the callback off them (infra/README.md, 'What each role "
            "may write').",
            file=sys.stderr,
        )

    def test_console_role_allows_what_the_console_does_and_denies_what_it_must_not(self):
        stmts = self.dynamodb_statements("ConsoleFunction")
        for action, resource, keys in CONSOLE_REQUESTS:
            self.assertEqual(
                dynamodb_decision(stmts, action, resource, keys), "Allow", f"the console needs {action} on {keys}"
            )
        plan, org = "PLAN#2f8e6c1a-0000-4000-8000-000000000001", "ORG#3458764500000000000"
        denied = [("UpdateItem", "AUDIT#console-0192"), ("DeleteItem", "AUDIT#console-0192")]  # append only
        denied += [(a, "LINK#5d1c") for a in ITEM_ACTIONS]  # connect links are the callback's alone
        denied += [("UpdateItem", plan), ("DeleteItem", plan)]  # records move only in the reclaim worker
        denied += [(a, "TIMELINE#1#2") for a in ("PutItem", "UpdateItem", "DeleteItem")]  # the download's
        denied += [("DeleteItem", "ORGS")]
        denied += [("BatchWriteItem", pk) for pk in (org, plan, "OAUTH_STATE#0f3a")]
        for action, pk in denied:
            self.assertEqual(dynamodb_decision(stmts, action, "table", [pk]), "Deny", f"{action} on {pk}")
        for action in ("Scan", "PartiQLUpdate", "PartiQLDelete"):
            for resource in ("table", "index"):
                self.assertEqual(dynamodb_decision(stmts, action, resource, None), "Deny", f"{action} {resource}")
        # Not allowed (implicitly): what the console never does.
        for action, resource, keys in [
            ("PutItem", "table", ["ORGS"]),  # connecting is the callback's
            ("UpdateItem", "table", ["ORGS"]),
            ("Query", "table", ["ORGS"]),
            ("GetItem", "table", ["SOMETHING#ELSE"]),
            ("PutItem", "table", None),  # no partition key in the request context
            ("BatchGetItem", "table", [org, plan]),
            ("ConditionCheckItem", "table", [org]),
            ("GetItem", "index", ["ORG#3458764500000000000#AUDIT"]),  # indexes are Queried, nothing else
            ("PutItem", "index", ["ORG#3458764500000000000#AUDIT"]),
        ]:
            self.assertNotEqual(dynamodb_decision(stmts, action, resource, keys), "Allow", f"{action} {keys}")
        new = partition_prefixes() - set(CONSOLE_PARTITIONS)
        self.assertFalse(
            new,
            f"partition prefixes new in keys.rs: {sorted(new)}. Give each its place in CONSOLE_PARTITIONS "
            "(infra/test_stack.py) and, if the console reads or writes it, allow it in ConsoleRole (infra/template.yaml)",
        )
        for prefix, kind in CONSOLE_PARTITIONS.items():
            sample = prefix if prefix == "ORGS" else prefix + "x"
            reads = {a for a in ("GetItem", "Query") if dynamodb_decision(stmts, a, "table", [sample]) == "Allow"}
            writes = {a for a in ("PutItem", "UpdateItem", "DeleteItem")
                      if dynamodb_decision(stmts, a, "table", [sample]) == "Allow"}
            if kind == "never":
                self.assertFalse(reads | writes, prefix)
            elif kind == "read":
                self.assertTrue(reads, prefix)
                self.assertFalse(writes, prefix)
            elif kind == "appended":
                self.assertEqual(writes, {"PutItem"}, prefix)
            else:
                self.assertIn("PutItem", writes, prefix)
        print(
            "\n  NOTE console may Put/Update/Delete any item of an org's partition ORG#{org} and Put any item of a "
            "plan's partition PLAN#{plan}: IAM has no condition on sort keys (nor on the org of the signed-in admin), "
            "so only the code keeps the console to its own org's policy versions, pause, holds and token items and "
            "to creating reclaim records (infra/README.md, 'What each role may write').",
            file=sys.stderr,
        )

    def query_indexes(self, fn: str) -> set[str]:
        """The table's indexes the function's role may Query (Allow statements; the Denies never name Query on an
        index)."""
        indexes = set()
        for st in self.dynamodb_statements(fn):
            if st["Effect"] != "Allow" or "dynamodb:Query" not in as_list(st["Action"]):
                continue
            for r in as_list(st["Resource"]):
                text = sub_text(r) or ""
                if text.startswith("${Table.Arn}/index/"):
                    pattern = text.removeprefix("${Table.Arn}/index/")
                    indexes |= {g for g in table_shape()["gsis"] if _like(pattern, g)}
        return indexes

    def test_gsi2_is_granted_to_exactly_the_roles_whose_code_reads_it(self):
        readers = {
            p.name
            for p in (ROOT / "shared/aws/src/dynamo").glob("*.rs")
            if re.search(r"KeyQuery::index\(\s*GSI2\b", p.read_text())
        }
        self.assertEqual(
            readers,
            set(GSI2_READS),
            "the adapter's GSI2 reads changed: name each file's port call in GSI2_READS (infra/test_stack.py)",
        )
        self.assertIn("gsi2", table_shape()["gsis"])
        shared = gsi2_reads(SHARED_CODE)
        for fn, dirs in FUNCTION_CODE.items():
            hits = gsi2_reads(dirs) + shared
            granted = "gsi2" in self.query_indexes(fn)
            if hits:
                self.assertTrue(granted, f"{fn} reads GSI2 ({'; '.join(hits)}) but its role may not Query gsi2")
            else:
                self.assertFalse(
                    granted,
                    f"{fn}'s role may Query gsi2, which its code never reads: name only the indexes it Queries",
                )
        # Today only the console reads GSI2 (its search, a member's audit entries, the done records); the workers
        # Query gsi1 alone.
        self.assertEqual(self.query_indexes("DownloadSubscriptionsFunction"), {"gsi1"})
        self.assertEqual(self.query_indexes("ReclaimSubscriptionFunction"), {"gsi1"})
        self.assertIn("gsi2", self.query_indexes("ConsoleFunction"))

    def test_console_role_never_reads_scim_tokens_and_sends_only_to_the_reclaim_queue(self):
        _, role = self.role_of("ConsoleFunction")
        # An org's SCIM secret, as its ARN looks (the six random characters Secrets Manager appends).
        path = secret_paths()["org-scim"].replace("*", "3458764500000000000")
        scim = "%s${AWS::StackName}%s-AbC123" % (SECRET_ARN, path)
        sqs = []
        for s, _ in statements(role):
            actions = set(as_list(s["Action"]))
            if s["Effect"] != "Allow":
                continue
            resources = [sub_text(r) for r in as_list(s["Resource"])]
            if any(r is not None and _like(r, scim) for r in resources):
                self.assertLessEqual(actions, {"secretsmanager:DescribeSecret", "xray:PutTraceSegments",
                                               "xray:PutTelemetryRecords"}, f"{s.get('Sid')}: SCIM token access")
            self.assertNotIn("secretsmanager:*", actions)
            sqs += [(a, r) for a in actions if a.startswith("sqs:") for r in as_list(s["Resource"])]
        self.assertEqual(sqs, [("sqs:SendMessage", {"Fn::GetAtt": ["ReclaimQueue", "Arn"]})])

    def test_worker_roles_never_change_audit_entries_or_touch_connect_items(self):
        must_allow = {
            "DownloadSubscriptionsFunction": [
                ("Query", "table", ["ORGS"]),
                # ORG#{org}/MEMBER_ID_LENGTHS (member_id_lengths.rs): an upsert adds its members' id lengths
                # before it writes them (UpdateItem ADD); the planner reads the item before paging members by id
                ("UpdateItem", "table", ["ORG#1"]),
                ("GetItem", "table", ["ORG#1"]),
                ("BatchWriteItem", "table", ["ORG#1", "ORG#1"]),
                ("DeleteItem", "table", ["PLAN#p"]),
                ("DeleteItem", "table", ["ORG#1"]),  # the download checkpoint
                ("PutItem", "table", ["AUDIT#plan-1"]),
                ("Query", "index", ["ORG#1#RECLAIMS"]),
            ],
            "ReclaimSubscriptionFunction": [
                ("UpdateItem", "table", ["PLAN#p"]),
                ("PutItem", "table", ["AUDIT#reclaim-1"]),
                ("UpdateItem", "table", ["ORG#1"]),  # token version item, refresh lease
                ("Query", "index", ["ORG#1#EMAIL#a@example.com"]),
            ],
        }
        for fn, requests in must_allow.items():
            stmts = self.dynamodb_statements(fn)
            for action, resource, keys in requests:
                self.assertEqual(dynamodb_decision(stmts, action, resource, keys), "Allow", f"{fn}: {action} {keys}")
            for action in ("UpdateItem", "DeleteItem", "BatchWriteItem"):
                self.assertEqual(dynamodb_decision(stmts, action, "table", ["AUDIT#a"]), "Deny", f"{fn}: {action}")
            for pk in ("OAUTH_STATE#s", "LINK#n"):
                for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
                    self.assertEqual(dynamodb_decision(stmts, action, "table", [pk]), "Deny", f"{fn}: {action} {pk}")

    # -- HTTP API ----------------------------------------------------------------------------------------------

    def test_http_api_has_exactly_the_callback_and_console_routes(self):
        base, _ = console_paths()
        console_routes = {r.format(base=base) for r in CONSOLE_ROUTES}
        routes = {
            r["Properties"]["RouteKey"]: r["Properties"]
            for r in self.res.values()
            if r["Type"] == "AWS::ApiGatewayV2::Route"
        }
        self.assertEqual(set(routes), ROUTES | console_routes)
        integrations = {
            k: r["Properties"] for k, r in self.res.items() if r["Type"] == "AWS::ApiGatewayV2::Integration"
        }
        self.assertEqual(len(integrations), 2)
        function_of = {k: i["IntegrationUri"]["Fn::GetAtt"][0] for k, i in integrations.items()}
        for integration in integrations.values():
            self.assertEqual(integration["PayloadFormatVersion"], "2.0")
        for key, route in routes.items():
            target = sub_text(route["Target"])
            m = re.fullmatch(r"integrations/\$\{(\w+)\}", target or "")
            self.assertTrue(m, f"{key}: {target}")
            want = "ConsoleFunction" if key in console_routes else "OAuthCallbackFunction"
            self.assertEqual(function_of[m.group(1)], want, key)
            self.assertEqual(route["AuthorizationType"], "NONE", key)
        stages = [r["Properties"] for r in self.res.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
        self.assertEqual([(s["StageName"], s["AutoDeploy"]) for s in stages], [("$default", True)])
        perms = {
            r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
            for r in self.res.values()
            if r["Type"] == "AWS::Lambda::Permission"
            # EventBridge's (the notices' bounces) is test_late_bounces_reach_the_download_function's.
            and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
        }
        self.assertEqual(set(perms), {"OAuthCallbackFunction", "ConsoleFunction"})
        others = {
            r["Properties"]["Principal"]
            for r in self.res.values()
            if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] != "apigateway.amazonaws.com"
        }
        self.assertEqual(others, {"events.amazonaws.com"}, "no other service may invoke a function")
        for fn, perm in perms.items():
            self.assertIn("${HttpApi}/", sub_text(perm["SourceArn"]), fn)
        # The console's permission covers its routes and none of the callback's.
        arn = sub_text(perms["ConsoleFunction"]["SourceArn"])
        prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/$default"
        for key in console_routes:
            method, path = key.split(" ", 1)
            self.assertTrue(_like(arn, f"{prefix}/{method}{path}"), f"{key} not covered by {arn}")
        for key in ROUTES:
            method, path = key.split(" ", 1)
            self.assertFalse(_like(arn, f"{prefix}/{method}{path}"), f"the console may be invoked for {key}")

    def test_routes_are_the_ones_the_function_serves(self):
        src = ROOT / "functions/oauth-callback/src"
        code = "".join(p.read_text() for p in src.rglob("*.rs")) if src.is_dir() else ""
        if not code:
            self.skipTest("functions/oauth-callback has no source yet")
        for route in ROUTES:
            path = route.split(" ", 1)[1]
            self.assertIn(f'"{path}"', code, f"oauth-callback does not mention {path}")
        # The console serves its router under BASE_PATH; its pages (GET) and actions (POST) are all below it.
        base, callback = console_paths()
        self.assertEqual(base, "/console", "the template's console routes and outputs are written for /console")
        router = (ROOT / "shared/console/src/lib.rs").read_text()
        for path in ("/login", callback):
            self.assertRegex(router, r'at\("%s"\)' % re.escape(path), f"the console router has no {path}")

    def test_keep_links_reach_the_console(self):
        """The keep page, GET (shows) and POST (keeps) {base}{KEEP_PATH}/{token}, has no route of its own: the
        console's greedy routes carry it to the console function, whose router serves it."""
        base, _ = console_paths()
        keep_path = rust_consts(LINKS_KEEP_RS).get("KEEP_PATH")
        self.assertEqual(keep_path, "/keep", "update the template's KeepPageUrl output and this test")
        self.assertEqual(
            sub_text(self.cfn["Outputs"]["KeepPageUrl"]["Value"]),
            sub_text(self.cfn["Outputs"]["ConsoleUrl"]["Value"]) + keep_path,
        )
        routes = [r["Properties"] for r in self.res.values() if r["Type"] == "AWS::ApiGatewayV2::Route"]
        integrations = {
            k: r["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
            for k, r in self.res.items()
            if r["Type"] == "AWS::ApiGatewayV2::Integration"
        }
        token = "k1.3074457345821140934.3458764517517819001.1.1767225599.abcdef"
        for method in ("GET", "POST"):
            path = f"{base}{keep_path}/{token}"
            matching = []
            for r in routes:
                m, pattern = r["RouteKey"].split(" ", 1)
                # API Gateway's {proxy+} is greedy: one or more path segments.
                regex = re.escape(pattern).replace(re.escape("{proxy+}"), ".+")
                if m == method and re.fullmatch(regex, path):
                    matching.append(r)
            self.assertEqual(len(matching), 1, f"{method} {path}: {[r['RouteKey'] for r in matching]}")
            target = re.fullmatch(r"integrations/\$\{(\w+)\}", sub_text(matching[0]["Target"]) or "")
            self.assertEqual(integrations[target.group(1)], "ConsoleFunction", f"{method} {path}")

    # -- queue, event source, schedule -------------------------------------------------------------------------

    def test_late_bounces_reach_the_download_function(self):
        # The notices go through a configuration set of the stack's own, when a sender is set.
        cs = self.res["NoticeConfigurationSet"]
        self.assertEqual(cs["Type"], "AWS::SES::ConfigurationSet")
        self.assertEqual(cs.get("Condition"), "HasNoticeSender")
        download = self.env("DownloadSubscriptionsFunction")
        self.assertEqual(
            download[self.names["NOTICE_CONFIGURATION_SET"]],
            {"Fn::If": ["HasNoticeSender", {"Ref": "NoticeConfigurationSet"}, ""]},
        )
        # Its bounces go to the default bus (the only one SES publishes to).
        dest = self.res["NoticeBounceDestination"]
        self.assertEqual(dest["Type"], "AWS::SES::ConfigurationSetEventDestination")
        self.assertEqual(dest.get("Condition"), "HasNoticeSender")
        self.assertEqual(dest["Properties"]["ConfigurationSetName"], {"Ref": "NoticeConfigurationSet"})
        ed = dest["Properties"]["EventDestination"]
        self.assertTrue(ed["Enabled"])
        self.assertEqual(ed["MatchingEventTypes"], ["bounce"])
        self.assertEqual(
            sub_text(ed["EventBridgeDestination"]["EventBusArn"]),
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default",
        )
        # The rule takes exactly what the function records: SES's permanent bounces of this configuration set.
        code = BOUNCE_RS.read_text()
        source = re.search(r'pub const SES_SOURCE: &str = "([^"]+)";', code).group(1)
        bounced = re.search(r'pub const BOUNCED: &str = "([^"]+)";', code).group(1)
        rule = self.res["NoticeBounceRule"]
        self.assertEqual(rule["Type"], "AWS::Events::Rule")
        self.assertEqual(rule.get("Condition"), "HasNoticeSender")
        props = rule["Properties"]
        self.assertEqual(props["State"], "ENABLED")
        pattern = props["EventPattern"]
        self.assertEqual(pattern["source"], [source])
        self.assertEqual(pattern["detail-type"], [bounced])
        self.assertEqual(pattern["detail"]["bounce"]["bounceType"], ["Permanent"])
        self.assertEqual(
            pattern["detail"]["mail"]["tags"]["ses:configuration-set"], [{"Ref": "NoticeConfigurationSet"}]
        )
        targets = props["Targets"]
        self.assertEqual([t["Arn"] for t in targets], [{"Fn::GetAtt": ["DownloadSubscriptionsFunction", "Arn"]}])
        self.assertNotIn("Input", targets[0], "the function routes on the event itself")
        # EventBridge may invoke the function, for this rule only.
        perm = self.res["NoticeBounceInvokePermission"]
        self.assertEqual(perm["Type"], "AWS::Lambda::Permission")
        self.assertEqual(perm.get("Condition"), "HasNoticeSender")
        self.assertEqual(perm["Properties"]["FunctionName"], {"Ref": "DownloadSubscriptionsFunction"})
        self.assertEqual(perm["Properties"]["Principal"], "events.amazonaws.com")
        self.assertEqual(perm["Properties"]["SourceArn"], {"Fn::GetAtt": ["NoticeBounceRule", "Arn"]})
        # The function finds the notice by the tag the mailer sets.
        self.assertIn('pub const NOTICE_TAG: &str = "miro-sam-notice";', SES_RS.read_text())
        self.assertIn("NOTICE_TAG", code)

    def test_reclaim_queue_dlq_and_event_source(self):
        q = self.res["ReclaimQueue"]["Properties"]
        timeout = self.res["ReclaimSubscriptionFunction"]["Properties"]["Timeout"]
        self.assertGreaterEqual(q["VisibilityTimeout"], 6 * timeout)
        self.assertEqual(q["RedrivePolicy"]["deadLetterTargetArn"], {"Fn::GetAtt": ["ReclaimDeadLetterQueue", "Arn"]})
        self.assertEqual(q["RedrivePolicy"]["maxReceiveCount"], {"Ref": "ReclaimMaxReceiveCount"})
        for name in ("ReclaimQueue", "ReclaimDeadLetterQueue"):
            self.assertTrue(self.res[name]["Properties"].get("SqsManagedSseEnabled"), f"{name} unencrypted")
            # The queue contract needs deduplication, which only FIFO queues give (and a FIFO queue's DLQ is FIFO).
            self.assertIs(self.res[name]["Properties"].get("FifoQueue"), True, f"{name} is not FIFO")
        esms = [
            r["Properties"]
            for r in self.res.values()
            if r["Type"] == "AWS::Lambda::EventSourceMapping"
            and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["ReclaimQueue", "Arn"]}
        ]
        self.assertEqual(len(esms), 1)
        esm = esms[0]
        self.assertEqual(esm["FunctionName"], {"Ref": "ReclaimSubscriptionFunction"})
        self.assertEqual(esm["EventSourceArn"], {"Fn::GetAtt": ["ReclaimQueue", "Arn"]})
        self.assertLessEqual(esm["BatchSize"], 10)
        self.assertEqual(esm["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(esm["ScalingConfig"]["MaximumConcurrency"], {"Ref": "ReclaimWorkers"})
        workers = self.cfn["Parameters"]["ReclaimWorkers"]
        self.assertEqual((int(workers["Default"]), int(workers["MinValue"])), (2, 2))

    def test_download_queue_dlq_alarm_and_the_workers_event_source(self):
        q = self.res["DownloadQueue"]["Properties"]
        fn = self.res["DownloadSubscriptionsFunction"]["Properties"]
        self.assertGreaterEqual(q["VisibilityTimeout"], 6 * fn["Timeout"])
        self.assertEqual(q["RedrivePolicy"]["deadLetterTargetArn"], {"Fn::GetAtt": ["DownloadDeadLetterQueue", "Arn"]})
        self.assertEqual(q["RedrivePolicy"]["maxReceiveCount"], {"Ref": "DownloadMaxReceiveCount"})
        for name in ("DownloadQueue", "DownloadDeadLetterQueue"):
            self.assertTrue(self.res[name]["Properties"].get("SqsManagedSseEnabled"), f"{name} unencrypted")
            # Standard: a job put back behind another worker's lease carries a per-message delay, which FIFO forbids.
            self.assertNotIn("FifoQueue", self.res[name]["Properties"], name)
        esms = [
            r["Properties"]
            for r in self.res.values()
            if r["Type"] == "AWS::Lambda::EventSourceMapping"
            and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["DownloadQueue", "Arn"]}
        ]
        self.assertEqual(len(esms), 1)
        esm = esms[0]
        self.assertEqual(esm["FunctionName"], {"Ref": "DownloadSubscriptionsFunction"})
        self.assertEqual(esm["BatchSize"], 1, "one org per invocation")
        self.assertEqual(esm["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(esm["ScalingConfig"]["MaximumConcurrency"], {"Ref": "DownloadWorkers"})
        workers = self.cfn["Parameters"]["DownloadWorkers"]
        self.assertGreaterEqual(int(workers["MinValue"]), 2, "AWS's least maximum concurrency")
        # The function is told the queue by the variable the code reads.
        env = fn["Environment"]["Variables"]
        self.assertEqual(env[self.names["DOWNLOAD_QUEUE_URL"]], {"Ref": "DownloadQueue"})
        # The dispatcher sends, the worker consumes and sends continuations, all with the function's role.
        stmts = [
            st
            for p in self.res["DownloadSubscriptionsRole"]["Properties"]["Policies"]
            for st in p["PolicyDocument"]["Statement"]
            if st.get("Resource") == {"Fn::GetAtt": ["DownloadQueue", "Arn"]}
        ]
        actions = {a for st in stmts for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
        self.assertEqual(
            actions,
            {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
             "sqs:GetQueueAttributes"},
        )

    def test_schedule_invokes_the_download_with_empty_input_under_its_own_role(self):
        schedules = [r["Properties"] for r in self.res.values() if r["Type"] == "AWS::Scheduler::Schedule"]
        self.assertEqual(len(schedules), 1)
        s = schedules[0]
        self.assertEqual(s["ScheduleExpression"], {"Ref": "DownloadScheduleExpression"})
        self.assertEqual(s["ScheduleExpressionTimezone"], {"Ref": "DownloadScheduleTimezone"})
        self.assertEqual(s["Target"]["Arn"], {"Fn::GetAtt": ["DownloadSubscriptionsFunction", "Arn"]})
        self.assertEqual(json.loads(s["Target"]["Input"]), {})
        role_id = s["Target"]["RoleArn"]["Fn::GetAtt"][0]
        role = self.res[role_id]["Properties"]
        self.assertEqual(
            [st["Principal"] for st in role["AssumeRolePolicyDocument"]["Statement"]],
            [{"Service": "scheduler.amazonaws.com"}],
        )
        stmts = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
        self.assertEqual(
            [(st["Action"], st["Resource"]) for st in stmts],
            [("lambda:InvokeFunction", {"Fn::GetAtt": ["DownloadSubscriptionsFunction", "Arn"]})],
        )
        self.assertNotIn(role_id, {self.role_of(fn)[0] for fn in FUNCTIONS})

    # -- functions, logs, alarms -------------------------------------------------------------------------------

    def test_functions_are_cargo_lambda_arm64_on_al2023(self):
        for fn, binary in FUNCTIONS.items():
            sam = self.sam["Resources"][fn]
            self.assertEqual(sam["Metadata"]["BuildMethod"], "rust-cargolambda", fn)
            self.assertEqual(sam["Metadata"]["BuildProperties"]["Binary"], binary, fn)
            code_dir = (INFRA / sam["Properties"]["CodeUri"]).resolve()
            self.assertEqual(code_dir, ROOT / "functions" / binary, fn)
            cargo = code_dir / "Cargo.toml"
            if cargo.exists():
                text = cargo.read_text()
                self.assertRegex(text, r'(?m)^name = "%s"$' % re.escape(binary), f"{cargo}")
                package = PACKAGE_OF.get(binary, binary)
                self.assertRegex(text, r'(?m)^\[package\]\n(#.*\n)*name = "%s"$' % re.escape(package), f"{cargo}")
            # infra/build.sh builds it (its binary list and the package each is in).
            build = (INFRA / "build.sh").read_text()
            listed = re.search(r"(?m)^functions=\(([^)]*)\)", build)
            self.assertTrue(listed and binary in listed.group(1).split(), f"infra/build.sh does not build {binary}")
            if binary in PACKAGE_OF:
                self.assertIn(f"[{binary}]={PACKAGE_OF[binary]}", build, f"infra/build.sh: {binary}'s package")
            props = self.res[fn]["Properties"]
            self.assertEqual(
                (props["Runtime"], props["Architectures"], props["Handler"]),
                ("provided.al2023", ["arm64"], "bootstrap"),
            )
        timeouts = {fn: self.res[fn]["Properties"]["Timeout"] for fn in FUNCTIONS}
        self.assertEqual(
            timeouts,
            {
                "OAuthCallbackFunction": 15,
                "DownloadSubscriptionsFunction": 900,
                "ReclaimSubscriptionFunction": 60,
                # API Gateway's integration timeout (29 s) is the most a console request can take anyway.
                "ConsoleFunction": 29,
            },
        )
        margin = self.env("DownloadSubscriptionsFunction")[self.names["DEADLINE_MARGIN_SECS"]]
        self.assertLess(int(margin), timeouts["DownloadSubscriptionsFunction"])

    def test_log_groups_have_retention_and_tracing_is_off_by_default(self):
        groups = [r["Properties"] for r in self.res.values() if r["Type"] == "AWS::Logs::LogGroup"]
        self.assertEqual(len(groups), len(FUNCTIONS) + 1, "one per function and the API's access log")
        for g in groups:
            self.assertEqual(g["RetentionInDays"], {"Ref": "LogRetentionDays"})
        self.assertEqual(int(self.cfn["Parameters"]["LogRetentionDays"]["Default"]), 30)
        self.assertEqual(self.cfn["Parameters"]["EnableTracing"]["Default"], "false")
        for fn in FUNCTIONS:
            mode = self.res[fn]["Properties"]["TracingConfig"]["Mode"]
            self.assertEqual(mode, {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]})

    def test_alarms_cover_the_dlq_and_each_functions_errors_and_throttles(self):
        alarms = [r["Properties"] for r in self.res.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        covered = set()
        for a in alarms:
            dims = {d["Name"]: d["Value"] for d in a["Dimensions"]}
            if a["Namespace"] == metric_names()["NAMESPACE"]:
                continue  # the run metrics: test_download_run_alarms_watch_the_metrics_the_code_emits
            if a["Namespace"] == "AWS/SQS":
                covered.add((a["MetricName"], dims["QueueName"]["Fn::GetAtt"][0]))
            else:
                covered.add((a["MetricName"], dims["FunctionName"]["Ref"]))
            self.assertEqual(
                a["AlarmActions"], {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
            )
        want = {
            ("ApproximateNumberOfMessagesVisible", "ReclaimDeadLetterQueue"),
            ("ApproximateNumberOfMessagesVisible", "DownloadDeadLetterQueue"),
        }
        want |= {(m, fn) for fn in FUNCTIONS for m in ("Errors", "Throttles")}
        self.assertEqual(covered, want)
        self.assertEqual(self.res["AlarmTopic"]["Condition"], "HasAlarmEmail")

    def test_download_run_alarms_watch_the_metrics_the_code_emits(self):
        m = metric_names()
        alarmed = {m["ORGS_FAILED"], m["ORGS_NEEDING_ACTION"]}
        # The code sends them: the download's run metrics count both constants (by name, not by copy).
        code = DOWNLOAD_LIB_RS.read_text()
        for const in ("ORGS_FAILED", "ORGS_NEEDING_ACTION"):
            self.assertRegex(code, r"\.count\(\s*metrics::%s\b" % const, f"the download run does not send {const}")
        # The dimension is the deployed function's name (Lambda sets it; Settings reads it).
        self.assertEqual(self.names["LAMBDA_FUNCTION_NAME"], "AWS_LAMBDA_FUNCTION_NAME")
        self.assertRegex(code, r"RunMetrics::new\(function|run_metrics\(\s*rt\.settings\.metrics_function\(")
        self.assertEqual(
            sub_text(self.res["DownloadSubscriptionsFunction"]["Properties"]["FunctionName"]),
            "${AWS::StackName}-download-subscriptions",
        )
        runs = {
            k: r["Properties"]
            for k, r in self.res.items()
            if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == m["NAMESPACE"]
        }
        self.assertEqual({a["MetricName"] for a in runs.values()}, alarmed, "one alarm per alarmed run metric")
        topic = {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
        for logical, a in runs.items():
            self.assertEqual(
                a["Dimensions"], [{"Name": m["DIMENSION"], "Value": {"Ref": "DownloadSubscriptionsFunction"}}], logical
            )
            # Any failed or stuck org in a run alarms; the state holds between the daily runs until a run sends 0.
            self.assertEqual(
                (a["Statistic"], a["Threshold"], a["ComparisonOperator"], a["EvaluationPeriods"]),
                ("Maximum", 0, "GreaterThanThreshold", 1),
                logical,
            )
            self.assertEqual(a["TreatMissingData"], "ignore", logical)
            self.assertEqual((a["AlarmActions"], a["OKActions"]), (topic, topic), logical)


# ----------------------------------------------------------------------------------------------------------------
# The stack in moto
# ----------------------------------------------------------------------------------------------------------------


NOTICE_SENDER = "miro-sam@acme.example"
WEBHOOK_SECRET = "ops/miro-sam-webhook"


class StackTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3

        endpoint = os.environ.get("MIRO_SAM_TEST_AWS_ENDPOINT")
        if not endpoint:
            raise RuntimeError("MIRO_SAM_TEST_AWS_ENDPOINT is not set: run infra/check.sh, which starts moto")
        kw = dict(
            endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        cls.client = staticmethod(lambda service: boto3.client(service, **kw))
        cls.names = env_names()
        cls.known = {v for k, v in cls.names.items() if k not in TEST_ONLY}
        cls.template = translated()

        # Unique names: the moto server may be the one ./scripts/test.sh runs the Rust tests against.
        run = uuid.uuid4().hex[:8]
        cls.stack = f"miro-sam-check-{run}"
        cls.bucket = f"miro-sam-placeholder-code-{run}"
        body = json.dumps(cls.template).replace("miro-sam-placeholder-code", cls.bucket)
        s3 = cls.client("s3")
        s3.create_bucket(Bucket=cls.bucket)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\necho placeholder\n")
        for fn in FUNCTIONS:
            s3.put_object(Bucket=cls.bucket, Key=f"{fn}.zip", Body=archive.getvalue())

        cfn = cls.client("cloudformation")
        cfn.create_stack(
            StackName=cls.stack,
            TemplateBody=body,
            Parameters=[
                {"ParameterKey": "OAuthClientId", "ParameterValue": "3458764500000000000"},
                # The notice channels on, so their conditional statements are deployed too.
                {"ParameterKey": "NoticeSender", "ParameterValue": NOTICE_SENDER},
                {"ParameterKey": "WebhookUrlSecret", "ParameterValue": WEBHOOK_SECRET},
            ],
            Capabilities=["CAPABILITY_IAM"],
        )
        deadline = time.monotonic() + 60
        while True:
            stack = cfn.describe_stacks(StackName=cls.stack)["Stacks"][0]
            if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cls.status = stack["StackStatus"], stack.get("StackStatusReason")
        cls.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        cls.physical = {
            r["LogicalResourceId"]: r.get("PhysicalResourceId")
            for r in cfn.list_stack_resources(StackName=cls.stack)["StackResourceSummaries"]
            if r["LogicalResourceId"]
        }

    @classmethod
    def tearDownClass(cls):
        # Leave the shared server as we found it, as far as moto allows.
        try:
            cls.client("dynamodb").update_table(
                TableName=cls.physical["Table"], DeletionProtectionEnabled=False
            )
            cls.client("cloudformation").delete_stack(StackName=cls.stack)
            s3 = cls.client("s3")
            for fn in FUNCTIONS:
                s3.delete_object(Bucket=cls.bucket, Key=f"{fn}.zip")
            s3.delete_bucket(Bucket=cls.bucket)
        except Exception as e:  # noqa: BLE001 - cleanup only
            print(f"(cleanup of {cls.stack} in moto incomplete: {e})", file=sys.stderr)

    def queue(self, logical: str) -> tuple[str, dict]:
        sqs = self.client("sqs")
        name = self.physical[logical].rstrip("/").rsplit("/", 1)[1]
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def function(self, logical: str) -> dict:
        return self.client("lambda").get_function_configuration(FunctionName=self.physical[logical])

    def test_stack_is_created_with_the_resources_moto_supports(self):
        self.assertEqual(self.status[0], "CREATE_COMPLETE", self.status[1])
        for logical in (
            "Table", "ReclaimQueue", "ReclaimDeadLetterQueue", *FUNCTIONS,
            "OAuthCallbackRole", "DownloadSubscriptionsRole", "ReclaimSubscriptionRole", "DownloadScheduleRole",
            "ConsoleRole", "OAuthCallbackLogGroup", "DownloadSubscriptionsLogGroup", "ReclaimSubscriptionLogGroup",
            "ConsoleLogGroup",
        ):
            self.assertTrue(self.physical.get(logical), f"{logical} was not created")
        self.assertEqual(self.outputs["SecretPrefix"], self.stack)

    def test_table_has_the_keys_and_index_the_code_uses(self):
        want = table_shape()
        t = self.client("dynamodb").describe_table(TableName=self.physical["Table"])["Table"]
        self.assertEqual(self.outputs["TableName"], t["TableName"])
        self.assertEqual([(k["AttributeName"], k["KeyType"]) for k in t["KeySchema"]], want["key_schema"])
        attributes = {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
        self.assertEqual(attributes, want["attributes"])
        got = {
            g["IndexName"]: {
                "key_schema": [(k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]],
                "projection": g["Projection"]["ProjectionType"],
            }
            for g in t["GlobalSecondaryIndexes"]
        }
        self.assertEqual(got, want["gsis"])
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], want["billing"])
        self.assertTrue(t["DeletionProtectionEnabled"])
        # TTL, point-in-time recovery and SSE: moto's CloudFormation ignores them (TemplateTests check them).

    def test_reclaim_queue_redrives_to_the_dlq(self):
        _, dlq = self.queue("ReclaimDeadLetterQueue")
        url, q = self.queue("ReclaimQueue")
        redrive = json.loads(q["RedrivePolicy"])
        self.assertEqual(redrive["deadLetterTargetArn"], dlq["QueueArn"])
        default = int(self.template["Parameters"]["ReclaimMaxReceiveCount"]["Default"])
        self.assertEqual(int(redrive["maxReceiveCount"]), default)
        worker_timeout = self.function("ReclaimSubscriptionFunction")["Timeout"]
        self.assertGreaterEqual(int(q["VisibilityTimeout"]), 6 * worker_timeout)
        self.assertEqual((q["SqsManagedSseEnabled"], dlq["SqsManagedSseEnabled"]), ("true", "true"))
        self.assertEqual(int(dlq["MessageRetentionPeriod"]), 14 * 24 * 3600)
        self.assertEqual(self.outputs["ReclaimQueueUrl"].rsplit("/", 1)[1], url.rsplit("/", 1)[1])

    def test_event_source_mapping_reports_batch_item_failures(self):
        fn = self.function("ReclaimSubscriptionFunction")
        _, q = self.queue("ReclaimQueue")
        esms = self.client("lambda").list_event_source_mappings(FunctionName=fn["FunctionName"])["EventSourceMappings"]
        self.assertEqual(len(esms), 1)
        esm = esms[0]
        self.assertEqual(esm["EventSourceArn"], q["QueueArn"])
        self.assertEqual(esm["FunctionArn"], fn["FunctionArn"])
        self.assertEqual(esm["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(esm["BatchSize"], 10)
        self.assertEqual(esm["ScalingConfig"]["MaximumConcurrency"], 2)
        workers = fn["Environment"]["Variables"][self.names["RECLAIM_WORKERS"]]
        self.assertEqual(str(workers), str(esm["ScalingConfig"]["MaximumConcurrency"]))

    def test_functions_get_the_names_of_the_created_resources(self):
        n = self.names
        _, q = self.queue("ReclaimQueue")
        for logical in FUNCTIONS:
            fn = self.function(logical)
            env = fn["Environment"]["Variables"]
            self.assertFalse(set(env) - self.known, f"{logical}: unknown variables {set(env) - self.known}")
            missing = {n[k] for k in NEEDS[logical]} - set(env)
            if not self.physical.get("NoticeConfigurationSet"):
                # moto's CloudFormation creates no SES resources, so the variable naming one resolves to nothing
                # there (TemplateTests check its value).
                missing.discard(n["NOTICE_CONFIGURATION_SET"])
            self.assertFalse(missing, f"{logical} lacks {missing}")
            self.assertEqual(env[n["TABLE_NAME"]], self.physical["Table"])
            self.assertEqual(env[n["SECRET_PREFIX"]], self.stack)
            self.assertEqual(env[n["OAUTH_CLIENT_SECRET_NAME"]], f"{self.stack}/oauth-client-secret")
            self.assertEqual(env[n["OAUTH_CLIENT_ID"]], "3458764500000000000")
            self.assertEqual(env[n["MIRO_API_BASE_URL"]], "https://api.miro.com")
            self.assertEqual(fn["FunctionName"], f"{self.stack}-{FUNCTIONS[logical]}")
        download = self.function("DownloadSubscriptionsFunction")["Environment"]["Variables"]
        self.assertEqual(download[n["RECLAIM_QUEUE_URL"]].rsplit("/", 1)[1], q["QueueArn"].rsplit(":", 1)[1])
        self.assertEqual(download[n["NOTICE_FROM"]], NOTICE_SENDER)
        self.assertEqual(download[n["WEBHOOK_SECRET_NAME"]], WEBHOOK_SECRET)
        console = self.function("ConsoleFunction")["Environment"]["Variables"]
        for env in (download, console):
            self.assertEqual(env[n["KEEP_LINK_KEY_SECRET_NAME"]], f"{self.stack}/keep-link-key")
        callback = self.function("OAuthCallbackFunction")["Environment"]["Variables"]
        self.assertEqual(callback[n["CONNECT_LINK_KEY_NAME"]], f"{self.stack}/connect-link-key")
        self.assertEqual(str(callback[n["DEFAULT_DRY_RUN"]]), "true")

    def test_secrets_created_have_the_names_the_functions_read(self):
        # moto's CloudFormation skips AWS::SecretsManager::Secret today; whatever it does create must be named as the
        # functions' environment says.
        sm = self.client("secretsmanager")
        names = [s["Name"] for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"{self.stack}/")]
        self.assertLessEqual(
            set(names),
            {
                f"{self.stack}/oauth-client-secret",
                f"{self.stack}/connect-link-key",
                f"{self.stack}/console-session-key",
                f"{self.stack}/keep-link-key",
            },
        )

    def test_roles_name_the_created_resources(self):
        iam = self.client("iam")
        _, q = self.queue("ReclaimQueue")
        table_arn = self.client("dynamodb").describe_table(TableName=self.physical["Table"])["Table"]["TableArn"]
        for logical, policy in (
            ("ReclaimSubscriptionRole", "reclaim-subscription"),
            ("DownloadSubscriptionsRole", "download-subscriptions"),
        ):
            doc = iam.get_role_policy(RoleName=self.physical[logical], PolicyName=policy)["PolicyDocument"]
            if isinstance(doc, str):
                # moto keeps a policy that CloudFormation created as the repr of a Python dict.
                try:
                    doc = json.loads(doc)
                except json.JSONDecodeError:
                    doc = ast.literal_eval(doc)
            stmts = {s["Sid"]: s for s in doc["Statement"] if isinstance(s, dict)}
            self.assertEqual(as_list(stmts["Table"]["Resource"])[0], table_arn, logical)
            queue_sid = "ReclaimQueueConsume" if logical == "ReclaimSubscriptionRole" else "ReclaimQueueSend"
            self.assertEqual(stmts[queue_sid]["Resource"], q["QueueArn"], logical)
            self.assertTrue(
                stmts["OrgOAuthSecretRefresh"]["Resource"].endswith(f":secret:{self.stack}/orgs/*/oauth-??????"),
                logical,
            )
            if logical == "DownloadSubscriptionsRole":
                # With a sender set: SES on exactly its address and its domain; the named webhook secret only.
                self.assertEqual(
                    [r.rsplit(":", 1)[1] for r in as_list(stmts["NoticeSend"]["Resource"])][:2],
                    [f"identity/{NOTICE_SENDER}", f"identity/{NOTICE_SENDER.split('@')[1]}"],
                )
                self.assertIn(
                    ":configuration-set/", as_list(stmts["NoticeSend"]["Resource"])[2], stmts["NoticeSend"]
                )
                self.assertTrue(
                    stmts["WebhookSecretRead"]["Resource"].endswith(f":secret:{WEBHOOK_SECRET}-??????"),
                    stmts["WebhookSecretRead"],
                )
        fn_role = self.function("ReclaimSubscriptionFunction")["Role"]
        self.assertTrue(fn_role.endswith("/" + self.physical["ReclaimSubscriptionRole"]), fn_role)


def main() -> int:
    global TRANSLATED
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--translated", type=Path, required=True)
    args, rest = ap.parse_known_args()
    TRANSLATED = args.translated
    prog = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
