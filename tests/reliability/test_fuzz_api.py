"""API fuzzing (RELIABILITY.md, "API fuzzing"): schemathesis, driven by docs/openapi.json (generated
from the route definitions), against the local stack started as a user starts it
(``LocalStack(mode="subprocess")``, i.e. ``python -m devstack``).

Six passes over every operation (admin and ingest):

- ``generated``: path parameters as generated (nearly always unknown resources);
- ``orders``: well-formed leader events on the real group (market, limit, modify, cancel,
  flatten; one in ten a duplicate), so that copies fill;
- ``real``: path parameters forced to a real group / its followers / its accepted events, and the
  ingest route given the real ``X-Webhook-Token`` (so events get past 401 and are copied);
- ``negative``: the same real resources, with schemathesis' schema-violating data;
- ``not-json``: the same real resources, bodies that are not JSON (forms, XML, truncated JSON,
  bytes that are not UTF-8): each must be exactly 400 ``malformed_json``;
- ``methods``: every documented path (real resources) and unknown paths, with methods no route
  declares (TRACE, PROPFIND, random tokens, a PUT where there is only GET): each must be API
  Gateway's own ``404 {"message":"Not Found"}``.

Every request that carries a body is sent under a ``Content-Type`` drawn from ``LABELS`` (none,
form, text/plain, XML, multipart, octet-stream, odd casing, JSON): API.md reads every body as JSON,
whatever its label (issue #10: the suite used to send only application/json, and so did not see
that text/plain was a 500 and a form a 422).

Hard checks: no 5xx; every error body has API.md's shape ``{"error": {"code", "message"}}``; every
response labelled application/json is JSON; every 2xx body matches the documented schema where the
document has a real one; the ``not-json`` and ``methods`` answers above. Status codes missing
from the document, and placeholder response schemas, are collected and printed as document defects
(the document is being fixed elsewhere) rather than failed on.

After the passes, once the queues drain: no copy of an accepted event stays ``pending``; for every
follower, its position in every symbol equals the signed sum of its filled orders; the leader has no
orders. ``FUZZ_EXAMPLES`` (default 40, what ``make test`` runs) is the number of examples per
operation and pass (per path for ``methods``); ``make reliability`` raises it.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from devstack import samples
from devstack.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
DRAIN_SECONDS = float(os.environ.get("FUZZ_DRAIN_SECONDS", "90"))
INGEST = ("POST", "/groups/{group_id}/events")
# The Content-Type a body is sent under; None: no header at all. Senders label JSON in many ways.
LABELS: list[str | None] = [
    "application/json",
    "application/json",
    None,
    "application/x-www-form-urlencoded",  # curl -d
    "text/plain",  # TradingView, when the alert text is not strict JSON
    "text/plain; charset=utf-8",
    "application/xml",
    "multipart/form-data; boundary=fuzz",
    "application/octet-stream",  # API Gateway hands such a body over base64-encoded
    "application/vnd.api+json",
    "APPLICATION/JSON; charset=UTF-8",
    "",
]
# Methods no route declares on AWS either; HEAD and OPTIONS are left out (API Gateway's CORS and
# HEAD handling are not what this is about).
ODD_METHODS = [
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "PURGE",
    "LINK",
    "FOO",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
]
GATEWAY_NOT_FOUND = {"message": "Not Found"}
# Destructive operations go last, so that the others still find the resources they destroy.
LAST = {
    ("POST", "/groups/{group_id}/token/rotate"): 1,
    ("DELETE", "/groups/{group_id}/followers/{account_id}"): 2,
    ("DELETE", "/groups/{group_id}"): 3,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    """The real resources the ``real`` passes aim at, and what the run observed."""

    api: str
    group_id: str
    token: str
    leader: str
    followers: list[str]
    spare_group: str  # DELETE /groups/{group_id} is pointed here, not at the real group
    events: list[str] = field(default_factory=list)  # accepted (202) event ids
    seen_followers: set[str] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    by_operation: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    labels: Counter[str] = field(default_factory=Counter)  # Content-Type of each body sent
    server_errors: list[str] = field(default_factory=list)
    json_unparsable: list[str] = field(default_factory=list)  # labelled application/json, is not
    not_json_misanswered: list[str] = field(default_factory=list)  # not-json pass: not 400
    gateway_misanswered: list[str] = field(default_factory=list)  # methods pass: not API GW's 404
    shape_violations: list[str] = field(default_factory=list)
    contract_violations: list[str] = field(default_factory=list)
    undocumented: dict[str, set[int]] = field(default_factory=dict)
    doc_schema_defects: dict[str, set[int]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = (tmp_path_factory.mktemp("fuzz") / "devstack.log").open("wb")
    try:
        with LocalStack(
            port=_free_port(),
            mode="subprocess",
            print_requests=False,
            print_copies=False,
            subprocess_output=log,
        ) as running:
            yield running
    finally:
        log.close()


def _post(session: requests.Session, url: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = session.post(url, json=body, timeout=30)
    assert response.status_code == status, (url, response.status_code, response.text)
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    api = stack.api_url.rstrip("/")
    run = uuid.uuid4().hex[:8]
    with requests.Session() as session:
        leader = f"FZ-LEAD-{run}"
        group = _post(
            session, f"{api}/groups", {"name": "fuzz", "leader": {"account_id": leader, "broker": "paper"}}
        )
        gid = group["group_id"]
        followers = []
        for i, (multiplier, rounding) in enumerate([(1, "half_up"), (2, "floor"), (0.5, "ceil")]):
            account = f"FZ-F{i}-{run}"
            body = {"account_id": account, "multiplier": multiplier, "rounding": rounding}
            _post(session, f"{api}/groups/{gid}/followers", body)
            followers.append(account)
        spare = _post(
            session, f"{api}/groups", {"name": "spare", "leader": {"account_id": f"FZ-SPARE-{run}"}}
        )
        # One accepted event up front, so GET /groups/{g}/events/{event_id} has a real id to hit.
        first = samples.market(f"FZ-{run}-0", f"FZ-{run}-0")
        headers = {"X-Webhook-Token": group["webhook_token"]}
        response = session.post(f"{api}/groups/{gid}/events", json=first, headers=headers, timeout=30)
        assert response.status_code == 202, response.text
    return World(
        api=api,
        group_id=gid,
        token=group["webhook_token"],
        leader=leader,
        followers=followers,
        spare_group=spare["group_id"],
        events=[first["event_id"]],
        seen_followers=set(followers),
    )


def _schema() -> Any:
    return schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))


def _operations() -> list[Any]:
    ops = [result.ok() for result in _schema().get_all_operations()]
    return sorted(ops, key=lambda op: (LAST.get((op.method.upper(), op.path), 0), op.path, op.method))


def _placeholder(op: Any, status: int) -> bool:
    """The documented schema for this status says nothing true about the body (a bare string, or
    FastAPI's ``{"detail": [...]}`` where API.md's error shape is sent)."""
    definition = op.definition.raw.get("responses", {}).get(str(status), {})
    schema = definition.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("type") == "string" or schema.get("$ref", "").endswith("/HTTPValidationError"))


def _error_shape_ok(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and bool(error["code"])
        and isinstance(error.get("message"), str)
        and bool(error["message"])
        and isinstance(error.get("details", []), list | None)
    )


def _error_code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _fails(case: Any, response: Any, check: Any) -> str | None:
    try:
        case.validate_response(response, checks=[check])
    except FailureGroup as group:  # a BaseExceptionGroup
        return "; ".join(str(exc).strip().splitlines()[0][:300] for exc in group.exceptions)
    except Exception as exc:  # a single Failure
        return str(exc).strip().splitlines()[0][:300]
    return None


def _send(
    case: Any,
    session: requests.Session,
    world: World,
    headers: dict[str, str],
    label: str | None,
    raw: bytes | None = None,
) -> requests.Response:
    """The case sent with its body (or ``raw`` instead) under ``label``. schemathesis labels what
    it serialises with the declared media type, and requests' ``json=`` adds application/json to a
    request without one: the body is serialised here, so that the label is only what was drawn."""
    kwargs = case.as_transport_kwargs(base_url=world.api, headers=headers)
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json"), allow_nan=False).encode()
    if raw is not None:
        kwargs["data"] = raw
    if kwargs.get("data") is not None:
        kwargs["headers"].pop("Content-Type", None)  # a CaseInsensitiveDict
        if label is not None:
            kwargs["headers"]["Content-Type"] = label
        world.labels[repr(label)] += 1
    response: requests.Response = session.request(**kwargs, timeout=30)
    return response


def _exercise(
    world: World,
    case: Any,
    session: requests.Session,
    pass_name: str,
    content_type: str | None,
    raw: bytes | None = None,
) -> None:
    op = case.operation
    key = (op.method.upper(), op.path)
    label = f"{key[0]} {key[1]}"
    headers = _aim_at_the_real_group(world, case, pass_name, key)
    response = _send(case, session, world, headers, content_type, raw)
    status = response.status_code
    world.requests[pass_name] += 1
    world.statuses[f"{status // 100}xx"] += 1
    world.by_operation[f"{label} [{pass_name}]"][status] += 1
    body, labelled_json_parses = _json_body(response)
    sent = {**headers, "Content-Type": content_type} if content_type is not None and raw is None else headers
    curl = case.as_curl_command(headers=sent)[:400]
    where = f"[{pass_name}] {label} -> {status} (Content-Type {content_type!r}, raw {raw!r:.80}): {curl}"
    _judge(world, case, response, body, labelled_json_parses, raw, label, where)
    _follow_the_real_group(world, case, key, status, body)


def _aim_at_the_real_group(world: World, case: Any, pass_name: str, key: tuple[str, str]) -> dict[str, str]:
    """Headers (and body edits) so that the non-generated passes act on the real group."""
    headers: dict[str, str] = {}
    if pass_name != "generated":
        if key == INGEST:
            headers["X-Webhook-Token"] = world.token
            if isinstance(case.body, dict) and "token" in case.body:
                case.body["token"] = world.token
        if isinstance(case.body, dict) and case.body.get("simulate") == "disconnect":
            # A disconnected follower is retried for minutes (visibility x maxReceiveCount): the
            # drain below would have to wait for it. "reject" exercises the same field value space.
            case.body["simulate"] = "reject"
    if pass_name == "orders":
        fresh = f"FZ-{world.group_id[-6:]}-{sum(world.requests.values())}"
        case.body["event_id"] = world.events[-1] if case.body["event_id"] == "dup" else fresh
    return headers


def _json_body(response: requests.Response) -> tuple[Any, bool]:
    """(the decoded body or None, whether a JSON-labelled answer parses)."""
    try:
        body: Any = response.json() if response.content else None
        return body, bool(response.content) or response.status_code == 204
    except ValueError:
        return None, False


def _judge(
    world: World,
    case: Any,
    response: requests.Response,
    body: Any,
    labelled_json_parses: bool,
    raw: bytes | None,
    label: str,
    where: str,
) -> None:
    """Files the answer under every rule it breaks (5xx, shape, contract, documentation)."""
    op, status = case.operation, response.status_code
    if _server_error(case, response, body):
        world.server_errors.append(f"{where}\n    body: {response.text[:300]}")
    if response.headers.get("content-type", "").startswith("application/json") and not labelled_json_parses:
        world.json_unparsable.append(f"{where}\n    body: {response.text[:300]}")
    if raw is not None and (status, _error_code(body)) != (400, "malformed_json"):
        world.not_json_misanswered.append(f"{where}\n    body: {response.text[:300]}")
    if status >= 400 and not _error_shape_ok(body):
        world.shape_violations.append(f"{where}\n    body: {response.text[:300]}")
    if _fails(case, response, status_code_conformance):
        world.undocumented.setdefault(label, set()).add(status)
    elif 200 <= status < 300 and (failure := _fails(case, response, response_schema_conformance)):
        if _placeholder(op, status):
            world.doc_schema_defects.setdefault(label, set()).add(status)
        else:
            world.contract_violations.append(f"{where}\n    {failure}")
    elif status >= 300 and _placeholder(op, status):
        world.doc_schema_defects.setdefault(label, set()).add(status)


def _follow_the_real_group(world: World, case: Any, key: tuple[str, str], status: int, body: Any) -> None:
    """What the run did to the real group."""
    if status == 202 and key == INGEST and isinstance(body, dict):
        world.events.append(body["event_id"])
    real = isinstance(body, dict) and (case.path_parameters or {}).get("group_id") == world.group_id
    if real and status == 200 and key == ("POST", "/groups/{group_id}/token/rotate"):
        world.token = body["webhook_token"]
    if real and status == 201 and key == ("POST", "/groups/{group_id}/followers"):
        world.seen_followers.add(body["account_id"])


def _leader_event() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed leader events on a few symbols and order ids, so that copies fill, get modified,
    cancelled and flattened (what the position invariant below is about)."""
    # "new" becomes a fresh id when sent; one in ten resends the last accepted id (a duplicate).
    event_id = st.sampled_from(["new"] * 9 + ["dup"])
    order_id = st.sampled_from([f"FZ-O{i}" for i in range(4)])
    symbol = st.sampled_from(["NQZ6", "ESZ6"])
    price = st.decimals(1, 30000, places=2).map(float)
    return st.one_of(
        st.fixed_dictionaries(
            {
                "event_id": event_id,
                "type": st.just("order.placed"),
                "order_id": order_id,
                "symbol": symbol,
                "side": st.sampled_from(["buy", "sell"]),
                "qty": st.integers(1, 7),
                "order_type": st.sampled_from(["market", "market", "limit"]),
                "price": price,
            }
        ).map(lambda e: {**e, "limit_price": e["price"]} if e["order_type"] == "limit" else e),
        st.fixed_dictionaries(
            {
                "event_id": event_id,
                "type": st.just("order.modified"),
                "order_id": order_id,
                "qty": st.integers(1, 7),
            }
        ),
        st.fixed_dictionaries(
            {"event_id": event_id, "type": st.just("order.cancelled"), "order_id": order_id}
        ),
        st.fixed_dictionaries(
            {"event_id": event_id, "type": st.just("position.flattened"), "symbol": symbol}
        ),
    )


