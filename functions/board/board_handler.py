"""Board Lambda: the follower board as HTML, read from the HTTP API (GET routes only).

Two callers: a CloudWatch dashboard custom widget (the event carries ``widgetContext``; the answer
is the HTML itself), and the local stack's page at ``/`` (an HTTP API event; the answer is an HTML
response that refreshes itself).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.board import render, status
from tradecopier.board.api_client import ApiClient, ApiError, SigV4Signer, Unreachable
from tradecopier.observability import logger
from tradecopier.settings import BoardSettings

settings = BoardSettings.from_env()  # at init: a missing or invalid variable fails the cold start
REFRESH_SECONDS = 2
DESCRIBE = (
    "## Follower board\nEvery group's followers: state (locked and liquidate-only stand out), broker and "
    "connection, sizing, position, session P&L and the last copy with a link to its event. Parameters: "
    '`{"groups": ["<group_id>", ...]}` to show only those groups.'
)


def _signed_client(region: str) -> ApiClient:
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    return ApiClient(settings.api_url or "", signer=SigV4Signer(credentials, region))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("describe"):
        return DESCRIBE
    if "widgetContext" in event:
        return widget(event, _signed_client(settings.aws_region))
    return page(event)


def widget(event: dict[str, Any], client: ApiClient) -> str:
    """The custom widget's HTML (CloudWatch shows it as it is; scripts do not run there)."""
    groups = (event.get("widgetContext") or {}).get("params", {}).get("groups") or event.get("groups")
    try:
        data = status.collect(client.get, groups or None)
    except (ApiError, Unreachable) as error:
        return f"<p>The copier's API could not be read: {error}</p>"
    return render.widget(data, link_base=client.base_url)


def page(event: dict[str, Any]) -> dict[str, Any]:
    """The local page: the API is the host that served this request."""
    headers = event.get("headers") or {}
    base = f"{headers.get('x-forwarded-proto', 'http')}://{headers.get('host', '127.0.0.1')}"
    client = ApiClient(base)
    try:
        html = render.page(status.collect(client.get), link_base=base, refresh_seconds=REFRESH_SECONDS)
        code = 200
    except (ApiError, Unreachable) as error:
        html, code = f"<!doctype html><title>board</title><p>The API could not be read: {error}</p>", 502
    return {"statusCode": code, "headers": {"content-type": "text/html; charset=utf-8"}, "body": html}
