"""The listener's pure protocol pieces: Tradovate's frames and requests (broker notes §5.1, §5.2)
and the reconnect backoff."""

from __future__ import annotations

import pytest

from listener.backoff import Backoff
from listener.streams.tradovate import MalformedFrame, parse_frame, request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("o", ("o", None)),
        ("h", ("h", None)),
        ('a[{"s":200,"i":1}]', ("a", [{"s": 200, "i": 1}])),
        ('c[3000,"Go away!"]', ("c", [3000, "Go away!"])),
    ],
)
def test_frames(text: str, expected: tuple[str, object]) -> None:
    assert parse_frame(text) == expected


@pytest.mark.parametrize("text", ["", "x", "a[{nonsense", "a{}", 'c"bye"', "[]"])
def test_malformed_frames(text: str) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(text)


def test_requests_are_endpoint_id_query_body() -> None:
    assert request("authorize", 0, "tok") == "authorize\n0\n\ntok"
    assert request("user/syncrequest", 1, {"users": [7]}) == 'user/syncrequest\n1\n\n{"users": [7]}'


def test_backoff_doubles_to_its_cap_with_half_of_it_random_and_resets() -> None:
    low = Backoff(1.0, 8.0, rand=lambda: 0.0)
    high = Backoff(1.0, 8.0, rand=lambda: 1.0)
    assert [low.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [high.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    low.reset()
    assert low.next() == 0.5
