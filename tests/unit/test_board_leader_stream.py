"""The leader's stream on the board and in ``tradecopier status``: shown beside the leader, escaped,
and absent for a paper leader (or an API that does not send it)."""

from __future__ import annotations

from typing import Any

import pytest

from tradecopier.board import render
from tradecopier.board.status import leader_stream_text


def _data(leader: dict[str, Any]) -> dict[str, Any]:
    group = {"group_id": "g-1", "name": "Live", "leader": leader, "followers": []}
    return {"generated_at": "2031-03-04T14:30:00+00:00", "groups": [group]}


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ({"status": "connected", "since": "2031-03-04T14:00:00Z", "detail": None}, "stream connected"),
        ({"status": "not_running", "since": None, "detail": None}, "stream not running"),
        (
            {"status": "reconnecting", "since": "x", "detail": "silent for 10.2 s"},
            "stream reconnecting: silent for 10.2 s",
        ),
        (None, None),
    ],
)
def test_the_stream_in_one_line(stream: dict[str, Any] | None, text: str | None) -> None:
    assert leader_stream_text({"account_id": "TV-L", "leader_stream": stream}) == text
    assert leader_stream_text({"account_id": "LEAD"}) is None  # an API from before the field


def test_the_board_shows_it_beside_the_leader_escaped() -> None:
    stream = {"status": "down", "since": "x", "detail": "stream not opened: <b>no credentials</b>"}
    html = render.board(_data({"account_id": "TV-L", "broker": "tradovate", "leader_stream": stream}))
    assert (
        "leader TV-L (tradovate) · stream down: stream not opened: &lt;b&gt;no credentials&lt;/b&gt;</span>"
        in html
    )
    paper = render.board(_data({"account_id": "LEAD", "broker": "paper", "leader_stream": None}))
    assert "leader LEAD (paper)</span>" in paper


def test_status_shows_it_in_the_group_title(capsys: pytest.CaptureFixture[str]) -> None:
    from tradecopier_cli.output import status_tables

    stream = {"status": "reconnecting", "since": "x", "detail": "closed by the server: [1000, 'bye']"}
    status_tables(_data({"account_id": "TV-L", "broker": "tradovate", "leader_stream": stream}))
    out = capsys.readouterr().out
    assert "leader TV-L (tradovate) · stream reconnecting: closed by the server: [1000, 'bye']" in " ".join(
        out.split()
    )
