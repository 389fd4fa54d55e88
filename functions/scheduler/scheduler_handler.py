"""Scheduler Lambda, run by EventBridge Scheduler once a minute: the risk clock (session starts,
flat-by), then the sync check of every group (each follower's ``sync_policy`` applied)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.logic.services import scheduler_services
from tradecopier.logic.sessions import run_clock
from tradecopier.logic.sync import run_sync_checks
from tradecopier.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    services = scheduler_services()
    checked = run_clock(services)
    synced = run_sync_checks(services, services.clock)
    return {"followers_checked": checked, "groups_synced": len(synced)}
