"""A headless Chromium driven over the DevTools protocol: opens a page, records console errors and
every request, takes screenshots. No network: the browser runs with its background services off
and a new empty profile, its debugging port on 127.0.0.1.

    python tests/browser.py reports/failure-matrix/report.html OUT_DIR   # screenshots to look at
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
WIDTH, HEIGHT = 1366, 850  # a laptop screen


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One page of a headless Chromium; `errors` and `requests` fill up as it runs."""

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="sessionsim-chromium-")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        port = self._port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id, self.errors, self.requests, self.loaded = 0, [], [], False
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)

    def _port(self) -> int:
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while time.time() < deadline:
            if active.is_file() and active.read_text().strip():
                return int(active.read_text().split()[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its debugging port within 30 s")

    def _event(self, message: dict):
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                        for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))
        elif method == "Page.loadEventFired":
            self.loaded = True

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def open(self, url: str, settle_s: float = 1.0):
        """Navigates and waits for the load event, then `settle_s` for late requests or errors."""
        self.loaded = False
        self.call("Page.navigate", url=url)
        deadline = time.time() + 30
        while not self.loaded and time.time() < deadline:
            self._event(json.loads(self.ws.recv()))
        self.ws.settimeout(settle_s)
        try:
            while True:
                self._event(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        self.ws.settimeout(30)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path, element_id: str | None = None) -> Path:
        """The screen as it is, or scrolled to the element with that id."""
        if element_id:
            self.evaluate(f"document.getElementById({json.dumps(element_id)}).scrollIntoView()")
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def main(html: str, out_dir: str) -> int:
    binary = chromium()
    if binary is None:
        print("no chromium on PATH", file=sys.stderr)
        return 2
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = Page(binary)
    try:
        page.open(Path(html).resolve().as_uri())
        page.screenshot(out / "first-screen.png")
        if page.evaluate("!!document.getElementById('failure-matrix')"):
            page.screenshot(out / "failure-matrix.png", "failure-matrix")
        print(f"console errors: {page.errors or 'none'}")
        print(f"requests: {page.requests}")
    finally:
        page.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