def _is_json(raw: bytes) -> bool:
    """What the handlers make of a body: UTF-8 text that ``json.loads`` reads (Powertools' parser)."""
    try:
        json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        return False
    return True


def _not_json() -> st.SearchStrategy[bytes]:
    """Bodies that are not JSON: what forms and XML really look like, JSON cut short, any text,
    any bytes (most are not UTF-8)."""
    json_prefix = st.dictionaries(st.text(max_size=8), st.integers(), max_size=3).map(
        lambda d: json.dumps(d).encode()[:-1]
    )
    return st.one_of(
        st.sampled_from([b"name=fuzz&leader=FZ-1", b"<event type='order.placed'/>", b"{'qty': 1}", b"   "]),
        json_prefix,
        st.text(min_size=1, max_size=200).map(str.encode),
        st.binary(min_size=1, max_size=200),
    ).filter(lambda raw: not _is_json(raw))


def _strategy(op: Any, world: World, pass_name: str) -> st.SearchStrategy[Any]:
    if pass_name == "not-json":
        pass_name = "real"  # real resources, so that only the body can be what is refused
    if pass_name == "orders":
        params = {"group_id": world.group_id}
        events: st.SearchStrategy[Any] = _leader_event().flatmap(
            lambda body: op.as_strategy(path_parameters=params, body=body)
        )
        return events
    mode = GenerationMode.NEGATIVE if pass_name == "negative" else GenerationMode.POSITIVE
    names = {p.name for p in op.path_parameters}
    if pass_name == "generated" or not names:
        generated: st.SearchStrategy[Any] = op.as_strategy(generation_mode=mode)
        return generated
    group = world.spare_group if (op.method.upper(), op.path) == ("DELETE", "/groups/{group_id}") else None
    accounts = st.sampled_from([*world.followers, world.leader])
    event_ids = st.sampled_from(list(world.events))

    def build(account: str, event: str) -> st.SearchStrategy[Any]:
        params = {"group_id": group or world.group_id, "account_id": account, "event_id": event}
        pinned: st.SearchStrategy[Any] = op.as_strategy(
            generation_mode=mode, path_parameters={k: params[k] for k in names}
        )
        return pinned

    return st.tuples(accounts, event_ids).flatmap(lambda pair: build(*pair))


