"""Fixtures for the SMSDesk browser tests.

Starts the real `smsdesk serve` on 127.0.0.1 with a temporary data directory,
and gives each test fresh headless Chromium sessions.
"""

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

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
START_TIMEOUT = 60

# Never go through a proxy: everything these tests reach is on 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def smsdesk_bin() -> Path:
    value = os.environ.get("SMSDESK_BIN")
    path = Path(value) if value else REPO_ROOT / ".build" / "debug" / "smsdesk"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0):
    """GET a 127.0.0.1 URL; returns (status, body bytes)."""
    assert url.startswith("http://127.0.0.1:"), url
    try:
        with _opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    """A running `smsdesk serve` process."""

    def __init__(self, data_dir: Path, extra_args=()):
        self.bin = smsdesk_bin()
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_user = "admin"
        self.admin_password = None
        self.output = []
        self._found = threading.Event()
        self.proc = None

    def start(self):
        if not self.bin.exists():
            pytest.fail(f"smsdesk binary not found at {self.bin} (build it, or set SMSDESK_BIN)")
        cmd = [str(self.bin), "serve", "--data-dir", str(self.data_dir),
               "--host", "127.0.0.1", "--port", str(self.port)] + self.extra_args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                     cwd=str(self.data_dir))
        threading.Thread(target=self._read_output, daemon=True).start()

        deadline = time.monotonic() + START_TIMEOUT
        while not self._found.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                why = "exited with code %s" % self.proc.returncode if self.proc.returncode is not None else \
                    "printed no 'admin password: …' line within %ds" % START_TIMEOUT
                pytest.fail(f"smsdesk serve {why}. Output:\n" + "".join(self.output))

        while True:
            try:
                status, _ = http_get(self.base_url + "/health")
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("smsdesk serve did not answer GET /health with 200. Output:\n" + "".join(self.output))
            time.sleep(0.2)
        return self

    def _read_output(self):
        pattern = re.compile(r"admin password:\s*([^\s\"'\\]+)")
        for line in self.proc.stdout:
            self.output.append(line)
            if self.admin_password is None:
                m = pattern.search(line)
                if m:
                    self.admin_password = m.group(1)
                    self._found.set()

    def add_user(self, username: str, role: str) -> str:
        """Create a user with the CLI; returns the printed password."""
        cmd = [str(self.bin), "user", "add", username, "--role", role, "--data-dir", str(self.data_dir)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=str(self.data_dir))
        out = r.stdout + r.stderr
        m = re.search(r"^\s*password:\s*(\S+)\s*$", out, re.MULTILINE)
        if r.returncode != 0 or not m:
            pytest.fail(f"`{' '.join(cmd)}` failed (exit {r.returncode}):\n{out}")
        return m.group(1)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("smsdesk-data")).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path_factory):
    """A server of its own, for tests that leave state behind (e.g. rate limits)."""
    srv = Server(tmp_path_factory.mktemp("smsdesk-fresh")).start()
    yield srv
    srv.stop()


def _make_driver(width=1280, height=800):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-proxy-server", "--lang=en-US",
                "--disable-extensions", "--no-first-run", "--disable-background-networking",
                "--disable-sync", "--disable-component-update", "--disable-default-apps"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture
def new_driver():
    """Factory: new_driver() → a fresh browser (own cookies); all are quit at the end."""
    drivers = []

    def make(width=1280, height=800):
        d = _make_driver(width, height)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        try:
            d.quit()
        except Exception:
            pass


@pytest.fixture
def driver(new_driver):
    return new_driver()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir():
    SCREENSHOT_DIR.mkdir(exist_ok=True)
