"""Executor Lambda: one handler for every follower queue (FIFO, partial batch responses)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradecopier.logic.deliveries import copy_record
from tradecopier.logic.services import executor_services
from tradecopier.observability import logger, metrics, tracer

executor_services()  # at init: a missing or invalid variable fails the cold start, naming it


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # A processor per invocation: it holds the batch's state. On the first failure it fails the
    # rest of the batch too, so a later event never overtakes an earlier one on this follower.
    # A fully failed batch is reported item by item, like a partial one (same effect on SQS).
    processor = SqsFifoPartialProcessor()
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(
        event=event, record_handler=copy_record, processor=processor, context=context
    )