def _fuzz(world: World, pass_name: str, examples: int) -> int:
    operations = _operations()
    with requests.Session() as session:
        for op in operations:
            if pass_name == "orders" and (op.method.upper(), op.path) != INGEST:
                continue
            raw = op.definition.raw
            query = any(p.get("in") == "query" for p in raw.get("parameters", []))
            if pass_name == "negative" and "requestBody" not in raw and not query:
                continue  # nothing left to make invalid: path parameters are pinned
            if pass_name == "not-json" and "requestBody" not in raw:
                continue
            bodies = _not_json() if pass_name == "not-json" else st.none()

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                case=_strategy(op, world, pass_name),
                content_type=st.sampled_from(LABELS),
                raw=bodies,
            )
            def run(case: Any, content_type: str | None, raw: bytes | None) -> None:
                _exercise(world, case, session, pass_name, content_type, raw)

            try:
                run()
            except Unsatisfiable:
                # Negative mode: nothing of this operation can be made invalid (no body, no query,
                # path parameters pinned); the positive passes cover it.
                assert pass_name == "negative", op.label
    return len(operations)


def _declared_methods(world: World) -> dict[str, set[str]]:
    """Each documented path with the real resources filled in -> the methods its routes declare."""
    values = {"group_id": world.group_id, "account_id": world.followers[0], "event_id": world.events[0]}
    declared: dict[str, set[str]] = {"/openapi.json": {"GET"}}  # served, but not in the document
    for op in _operations():
        path = op.path.format(**{name: quote(v, safe="") for name, v in values.items()})
        declared.setdefault(path, set()).add(op.method.upper())
    return declared


