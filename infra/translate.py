#!/usr/bin/env python3
"""Translates infra/template.yaml (AWS SAM) into plain CloudFormation JSON, offline.

cfn-lint on the SAM source misses errors inside AWS::Serverless::Function (bad refs in Globals or Policies, bad
runtimes, unknown event properties); on the translated output it catches them. moto's CloudFormation cannot run the
Serverless transform, so the moto deploy in infra/test_stack.py uses this output too.

What `sam package` would do first is done here: every local CodeUri becomes s3://BUCKET/FUNCTION.zip (a placeholder;
infra/test_stack.py uploads a dummy zip there). Managed policy names map to arn:aws:iam::aws:policy/NAME without
asking IAM (the template names none today; the loader is there so one added later does not need credentials).

Usage: translate.py TEMPLATE OUTPUT.json [--region us-east-1] [--code-bucket NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class OfflineManagedPolicyLoader:
    """samtranslator asks this for the ARNs of managed policies named in a template: no IAM call."""

    def load(self) -> dict[str, str]:
        return _ManagedPolicyMap()


class _ManagedPolicyMap(dict):
    """Any name maps to arn:aws:iam::aws:policy/NAME."""

    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def get(self, name, default=None):
        return self[name]

    def __contains__(self, name) -> bool:
        return True


def placeholder_code(template: dict, bucket: str) -> list[str]:
    """Replaces each function's local CodeUri by s3://bucket/<logical id>.zip; returns the logical ids."""
    replaced = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        props = resource.setdefault("Properties", {})
        code = props.get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            props["CodeUri"] = f"s3://{bucket}/{logical_id}.zip"
            replaced.append(logical_id)
    return replaced


def translate(template_path: Path, region: str, bucket: str) -> dict:
    # The translator also builds a boto3 session for the partition and refuses to run without a region in it.
    os.environ["AWS_DEFAULT_REGION"] = region
    template = yaml_parse(template_path.read_text())
    placeholder_code(template, bucket)
    try:
        return transform(
            template,
            {"AWS::Region": region},
            OfflineManagedPolicyLoader(),
        )
    except InvalidDocumentException as e:
        causes = "\n".join(f"  - {c.message}" for c in e.causes)
        raise SystemExit(f"SAM translation of {template_path} failed:\n{causes}") from None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("template", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--code-bucket", default="miro-sam-placeholder-code")
    args = ap.parse_args(argv)

    out = translate(args.template, args.region, args.code_bucket)
    args.output.write_text(json.dumps(out, indent=2, sort_keys=False) + "\n")
    resources = out.get("Resources", {})
    print(f"translated {args.template} -> {args.output}: {len(resources)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
