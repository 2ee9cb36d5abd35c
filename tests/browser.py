"""A real headless Chromium, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ending in NUL on file descriptors 3 and 4), to open exported HTML as a reader would.

`Browser.open(path)` loads a file and reports what a test asserts on: every request the page made beyond the file
itself, every console message, log entry and uncaught exception, the visible text of the page and of its SVG, and
a PNG screenshot. `png_pixels` decodes that screenshot (8-bit RGB/RGBA, as Chromium writes it) with zlib alone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOAD_TIMEOUT = 30.0  # seconds for a browser start or a page load on a busy two-core machine
WIDTH, HEIGHT = 1000, 1400
SHOT_SCALE = 0.25

# What the page shows: its text, the text drawn in its SVGs (with whether each is rendered at a size), its size.
_SEEN = """JSON.stringify({
  text: document.body.innerText,
  svgText: Array.from(document.querySelectorAll('svg text')).map(t => {
    const box = t.getBoundingClientRect();
    const shown = box.width > 0 && box.height > 0 && getComputedStyle(t).visibility !== 'hidden';
    return {text: t.textContent, visible: shown};
  }),
  svgs: document.querySelectorAll('svg.d2-svg').length,
  scripts: document.scripts.length,
})"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Opened:
    requests: list[str] = field(default_factory=list)  # URLs the page asked for, the page's own file left out
    problems: list[str] = field(default_factory=list)  # console errors/warnings, log entries, exceptions
    text: str = ""
    svg_text: list[dict[str, Any]] = field(default_factory=list)
    svgs: int = 0
    scripts: int = 0
    screenshot: bytes = b""
    values: dict[str, Any] = field(default_factory=dict)  # the probes' results


class Browser:
    """One Chromium process for a whole test module; each `open` is a fresh tab."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="sdx-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        flags = [
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--user-data-dir={self.profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--remote-debugging-pipe",
        ]
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{commands_read} 4>&{replies_write}', "chromium", binary, *flags],
            pass_fds=(commands_read, replies_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)
        shutil.rmtree(self.profile, ignore_errors=True)

    # The protocol

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _wait(self, wanted: Any, timeout: float = LOAD_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self._events):
                if wanted(message):
                    return self._events.pop(index)
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            self._read_messages()

    def _read_messages(self) -> None:
        chunk = os.read(self._replies, 1 << 20)
        if not chunk:
            raise RuntimeError("Chromium exited")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        self._events.extend(json.loads(message) for message in messages)

    # A page

    def open(self, path: Path, media: str = "screen", probes: dict[str, str] | None = None) -> Opened:
        """Load `path` in a new tab, as on a screen or (`media="print"`) as printed; `probes` are JavaScript
        expressions whose values land in `Opened.values`."""
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
        opened = Opened()
        seen = json.loads(self._evaluate(_SEEN, session))
        opened.text, opened.svg_text, opened.svgs = seen["text"], seen["svgText"], seen["svgs"]
        opened.scripts = seen["scripts"]
        opened.values = {name: self._evaluate(expression, session) for name, expression in (probes or {}).items()}
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT, "scale": SHOT_SCALE}  # small: quick to decode
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip}, session=session)["data"]
        opened.screenshot = base64.b64decode(shot)
        self.call("Target.closeTarget", {"targetId": target})
        for message in [m for m in self._events if m.get("sessionId") == session]:
            self._events.remove(message)
            _note(message, url, opened)
        return opened

    def _evaluate(self, expression: str, session: str) -> Any:
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression!r} failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")


def _note(message: dict[str, Any], url: str, opened: Opened) -> None:
    method, params = message.get("method"), message.get("params", {})
    if method == "Network.requestWillBeSent" and params["request"]["url"] != url:
        if not params["request"]["url"].startswith("data:"):  # a data URL is the page's own bytes
            opened.requests.append(params["request"]["url"])
    elif method == "Runtime.consoleAPICalled":
        opened.problems.append(f"console.{params['type']}: {[arg.get('value') for arg in params['args']]}")
    elif method == "Runtime.exceptionThrown":
        opened.problems.append(f"exception: {params['exceptionDetails'].get('text')}")
    elif method == "Log.entryAdded":
        entry = params["entry"]
        opened.problems.append(f"log {entry['level']} ({entry['source']}): {entry['text']}")


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth}, colour {colour}"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        _unfilter(kind, line, previous, channels)
        rgb = bytes(line) if channels == 3 else bytes(b for x, b in enumerate(line) if x % 4 != 3)
        rows.append(rgb)
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, previous: bytearray, channels: int) -> None:
    for x in range(len(line)):
        left = line[x - channels] if x >= channels else 0
        up = previous[x]
        if kind == 1:
            line[x] = (line[x] + left) & 0xFF
        elif kind == 2:
            line[x] = (line[x] + up) & 0xFF
        elif kind == 3:
            line[x] = (line[x] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[x - channels] if x >= channels else 0
            line[x] = (line[x] + _paeth(left, up, corner)) & 0xFF


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
