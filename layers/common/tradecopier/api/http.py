"""What every route's request goes through before the resolver sees it (the HTTP layer).

API.md: request bodies are JSON, whatever ``Content-Type`` the sender put on them. Senders label
bodies in many ways (curl's ``-d`` says ``application/x-www-form-urlencoded``, TradingView says
``text/plain``), and Powertools' validation picks its parser from that header: a form parser for
forms (the JSON text then arrives as one unknown field), and an exception that is no HTTP error
for anything else. Relabelling the request as JSON, here and for every route, makes a JSON body
work under any label and a non-JSON body a 400 ``malformed_json`` under any label.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"


def as_json_request(event: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway HTTP API (payload v2) event with its body labelled ``application/json``.

    A shallow copy: the caller's event and its headers are left as they were (logs and traces
    still show the label the sender used). Header names are matched whatever their case: API
    Gateway lowercases them, hand-made events (tests, other fronts) may not.
    """
    headers = {
        name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"
    }
    headers["content-type"] = JSON
    return {**event, "headers": headers}
