"""Patches to moto's in-process backends that make SQS behave like AWS where the copier relies on it.

Applied once, in the process that hosts moto's server (``python -m devstack.motoserver``; tests
that run moto in-process call ``apply()`` themselves). Each patch fixes one difference between
moto 5.2.5 and AWS, measured with moto's own server (see ``devstack/README.md``):

1. **Event source mappings are not run by moto.** moto's ``Queue.add_message`` invokes every
   event source mapping of the queue *inside the SendMessage/Publish call*: it receives up to
   BatchSize messages (ApproximateReceiveCount + 1), tries to run the function in Docker, and on
   failure makes them visible again -- so every publish inflates the receive count of everything
   queued and pushes it towards the DLQ; with ``use_docker=False`` it deletes them instead (the
   messages are swallowed). Deleting a mapping does not unhook it from the queue either. Here the
   queue's mapping table is always empty: mappings are still created, listed and deleted through
   the Lambda API, and ``devstack.esm`` polls the queues like the real Lambda service does.
2. **FIFO deduplication lasts 5 minutes even after the first message was deleted.** moto only
   compares against messages still in the queue.
3. **FIFO SequenceNumber grows.** moto draws 20 random digits per message.
4. **A FIFO message group is blocked only by in-flight messages that are still invisible.** moto
   counts a message whose visibility timeout expired as still blocking its group until it is seen
   again, so when a failed batch [m1, m2] times out it can deliver m2 before m1 (order broken);
   and it stamps a batch's visibility message by message, so a receive between two stamps could
   do the same: a group's in-flight messages are made to come back in the same millisecond, and
   one ReceiveMessage pass reads one instant under the queue lock (moto reads the clock per message).
5. **Long polling sleeps until a message is deliverable.** moto wakes the waiter whenever any
   message is visible, including ones held back by an in-flight group: a follower whose batch
   failed would make its poller spin at 100% CPU for the whole WaitTimeSeconds.
6. **DeleteMessage and SendMessage on one queue do not race.** moto rebuilds the message list
   in DeleteMessage without the queue lock; a concurrent SendMessage could be lost.

7. **Publish succeeds when a subscribed queue is gone.** moto fails the whole SNS Publish with
   NonExistentQueue when one subscription's queue was deleted; AWS accepts the message and only
   that delivery fails.

Plus a hook: listeners are told when an event source mapping is created, updated or deleted, so
the pollers start without waiting for the next ``ListEventSourceMappings``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

_applied = False
_apply_lock = threading.Lock()
DEDUP_WINDOW_SECONDS = 300.0
RECEIPT_HANDLE_LENGTH = 185  # moto's (moto.sqs.utils.generate_receipt_handle)
_esm_listeners: list[Callable[[], None]] = []


def add_esm_listener(callback: Callable[[], None]) -> None:
    """``callback()`` runs after every Create/Update/DeleteEventSourceMapping handled by moto."""
    _esm_listeners.append(callback)


def remove_esm_listener(callback: Callable[[], None]) -> None:
    if callback in _esm_listeners:
        _esm_listeners.remove(callback)


def apply() -> None:
    """Idempotent: patch moto's SQS and Lambda backends (this process only)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        _cache_request_dispatch()
        _cheaper_random_identifiers()
        _patch_sqs()
        _patch_sns()
        _patch_lambda()
        _applied = True


def _cache_request_dispatch() -> None:
    # 0b. speed only, every request: moto's server lists its own package directory (``os.listdir``
    # + an ``isdir`` per entry, ~180 stats) twice per request to learn which services exist, and
    # ``BaseResponse.call_action`` runs ``inspect.getmembers`` over the response class to find the
    # action's method. Both are pure for an installed moto: computed once. (The largest part of
    # moto's CPU per SQS call in ``python -m bench --only e2e --profile``.)
    from moto import backends
    from moto.core import responses, utils

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    names: Callable[[object], list[str]] = functools.lru_cache(maxsize=None)(utils.method_names_from_class)
    responses.method_names_from_class = lambda clazz: list(names(clazz))  # type: ignore[attr-defined]


def _cheaper_random_identifiers() -> None:
    # 0c. speed only: moto draws every request id (52 characters) and every SQS receipt handle (185
    # lowercase letters, one per message received) with one ``random.choice`` call per character,
    # ~190 Python calls per ReceiveMessage. ``choices(k=n)`` draws the same characters from the same
    # pool and the same (seedable) generator, in one call.
    import string

    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models

    sqs_models: Any = models

    def get_random_string(
        self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=RECEIPT_HANDLE_LENGTH))

    MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = generate_receipt_handle


