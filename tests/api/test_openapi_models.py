"""Issue 8 item 9: the API declares what it answers, so /openapi.json describes every answer.

Each /api/v1 route's success response has a schema built from a typed result (a dataclass of
offboard/queries or of an action). UNTYPED lists the routes that still answer an untyped
mapping; it only shrinks (a new route must declare its answer).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import api_operations

decided_in_python = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

UNTYPED: set[tuple[str, str]] = set()
BINARY = {"type": "string", "format": "binary"}


def _success_schema(spec: dict, method: str, path: str) -> dict | None:
    responses = spec["paths"][path][method.lower()]["responses"]
    for status, response in responses.items():
        if status.startswith("2"):
            if status == "204":
                return {"no content": True}
            content = response.get("content", {})
            if "application/json" in content or not content:
                return content.get("application/json", {}).get("schema")
            # A download: every media type it answers in is a binary string.
            schemas = [c.get("schema") for c in content.values()]
            return schemas[0] if all(s == BINARY for s in schemas) else None
    return None


def untyped(schema: dict | None) -> bool:
    """No schema, an empty one, a bare mapping, or a list of those; a file download is typed."""
    if not schema:
        return True
    if schema == BINARY:
        return False
    if "$ref" in schema or "anyOf" in schema or "oneOf" in schema or schema.get("no content"):
        return False
    if schema.get("type") == "array":
        return untyped(schema.get("items"))
    return schema.get("type") == "object" and "properties" not in schema


@decided_in_python
def test_issue_8_every_api_answer_has_a_schema(world, client):
    spec = client.get("/openapi.json").json()
    found = set()
    for method, path, _route in api_operations(world.app):
        schema = _success_schema(spec, method, path)
        if untyped(schema):
            found.add((method, path))
    assert found - UNTYPED == set(), "declare the answer of these routes (a dataclass return type)"
    assert UNTYPED - found == set(), "these routes are typed now: remove them from UNTYPED"
