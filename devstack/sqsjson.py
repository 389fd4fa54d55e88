"""The SQS calls the event source mapping pollers make, as plain SQS JSON-protocol requests.

The Lambda service's pollers are AWS's own code: how they talk to SQS is invisible to the
function, which only sees the event built from what ``ReceiveMessage`` returned. botocore spends
~1.5 ms of Python per call building, signing and parsing (model-driven) a request; at one
ReceiveMessage and one DeleteMessageBatch per copy that was the largest part of the local stack's
own CPU per copy outside moto. Here each call is one JSON body over a kept-alive HTTP/1.1
connection per thread, sent to the same moto server, answered by the same moto code, with the
same request and response shapes as the AWS JSON protocol botocore uses for SQS (``X-Amz-Target:
AmazonSQS.<Action>``). Errors are raised as ``botocore.exceptions.ClientError`` with the error code
AWS (and botocore) report, so callers handle them as before.

    sqs = SqsJsonClient("http://127.0.0.1:5000", "us-east-1", access_key="local", read_timeout=22)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, ...)
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

_RETRIES = 3  # botocore's standard mode: 3 attempts on a connection error


class SqsJsonClient:
    """The subset of botocore's SQS client the pollers use: same keyword arguments and results."""

    def __init__(self, endpoint: str, region: str, *, access_key: str, read_timeout: float) -> None:
        parts = urlsplit(endpoint)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.region = region
        self.access_key = access_key
        self.read_timeout = read_timeout
        self._local = threading.local()

    # -- the calls ----------------------------------------------------------------------------------
    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        return self._call("GetQueueUrl", params)

    def list_queue_tags(self, **params: Any) -> dict[str, Any]:
        return self._call("ListQueueTags", params)

    def receive_message(self, **params: Any) -> dict[str, Any]:
        return self._call("ReceiveMessage", params)

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteMessageBatch", params)

    # -- the wire -----------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.read_timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _headers(self, action: str) -> dict[str, str]:
        day = time.strftime("%Y%m%d", time.gmtime())
        return {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{action}",
            # moto reads the account and the service from the credential scope; it checks no signature
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={self.access_key}/{day}/{self.region}/sqs/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-target, Signature=0"
            ),
        }

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode("utf-8")
        headers = self._headers(action)
        for attempt in range(1, _RETRIES + 1):
            conn = self._connection()
            try:
                conn.request("POST", "/", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                self._drop_connection()
                if attempt == _RETRIES:
                    raise
                continue
            if response.will_close:
                self._drop_connection()
            return _result(action, response, data)
        raise AssertionError("unreachable")


def _result(action: str, response: http.client.HTTPResponse, data: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(data) if data else {}
    if response.status < 300:
        parsed["ResponseMetadata"] = {"HTTPStatusCode": response.status}
        return parsed
    # The code botocore reports: the query-compatible one (x-amzn-query-error: "Code;Sender") when
    # SQS sends it, else the __type's last part (e.g. "com.amazonaws.sqs#QueueDoesNotExist").
    query_error = response.getheader("x-amzn-query-error") or ""
    code = query_error.split(";", 1)[0] or str(parsed.get("__type", "")).rsplit("#", 1)[-1]
    message = str(parsed.get("message") or parsed.get("Message") or "")
    error = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": response.status},
    }
    raise ClientError(error, action)  # type: ignore[arg-type]