def _fuzz_methods(world: World, examples: int) -> int:
    """Methods no route declares, on every documented path and on unknown paths: API Gateway's
    own 404, never the function (nor a 501 page from the local front)."""
    declared = _declared_methods(world)
    methods = st.one_of(st.sampled_from(ODD_METHODS), st.from_regex(r"\A[A-Z]{3,12}\Z"))
    unknown_paths = st.from_regex(r"\A/x-[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}\Z")
    targets = [*(st.just(path) for path in sorted(declared)), unknown_paths]
    with requests.Session() as session:
        for paths in targets:

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                request=st.tuples(paths, methods).filter(
                    lambda pm: pm[1] not in declared.get(pm[0], set()) | {"HEAD", "OPTIONS"}
                ),
                content_type=st.sampled_from(LABELS),
                body=st.one_of(st.none(), st.just(b'{"name": "fuzz"}'), _not_json()),
            )
            def run(request: tuple[str, str], content_type: str | None, body: bytes | None) -> None:
                path, method = request
                headers = {"Content-Type": content_type} if body is not None and content_type else {}
                response = session.request(method, world.api + path, data=body, headers=headers, timeout=30)
                world.requests["methods"] += 1
                world.statuses[f"{response.status_code // 100}xx"] += 1
                target = path if path in declared else "/x-… (unknown path)"
                world.by_operation[f"odd methods {target} [methods]"][response.status_code] += 1
                where = (
                    f"[methods] {method} {path} -> {response.status_code}\n    body: {response.text[:300]}"
                )
                if response.status_code >= 500:
                    world.server_errors.append(where)
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                if (response.status_code, answer) != (404, GATEWAY_NOT_FOUND):
                    world.gateway_misanswered.append(where)

            run()
    return len(targets)


