"""Schemathesis against the OpenAPI schema, in-process: generated requests to every operation
never meet a server error, and every answer conforms to the schema: its status code is
documented, its content type is the documented one, its body validates against the documented
schema (a `date-time` says its zone). Bounded: a few examples per operation, a time limit on
the whole.

Its pytest plugin is switched off in pyproject (it adds seconds to every pytest start); the
library is driven directly here, through Hypothesis.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from faceloop.web.app import WebSettings, create_app

EXAMPLES = 30
BUDGET_SECONDS = 90
#: schemathesis' own checks of an answer against the schema
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def fuzz(operation, failures: list[str]) -> int:
    """Send generated requests to one operation; returns how many were sent."""
    calls = 0
    label = operation.label

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy())
    def call(case) -> None:
        nonlocal calls
        calls += 1
        try:
            response = case.call()
        except Exception as exc:  # the app raised past its handlers: a server error
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
            return
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except BaseException as found:  # a FailureGroup is a BaseExceptionGroup
            if isinstance(found, KeyboardInterrupt | SystemExit):
                raise
            problems = getattr(found, "exceptions", None) or [found]
            titles = sorted({getattr(p, "title", None) or type(p).__name__ for p in problems})
            detail = "; ".join(" ".join(str(p).split())[:300] for p in problems[:2])
            failures.append(
                f"{label} -> {response.status_code}: {', '.join(titles)}: {detail} (path "
                f"{case.path_parameters}, query {case.query}, body {repr(case.body)[:200]})"
            )

    call()
    return calls


def test_every_answer_conforms_to_the_schema(ws) -> None:
    app = create_app(ws, WebSettings(allowed_hosts=None))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    started = time.monotonic()
    failures: list[str] = []
    calls = 0
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            pytest.fail(f"over {BUDGET_SECONDS} s: stopped before {operation.label}")
        calls += fuzz(operation, failures)
    assert not failures, "\n".join(failures[:20])
    assert calls >= len(operations) * 3
