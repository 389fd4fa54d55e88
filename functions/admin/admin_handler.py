"""Admin Lambda: groups, followers (provisioning their queues), locks, copy log, accounts."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.api.admin_routes import router
from tradecopier.api.board_routes import router as board_router
from tradecopier.api.errors import body_too_large, register_error_handlers
from tradecopier.api.http import as_json_request
from tradecopier.api.sync_routes import router as sync_router
from tradecopier.logic.services import admin_services
from tradecopier.observability import logger, metrics, tracer

admin_services()  # at init: a missing or invalid variable fails the cold start, naming it

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(router)
app.include_router(sync_router)
app.include_router(board_router)
register_error_handlers(app)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    from tradecopier.api.openapi import openapi_json  # only this route needs the full document

    return Response(status_code=200, content_type="application/json", body=openapi_json())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    max_body = admin_services().settings.max_body_bytes
    return body_too_large(event, max_body) or app.resolve(as_json_request(event), context)