def _patch_sns() -> None:
    from moto.sns import models as sns_models
    from moto.sqs.exceptions import QueueDoesNotExist

    subscription_cls: Any = sns_models.Subscription
    orig_publish = subscription_cls.publish

    def publish(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            orig_publish(self, *args, **kwargs)
        except QueueDoesNotExist:
            return  # AWS: the delivery to that one subscription fails; Publish itself succeeds

    subscription_cls.publish = publish


def _patch_lambda() -> None:
    from moto.awslambda import models as lambda_models

    backend_cls: Any = lambda_models.LambdaBackend
    for name in ("create_event_source_mapping", "update_event_source_mapping", "delete_event_source_mapping"):
        original = getattr(backend_cls, name)

        def wrapper(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            result = __original(self, *args, **kwargs)
            for callback in list(_esm_listeners):
                with contextlib.suppress(Exception):  # a listener must never break the Lambda API
                    callback()
            return result

        setattr(backend_cls, name, wrapper)


def _patch_sqs() -> None:
    from moto.sqs import models as sqs_models

    queue_cls: Any = sqs_models.Queue
    backend_cls: Any = sqs_models.SQSBackend
    _cache_attribute_names(sqs_models)
    _unhook_event_source_mappings(queue_cls)
    _growing_sequence_numbers_and_locked_delete(queue_cls)
    _only_invisible_messages_block_their_group(queue_cls)
    _long_poll_until_deliverable(queue_cls)
    _fifo_dedup_window(backend_cls)
    _expired_in_flight_messages_come_back(backend_cls, sqs_models.Message)


def _cache_attribute_names(sqs_models: Any) -> None:
    # 0. speed only: Queue.attributes (read 4x per SendMessage, so per SNS delivery) converts all
    # 18 attribute names from CamelCase each time; the conversion is pure, so cache it.
    sqs_models.camelcase_to_underscores = functools.lru_cache(maxsize=1024)(
        sqs_models.camelcase_to_underscores
    )


def _unhook_event_source_mappings(queue_cls: Any) -> None:
    # 1. no event source mapping ever reaches the queue's own dispatch loop in add_message.
    def _get_esms(self: Any) -> dict[str, Any]:
        return {}

    def _set_esms(self: Any, value: Any) -> None:
        return None

    queue_cls.lambda_event_source_mappings = property(_get_esms, _set_esms)


def _growing_sequence_numbers_and_locked_delete(queue_cls: Any) -> None:
    # 3. + 6. sequence numbers and the queue lock around add/delete.
    seq = itertools.count(int(time.time() * 1000) * 10**6)
    seq_lock = threading.Lock()
    orig_add = queue_cls.add_message
    orig_delete = queue_cls.delete_message

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue:
            with seq_lock:
                message.sequence_number = f"{next(seq):020d}"
        orig_add(self, message)

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            orig_delete(self, receipt_handle)

    queue_cls.add_message = add_message
    queue_cls.delete_message = delete_message


def _only_invisible_messages_block_their_group(queue_cls: Any) -> None:
    # 4. only invisible in-flight messages block their group.
    def pending_message_groups(self: Any) -> set[str]:
        return {m.group_id for m in list(self._pending_messages) if m.group_id is not None and not m.visible}

    queue_cls.pending_message_groups = property(pending_message_groups)


def _has_deliverable_message(queue: Any) -> bool:
    """A visible, undelayed message whose FIFO group no in-flight message blocks."""
    blocked: set[str] | None = None
    for m in list(queue._messages):
        if not m.visible or m.delayed:
            continue
        if queue.fifo_queue and m.group_id is not None and m not in queue._pending_messages:
            if blocked is None:
                blocked = queue.pending_message_groups
            if m.group_id in blocked:
                continue
        return True
    return False


def _long_poll_until_deliverable(queue_cls: Any) -> None:
    # 5. long polling waits for a deliverable message, not merely a visible one.
    def wait_for_messages(self: Any, timeout: int) -> None:
        with self._messages_lock:
            self._messages_lock.wait_for(lambda: _has_deliverable_message(self), timeout=timeout)

    queue_cls.wait_for_messages = wait_for_messages


def _dedup_id(queue: Any, message_body: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The message's deduplication id: given (by keyword or position), else the body's hash if the
    queue deduplicates by content."""
    dedup_id = kwargs.get("deduplication_id")
    if dedup_id is None and len(args) >= 3:
        dedup_id = args[2]
    if dedup_id is None and queue.content_based_deduplication:
        dedup_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
    return dedup_id


def _fifo_dedup_window(backend_cls: Any) -> None:
    # 2. FIFO deduplication window independent of deletion (SendMessage, SendMessageBatch, SNS).
    orig_send = backend_cls.send_message

    def send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return orig_send(self, queue_name, message_body, *args, **kwargs)
        dedup_id = _dedup_id(queue, message_body, args, kwargs)
        state = queue.__dict__.setdefault("_devstack_dedup", ({}, threading.Lock()))
        seen, lock = state
        with lock:
            now = time.monotonic()
            if dedup_id is not None:
                first = seen.get(dedup_id)
                if first is not None and now - first[0] < DEDUP_WINDOW_SECONDS:
                    return first[1]  # AWS answers a duplicate like the original, and drops it
                if len(seen) > 10_000:
                    for key in [k for k, (t, _) in seen.items() if now - t >= DEDUP_WINDOW_SECONDS]:
                        del seen[key]
            message = orig_send(self, queue_name, message_body, *args, **kwargs)
            if dedup_id is not None:
                seen[dedup_id] = (now, message)
            return message

    backend_cls.send_message = send_message


def _expired_in_flight_messages_come_back(backend_cls: Any, message_cls: Any) -> None:
    # 4b. a ReceiveMessage pass sees one instant: under the queue lock and a frozen clock, the
    # in-flight messages whose visibility expired stop being in flight first, then moto's pass
    # runs without waiting; long polling repeats passes between waits. moto's own pass reads the
    # clock per message and re-derives the blocked groups as it meets a timed-out message, so it
    # counted the batch head it had just handed out as blocking the rest: [E-0] alone, then
    # [E-1, E-2] a timeout later, or E-2 before E-0 when the stamps straddled the receive.
    from moto.sqs import models

    moto_clock: Any = models  # moto's own clock, looked up per call as moto does

    orig_receive = backend_cls.receive_message
    orig_visible = message_cls.visible.fget
    frozen = threading.local()

    def visible(self: Any) -> bool:
        now = getattr(frozen, "ms", None)
        return orig_visible(self) if now is None else bool(now > self.visible_at)

    message_cls.visible = property(visible)

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with queue._messages_lock:
                frozen.ms = moto_clock.unix_time_millis()
                try:
                    for m in [m for m in list(queue._pending_messages) if m.visible]:
                        queue._pending_messages.discard(m)
                    received = orig_receive(
                        self, queue_name, count, 0, visibility_timeout, message_attribute_names
                    )
                finally:
                    frozen.ms = None
                if queue.fifo_queue and received:
                    _in_flight_group_comes_back_at_once(queue)
            left = deadline - time.monotonic()
            if received or left <= 0:
                return received
            queue.wait_for_messages(min(left, _until_next_timeout(queue)))

    backend_cls.receive_message = receive_message


def _until_next_timeout(queue: Any) -> float:
    """Seconds until the next in-flight message's visibility expires (at most 1): nothing
    notifies a long poll when a visibility timeout runs out, so the wait must end by then."""
    from moto.sqs import models

    moto_clock: Any = models
    stamps = [m.visible_at for m in list(queue._pending_messages)]
    if not stamps:
        return 1.0
    return float(max(0.001, min(1.0, (min(stamps) - float(moto_clock.unix_time_millis())) / 1000 + 0.001)))


def _in_flight_group_comes_back_at_once(queue: Any) -> None:
    """4c. a batch of one group received together times out together. moto stamps each message's
    ``visible_at`` one by one, in milliseconds: a receive that falls between the stamps saw the
    head visible and a later message still in flight, held the head back, then (its pending set
    stale) delivered the later message alone -- E-2 before E-0. AWS locks the group until the whole
    batch is back, so every in-flight message of a group becomes visible at the group's latest."""
    latest: dict[str, Any] = {}
    pending = [m for m in list(queue._pending_messages) if m.group_id is not None and not m.visible]
    for m in pending:
        latest[m.group_id] = max(latest.get(m.group_id, m.visible_at), m.visible_at)
    for m in pending:
        m.visible_at = latest[m.group_id]
