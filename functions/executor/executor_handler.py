"""Executor Lambda: one handler for every follower queue (FIFO, partial batch responses)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.logic.deliveries import copy_record
from tradecopier.logic.services import executor_services
from tradecopier.logic.sqs_batch import BatchResponse, process_fifo_batch
from tradecopier.observability import logger, metrics, tracer

executor_services()  # at init: a missing or invalid variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    # On the first failure the rest of the batch fails too, so a later event never overtakes an
    # earlier one on this follower. A fully failed batch is reported item by item, like a partial one.
    def remaining_s() -> float:  # a short wait a broker asks for is slept inline only within it
        return context.get_remaining_time_in_millis() / 1000

    return process_fifo_batch(event, lambda record: copy_record(record, remaining_s))
