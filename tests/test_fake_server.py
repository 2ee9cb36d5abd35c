"""The test server itself: a queued failure waits for the request it is meant for, and a client that gives up
leaves no traceback behind (it would land in whichever test runs next)."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

from tests.fake_server import Failure, FakeOpenAI


def post_chat(server: FakeOpenAI) -> int:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "q"}]}).encode()
    request = urllib.request.Request(f"{server.base_url}/chat/completions", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_model_list_request_does_not_use_up_a_failure_queued_for_chat(fake):
    fake.scenario.failures.append(Failure.json_error(503, "overloaded"))
    with urllib.request.urlopen(f"{fake.base_url}/models", timeout=5) as reply:
        assert reply.status == 200
    assert post_chat(fake) == 503
    assert post_chat(fake) == 200


def test_a_failure_can_be_queued_for_the_model_list(fake):
    fake.scenario.failures.append(Failure.json_error(401, "invalid api key", path="/models"))
    assert post_chat(fake) == 200
    try:
        urllib.request.urlopen(f"{fake.base_url}/models", timeout=5)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 401


def test_a_client_that_gives_up_leaves_no_traceback(fake, capfd):
    fake.scenario.delay_first = 0.2
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "q"}]}).encode()
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as connection:
        connection.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    deadline = time.monotonic() + 5
    while len(fake.chat_requests()) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # the reply starts 0.2 s after the request, into a reset connection
    assert "Traceback" not in capfd.readouterr().err
