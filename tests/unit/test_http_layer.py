"""The HTTP layer (tradecopier/api/http.py, api/errors.py): every body is read as JSON, and a
request Powertools would refuse for its label is a 400, never a 500 (issue #10)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from devstack.samples import http_api_event
from tests.pipeline import FakeContext
from tradecopier.api.errors import register_error_handlers
from tradecopier.api.http import as_json_request


@pytest.mark.parametrize("name", ["content-type", "Content-Type", "CONTENT-TYPE"])
@pytest.mark.parametrize("value", ["text/plain", "application/x-www-form-urlencoded", "", "application/json"])
def test_the_request_is_relabelled_json_whatever_the_header_name_case(name: str, value: str) -> None:
    event = {"body": "{}", "headers": {name: value, "x-webhook-token": "t"}}
    relabelled = as_json_request(event)
    assert relabelled["headers"] == {"content-type": "application/json", "x-webhook-token": "t"}
    assert relabelled["body"] == "{}"
    assert event["headers"] == {name: value, "x-webhook-token": "t"}  # the caller's event is untouched


@pytest.mark.parametrize("headers", [None, {}])
def test_a_request_without_headers_is_labelled_json(headers: dict[str, str] | None) -> None:
    assert as_json_request({"headers": headers})["headers"] == {"content-type": "application/json"}


class _Thing(BaseModel):
    name: str


def _app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    register_error_handlers(app)

    @app.post("/things")
    def create(body: Annotated[_Thing, Body()]) -> dict[str, str]:
        return {"name": body.name}

    return app


def _resolve(app: APIGatewayHttpResolver, event: dict[str, Any]) -> tuple[int, Any]:
    response = app.resolve(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("label", ["text/plain", "application/xml", "application/octet-stream"])
def test_a_label_powertools_cannot_parse_is_400_even_without_the_relabelling(label: str) -> None:
    """Without ``as_json_request`` Powertools raises RequestUnsupportedContentType for these; it
    used to fall through to the catch-all and answer 500 internal_error."""
    event = http_api_event("POST", "/things", '{"name": "x"}', {"Content-Type": label})
    status, body = _resolve(_app(), event)
    assert (status, body["error"]["code"]) == (400, "malformed_json")


def test_the_same_request_relabelled_is_accepted() -> None:
    event = http_api_event("POST", "/things", '{"name": "x"}', {"Content-Type": "text/plain"})
    assert _resolve(_app(), as_json_request(event)) == (200, {"name": "x"})