def _segment(value: str) -> str:
    """A path segment for ``value``. "." and ".." are valid account ids, but clients remove dot
    segments from a URL (RFC 3986): they only reach the server percent-encoded."""
    return value.replace(".", "%2E") if set(value) == {"."} else quote(value, safe="")


def _get(url: str) -> Any:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def _server_error(case: Any, response: Any, body: Any) -> bool:
    """A 5xx that is ours. API.md's 502 ``broker_unreachable`` is the contract's answer when an
    account's real broker cannot be reached (the fuzzer stores credentials pointing anywhere)."""
    if response.status_code == 502 and _error_code(body) == "broker_unreachable":
        return False
    return bool(_fails(case, response, not_a_server_error) or response.status_code >= 500)


def _signed(order: dict[str, Any]) -> int:
    return int(order["qty"]) if order["side"] == "buy" else -int(order["qty"])


@dataclass
class Drained:
    pending: list[str]  # "event_id/account_id" of copies still pending at the deadline
    unfetchable: set[str]  # accepted events that GET by id answered 404 (read from the list)
    unverified: set[str]  # of those, older than the 100 the list shows


def _drain(world: World) -> Drained:
    """Waits until every copy of every accepted event leaves `pending` (or DRAIN_SECONDS pass). An
    event id that needs percent-encoding could not be fetched by id before 60da21c: it is then
    read from the list."""
    drained = Drained(pending=[], unfetchable=set(), unverified=set())
    deadline = time.monotonic() + DRAIN_SECONDS
    remaining = list(dict.fromkeys(world.events))
    while remaining:
        drained.pending = []
        listed = {
            e["event_id"]: e for e in _get(f"{world.api}/groups/{world.group_id}/events?limit=100")["events"]
        }
        for event_id in remaining:
            status = _event_status(world, event_id, listed, drained)
            if status is None:
                continue
            drained.pending += [
                f"{event_id}/{c['account_id']}" for c in status["copies"] if c["status"] == "pending"
            ]
        remaining = list(dict.fromkeys(p.rsplit("/", 1)[0] for p in drained.pending))
        if not remaining or time.monotonic() > deadline:
            break
        time.sleep(1)
    return drained


