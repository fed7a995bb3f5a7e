"""Server-side set-up shared by the browser tests: a JSON client for /api/v1 and a Nexmo simulator."""

import http.cookiejar
import json
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from conftest import smsdesk_bin

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiClient:
    """JSON to /api/v1 on 127.0.0.1 with a cookie session and its CSRF token (for setting things up)."""

    def __init__(self, base_url):
        assert base_url.startswith("http://127.0.0.1:"), base_url
        self.base = base_url
        self.csrf = None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method, path, body=None, expect=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf and method != "GET":
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if expect is not None:
            assert status == expect, f"{method} {path}: {status} {text}"
        return status, (json.loads(text) if text and text.lstrip().startswith(("{", "[")) else text or None)

    def login(self, username, password):
        _, body = self.call("POST", "/auth/login", {"username": username, "password": password}, expect=200)
        self.csrf = body["csrfToken"]
        return self


class NexmoSimulator:
    """`smsdesk simulate --type nexmo` on `port`, posting the client's SMS to the provider's `webhook`; it
    answers as the account `key`/`secret` and receives on `own_number`. Sends always succeed and are
    reported delivered after 300 ms."""

    def __init__(self, port, webhook, key, secret, own_number, client):
        self.port = port
        self.own_number = own_number
        self.client = client
        self.base_url = f"http://127.0.0.1:{port}"
        cmd = [str(smsdesk_bin()), "simulate", "--type", "nexmo", "--host", "127.0.0.1", "--port", str(port),
               "--webhook", webhook, "--username", key, "--secret", secret, "--own-number", own_number,
               "--fail-suffix", "", "--retry-suffix", "", "--undelivered-suffix", "", "--dlr-delay-ms", "300"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.output = []
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.output.append(line)
                if "listening on" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            pytest.fail("simulator did not start:\n" + "".join(self.output))

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        with _opener.open(req, timeout=10) as r:
            return json.loads(r.read().decode())

    def inbound(self, text, sender=None, to=None):
        """The client `sender` (by default the usual client) writes `text` to the campaign's number now."""
        return self._call("POST", "/_sim/inbound", {"from": sender or self.client, "to": to or self.own_number, "text": text})

    def messages(self):
        return self._call("GET", "/_sim/messages")["messages"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
