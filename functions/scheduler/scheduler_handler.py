"""Scheduler Lambda: the risk clock (session starts, flat-by), run by EventBridge Scheduler once a
minute."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.logic.services import scheduler_services
from tradecopier.logic.sessions import run_clock
from tradecopier.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return {"followers_checked": run_clock(scheduler_services())}
