"""Helpers for system tests: run `smsdesk serve` and `smsdesk simulate` on
127.0.0.1 and talk to them over HTTP (standard library only)."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def smsdesk_bin() -> str:
    value = os.environ.get("SMSDESK_BIN")
    path = Path(value) if value else REPO_ROOT / ".build" / "debug" / "smsdesk"
    return str(path if path.is_absolute() else REPO_ROOT / path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose stdout is collected; `wait_for(regex)` waits for a line."""

    def __init__(self, args, env=None):
        self.lines = []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern, timeout=90):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines[-50:]))
                self._cond.wait(min(left, 0.5))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Client:
    """JSON over HTTP to 127.0.0.1 with a cookie session and its CSRF token."""

    def __init__(self, base):
        assert base.startswith("http://127.0.0.1:"), base
        self.base = base
        self.csrf = None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method, path, body=None, raw=None, content_type="application/json", expect=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.csrf and method != "GET":
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=60) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if expect is not None:
            assert status in (expect if isinstance(expect, tuple) else (expect,)), f"{method} {path}: {status} {text}"
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def login(self, username, password):
        _, body = self.call("POST", "/api/v1/auth/login", {"username": username, "password": password}, expect=200)
        self.csrf = body["csrfToken"]


def wait_until(predicate, timeout=120, interval=0.2, message="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last value {last!r})")


def start_server(data_dir, port, env=None, extra=()):
    return Process([smsdesk_bin(), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port), *extra],
                   env={"SMSDESK_BCRYPT_COST": "4", **(env or {})})


def start_simulator(port, kind="twilio", extra=()):
    """A simulator whose error suffixes are disabled unless `extra` sets them (bulk numbers end in every digit)."""
    p = Process([smsdesk_bin(), "simulate", "--type", kind, "--port", str(port), "--host", "127.0.0.1",
                 "--fail-suffix", "", "--retry-suffix", "", "--undelivered-suffix", "",
                 "--username", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--secret", "12345", "--log-level", "warning", *extra])
    p.wait_for(r"simulator \(.*\) listening on")
    return p


def set_up_bulk(client, simulator_base, campaign="Cobranzas"):
    """A Twilio provider pointing at the simulator, a transactional campaign and a dialer serving it (not started)."""
    _, p = client.call("POST", "/api/v1/providers", {
        "name": "Sim Twilio", "type": "Twilio", "url": simulator_base, "username": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "secret": "12345", "sender": "+15017122661"}, expect=201)
    _, c = client.call("POST", "/api/v1/campaigns", {"name": campaign, "timeZone": "America/Montevideo",
                                                      "transactional": True}, expect=201)
    _, d = client.call("POST", "/api/v1/dialers", {"name": "Bulk", "providerId": p["provider"]["id"],
                                                    "campaignIds": [c["campaign"]["id"]]}, expect=201)
    return p["provider"]["id"], c["campaign"]["id"], d["dialer"]["id"]


def bulk_csv(campaign, count, prefix="+1555"):
    return "".join(f"{campaign};{prefix}{i:07d};Hola {i};1\n" for i in range(count)).encode()
