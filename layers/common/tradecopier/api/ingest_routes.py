"""The ingest route: ``POST /groups/{group_id}/events`` (authorised by the group's webhook token)."""

from __future__ import annotations

from typing import Annotated, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from tradecopier.api.ingest_schemas import EventAccepted, LeaderEventBody, error_responses
from tradecopier.domain.events import LeaderEvent
from tradecopier.logic.ingest import ingest_event
from tradecopier.logic.services import ingest_services

router = Router()


def _leader_event(body: LeaderEventBody) -> LeaderEvent:
    """The domain event without the transport's token field.

    Each body class subclasses its domain event, so the body already passed the same validation:
    it is copied field by field (``model_construct``), not validated a second time on the hot path.
    """
    domain_class = cast(type[BaseModel], type(body).__mro__[1])
    values = {name: value for name, value in body if name != "token"}
    return cast(LeaderEvent, domain_class.model_construct(body.model_fields_set - {"token"}, **values))


@router.post(
    "/groups/<group_id>/events",
    summary="Send a leader event to be copied to every follower of the group",
    responses={
        202: {
            "description": "accepted: durably queued for every follower",
            "content": {"application/json": {"model": EventAccepted}},
        },
        200: {
            "description": "duplicate: this event_id was accepted before; nothing is copied again",
            "content": {"application/json": {"model": EventAccepted}},
        },
        **error_responses(400, 401, 404, 413, 422, 503),
    },
    tags=["ingest"],
)
def post_event(group_id: str, body: Annotated[LeaderEventBody, Body()]) -> Response[str]:
    services = ingest_services()
    body_token = body.token.get_secret_value() if body.token else None
    token = router.current_event.headers.get("x-webhook-token") or body_token
    result = ingest_event(
        group_id,
        _leader_event(body),
        token,
        store=services.store,
        publisher=services.publisher,
        clock=services.clock,
        groups=services.groups,
    )
    status = 202 if result.status == "accepted" else 200
    answer = EventAccepted(event_id=result.event_id, status=result.status)
    return Response(status_code=status, content_type="application/json", body=answer.model_dump_json())
