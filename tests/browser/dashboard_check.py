#!/usr/bin/env python3
"""Drives headless chromium over the DevTools protocol (standard library only): opens the
dashboard (first without logging in, then through its one-time login link), waits for it to
load, prints what it shows as JSON, clicks "promote" and "verify" on one version, and saves a
screenshot.

usage: dashboard_check.py CHROMIUM LOGIN_URL VERSION_TO_PROMOTE SCREENSHOT.png
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class DevTools:
    """A minimal WebSocket client (RFC 6455, text frames) for one DevTools target."""

    def __init__(self, url):
        host_port, path = url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        if b" 101 " not in response.split(b"\r\n", 1)[0]:
            raise RuntimeError("no websocket: " + response.decode(errors="replace"))
        self.pending = response.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _recv_exact(self, n):
        while len(self.pending) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("devtools closed the connection")
            self.pending += chunk
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def _recv_message(self):
        message = b""
        while True:
            head = self._recv_exact(2)
            fin, opcode, length = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._recv_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(length)
            if opcode in (0x1, 0x0):
                message += payload
                if fin:
                    return json.loads(message)
            # other opcodes (ping, pong) are ignored

    def call(self, method, **params):
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)
        while True:
            reply = self._recv_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")


def wait_until(devtools, expression, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if devtools.evaluate(expression):
            return
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for: " + expression)


def main():
    chromium, login_url, version, screenshot = sys.argv[1:5]
    profile = tempfile.mkdtemp(prefix="modelkeep-chromium.")
    browser = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        devtools.call("Page.enable")
        # Without the login: read-only, and it says so.
        devtools.call("Page.navigate", url=login_url.split("?")[0])
        wait_until(devtools, "document.body && document.body.dataset.loaded === 'yes'")
        before_login = devtools.evaluate("document.getElementById('auth').textContent")
        devtools.call("Page.navigate", url=login_url)
        wait_until(devtools, "document.body && document.body.dataset.loaded === 'yes' && "
                             "document.getElementById('auth').textContent.startsWith('logged in')")
        shown = devtools.evaluate("""(() => ({
            rows: [...document.querySelectorAll('#versions tbody tr[data-version]')].map(r => ({
                version: r.dataset.version,
                cells: [...r.cells].map(c => c.textContent)})),
            points: [...document.querySelectorAll('#chart circle')].map(c => ({
                version: c.dataset.version, value: Number(c.dataset.value)})),
            timeline: document.querySelectorAll('#timeline tbody tr').length,
            timeline_cells: [...document.querySelectorAll('#timeline tbody tr')].map(
                r => [...r.cells].map(c => c.textContent)),
            timeline_more: document.getElementById('timeline-more').hidden ? "" :
                document.getElementById('timeline-more').textContent,
            ab: [...document.querySelectorAll('#ab tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
            monitor_head: document.getElementById('monitor-head').textContent,
            monitor: [...document.querySelectorAll('#monitor tbody tr')].map(
                r => [...r.cells].map(c => c.textContent)),
            monitor_no_data_class: [...document.querySelectorAll('#monitor tbody td')]
                .filter(c => c.textContent === 'no data').map(c => c.className)[0] || "",
            backups: [...document.querySelectorAll('#backups tbody tr')].map(r => r.cells[0].textContent),
            rollback_disabled: document.getElementById('rollback').disabled,
            auth: document.getElementById('auth').textContent,
            status: document.getElementById('status').textContent}))()""")
        shown["before_login"] = before_login
        devtools.evaluate(f"""document.querySelector('#versions tr[data-version="{version}"] button.promote').click()""")
        wait_until(devtools, "document.getElementById('status').textContent.length > 0")
        shown["after_click"] = devtools.evaluate("document.getElementById('status').textContent")
        wait_until(devtools, f"""(() => {{ const b = document.querySelector(
            '#versions tr[data-version="{version}"] button.promote'); return b && b.disabled; }})()""")
        # Now there is something to roll back to; and verify shows the version's checksum state.
        shown["rollback_disabled_after"] = devtools.evaluate("document.getElementById('rollback').disabled")
        devtools.evaluate(f"""document.querySelector('#versions tr[data-version="{version}"] button.verify').click()""")
        wait_until(devtools, f"""(() => {{ const c = document.querySelector(
            '#versions tr[data-version="{version}"] td.verification');
            return c && c.textContent.startsWith('verified'); }})()""")
        image = devtools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(image["data"]))
        print(json.dumps(shown))
    finally:
        browser.kill()
        browser.wait()
        subprocess.run(["rm", "-rf", profile], check=False)


if __name__ == "__main__":
    main()
