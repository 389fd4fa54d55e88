"""A handler-level harness: the real ingest/admin/executor handlers against DynamoDB Local and a
moto server (SNS/SQS/Lambda control plane over a real HTTP hop).

``Pipeline.call`` turns a request into an API Gateway HTTP API (payload v2) event for the handler
the template routes it to; ``Pipeline.deliver`` plays the event source mapping once: it receives
from every follower queue provisioning created, calls the executor with a real SQS FIFO batch and
deletes only what ``batchItemFailures`` does not name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack.samples import Context, http_api_event, sqs_records


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class FakeContext(Context):
    """The context of the test harness's invocations (a fresh request id each)."""

    def __init__(self) -> None:
        super().__init__("copier-test", 256)


def _route_is_ingest(method: str, path: str) -> bool:
    parts = path.split("?")[0].strip("/").split("/")
    return method == "POST" and len(parts) == 3 and parts[0] == "groups" and parts[2] == "events"


@dataclass
class Pipeline:
    ingest: Callable[[dict[str, Any], Any], dict[str, Any]]
    admin: Callable[[dict[str, Any], Any], dict[str, Any]]
    executor: Callable[[dict[str, Any], Any], dict[str, Any]]
    moto_endpoint: str
    executor_results: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=self.moto_endpoint)
        self.lambda_ = boto3.client("lambda", endpoint_url=self.moto_endpoint)
        self.sns = boto3.client("sns", endpoint_url=self.moto_endpoint)

    # --- HTTP --------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> Reply:
        text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        event = http_api_event(method, path, text, headers)
        handler = self.ingest if _route_is_ingest(method, path) else self.admin
        response = handler(event, FakeContext())
        payload = response.get("body") or ""
        return Reply(
            response["statusCode"], json.loads(payload) if payload else None, response.get("headers", {})
        )

    def create_group(self, leader: str = "FUNDED-1", name: str = "Funded + evals") -> tuple[str, str]:
        reply = self.call(
            "POST", "/groups", {"name": name, "leader": {"account_id": leader, "broker": "paper"}}
        )
        assert reply.status == 201, reply.body
        return reply.body["group_id"], reply.body["webhook_token"]

    def add_follower(self, group_id: str, account_id: str, **settings: Any) -> dict[str, Any]:
        reply = self.call("POST", f"/groups/{group_id}/followers", {"account_id": account_id, **settings})
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def send(self, group_id: str, token: str, **event: Any) -> Reply:
        return self.call("POST", f"/groups/{group_id}/events", event, {"X-Webhook-Token": token})

    def event(self, group_id: str, event_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/groups/{group_id}/events/{event_id}")
        assert reply.status == 200, reply.body
        return dict(reply.body)

    def copies(self, group_id: str, event_id: str) -> dict[str, dict[str, Any]]:
        return {copy["account_id"]: copy for copy in self.event(group_id, event_id)["copies"]}

    def orders(self, account_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/accounts/{account_id}/orders").body["orders"])

    def positions(self, account_id: str) -> dict[str, int]:
        return {
            p["symbol"]: p["qty"]
            for p in self.call("GET", f"/accounts/{account_id}/positions").body["positions"]
        }

    # --- the event source mapping, played synchronously ---------------------------------------

    def follower_queues(self) -> list[tuple[str, str]]:
        """(queue_url, queue_arn) of every queue an event source mapping points at."""
        queues = []
        for mapping in self.lambda_.list_event_source_mappings()["EventSourceMappings"]:
            arn = mapping["EventSourceArn"]
            try:
                url = self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
            except self.sqs.exceptions.QueueDoesNotExist:
                continue
            queues.append((url, arn))
        return queues

    def deliver_once(self) -> int:
        """One receive per follower queue, each batch through the executor. Returns messages seen."""
        seen = 0
        for url, arn in self.follower_queues():
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                continue
            seen += len(messages)
            records = sqs_records(messages, arn)
            result = self.executor({"Records": records}, FakeContext())
            self.executor_results.append(result)
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    def deliver(self, deadline_s: float = 30.0, settle_rounds: int = 2) -> None:
        """Delivers until every follower queue stayed empty for ``settle_rounds`` rounds in a row
        (failed messages come back after their visibility timeout and are delivered again)."""
        quiet = 0
        end = time.monotonic() + deadline_s
        while quiet < settle_rounds:
            if time.monotonic() > end:
                raise AssertionError(f"queues did not drain in {deadline_s}s: {self.queue_depths()}")
            if self.deliver_once():
                quiet = 0
            elif any(self.queue_depths().values()):
                time.sleep(0.1)  # a failed message is invisible until its visibility timeout ends
            else:
                quiet += 1

    def queue_depths(self) -> dict[str, int]:
        depths = {}
        for url, _ in self.follower_queues():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[url] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
        return depths
