"""``python -m listener``: hold the leader streams until SIGTERM / SIGINT (a process, not a Lambda)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from listener.app import ListenerApp
from listener.settings import ListenerSettings
from tradecopier.observability import logger


def main() -> None:
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        logger.info("listener: stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    app = ListenerApp.build(ListenerSettings.from_env())
    logger.info("listener: started")
    app.supervisor().run(stop)


if __name__ == "__main__":
    main()