def _event_status(
    world: World, event_id: str, listed: dict[str, Any], drained: Drained
) -> dict[str, Any] | None:
    """The event's status by id, else from the list; None if neither can show it."""
    response = requests.get(f"{world.api}/groups/{world.group_id}/events/{_segment(event_id)}", timeout=30)
    if response.status_code == 404 and _segment(event_id) != event_id:
        drained.unfetchable.add(event_id)  # the bug 60da21c fixed; counted in case it comes back
        if event_id not in listed:
            drained.unverified.add(event_id)  # older than the 100 the list shows
            return None
        return dict(listed[event_id])
    assert response.status_code == 200, (event_id, response.status_code, response.text)
    return dict(response.json())


def _position_mismatches(world: World) -> tuple[list[str], int]:
    """Followers whose positions differ from what their fills imply; and how many orders were read."""
    mismatches: list[str] = []
    orders_checked = 0
    for account in sorted(world.seen_followers):
        # The fuzzer may have stored real-broker credentials for an id it later freed from its group:
        # such an account then reads from that (unreachable) broker. The copies went to its paper
        # account, so that is what is checked.
        requests.delete(f"{world.api}/accounts/{_segment(account)}/credentials", timeout=30)
        orders = _get(f"{world.api}/accounts/{_segment(account)}/orders")["orders"]
        positions = _get(f"{world.api}/accounts/{_segment(account)}/positions")["positions"]
        implied: Counter[str] = Counter()
        for order in orders:
            orders_checked += 1
            if order["status"] == "filled":
                implied[order["symbol"]] += _signed(order)
        held = {p["symbol"]: Decimal(str(p["qty"])) for p in positions}
        for symbol in set(implied) | set(held):
            if Decimal(implied[symbol]) != held.get(symbol, Decimal(0)):
                mismatches.append(
                    f"{account} {symbol}: fills imply {implied[symbol]}, position {held.get(symbol)}"
                )
    return mismatches, orders_checked


