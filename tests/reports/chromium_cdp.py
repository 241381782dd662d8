"""Drive Debian's headless Chromium through the DevTools protocol over a pipe.

Why this and not Selenium or Playwright: ``make browser`` installs only the
``chromium`` package, and Chromium speaks its DevTools protocol on file
descriptors 3 and 4 when started with ``--remote-debugging-pipe``. That needs
no chromedriver whose version must match the browser, no browser download, no
port to pick or race for, and nothing beyond the standard library. Mouse
clicks and typing go through ``Input.dispatch*``, the browser's own input
pipeline, as a person's would; every console message, uncaught exception and
browser log entry (a failed load, a blocked resource) is recorded, so a test
can fail on any of them.

    with Browser() as browser:
        page = browser.open(path)
        page.click("#explorer-search")
        page.type("cat")
        assert page.eval("document.title") == "..."
        assert page.problems() == []
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    # every host name fails to resolve: the page cannot reach anything
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
]


class BrowserError(RuntimeError):
    pass


def _above_nine(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def chromium_path() -> str | None:
    return shutil.which("chromium")


_KEY_CODES = {"ArrowDown": 40, "ArrowUp": 38, "Enter": 13, "Escape": 27, "Backspace": 8}


class Browser:
    """One headless Chromium process; :meth:`open` gives a :class:`Page`."""

    def __init__(self, executable: str | None = None, timeout: float = 60.0) -> None:
        exe = executable or chromium_path()
        if exe is None:
            raise BrowserError("Debian's chromium is not installed: run `make browser` (apt-get install -y chromium)")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="evalkit-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the child's ends above 9 so that they cannot be 3 or 4 already.
        to_browser_r, from_browser_w = (_above_nine(fd) for fd in (to_browser_r, from_browser_w))
        # The browser reads commands on fd 3 and writes on fd 4: bash moves
        # our pipe ends there, then becomes Chromium.
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            ["bash", "-c", script, exe, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event_added = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._replies.get(message["id"])
                    if box is not None:
                        box.put(message)
                else:
                    with self._event_added:
                        self.events.append(message)
                        self._event_added.notify_all()
        with self._event_added:
            self.events.append({"method": "evalkit.browserClosed"})
            self._event_added.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[ident] = box
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=self.timeout)
        except queue.Empty:
            raise BrowserError(
                f"no answer to {method} within {self.timeout:g} s; stderr: {self.stderr()[-2000:]}"
            ) from None
        finally:
            with self._lock:
                del self._replies[ident]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str, start: int, timeout: float | None = None) -> dict[str, Any]:
        """The first event ``method`` of ``session`` at or after index ``start`` of :attr:`events`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._event_added:
            while True:
                for event in self.events[start:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"no {method} event within {timeout or self.timeout:g} s")
                self._event_added.wait(left)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def open(self, path: Path | str, *, width: int = 1280, height: int = 900) -> Page:
        """A new tab that loads ``path`` (a file) and waits for its load event."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        page.navigate(path)
        return page

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                try:
                    self.send("Browser.close")
                except BrowserError:
                    pass
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        finally:
            os.close(self._to_browser)
            self._reader.join(timeout=5)
            os.close(self._from_browser)
            self._stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab: evaluate script, click, type, screenshot, read its problems."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def navigate(self, path: Path | str) -> None:
        url = Path(path).resolve().as_uri() if not str(path).startswith(("file:", "about:", "data:")) else str(path)
        start = len(self.browser.events)
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session, start)

    def eval(self, expression: str, *, await_promise: bool = False) -> Any:
        """The value of a JavaScript expression (JSON-serialisable values only)."""
        reply = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll until ``expression`` is truthy; returns its value. Stops early
        when the page reports a problem (an error will not go away by waiting)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if self.problems():
                raise BrowserError(f"waiting for {expression!r}, the page reported: {self.problems()}")
            if time.monotonic() > deadline:
                raise BrowserError(f"{expression!r} still falsy after {timeout:g} s")
            time.sleep(0.05)

    def center(self, selector: str, index: int = 0) -> tuple[float, float]:
        """The centre of the ``index``-th element that ``selector`` matches, scrolled into view."""
        box = self.eval(
            f"""(() => {{
              const el = document.querySelectorAll({json.dumps(selector)})[{int(index)}];
              if (!el) return null;
              el.scrollIntoView({{block: 'center', inline: 'center'}});
              const r = el.getBoundingClientRect();
              return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height];
            }})()"""
        )
        if box is None:
            raise BrowserError(f"no element matches {selector!r} (index {index})")
        if box[2] <= 0 or box[3] <= 0:
            raise BrowserError(f"{selector!r} is not visible (size {box[2]}x{box[3]})")
        return box[0], box[1]

    def click(self, selector: str, index: int = 0) -> None:
        """A left click at the centre of the element, as a mouse would make it."""
        x, y = self.center(selector, index)
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def type(self, text: str) -> None:
        """Type into the focused element, one key at a time."""
        for char in text:
            self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": char, "key": char})
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char})

    def key(self, name: str) -> None:
        """Press and release a named key: "ArrowDown", "ArrowUp", "Enter", "Escape", "Backspace"."""
        code = _KEY_CODES[name]
        self.send(
            "Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": name, "code": name, "windowsVirtualKeyCode": code}
        )
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": name, "code": name, "windowsVirtualKeyCode": code})

    def select(self, selector: str, value: str) -> None:
        """Choose an option of a ``<select>`` as a person does: click it, arrow keys, Enter."""
        where = self.eval(
            f"""(() => {{
              const el = document.querySelector({json.dumps(selector)});
              const values = [...el.options].map(o => o.value);
              return [values.indexOf(el.value), values.indexOf({json.dumps(value)})];
            }})()"""
        )
        if where is None or where[1] < 0:
            raise BrowserError(f"{selector!r} has no option {value!r}")
        self.click(selector)
        steps = where[1] - where[0]
        for _ in range(abs(steps)):
            self.key("ArrowDown" if steps > 0 else "ArrowUp")
        self.key("Enter")
        chosen = self.eval(f"document.querySelector({json.dumps(selector)}).value")
        if chosen != value:
            raise BrowserError(f"{selector!r} shows {chosen!r} after choosing {value!r}")

    def screenshot(self, path: Path, *, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        path.write_bytes(data)
        return data

    def requests(self) -> list[str]:
        """The URL of every request this tab made (the page itself included)."""
        return [
            e["params"]["request"]["url"]
            for e in self.browser.events
            if e.get("sessionId") == self.session and e.get("method") == "Network.requestWillBeSent"
        ]

    def problems(self) -> list[str]:
        """Every console message, uncaught exception and warning/error log entry of this tab so far."""
        out = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                described = details.get("exception", {}).get("description") or details.get("text")
                out.append(f"uncaught: {described}")
            elif method == "Runtime.consoleAPICalled":
                values = [a.get("value", a.get("description")) for a in params.get("args", [])]
                out.append(f"console.{params.get('type')}: {values}")
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                if entry.get("level") in ("warning", "error"):
                    out.append(f"log {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        return out
