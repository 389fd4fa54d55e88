"""Admin routes of API.md: groups, followers, locks, the copy log, the broker's view.

Each route parses (Powertools validation against the pydantic models), calls one logic function
and returns a typed model.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, cast
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ValidationError

from tradecopier.api.schemas import (
    AddFollowerRequest,
    Connection,
    CreatedGroup,
    CreateGroupRequest,
    CredentialsInfo,
    CredentialsRequest,
    EventList,
    EventStatus,
    GroupList,
    Health,
    LockRequest,
    Orders,
    Positions,
    PresetList,
    PreviewCopyOut,
    PreviewEventBody,
    PreviewResult,
    RiskResetRequest,
    TokenRotated,
    UpdateFollowerRequest,
    error_responses,
    secret_values,
)
from tradecopier.brokers.credentials import StoredCredentials
from tradecopier.dal.copier import StoredEvent
from tradecopier.domain.accounts import Account, Follower, FollowerSettings, Group
from tradecopier.domain.enums import BrokerName
from tradecopier.domain.errors import ValidationFailed
from tradecopier.domain.events import LeaderEvent
from tradecopier.logic import admin, group_view, risk, sessions
from tradecopier.logic.preview import preview_event
from tradecopier.logic.services import admin_services

router = Router()
# Powertools matches routes on the raw (percent-encoded) path: ids in the path are decoded here,
# so an event id such as "L-42 new" or an account "ACC:1" sent encoded finds its record.


def _json(status: int, model: BaseModel) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=model.model_dump_json())


def _no_content() -> Response[str]:
    # No body, so no Content-Type: a 204 labelled application/json promises a JSON body it lacks.
    return Response(status_code=204, body="")


def _event_status(stored: StoredEvent) -> EventStatus:
    event = stored.accepted.event
    return EventStatus(
        event_id=event.event_id,
        type=event.type,
        received_at=stored.accepted.received_at,
        copies=stored.copies,
        event=event,
    )


@router.get("/health", tags=["health"], responses=error_responses(ok=Health))
def health() -> Health:
    return Health()


@router.post(
    "/groups",
    tags=["groups"],
    responses={
        201: {
            "description": "created; webhook_token is shown only here",
            "content": {"application/json": {"model": CreatedGroup}},
        },
        **error_responses(400, 409, 413, 422),
    },
)
def create_group(body: Annotated[CreateGroupRequest, Body()]) -> Response[str]:
    group, token = admin.create_group(admin_services(), body.name, body.leader)
    return _json(201, CreatedGroup(**group_view.created_view(group).model_dump(), webhook_token=token))


@router.get("/groups", tags=["groups"], responses=error_responses(ok=GroupList))
def list_groups() -> GroupList:
    return GroupList(groups=group_view.group_views(admin_services()))


@router.get("/groups/<group_id>", tags=["groups"], responses=error_responses(404, ok=Group))
def get_group(group_id: str) -> Group:
    return group_view.group_view(admin_services(), group_id)


@router.delete(
    "/groups/<group_id>",
    tags=["groups"],
    responses={204: {"description": "deleted", "content": {}}, **error_responses(404, 503)},
)
def delete_group(group_id: str) -> Response[str]:
    admin.delete_group(admin_services(), group_id)
    return _no_content()


@router.post(
    "/groups/<group_id>/token/rotate", tags=["groups"], responses=error_responses(404, ok=TokenRotated)
)
def rotate_token(group_id: str) -> TokenRotated:
    return TokenRotated(group_id=group_id, webhook_token=admin.rotate_token(admin_services(), group_id))


@router.post(
    "/groups/<group_id>/followers",
    tags=["followers"],
    responses={
        201: {
            "description": "created: it receives copies of every event accepted from now on",
            "content": {"application/json": {"model": Follower}},
        },
        **error_responses(400, 404, 409, 413, 422, 503),
    },
)
def add_follower(group_id: str, body: Annotated[AddFollowerRequest, Body()]) -> Response[str]:
    settings = FollowerSettings(**{name: getattr(body, name) for name in FollowerSettings.model_fields})
    account = Account(account_id=body.account_id, broker=body.broker)
    return _json(201, admin.add_follower(admin_services(), group_id, account, settings))


@router.get(
    "/groups/<group_id>/followers/<account_id>",
    tags=["followers"],
    responses=error_responses(404, ok=Follower),
)
def get_follower(group_id: str, account_id: str) -> Follower:
    return admin.get_follower(admin_services(), group_id, unquote(account_id))


@router.patch(
    "/groups/<group_id>/followers/<account_id>",
    tags=["followers"],
    responses=error_responses(400, 404, 413, 422, ok=Follower),
)
def update_follower(
    group_id: str, account_id: str, body: Annotated[UpdateFollowerRequest, Body()]
) -> Follower:
    return admin.update_follower(admin_services(), group_id, unquote(account_id), body.changes())


@router.delete(
    "/groups/<group_id>/followers/<account_id>",
    tags=["followers"],
    responses={204: {"description": "removed", "content": {}}, **error_responses(404, 503)},
)
def remove_follower(group_id: str, account_id: str) -> Response[str]:
    admin.remove_follower(admin_services(), group_id, unquote(account_id))
    return _no_content()


@router.post(
    "/groups/<group_id>/followers/<account_id>/lock",
    tags=["followers"],
    responses=error_responses(400, 404, 413, 422, ok=Follower),
)
def lock_follower(
    group_id: str, account_id: str, body: Annotated[LockRequest | None, Body()] = None
) -> Follower:
    reason = (body or LockRequest()).reason
    return admin.lock_follower(admin_services(), group_id, unquote(account_id), reason)


@router.post(
    "/groups/<group_id>/followers/<account_id>/unlock",
    tags=["followers"],
    responses=error_responses(404, ok=Follower),
)
def unlock_follower(group_id: str, account_id: str) -> Follower:
    return admin.unlock_follower(admin_services(), group_id, unquote(account_id))


@router.post(
    "/groups/<group_id>/followers/<account_id>/risk/reset",
    tags=["risk"],
    responses=error_responses(400, 404, 413, 422, ok=Follower),
)
def reset_risk(
    group_id: str, account_id: str, body: Annotated[RiskResetRequest | None, Body()] = None
) -> Follower:
    starting_balance = (body or RiskResetRequest()).starting_balance
    return sessions.reset_risk(admin_services(), group_id, unquote(account_id), starting_balance)


@router.get("/risk/presets", tags=["risk"], responses=error_responses(ok=PresetList))
def risk_presets() -> PresetList:
    return PresetList(presets=admin.risk_presets())


@router.post(
    "/groups/<group_id>/preview",
    summary="What each follower would do with a leader event now; nothing is sent, recorded or published",
    tags=["risk"],
    responses=error_responses(400, 404, 413, 422, ok=PreviewResult),
)
def preview(group_id: str, body: Annotated[PreviewEventBody, Body()]) -> PreviewResult:
    services = admin_services()
    event = cast(LeaderEvent, body)  # each preview body subclasses its domain event
    copies = preview_event(
        services.store,
        lambda follower: risk.open_follower_broker(follower, services.settings),
        group_id,
        event,
        services.clock(),
    )
    return PreviewResult(copies=[PreviewCopyOut.model_validate(asdict(copy)) for copy in copies])


@router.get("/groups/<group_id>/events", tags=["copy log"], responses=error_responses(404, 422, ok=EventList))
def list_events(group_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> EventList:
    events = admin.list_events(admin_services(), group_id, limit)
    return EventList(group_id=group_id, events=[_event_status(stored) for stored in events])


@router.get(
    "/groups/<group_id>/events/<event_id>", tags=["copy log"], responses=error_responses(404, ok=EventStatus)
)
def get_event(group_id: str, event_id: str) -> EventStatus:
    return _event_status(admin.get_event(admin_services(), group_id, unquote(event_id)))


@router.put(
    "/accounts/<account_id>/credentials",
    tags=["accounts"],
    responses=error_responses(400, 413, 422, 503, ok=CredentialsInfo),
)
def put_credentials(account_id: str, body: Annotated[CredentialsRequest, Body()]) -> CredentialsInfo:
    account_id = _account_path_id(account_id)
    stored = admin.put_credentials(admin_services(), account_id, secret_values(body))
    return _credentials_info(stored)


@router.get(
    "/accounts/<account_id>/credentials",
    tags=["accounts"],
    responses=error_responses(404, ok=CredentialsInfo),
)
def get_credentials(account_id: str) -> CredentialsInfo:
    return _credentials_info(admin.get_credentials(admin_services(), _account_path_id(account_id)))


@router.delete(
    "/accounts/<account_id>/credentials",
    tags=["accounts"],
    responses={204: {"description": "deleted", "content": {}}, **error_responses(404, 409, 503)},
)
def delete_credentials(account_id: str) -> Response[str]:
    admin.delete_credentials(admin_services(), _account_path_id(account_id))
    return _no_content()


@router.get("/accounts/<account_id>/connection", tags=["accounts"], responses=error_responses(ok=Connection))
def connection(account_id: str) -> Connection:
    services = admin_services()
    account_id = _account_path_id(account_id)
    checked = admin.check_connection(services, account_id)
    return Connection(
        account_id=account_id,
        broker=checked.broker,
        status=checked.status,  # type: ignore[arg-type]
        checked_at=services.clock(),
        detail=checked.detail,
    )


def _account_path_id(raw: str) -> str:
    """The decoded account id of the path, held to the AccountId rule (422 otherwise)."""
    account_id = unquote(raw)
    try:
        Account(account_id=account_id)
    except ValidationError as error:
        raise ValidationFailed(
            "the account id in the path is not valid",
            [
                {"loc": ["path", "account_id"], "msg": item["msg"], "type": item["type"]}
                for item in error.errors()
            ],
        ) from None
    return account_id


def _credentials_info(stored: StoredCredentials) -> CredentialsInfo:
    return CredentialsInfo(
        account_id=stored.account_id,
        broker=BrokerName(stored.broker),
        broker_account=stored.broker_account,
        api_url=stored.api_url,
        stored_at=stored.stored_at,
    )


@router.get(
    "/accounts/<account_id>/positions", tags=["accounts"], responses=error_responses(502, ok=Positions)
)
def positions(account_id: str) -> Positions:
    return Positions(
        account_id=unquote(account_id),
        positions=admin.account_positions(admin_services(), unquote(account_id)),
    )


@router.get("/accounts/<account_id>/orders", tags=["accounts"], responses=error_responses(502, ok=Orders))
def orders(account_id: str) -> Orders:
    return Orders(
        account_id=unquote(account_id), orders=admin.account_orders(admin_services(), unquote(account_id))
    )
