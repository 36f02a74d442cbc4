"""The SSE reader follows the WHATWG rules the server's events rely on."""

from __future__ import annotations

from conveyor.sdk._sse import ServerEvent, parse


def test_events_ids_comments_and_multiline_data() -> None:
    lines = [
        ": ping",
        "event: job",
        "id: 7",
        'data: {"a":',
        "data:  1}",
        "",
        "retry: 250",
        "data: x",
        "",
        "",
    ]
    events = list(parse(lines))
    assert events == [
        ServerEvent(event="comment", data="ping", comment=True),
        ServerEvent("job", '{"a":\n 1}', "7"),
        ServerEvent("message", "x", "7", 250),  # the last id carries over, as browsers do
    ]


def test_event_without_blank_line_at_end_is_not_dispatched() -> None:
    assert list(parse(["data: partial"])) == []
