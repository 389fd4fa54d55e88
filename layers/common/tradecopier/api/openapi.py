"""The OpenAPI document of the whole API (admin and ingest routes), generated from the routes."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

TITLE = "Trade copier API"
VERSION = "1.0.0"


def build_app(*, include_ingest: bool = True, include_admin: bool = True) -> APIGatewayHttpResolver:
    from tradecopier.api.errors import register_error_handlers

    app = APIGatewayHttpResolver(enable_validation=True)
    if include_admin:
        from tradecopier.api.admin_routes import router as admin_router

        app.include_router(admin_router)
        from tradecopier.api.sync_routes import router as sync_router

        app.include_router(sync_router)
        from tradecopier.api.board_routes import router as board_router

        app.include_router(board_router)
    if include_ingest:
        from tradecopier.api.ingest_routes import router as ingest_router

        app.include_router(ingest_router)
    register_error_handlers(app)
    return app


def openapi_json() -> str:
    return build_app().get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=(
            "Copies a leader account's orders to follower accounts. Admin routes are IAM-authorised "
            "on AWS; the ingest route is authorised by the group's webhook token "
            "(header X-Webhook-Token, or body field token)."
        ),
    )
