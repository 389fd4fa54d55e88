"""The local stack: ``python -m devstack`` (see ``devstack.stack.LocalStack`` for the Python API).

Kept import-light: ``import devstack`` pulls in neither moto nor boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.stack import LocalStack as LocalStack

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from devstack.stack import LocalStack

        return LocalStack
    raise AttributeError(name)
