"""Ingest Lambda: POST /groups/{group_id}/events → record → publish to the group's topic."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.api.errors import body_too_large, register_error_handlers
from tradecopier.api.http import as_json_request
from tradecopier.api.ingest_routes import router
from tradecopier.logic.services import ingest_services
from tradecopier.observability import MetricName, count, logger, metrics, tracer

ingest_services()  # at init: a missing or invalid variable fails the cold start, naming it

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(router)
register_error_handlers(app, on_error=lambda code: count(MetricName.EVENTS_REFUSED))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if too_large := body_too_large(event, ingest_services().settings.max_body_bytes):
        count(MetricName.EVENTS_REFUSED)
        return too_large
    return app.resolve(as_json_request(event), context)
