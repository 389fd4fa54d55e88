"""How a provisioning step fails: counted, logged and raised as ``ProvisioningError``.

Every step is an "ensure": it looks for what exists, creates what is missing and converges what
differs, so a call that failed half-way is completed by calling it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from tradecopier.aws import describe


class ProvisioningError(Exception):
    """A provisioning or teardown step failed; calling the same operation again resumes it."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def fail(step: str, detail: str, cause: Exception | None = None) -> NoReturn:
    """Counts the failure, logs it and raises ``ProvisioningError`` (observability imported lazily)."""
    from tradecopier import observability

    observability.count(observability.MetricName.PROVISIONING_FAILURES)
    observability.logger.warning("provisioning step failed", extra={"step": step, "detail": detail})
    raise ProvisioningError(step, detail) from cause


@contextmanager
def step(name: str) -> Iterator[None]:
    """Turns an AWS error inside the block into the failure of step ``name``."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        fail(name, describe(exc), exc)
