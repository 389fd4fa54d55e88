"""The OpenAPI document is generated from the routes; the committed copy (docs/openapi.json) must
match it, and it must describe every route of API.md."""

import json
from pathlib import Path

from tradecopier.api.openapi import openapi_json

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

API_MD_ROUTES = {
    ("get", "/health"),
    ("post", "/groups"),
    ("get", "/groups"),
    ("get", "/groups/{group_id}"),
    ("delete", "/groups/{group_id}"),
    ("post", "/groups/{group_id}/followers"),
    ("get", "/groups/{group_id}/followers/{account_id}"),
    ("patch", "/groups/{group_id}/followers/{account_id}"),
    ("delete", "/groups/{group_id}/followers/{account_id}"),
    ("post", "/groups/{group_id}/followers/{account_id}/lock"),
    ("post", "/groups/{group_id}/followers/{account_id}/unlock"),
    ("post", "/groups/{group_id}/events"),
    ("get", "/groups/{group_id}/events"),
    ("get", "/groups/{group_id}/events/{event_id}"),
    ("post", "/groups/{group_id}/token/rotate"),
    ("get", "/accounts/{account_id}/positions"),
    ("get", "/accounts/{account_id}/orders"),
    ("put", "/accounts/{account_id}/credentials"),
    ("get", "/accounts/{account_id}/credentials"),
    ("delete", "/accounts/{account_id}/credentials"),
    ("get", "/accounts/{account_id}/connection"),
    ("get", "/risk/presets"),
    ("post", "/groups/{group_id}/preview"),
    ("post", "/groups/{group_id}/followers/{account_id}/risk/reset"),
    ("get", "/groups/{group_id}/sync"),
    ("post", "/groups/{group_id}/sync"),
    ("get", "/groups/{group_id}/followers/{account_id}/sync-history"),
    ("get", "/groups/{group_id}/positions"),
}


def test_committed_openapi_matches_the_routes() -> None:
    generated = json.loads(openapi_json())
    committed = json.loads(COMMITTED.read_text())
    assert committed == generated, "docs/openapi.json is stale: run `make openapi` and commit it"


def test_openapi_describes_every_route_of_api_md() -> None:
    paths = json.loads(openapi_json())["paths"]
    documented = {(method, path) for path, operations in paths.items() for method in operations}
    assert documented == API_MD_ROUTES


def test_request_bodies_refuse_unknown_fields_in_the_schema() -> None:
    schemas = json.loads(openapi_json())["components"]["schemas"]
    for name in ("AddFollowerRequest", "CreateGroupRequest", "UpdateFollowerRequest", "OrderPlacedBody"):
        assert schemas[name].get("additionalProperties") is False, name
