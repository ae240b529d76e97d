"""Schemathesis against the OpenAPI schema, in-process: generated requests to every operation
never meet a server error. Bounded: a few examples per operation, a time limit on the whole.

Its pytest plugin is switched off in pyproject (it adds seconds to every pytest start); the
library is driven directly here, through Hypothesis.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from faceloop.web.app import WebSettings, create_app

EXAMPLES = 12
BUDGET_SECONDS = 90


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
        if response.status_code >= 500:
            failures.append(
                f"{label} -> {response.status_code}: {response.text[:200]} (path "
                f"{case.path_parameters}, query {case.query}, body {repr(case.body)[:200]})"
            )

    call()
    return calls


def test_no_operation_gives_a_server_error(ws) -> None:
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
