"""The HTTP API fuzzed from its own OpenAPI schema (schemathesis, in-process ASGI).

Over a temp SQLite store that already holds answers, every operation gets a bounded
number of generated requests (valid and invalid bodies, paths and parameters) with
a write token. Checks: never a 5xx, every response conforms to the schema the API
publishes (status code documented, body valid), and a request the schema allows is
accepted (a refusal may only be a documented 401/403/404/409): the schema states every
rule the API enforces. The SSE stream never ends, so
it is left to its own tests. Operations are driven with hypothesis directly (the
schemathesis pytest plugin does not load under pytest 9).
"""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from connectors.store import Store
from tests.unit.workers.api.scenarios import WRITE, answer
from tests.unit.workers.api.scenarios import settings as api_settings
from workers.api.app import create_app

pytestmark = pytest.mark.timeout(240)

EXAMPLES = 25
SKIP_PATHS = ("/api/answers/stream",)


def _app() -> Any:
    # the schema is read at import, so the store outlives any fixture: removed at exit
    folder = tempfile.TemporaryDirectory(prefix="fw-fuzz-api-")
    atexit.register(folder.cleanup)
    db = Path(folder.name) / "api.db"
    store = Store.from_url(f"sqlite:///{db}")
    store.insert_answers([answer("q-seed", "cam1", 100.0 + i) for i in range(3)])
    return create_app(api_settings(), store)


SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", _app())
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (r.ok() for r in SCHEMA.get_all_operations())
    if op.path not in SKIP_PATHS
}


def test_the_schema_lists_the_api() -> None:
    assert {"POST /api/queries", "GET /api/answers", "PUT /api/cameras/{camera_id}"} <= set(
        OPERATIONS
    )


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_never_5xx_and_responds_per_schema(name: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=OPERATIONS[name].as_strategy())
    def check(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {WRITE}"},
            checks=[
                not_a_server_error,
                response_schema_conformance,
                status_code_conformance,
                positive_data_acceptance,
                negative_data_rejection,
            ],
        )

    check()
