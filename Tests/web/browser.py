"""Headless Chromium driven over the DevTools protocol (websocket-client): load a page, run a
line of JavaScript, read the DOM, take a screenshot. Small on purpose: the pages need no script."""
import base64
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import time
import urllib.request

import websocket


def find_chromium():
    for name in (os.environ.get("LV_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    def __init__(self, binary, profile_dir):
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile_dir}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline and port is None:
            ready, _, _ = select.select([self.process.stderr], [], [], 0.5)
            if ready:
                line = self.process.stderr.readline()
                m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
                if m:
                    port = int(m.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.process.stderr.read()}")
        if port is None:
            raise RuntimeError("chromium did not open its DevTools port within 60 s")
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.ids = itertools.count(1)
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for k, e in enumerate(self.events):
                if e.get("method") == name:
                    del self.events[: k + 1]
                    return e
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(name)

    def goto(self, url):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    def submit(self, expression):
        """Runs JavaScript that submits a form, and waits for the next page."""
        self.events.clear()
        self.evaluate(expression)
        self.wait_event("Page.loadEventFired")

    def dom(self):
        return self.evaluate("document.documentElement.outerHTML")

    def url(self):
        return self.evaluate("location.href")

    def screenshot(self, path, width=1280, mobile=False, height=None):
        """The whole page, or only its first `height` pixels."""
        self.call("Emulation.setDeviceMetricsOverride", width=390 if mobile else width, height=height or (844 if mobile else 900),
                  deviceScaleFactor=1, mobile=mobile)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=height is None)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
