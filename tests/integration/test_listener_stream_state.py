"""The listener's stream state as the group view shows it (``leader.leader_stream``), end to end
against the fake Tradovate: connected once the stream is synced, reconnecting with why while the
socket is lost, down when the listener stops."""

from __future__ import annotations

from typing import Any

from listener import health
from tests.integration.listener_world import wait_for
from tests.integration.test_listener_tradovate import World
from tests.integration.test_listener_tradovate import world as world  # the fixture


def _stream(world: World) -> Any:
    return world.pipeline.call("GET", f"/groups/{world.group_id}").body["leader"]["leader_stream"]


def test_the_group_view_follows_the_listeners_stream(world: World) -> None:
    assert _stream(world) == {"status": "not_running", "since": None, "detail": None}
    world.start_listener()
    wait_for(lambda: _stream(world)["status"] == "connected", "connected in the group view")
    connected = _stream(world)
    assert connected["detail"] is None and connected["since"] is not None
    world.socket.close_next_handshake(1000)  # every reconnect fails mid-handshake
    world.socket.drop()
    wait_for(lambda: _stream(world)["status"] == "reconnecting", "reconnecting in the group view")
    first = _stream(world)
    assert first["detail"] and first["since"] > connected["since"], first
    reconnects = health.COUNTS["reconnects"]
    wait_for(lambda: health.COUNTS["reconnects"] >= reconnects + 2, "two more failed attempts")
    assert _stream(world)["since"] == first["since"]  # since the stream was lost, not the latest retry
    world.kill_listener()
    down = _stream(world)
    assert (down["status"], down["detail"]) == ("down", "listener stopped"), down
    assert down["since"] >= first["since"]
