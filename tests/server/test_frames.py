"""The server's frame decoder on random streams: whatever damage sits between messages (a
wrong Content-Length either way, a body that is not JSON, stray bytes, malformed header
lines) and however the bytes are chunked, every intact message is decoded, in order, and
each damage is reported. (End to end over stdio: test_requests_answered.py.)"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constellation.server.transport import FrameDecoder

texts = st.lists(st.sampled_from(list("ab \"\\\r\n\t\u2028é😀:{}") + ["Content-Length: 12\r\n\r\n"]),
                 max_size=30).map("".join)
damages = st.sampled_from(["none", "none", "longer", "huge", "shorter", "not-json", "junk-before",
                           "bad-header-line"])


def encode(message: dict, damage: str, delta: int) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    length = len(body)
    headers = [b"Content-Length: %d"]
    if damage == "longer":
        length += delta
    elif damage == "huge":
        length = 10**9
    elif damage == "shorter":
        length = max(1, length - delta)
    elif damage == "not-json":
        body = body[:-1] + b"]"  # same length, unbalanced
    elif damage == "bad-header-line":
        headers.append(b"this is no header")
    head = b"\r\n".join(headers) % length + b"\r\n\r\n"
    prefix = b"\x00junk\xff bytes\r\n" if damage == "junk-before" else b""
    return prefix + head + body


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, damages, st.integers(1, 120)), min_size=1, max_size=12),
       st.lists(st.integers(1, 400), max_size=30))
def test_intact_messages_survive_any_damage_between_them(items, cuts):
    messages = [{"jsonrpc": "2.0", "method": "m", "params": {"i": i, "s": s}}
                for i, (s, _, _) in enumerate(items)]
    # the last message is intact (a too-long last one would wait for bytes that never come)
    damage_of = [d for _, d, _ in items[:-1]] + ["none"]
    stream = b"".join(encode(m, d, delta) for m, d, (_, _, delta) in zip(messages, damage_of, items))

    reports: list[str] = []
    decoder = FrameDecoder(reports.append)
    decoded, position = [], 0
    for cut in cuts + [len(stream)]:
        decoded += decoder.feed(stream[position:position + cut])
        position += cut
    decoded += decoder.feed(stream[position:])

    intact = [m for m, d in zip(messages, damage_of) if d in ("none", "bad-header-line")]
    got = [m for m in decoded if m in messages]
    assert all(m in got for m in intact), (intact, decoded)
    assert [m["params"]["i"] for m in got] == sorted(m["params"]["i"] for m in got)  # in order
    if any(d != "none" for d in damage_of):  # (adjacent damage may make one report)
        assert reports
