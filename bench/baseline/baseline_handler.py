"""The cold-start baseline: a handler importing Powertools Logger and pydantic (one BaseModel subclass)
and nothing else. ``bench.imports`` times its import next to the real handlers', in the same run."""

from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

logger = Logger(service="baseline")


class Event(BaseModel):
    name: str = "baseline"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return Event.model_validate(event).model_dump()