def test_fuzz_api_no_5xx_errors_in_shape_and_positions_match_fills(
    world: World, figures: Counter[str]
) -> None:
    operations = 0
    passes = ("generated", "orders", "real", "negative", "not-json", "methods")
    for pass_name in passes[:-1]:
        examples = EXAMPLES * 2 if pass_name == "orders" else EXAMPLES
        operations = max(operations, _fuzz(world, pass_name, examples))
    paths = _fuzz_methods(world, EXAMPLES)

    # Drain: every copy of every accepted event leaves `pending`.
    drained = _drain(world)
    pending, unfetchable, unverified = drained.pending, drained.unfetchable, drained.unverified

    # Positions equal what the fills imply; nothing on the leader.
    mismatches, orders_checked = _position_mismatches(world)
    leader_orders = _get(f"{world.api}/accounts/{world.leader}/orders")["orders"]

    figures.update(
        operations=operations,
        passes=len(passes),
        examples_per_operation_and_pass=EXAMPLES,
        requests=sum(world.requests.values()),
        **{f"requests_{name.replace('-', '_')}": n for name, n in world.requests.items()},
        paths_with_odd_methods=paths,
        bodies_sent=sum(world.labels.values()),
        bodies_not_labelled_json=sum(
            n for label, n in world.labels.items() if not label.lower().startswith("'application/json")
        ),
        content_types=len(world.labels),
        events_accepted=len(set(world.events)),
        followers_checked=len(world.seen_followers),
        orders_checked=orders_checked,
        responses_5xx=len(world.server_errors),
        error_shape_violations=len(world.shape_violations),
        contract_violations=len(world.contract_violations),
        json_labelled_responses_not_json=len(world.json_unparsable),
        not_json_not_400=len(world.not_json_misanswered),
        odd_methods_not_gateway_404=len(world.gateway_misanswered),
        position_mismatches=len(mismatches),
        copies_left_pending=len(pending),
        events_only_readable_from_the_list=len(unfetchable),
        events_unverified=len(unverified),
        leader_orders=len(leader_orders),
        **{f"status_{k}": v for k, v in world.statuses.items()},
    )
    report = [
        f"{label}: undocumented status {sorted(codes)}" for label, codes in sorted(world.undocumented.items())
    ]
    report += [
        f"{label}: documented schema is a placeholder for {sorted(codes)}"
        for label, codes in sorted(world.doc_schema_defects.items())
    ]
    print("\nStatuses per operation and pass:")
    for name, counts in sorted(world.by_operation.items()):
        print(f"  {name}: {dict(sorted(counts.items()))}")
    print("OpenAPI document defects (reported, not failed on):\n  " + "\n  ".join(report or ["none"]))

    assert not world.server_errors, "5xx:\n" + "\n".join(world.server_errors[:10])
    assert not world.shape_violations, "error bodies not in API.md's shape:\n" + "\n".join(
        world.shape_violations[:10]
    )
    assert not world.contract_violations, "2xx bodies off schema:\n" + "\n".join(
        world.contract_violations[:10]
    )
    assert not world.json_unparsable, "responses labelled JSON that are not:\n" + "\n".join(
        world.json_unparsable[:10]
    )
    assert not world.not_json_misanswered, "bodies that are not JSON, not 400 malformed_json:\n" + "\n".join(
        world.not_json_misanswered[:10]
    )
    assert not world.gateway_misanswered, 'odd methods not 404 {"message":"Not Found"}:\n' + "\n".join(
        world.gateway_misanswered[:10]
    )
    assert not pending, f"copies still pending after {DRAIN_SECONDS:.0f} s: {pending[:10]}"
    assert not mismatches, "\n".join(mismatches)
    assert leader_orders == []


# --- what the fuzzer found, both fixed since -------------------------------------------------------


def test_a_body_that_is_not_utf8_is_400_malformed_json(world: World) -> None:
    """Found by this fuzzer (F1): API Gateway hands a body that is not UTF-8 over base64-encoded;
    Powertools' ``decoded_body`` raises UnicodeDecodeError, which ``register_error_handlers._crash``
    (tradecopier/api/errors.py) answered as 500 internal_error. Fixed by its ``_not_utf8`` handler."""
    body = b'\xff\xfe{"name": "x"}'
    headers = {"Content-Type": "application/json", "X-Webhook-Token": world.token}
    for path in ("/groups", f"/groups/{world.group_id}/events"):
        response = requests.post(f"{world.api}{path}", data=body, headers=headers, timeout=30)
        assert response.status_code == 400, (path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "malformed_json"


def test_an_accepted_event_whose_id_needs_percent_encoding_can_be_read_back(world: World) -> None:
    """Found by this fuzzer, fixed in 60da21c: Powertools' resolver takes path parameters from the
    raw (percent-encoded) path, so ``get_event`` (tradecopier/api/admin_routes.py) looked up
    ``a%20b%20%C3%A9`` instead of ``a b é`` and answered 404 for an event it had accepted."""
    event_id = f"fz {uuid.uuid4().hex[:6]} é"
    event = samples.order_cancelled(event_id, "FZ-none")
    headers = {"X-Webhook-Token": world.token}
    response = requests.post(
        f"{world.api}/groups/{world.group_id}/events", json=event, headers=headers, timeout=30
    )
    assert response.status_code == 202, response.text
    response = requests.get(
        f"{world.api}/groups/{world.group_id}/events/{quote(event_id, safe='')}", timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["event_id"] == event_id
