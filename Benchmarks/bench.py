#!/usr/bin/python3
"""SMSDesk benchmark (standard library only; run it through `Benchmarks/run`).

(a) import of a generated CSV with `smsdesk import spool`, next to `sqlite3 .import`
    of the same file into a bare table;
(b) dispatch of already-queued messages to a provider over loopback: against
    `smsdesk simulate --type twilio`, and through a URLSMS provider against an HTTP
    sink (a local nginx answering `200 OK 1`, or --sink URL);
(c) `POST /api/v1/messages` accept rate with wrk at 64 keep-alive connections,
    with a durability check after a SIGKILL of the server;
(d) the crash-recovery system test with 20,000 messages;
(e) inbound → agent latency: signed Twilio inbound webhooks at --inbound-rate per second from
    --clients numbers, each message timed until the agent holding its conversation reads it from
    the live WebSocket (--agents agents, each with one socket, as the inbox page keeps).
(f) conversation search (SPEC S4) over --search-messages stored messages (Benchmarks/search_bench.py
    fills the database): one campaign, one week, part of a number, through HTTP.

Every process is started on 127.0.0.1 and stopped at the end. Prints one table and
writes a Markdown section (machine, command, table, details) to --markdown.
"""

import argparse
import asyncio
import base64
import contextlib
import datetime
import gc
import hashlib
import hmac
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(REPO / "Tests" / "system"))
from smsdesk_process import Client, Process, free_port, smsdesk_bin, wait_until  # noqa: E402
import search_bench  # noqa: E402  (section f, beside this file)

TWILIO_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TEXT = "texto de prueba: su pedido fue despachado y llegara en 48 horas. Gracias"
CLK_TCK = os.sysconf("SC_CLK_TCK")
QUIET_WAIT = 0  # seconds to wait for an idle machine before each measurement (--wait-quiet)
PERF_DIR = None  # --perf: where to put CPU profiles of the measured smsdesk processes


def log(message):
    print(f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Measuring processes and the machine

def proc_cpu(pid):
    """User + system CPU seconds used so far by a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def vm_hwm_mib(pid):
    """Peak resident set size of a live process, MiB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid):
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def machine_busy():
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def own_cpu():
    """CPU seconds of this script and of its children already waited for (wrk, the CLI runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CPUWatch:
    """CPU seconds used by some processes, by this script and its waited-for children, and by every other
    process of the machine (other people's builds and tests), over an interval."""

    def __init__(self, pids):
        self.pids = dict(pids)
        self.start = {name: sum(proc_cpu(p) for p in ps) for name, ps in self.pids.items()}
        self.own = own_cpu()
        self.machine = machine_busy()
        self.t = time.monotonic()

    def stop(self):
        wall = time.monotonic() - self.t
        busy, total = machine_busy()
        used = {name: sum(proc_cpu(p) for p in ps) - self.start[name] for name, ps in self.pids.items()}
        own = own_cpu() - self.own
        busy_seconds = (busy - self.machine[0]) / CLK_TCK
        others = max(0.0, busy_seconds - sum(used.values()) - own)
        share = (busy - self.machine[0]) / max(1, total - self.machine[1])
        return {"wall": wall, "cpu": used, "own": own, "others": others, "machine_busy": share, "cores": os.cpu_count()}


def describe_cpu(watch, own="bench script + wrk"):
    parts = [f"{name} {seconds:.1f} s ({seconds / watch['wall']:.2f} cores)" for name, seconds in watch["cpu"].items()]
    parts.append(f"{own} {watch['own']:.1f} s")
    return (f"CPU over {watch['wall']:.1f} s: " + ", ".join(parts)
            + f"; other processes of the machine {watch['others'] / watch['wall']:.2f} cores"
            + f" (machine {watch['machine_busy'] * 100:.0f}% busy of {watch['cores']} cores)")


def wait_quiet(limit, threshold=0.15):
    """Waits up to `limit` seconds for the machine to be nearly idle (other people build here); returns its busy share."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy()
        time.sleep(2)
        busy, total = machine_busy()
        share = (busy - before[0]) / max(1, total - before[1])
        if share <= threshold or time.monotonic() >= deadline:
            if share > threshold:
                log(f"machine still {share * 100:.0f}% busy after waiting {limit} s; going on")
            return share
        log(f"machine {share * 100:.0f}% busy with other work; waiting for it to quieten")


class Profile:
    """With --perf, `perf record` (call graphs, 499 Hz) of one process while it is measured, then
    `perf report` summaries (by library, by function, callers included) next to the data file."""

    def __init__(self, name, pid=None):
        self.proc = None
        if not PERF_DIR:
            return
        self.path = Path(PERF_DIR) / f"{name}.data"
        self.name = name
        if pid is not None:
            self.proc = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", str(self.path), "-p", str(pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wrap(self, args):
        """The command line to profile a command from its start."""
        if not PERF_DIR:
            return args
        return ["perf", "record", "-F", "499", "-g", "-o", str(self.path), "--", *args]

    def stop(self):
        if not PERF_DIR:
            return
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(60)
        for sort, extra, suffix in (("dso", ["-g", "none"], "dso"), ("symbol", ["-g", "none"], "self"),
                                    ("symbol", ["--children", "-g", "none"], "children")):
            out = subprocess.run(["perf", "report", "-i", str(self.path), "--stdio", "--sort", sort, *extra]
                                 + ([] if "--children" in extra else ["--no-children"]),
                                 capture_output=True, text=True)
            lines = [l for l in out.stdout.splitlines() if "%" in l and not l.startswith("#")]
            (Path(PERF_DIR) / f"{self.name}.{suffix}.txt").write_text("\n".join(lines[:80]) + "\n")
        log(f"profile {self.name}: {Path(PERF_DIR) / self.name}.{{dso,self,children}}.txt")


def time_v(args, stdout_path, cwd=None, stdin=None):
    """Runs a command under /usr/bin/time -v: (exit code, wall seconds, peak RSS MiB, user s, sys s)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report, open(stdout_path, "w") as out:
        started = time.monotonic()
        code = subprocess.run(["/usr/bin/time", "-v", "-o", report.name, *args], stdout=out, stderr=subprocess.STDOUT,
                              stdin=stdin, cwd=cwd).returncode
        wall = time.monotonic() - started
        text = Path(report.name).read_text()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    return code, wall, rss, user, system


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


# ---------------------------------------------------------------------------
# Server set-up

class Server:
    """`smsdesk serve` on a free loopback port, signed in as admin."""

    def __init__(self, data_dir, env=None, password=None, port=None):
        self.port = port or free_port()
        self.process = Process([smsdesk_bin(), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                                "--port", str(self.port), "--log-level", "warning"],
                               env={"SMSDESK_BCRYPT_COST": "4", **(env or {})})
        try:
            if password is None:
                password = self.process.wait_for(r"admin password: (\S+)").group(1)
            self.password = password
            self.process.wait_for(r"listening on")
            self.base = f"http://127.0.0.1:{self.port}"
            self.client = Client(self.base)
            self.client.login("admin", password)
        except BaseException:
            self.process.stop()
            raise

    @property
    def pid(self):
        return self.process.proc.pid

    def stop(self):
        self.process.stop()


def create_campaign(client, name="Bench", transactional=True):
    _, c = client.call("POST", "/api/v1/campaigns", {"name": name, "timeZone": "America/Montevideo",
                                                     "transactional": transactional}, expect=201)
    return c["campaign"]["id"]


def monitor(client, campaign_id):
    _, body = client.call("GET", "/api/v1/dialer-monitor", expect=200)
    return next(c for c in body["campaigns"] if c["campaignId"] == campaign_id)


def csv_row(i, prefix="+1555"):
    return f"Bench;{prefix}{i:07d};Hola {i}, {TEXT};1\n"


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        block = 50_000
        for start in range(0, rows, block):
            f.write("".join(csv_row(i) for i in range(start, min(rows, start + block))))


def open_db(data_dir):
    """A read-only connection to the server's database, closed at the end of a `with` block."""
    return contextlib.closing(sqlite3.connect(f"file:{Path(data_dir) / 'smsdesk.sqlite'}?mode=ro", uri=True, timeout=30))


# ---------------------------------------------------------------------------
# (a) Import

def bench_import(work, rows):
    log(f"(a) import: generating {rows:,} rows")
    csv_path = work / f"bench_{rows}.csv"
    write_csv(csv_path, rows)
    size = csv_path.stat().st_size
    result = {"rows": rows, "bytes": size}

    log("(a) sqlite3 .import into a bare table")
    bare = work / "bare.db"
    script = work / "import.sql"
    script.write_text("CREATE TABLE bare (campaign TEXT, destination TEXT, message TEXT, priority INTEGER);\n"
                      ".mode csv\n.separator ;\n"
                      f".import {csv_path} bare\n"
                      "SELECT COUNT(*) FROM bare;\n")
    wait_quiet(QUIET_WAIT)
    with open(script) as sql_in:
        code, wall, rss, user, system = time_v(["sqlite3", str(bare)], work / "sqlite3.out", stdin=sql_in)
    out = (work / "sqlite3.out").read_text().strip()
    assert code == 0 and out.splitlines()[-1] == str(rows), f"sqlite3 .import failed: {out[-2000:]}"
    result["sqlite3"] = {"wall": wall, "rss": rss, "user": user, "sys": system, "rate": rows / wall}
    log(f"(a) sqlite3: {wall:.2f} s, {rows / wall:,.0f} rows/s, peak RSS {rss:.0f} MiB")

    log("(a) smsdesk import spool (campaign created through the API first)")
    data = work / "import-data"
    server = Server(data)
    try:
        campaign_id = create_campaign(server.client)
    finally:
        server.stop()

    # A reference for the same logical work done by SQLite alone: the same file into a copy of SMSDesk's
    # database (spool with its indexes and foreign keys, one history row per message, one transaction).
    log("(a) sqlite3: the same file into SMSDesk's spool schema (reference)")
    schema_db = work / "schema-ref.db"
    subprocess.run(["sqlite3", str(data / "smsdesk.sqlite"), f".backup {schema_db}"], check=True)
    now_ms = int(time.time() * 1000)
    script = work / "import-schema.sql"
    script.write_text("PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = ON;\n"
                      "CREATE TEMP TABLE bare (campaign TEXT, destination TEXT, message TEXT, priority INTEGER);\n"
                      ".mode csv\n.separator ;\n"
                      f".import {csv_path} bare\n"
                      "BEGIN;\n"
                      "INSERT INTO spool (campaign_id, destination, message, priority, state, attempts, source, encoding, "
                      "segments, created_at, updated_at)\n"
                      f"  SELECT {campaign_id}, destination, message, priority, 'to_process', 0, 'csv', 'gsm7', 1, "
                      f"{now_ms}, {now_ms} FROM bare;\n"
                      "INSERT INTO spool_events (spool_id, at, from_state, to_state, reason, node)\n"
                      f"  SELECT id, {now_ms}, NULL, 'to_process', 'queued (csv)', NULL FROM spool;\n"
                      "COMMIT;\n"
                      "SELECT COUNT(*) FROM spool;\n")
    wait_quiet(QUIET_WAIT)
    with open(script) as sql_in:
        code, wall, rss, user, system = time_v(["sqlite3", str(schema_db)], work / "sqlite3-schema.out", stdin=sql_in)
    out = (work / "sqlite3-schema.out").read_text().strip()
    assert code == 0 and out.splitlines()[-1] == str(rows), f"sqlite3 into the spool schema failed: {out[-2000:]}"
    result["sqlite3_schema"] = {"wall": wall, "rss": rss, "user": user, "sys": system, "rate": rows / wall}
    log(f"(a) sqlite3 into the spool schema: {wall:.2f} s, {rows / wall:,.0f} rows/s")
    for p in work.glob("schema-ref.db*"):
        p.unlink()
    wait_quiet(QUIET_WAIT)
    watch = CPUWatch({})
    profile = Profile("import")
    code, wall, rss, user, system = time_v(
        profile.wrap([smsdesk_bin(), "import", "spool", str(csv_path), "--data-dir", str(data), "--log-level", "warning"]),
        work / "smsdesk-import.out")
    result["cpu"] = watch.stop()
    profile.stop()
    out = (work / "smsdesk-import.out").read_text()
    assert code == 0 and f"{rows} messages queued" in out, f"smsdesk import failed ({code}): {out[-3000:]}"
    with open_db(data) as db:
        stored = db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
        events = db.execute("SELECT COUNT(*) FROM spool_events").fetchone()[0]
    assert stored == rows, f"{stored} rows in the spool, expected {rows}"
    db_bytes = sum(p.stat().st_size for p in data.iterdir() if p.name.startswith("smsdesk.sqlite"))
    result["smsdesk"] = {"wall": wall, "rss": rss, "user": user, "sys": system, "rate": rows / wall,
                         "events": events, "db_bytes": db_bytes}
    result["bare_db_bytes"] = bare.stat().st_size
    log(f"(a) smsdesk: {wall:.2f} s, {rows / wall:,.0f} rows/s, peak RSS {rss:.0f} MiB "
        f"(user {user:.1f} s, sys {system:.1f} s)")
    csv_path.unlink()
    bare.unlink()
    shutil.rmtree(data)
    return result


# ---------------------------------------------------------------------------
# (b) Dispatch

class Nginx:
    """A local nginx answering every request with `200 OK 1`, logging `$msec $arg_to` per request."""

    def __init__(self, work):
        self.dir = work / "nginx"
        self.dir.mkdir()
        self.port = free_port()
        self.access_log = self.dir / "access.log"
        d = self.dir
        (d / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  log_format bench '$msec $arg_to';
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  server {{
    listen 127.0.0.1:{self.port};
    access_log {self.access_log} bench buffer=256k flush=1s;
    location / {{
      default_type text/plain;
      return 200 "OK 1";
    }}
  }}
}}
""")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
        self.proc = subprocess.Popen([binary, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self._ready, timeout=20, message="nginx listening")
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited: " + (self.dir / "error.log").read_text()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def pids(self):
        return [self.proc.pid, *children(self.proc.pid)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Simulator:
    def __init__(self, max_records):
        self.port = free_port()
        self.process = Process([smsdesk_bin(), "simulate", "--type", "twilio", "--port", str(self.port), "--host", "127.0.0.1",
                                "--fail-suffix", "", "--retry-suffix", "", "--undelivered-suffix", "",
                                "--username", TWILIO_SID, "--secret", "12345", "--log-level", "warning",
                                "--max-records", str(max_records)])
        try:
            self.process.wait_for(r"simulator \(.*\) listening on")
        except BaseException:
            self.process.stop()
            raise
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = Client(self.url)

    def stop(self):
        self.process.stop()


def provider_times_simulator(sim):
    """Destination -> epoch ms when the simulator received it (first time)."""
    _, record = sim.client.call("GET", "/_sim/messages", expect=200)
    times = {}
    for m in record["messages"]:
        at = datetime.datetime.strptime(m["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        times.setdefault(m["to"], at.timestamp() * 1000)
    return times, record.get("received", len(record["messages"]))


def provider_times_nginx(nginx, offset, expected):
    """Destination -> epoch ms when nginx finished answering it, from the access log after `offset`."""
    def read():
        with open(nginx.access_log, "rb") as f:
            f.seek(offset)
            return f.read().decode().splitlines()
    lines = wait_until(lambda: (lambda ls: ls if len(ls) >= expected else None)(read()), timeout=15,
                       message="nginx access log flushed")
    times = {}
    for line in lines:
        msec, _, to = line.partition(" ")
        times.setdefault(urllib.parse.unquote(to), float(msec) * 1000)
    return times, len(lines)


def batch_phases(rows, claims, owner, times):
    """Where a claim batch's time goes, on average (ms), from the database and the provider's clock:
    claim → first provider arrival (listing campaigns, the claim transaction, the DNCR check, the first
    request), first → last arrival (sending), last arrival → recording starts, recording (and the next
    claim's start) until the next batch's claim."""
    batches = {}
    for i, dest, sent_at in rows:
        b = batches.setdefault(owner[i], {"claim": claims[i], "sent_at": sent_at, "times": []})
        if dest in times:
            b["times"].append(times[dest])
    ordered = sorted((b for b in batches.values() if b["times"]), key=lambda b: b["claim"])
    sums = [0.0, 0.0, 0.0, 0.0]
    for b, following in zip(ordered, ordered[1:]):
        first, last = min(b["times"]), max(b["times"])
        for k, v in enumerate((first - b["claim"], last - first, b["sent_at"] - last, following["claim"] - b["sent_at"])):
            sums[k] += v
    n = max(1, len(ordered) - 1)
    return {"batches": len(ordered), "claim_to_first": sums[0] / n, "sending": sums[1] / n,
            "last_to_record": sums[2] / n, "record_to_next_claim": sums[3] / n}


def bench_dispatch(work, messages, target, batch, sink_url, sink_regex, sim=None, nginx=None):
    """Queues `messages` (not timed), then sends them all with a fresh server; returns the measures."""
    name = f"{target}-b{batch}"
    data = work / f"dispatch-{name}"
    log(f"(b) {name}: queuing {messages:,} messages through the API import")
    server = Server(data)
    try:
        client = server.client
        if target == "twilio":
            provider = {"name": "Sim Twilio", "type": "Twilio", "url": sim.url, "username": TWILIO_SID, "secret": "12345",
                        "sender": "+15017122661"}
        else:
            provider = {"name": "Sink", "type": "URLSMS", "url": sink_url.rstrip("/") + "/send?to={{to}}&text={{text}}",
                        "settings": {"success_regex": sink_regex} if sink_regex else {}}
        _, p = client.call("POST", "/api/v1/providers", provider, expect=201)
        campaign_id = create_campaign(client)
        _, d = client.call("POST", "/api/v1/dialers", {"name": "Bench", "providerId": p["provider"]["id"],
                                                        "campaignIds": [campaign_id]}, expect=201)
        dialer_id = d["dialer"]["id"]
        body = "".join(csv_row(i) for i in range(messages)).encode()
        status, report = client.call("POST", "/api/v1/spool/import?fileName=bench.csv", raw=body, content_type="text/csv")
        assert status == 200 and report["report"]["queued"] == messages, report
        password = server.password
    finally:
        server.stop()

    # A fresh process for the send, so that its peak memory is the dispatch's alone.
    env = {"SMSDESK_QUIET_HOURS": "off", "SMSDESK_DISPATCH_BATCH": str(batch)}
    server = Server(data, env=env, password=password)
    peer_pids = nginx.pids() if nginx else ([sim.process.proc.pid] if sim else [])
    offset = nginx.access_log.stat().st_size if nginx and nginx.access_log.exists() else 0
    if sim:
        sim.client.call("POST", "/_sim/reset", expect=200)
    result = {"target": target, "batch": batch, "messages": messages}
    try:
        client = server.client
        wait_quiet(QUIET_WAIT)
        watch = CPUWatch({"smsdesk serve": [server.pid], ("simulator" if sim else "sink"): peer_pids})
        profile = Profile(f"dispatch-{name}", server.pid)
        log(f"(b) {name}: dialer started")
        client.call("POST", f"/api/v1/dialers/{dialer_id}/start", expect=200)
        state = {}
        last = (time.monotonic(), 0)

        def done():
            nonlocal last
            state.update(monitor(client, campaign_id))
            if state["processed"] != last[1]:
                last = (time.monotonic(), state["processed"])
            elif time.monotonic() - last[0] > 90:
                raise AssertionError(f"no progress for 90 s: {state}; server output:\n" + "\n".join(server.process.lines[-20:]))
            return state["processed"] + state["other"] + state["locked"] >= messages and state["notProcessed"] == 0

        wait_until(done, timeout=max(600, messages / 50), interval=1.0, message=f"{messages} messages processed")
        result["cpu"] = watch.stop()
        profile.stop()
        result["rss"] = vm_hwm_mib(server.pid)
        result["monitor"] = {k: state[k] for k in ("processed", "notProcessed", "other", "locked", "possibleDuplicates")}
    finally:
        server.stop()
    if sim:
        result["peer_rss"] = vm_hwm_mib(sim.process.proc.pid)

    with open_db(data) as db:
        t0 = db.execute("SELECT MIN(at) FROM spool_events WHERE to_state = 'sending'").fetchone()[0]
        t1, sent = db.execute("SELECT MAX(sent_at), COUNT(*) FROM spool WHERE state IN ('sent', 'delivered')").fetchone()
        claims = dict(db.execute("SELECT spool_id, MIN(at) FROM spool_events WHERE to_state = 'sending' GROUP BY spool_id"))
        owner = dict(db.execute("SELECT spool_id, node FROM spool_events WHERE to_state = 'sending'"))
        rows = db.execute("SELECT id, destination, sent_at FROM spool WHERE sent_at IS NOT NULL").fetchall()
        result["claims_total"] = db.execute("SELECT COUNT(*) FROM spool_events WHERE to_state = 'sending'").fetchone()[0]
    result["sent"] = sent
    result["seconds"] = (t1 - t0) / 1000
    result["rate"] = sent / result["seconds"]
    recorded = sorted(sent_at - claims[i] for i, _, sent_at in rows)
    result["claim_to_recorded"] = (percentile(recorded, 50), percentile(recorded, 99))

    times, received = (provider_times_simulator(sim) if sim else
                       provider_times_nginx(nginx, offset, sent) if nginx else ({}, None))
    result["provider_received"] = received
    if times:
        latencies = sorted(times[dest] - claims[i] for i, dest, _ in rows if dest in times)
        result["claim_to_provider"] = (percentile(latencies, 50), percentile(latencies, 99))
        result["latency_source"] = "simulator record" if sim else "nginx access log"
        result["last_provider"] = max(times.values())
        result["rate_to_last_provider"] = sent / ((result["last_provider"] - t0) / 1000)
        result["phases"] = batch_phases(rows, claims, owner, times)
    shutil.rmtree(data)
    log(f"(b) {name}: {sent:,} sent in {result['seconds']:.2f} s = {result['rate']:,.0f} msg/s; "
        f"RSS {result['rss']:.0f} MiB; {describe_cpu(result['cpu'])}")
    return result


# ---------------------------------------------------------------------------
# (c) API accept rate

WRK_SCRIPT = r"""
-- POST /api/v1/messages, a different destination per request; every 202 is written down.
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  accepted = 0
  other = 0
  out = io.open(OUTDIR .. "/accepted-" .. tid .. ".txt", "w")
  out:setvbuf("line")
end
function request()
  n = n + 1
  local body = '{"campaign":"Bench","to":"' .. PREFIX .. tid .. string.format("%06d", n) .. '","text":"Hola"}'
  return wrk.format("POST", "/api/v1/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. KEY}, body)
end
function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
    local to = string.match(body, '"to"%s*:%s*"(%+%d+)"')
    out:write((to or "?") .. "\n")
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    o = o + t:get("other")
  end
  io.write(string.format("BENCH accepted=%d other=%d\n", a, o))
end
"""


def run_wrk(script, url, seconds, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def wrk_latency(text, p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def bench_api(work, seconds, connections):
    data = work / "api-data"
    data.mkdir()
    log("(c) API: creating an API key with the CLI")
    out = subprocess.run([smsdesk_bin(), "apikey", "create", "bench", "--data-dir", str(data), "--log-level", "warning"],
                         capture_output=True, text=True, env={**os.environ, "SMSDESK_BCRYPT_COST": "4"})
    assert out.returncode == 0, out.stdout + out.stderr
    key = re.search(r"^key: (\S+)", out.stdout, re.M).group(1)
    server = Server(data)
    result = {"connections": connections, "seconds": seconds}
    try:
        create_campaign(server.client, transactional=False)
        outdir = work / "wrk"
        outdir.mkdir()

        def script(prefix, directory):
            path = work / f"post-{prefix.strip('+')}.lua"
            path.write_text(f'KEY = "{key}"\nPREFIX = "{prefix}"\nOUTDIR = "{directory}"\n' + WRK_SCRIPT)
            return path

        warm = work / "wrk-warmup"
        warm.mkdir()
        log("(c) API: 3 s warm-up")
        run_wrk(script("+1557", warm), server.base, 3, connections)
        wait_quiet(QUIET_WAIT)
        watch = CPUWatch({"smsdesk serve": [server.pid]})
        profile = Profile("api", server.pid)
        log(f"(c) API: wrk -t2 -c{connections} -d{seconds}s")
        text = run_wrk(script("+1556", outdir), server.base, seconds, connections)
        result["cpu"] = watch.stop()
        profile.stop()
        result["rss"] = vm_hwm_mib(server.pid)
        # The answers are in: kill the server without warning, then look at what is on disk.
        server.process.kill()
    finally:
        server.stop()
    result["wrk"] = text
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    result["duration"] = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    result["requests"] = int(m.group(1))
    counts = re.search(r"BENCH accepted=(\d+) other=(\d+)", text)
    result["accepted"], result["other"] = int(counts.group(1)), int(counts.group(2))
    result["rate"] = result["accepted"] / result["duration"]
    result["p50"], result["p99"] = wrk_latency(text, 50), wrk_latency(text, 99)
    accepted = set()
    for f in outdir.glob("accepted-*.txt"):
        accepted |= set(f.read_text().split())
    db = sqlite3.connect(str(data / "smsdesk.sqlite"), timeout=30)  # read-write: recovers the WAL left by the kill
    try:
        stored = {row[0] for row in db.execute("SELECT destination FROM spool WHERE destination LIKE '+1556%'")}
        events = db.execute("SELECT COUNT(*) FROM spool_events e JOIN spool s ON s.id = e.spool_id "
                            "WHERE s.destination LIKE '+1556%'").fetchone()[0]
    finally:
        db.close()
    result["accepted_logged"] = len(accepted)
    result["stored"] = len(stored)
    result["missing"] = len(accepted - stored)
    result["extra"] = len(stored - accepted)
    result["events"] = events
    shutil.rmtree(data)
    log(f"(c) API: {result['accepted']:,} accepted in {result['duration']:.2f} s = {result['rate']:,.0f}/s; "
        f"stored {result['stored']:,}, missing {result['missing']}, stored but unanswered {result['extra']}; "
        f"{describe_cpu(result['cpu'])}")
    return result


# ---------------------------------------------------------------------------
# (d) Crash test

def run_crash_test(messages):
    wait_quiet(QUIET_WAIT)
    log(f"(d) crash test with {messages:,} messages")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SMSDESK_CRASH_MESSAGES": str(messages), "SMSDESK_BIN": smsdesk_bin()}
    started = time.monotonic()
    out = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                          "Tests/system/test_crash_recovery.py"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=1800)
    wall = time.monotonic() - started
    text = out.stdout + out.stderr
    line = next((l.strip() for l in text.splitlines() if l.startswith("crash test:")), None)
    summary = next((l.strip(" =") for l in reversed(text.splitlines()) if re.search(r"\d+ (passed|failed|error)", l)), None)
    log(f"(d) crash test: exit {out.returncode}: {line}; {summary}")
    return {"code": out.returncode, "line": line, "summary": summary, "wall": wall,
            "tail": "\n".join(text.splitlines()[-30:]) if out.returncode else ""}


# ---------------------------------------------------------------------------
# (e) Inbound → agent latency
#
# Clients write to a campaign's number through a Twilio provider's inbound webhook (form POST signed
# with X-Twilio-Signature, as Twilio sends it), and agents follow their conversations over the live
# WebSocket, as the inbox page does. Everything is asyncio in this process: a paced HTTP/1.1 keep-alive
# sender over a few connections, and a minimal WebSocket client per agent (RFC 6455: the handshake,
# unmasked server frames, masked client frames). The latency of a message is from just before its
# POST is written to the socket until the event carrying its text has been read from the agent's
# socket, both on time.monotonic() (CLOCK_MONOTONIC).

INBOUND_DID = "+15017122661"
INBOUND_TOKEN = re.compile(r"#(\d+):")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def twilio_signature(url, params, auth_token):
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by name))."""
    signed = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def twilio_inbound_request(host, path, url, auth_token, sender, text, sid):
    """The bytes of one inbound-SMS webhook as Twilio posts it (its usual parameter set and order)."""
    params = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("ToCity", "SAN BRUNO"),
              ("FromZip", "94030"), ("SmsSid", sid), ("FromState", "CA"), ("SmsStatus", "received"),
              ("FromCity", "SAN BRUNO"), ("Body", text), ("FromCountry", "US"), ("To", INBOUND_DID), ("ToZip", "94030"),
              ("NumSegments", "1"), ("ReferralNumMedia", "0"), ("MessageSid", sid), ("AccountSid", TWILIO_SID),
              ("From", sender), ("ApiVersion", "2010-04-01")]
    body = urllib.parse.urlencode(params).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {twilio_signature(url, params, auth_token)}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def read_http_response(reader):
    """(status, body) of one HTTP/1.1 response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            body += (await reader.readexactly(size + 2))[:-2]
    else:
        body = b""
    return status, body


class WebSocketClient:
    """The client side of RFC 6455, enough for the live socket: text frames in, ping → pong, masked frames out."""

    def __init__(self):
        self.reader = self.writer = None
        self.closed = None  # (code, reason) once the server closed it

    async def connect(self, port, path, cookie):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nCookie: {cookie}\r\n\r\n").encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        assert head.split(" ", 2)[1] == "101", f"WebSocket upgrade refused: {head!r}"
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        assert f"sec-websocket-accept: {accept.lower()}" in head.lower(), f"bad Sec-WebSocket-Accept: {head!r}"

    def send(self, opcode, payload=b""):
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else
                                           bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else
                                           bytes([0x80 | 127]) + n.to_bytes(8, "big"))
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big") if n else b""
        self.writer.write(header + mask + masked)

    async def receive(self):
        """The next text message as (bytes, monotonic time its last byte was read), or None once closed."""
        message = b""
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            if b1 & 0x80:  # a server must not mask; tolerate it
                mask = await self.reader.readexactly(4)
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(await self.reader.readexactly(n)))
            else:
                data = await self.reader.readexactly(n) if n else b""
            at = time.monotonic()
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self.send(0xA, data)
            elif opcode == 0x8:  # close
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                self.closed = (code, data[2:].decode(errors="replace"))
                with contextlib.suppress(Exception):
                    self.send(0x8, data[:2])
                return None
            elif opcode in (0x1, 0x2, 0x0):
                message += data
                if b0 & 0x80:
                    return message, at

    def close(self):
        if self.writer:
            with contextlib.suppress(Exception):
                self.send(0x8, (1000).to_bytes(2, "big"))
            self.writer.close()


class InboundRun:
    """The state of one (e) run: the agents' sockets, the offers they accept, and per message the times."""

    def __init__(self, port, agents, total):
        self.port = port
        self.agents = agents  # [{"id", "cookie", "csrf", "username"}]
        self.sent = [None] * total  # monotonic time just before the POST was written
        self.answered = [None] * total  # monotonic time the answer was read
        self.status = [None] * total
        self.received = [None] * total  # first arrival on an agent's socket
        self.receiver = [None] * total  # which agent's socket
        self.deliveries = 0
        self.duplicates = 0
        self.holder = {}  # client number → agent id holding its conversation
        self.wrong_agent = 0
        self.accepted = 0
        self.accept_failed = []
        self.offered_at = {}  # client number → monotonic time the offer reached the agent
        self.warm_sent = {}  # client number → monotonic time of its first message
        self.sockets_closed = []
        self.other_events = {}
        self.lag = []  # event-loop oversleep samples, ms
        self.tasks = []

    async def accept(self, agent, conversation_id, http):
        lock, conn = http
        async with lock:
            if conn[0] is None:
                conn[0] = await asyncio.open_connection("127.0.0.1", self.port)
            reader, writer = conn[0]
            writer.write((f"POST /api/v1/conversations/{conversation_id}/accept HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          f"Cookie: {agent['cookie']}\r\nX-CSRF-Token: {agent['csrf']}\r\nContent-Length: 0\r\n\r\n").encode())
            status, body = await read_http_response(reader)
        if status == 200:
            conversation = json.loads(body)["conversation"]
            self.holder[conversation["clientNumber"]] = agent["id"]
            self.accepted += 1
        else:
            self.accept_failed.append((status, body[:200]))

    async def follow(self, agent, ws):
        """Reads one agent's socket until it closes: accepts offers, times the messages."""
        http = (asyncio.Lock(), [None])
        try:
            while True:
                item = await ws.receive()
                if item is None:
                    self.sockets_closed.append((agent["username"], ws.closed))
                    return
                text, at = item
                event = json.loads(text)
                if event.get("type") != "event":
                    continue
                topic, data = event["topic"], event["data"]
                if topic == "conversation.message":
                    message = data["message"]
                    m = INBOUND_TOKEN.search(message["text"]) if message["direction"] == "in" else None
                    if m:
                        n = int(m.group(1))
                        self.deliveries += 1
                        if self.received[n] is None:
                            self.received[n] = at
                            self.receiver[n] = agent["id"]
                            if self.holder.get(message["clientNumber"]) != agent["id"]:
                                self.wrong_agent += 1
                        else:
                            self.duplicates += 1
                        continue
                elif topic == "conversation.offered":
                    conversation = data["conversation"]
                    if any(o["userId"] == agent["id"] for o in conversation["offers"]):
                        self.offered_at.setdefault(conversation["clientNumber"], at)
                        self.tasks.append(asyncio.ensure_future(self.accept(agent, conversation["id"], http)))
                        continue
                self.other_events[topic] = self.other_events.get(topic, 0) + 1
        finally:
            if http[1][0]:
                http[1][0][1].close()

    async def watch_loop(self, stop):
        """Samples how late the event loop wakes up (5 ms sleeps): the client's own share of the latency."""
        while not stop.is_set():
            t = time.monotonic()
            await asyncio.sleep(0.005)
            self.lag.append((time.monotonic() - t - 0.005) * 1000)


async def send_paced(port, requests, rate, connections, on_sent, on_answer, max_connections=256):
    """Posts `requests` (bytes) at `rate` per second over keep-alive connections, open loop: it starts with
    `connections` and opens another one (up to `max_connections`) whenever a request is due and every
    connection is waiting for an answer, as a provider's webhook sender does. Returns (first write, last
    write, how late each write was on its schedule in ms, connections used)."""
    queue = asyncio.Queue()
    lateness = []
    writes = []
    idle = [0]  # connections free for the next request, counting those still opening

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                item = await queue.get()
                idle[0] -= 1
                if item is None:
                    return
                i, due = item
                t = time.monotonic()
                writer.write(requests[i])
                on_sent(i, t)
                lateness.append((t - due) * 1000)
                writes.append(t)
                status, _ = await read_http_response(reader)
                on_answer(i, time.monotonic(), status)
                idle[0] += 1
        finally:
            writer.close()

    def spawn():
        idle[0] += 1
        workers.append(asyncio.ensure_future(worker()))

    workers = []
    for _ in range(connections):
        spawn()
    await asyncio.sleep(0.1)  # connections open
    start = time.monotonic() + 0.05
    for i in range(len(requests)):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if idle[0] <= queue.qsize() and len(workers) < max_connections:
            spawn()
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return min(writes), max(writes), lateness, len(workers)


def webhook_histogram(client):
    """The server's own latency histogram of the webhook route from GET /metrics: {le: count}, sum, count."""
    _, text = client.call("GET", "/metrics", expect=200)
    buckets, total, count = {}, 0.0, 0
    for line in text.splitlines():
        if "/webhooks/" not in line or not line.startswith("smsdesk_http_request_duration_seconds"):
            continue
        value = float(line.rsplit(" ", 1)[1])
        m = re.search(r'le="([^"]+)"', line)
        if m:
            buckets[m.group(1)] = buckets.get(m.group(1), 0) + value
        elif "_sum" in line.split("{")[0]:
            total += value
        elif "_count" in line.split("{")[0]:
            count += int(value)
    return buckets, total, count


def bench_inbound(work, rate, seconds, agent_count, client_count, connections, grace=10.0, csv_path=None):
    data = work / "inbound-data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth_token = "bench-twilio-auth-token-0123456789"
    cap = max(1, math.ceil(client_count / agent_count))
    total = rate * seconds
    result = {"rate": rate, "seconds": seconds, "agents": agent_count, "clients": client_count, "cap": cap,
              "connections": connections, "strategy": "balanced", "grace": grace}
    log(f"(e) inbound: {agent_count} agents, {client_count} clients, {rate}/s for {seconds} s, cap {cap}")
    server = Server(data, port=port, env={"SMSDESK_PUBLIC_URL": base})
    try:
        admin = server.client
        _, p = admin.call("POST", "/api/v1/providers", {
            "name": "Twilio", "type": "Twilio", "url": "http://127.0.0.1:9", "username": TWILIO_SID, "secret": auth_token,
            "sender": INBOUND_DID}, expect=201)
        provider_id = p["provider"]["id"]
        webhook_url = p["provider"]["webhookURL"]
        assert webhook_url and webhook_url.startswith(base + "/webhooks/"), webhook_url
        webhook_path = urllib.parse.urlsplit(webhook_url).path
        _, c = admin.call("POST", "/api/v1/campaigns", {
            "name": "Soporte", "timeZone": "America/Montevideo", "strategy": "balanced", "maxInteractionsPerAgent": cap,
            "dids": [INBOUND_DID], "providerId": provider_id}, expect=201)
        campaign_id = c["campaign"]["id"]
        agents = []
        for k in range(agent_count):
            _, u = admin.call("POST", "/api/v1/users", {"username": f"agent{k:03d}", "role": "agent",
                                                        "displayName": f"Agent {k}"}, expect=201)
            agents.append({"id": u["user"]["id"], "username": f"agent{k:03d}", "password": u["password"]})
        admin.call("PUT", f"/api/v1/campaigns/{campaign_id}/members",
                   {"members": [{"userId": a["id"]} for a in agents]}, expect=200)
        for a in agents:
            client = Client(base)
            client.login(a["username"], a["password"])
            client.call("PUT", "/api/v1/agent/status", {"status": "available"}, expect=200)
            jar = next(h for h in client.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)).cookiejar
            a["cookie"] = "; ".join(f"{c.name}={c.value}" for c in jar)
            a["csrf"] = client.csrf

        clients = [f"+1555{7000000 + k:07d}" for k in range(client_count)]
        host = f"127.0.0.1:{port}"
        log("(e) preparing the signed webhook requests")
        warm = [twilio_inbound_request(host, webhook_path, webhook_url, auth_token, clients[k],
                                       f"Hola, necesito ayuda con mi pedido (cliente {k})", f"SMw{k:031x}")
                for k in range(client_count)]
        requests = [twilio_inbound_request(host, webhook_path, webhook_url, auth_token, clients[n % client_count],
                                           f"Consulta #{n}: sigo esperando mi pedido, me pueden ayudar? Gracias",
                                           f"SM{n:032x}")
                    for n in range(total)]
        run = InboundRun(port, agents, total)

        async def main():
            loop = asyncio.get_running_loop()
            sockets = []
            for a in agents:
                ws = WebSocketClient()
                await ws.connect(port, "/api/v1/live", a["cookie"])
                hello = await ws.receive()
                assert hello and json.loads(hello[0])["type"] == "hello", hello
                sockets.append(ws)
            followers = [asyncio.ensure_future(run.follow(a, ws)) for a, ws in zip(agents, sockets)]
            try:
                # Warm-up: each client's first message opens its conversation, offered to one agent, who accepts it.
                log(f"(e) warm-up: the first message of each of the {client_count} clients; agents accept the offers")
                warm_status = []
                t_warm = time.monotonic()
                _, _, _, warm_connections = await send_paced(port, warm, rate, connections,
                                 lambda i, t: run.warm_sent.__setitem__(clients[i], t),
                                 lambda i, t, s: warm_status.append(s))
                assert all(s == 200 for s in warm_status), f"warm-up webhook answers: {sorted(set(warm_status))}"
                deadline = time.monotonic() + 60
                while run.accepted + len(run.accept_failed) < client_count and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                result["warmup"] = {"seconds": time.monotonic() - t_warm, "accepted": run.accepted,
                                    "accept_failed": run.accept_failed[:5], "offers": len(run.offered_at)}
                offer_latency = sorted((run.offered_at[n] - run.warm_sent[n]) * 1000 for n in run.offered_at if n in run.warm_sent)
                result["warmup"]["offer_latency"] = (percentile(offer_latency, 50), percentile(offer_latency, 99))
                assert run.accepted == client_count, (f"only {run.accepted} of {client_count} conversations accepted: "
                                                      f"{run.accept_failed[:5]}")
                log(f"(e) warm-up done: {run.accepted} conversations accepted; waiting for a quiet machine")
                await loop.run_in_executor(None, wait_quiet, QUIET_WAIT)

                log(f"(e) measuring: {total:,} messages at {rate}/s, open loop ({connections} connections at first)")
                stop = asyncio.Event()
                watcher = asyncio.ensure_future(run.watch_loop(stop))
                gc.collect()
                gc.freeze()
                before = await loop.run_in_executor(None, webhook_histogram, admin)
                watch = CPUWatch({"smsdesk serve": [server.pid]})
                profile = Profile("inbound", server.pid)
                try:
                    first, last, lateness, used = await send_paced(
                        port, requests, rate, connections,
                        lambda i, t: run.sent.__setitem__(i, t),
                        lambda i, t, s: (run.answered.__setitem__(i, t), run.status.__setitem__(i, s)))
                    result["cpu"] = watch.stop()
                    result["send"] = {"first": first, "last": last, "lateness": sorted(lateness)}
                    result["connections_used"] = used
                    # Deliveries still on their way: wait up to `grace` seconds after the last send.
                    deadline = time.monotonic() + grace
                    while time.monotonic() < deadline:
                        if all(run.received[n] is not None for n in range(total) if run.status[n] == 200):
                            break
                        await asyncio.sleep(0.05)
                    result["drained_after"] = time.monotonic() - last
                    after = await loop.run_in_executor(None, webhook_histogram, admin)
                    count = after[2] - before[2]
                    result["server_handler"] = {
                        "count": count, "mean": (after[1] - before[1]) / max(1, count) * 1000,
                        "within": {le: (after[0][le] - before[0].get(le, 0)) / max(1, count)
                                   for le in ("0.005", "0.01", "0.025", "0.05", "0.1") if le in after[0]}}
                finally:
                    stop.set()
                    await watcher
                    gc.unfreeze()
                    # `perf report` takes seconds: off the event loop, which still answers the server's pings.
                    await loop.run_in_executor(None, profile.stop)
            finally:
                for ws in sockets:
                    ws.close()
                for f in followers:
                    f.cancel()
                await asyncio.gather(*followers, *run.tasks, return_exceptions=True)

        asyncio.run(main())
        result["rss"] = vm_hwm_mib(server.pid)
    finally:
        server.stop()

    with open_db(data) as db:
        result["stored_in"] = db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'in'").fetchone()[0]
        result["conversations"] = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
        result["live_events"] = db.execute("SELECT COUNT(*) FROM live_events").fetchone()[0]
    shutil.rmtree(data)

    sent = [t for t in run.sent if t is not None]
    ok = [n for n in range(total) if run.status[n] == 200]
    delivered = [n for n in ok if run.received[n] is not None]
    latencies = sorted((run.received[n] - run.sent[n]) * 1000 for n in delivered)
    answers = sorted((run.answered[n] - run.sent[n]) * 1000 for n in range(total) if run.answered[n] is not None)
    send = result["send"]
    result.update({
        "total": total, "sent": len(sent), "answered_200": len(ok),
        "answered_other": sum(1 for s in run.status if s is not None and s != 200),
        "unanswered": sum(1 for n in range(total) if run.sent[n] is not None and run.status[n] is None),
        "delivered": len(delivered), "lost": len(ok) - len(delivered), "duplicates": run.duplicates,
        "wrong_agent": run.wrong_agent, "sockets_closed": run.sockets_closed, "other_events": run.other_events,
        "achieved_rate": (len(sent) - 1) / (send["last"] - send["first"]) if send["last"] > send["first"] else 0.0,
        "latency": {p: percentile(latencies, p) for p in (50, 95, 99, 99.9)} | {"max": latencies[-1] if latencies else float("nan")},
        "answer": {p: percentile(answers, p) for p in (50, 99)} | {"max": answers[-1] if answers else float("nan")},
        "lateness": {p: percentile(send["lateness"], p) for p in (50, 99)} | {"max": send["lateness"][-1]},
        "loop_lag": {p: percentile(sorted(run.lag), p) for p in (50, 99)} | {"max": max(run.lag, default=float("nan"))},
        "over_target": sum(1 for v in latencies if v >= 50),
    })
    # p50 / p99 per 10 s of sending: does the latency drift as the conversations grow?
    windows = {}
    for n in delivered:
        windows.setdefault(int((run.sent[n] - send["first"]) // 10), []).append((run.received[n] - run.sent[n]) * 1000)
    result["windows"] = [(percentile(sorted(v), 50), percentile(sorted(v), 99)) for _, v in sorted(windows.items())]
    if csv_path:
        # One row per message, for looking at stalls: seconds since the first send, latencies in ms (empty: none).
        with open(csv_path, "w") as f:
            f.write("n,client,sent_s,answer_ms,status,delivered_ms,agent\n")
            for n in range(total):
                if run.sent[n] is None:
                    continue
                answer = f"{(run.answered[n] - run.sent[n]) * 1000:.3f}" if run.answered[n] is not None else ""
                got = f"{(run.received[n] - run.sent[n]) * 1000:.3f}" if run.received[n] is not None else ""
                f.write(f"{n},{clients[n % client_count]},{run.sent[n] - send['first']:.4f},{answer},{run.status[n] or ''},"
                        f"{got},{run.receiver[n] or ''}\n")
    del result["send"]
    lat = result["latency"]
    log(f"(e) inbound: {result['delivered']:,} of {result['answered_200']:,} delivered, lost {result['lost']}; "
        f"latency p50 {lat[50]:.1f} ms, p99 {lat[99]:.1f} ms, max {lat['max']:.1f} ms; "
        f"webhook answer p50 {result['answer'][50]:.1f} ms, p99 {result['answer'][99]:.1f} ms; "
        f"{result['achieved_rate']:.1f} msg/s sent; {describe_cpu(result['cpu'], own='bench client')}")
    return result


# ---------------------------------------------------------------------------
# (f) Conversation search

SEARCH_PATH = "/api/v1/search/conversations"


def bench_search(work, messages, runs):
    """A year of history (`search_bench.fill`) in a migrated database, then the release server answering
    searches over HTTP: the typical query `runs` times, and other shapes for reference."""
    data = work / "search-data"
    subprocess.run([smsdesk_bin(), "migrate", "--data-dir", str(data), "--log-level", "warning"], check=True, capture_output=True)
    passwords = {}
    for name, role in (("admin", "admin"), ("sara", "supervisor")):
        out = subprocess.run([smsdesk_bin(), "user", "add", name, "--role", role, "--data-dir", str(data)],
                             check=True, capture_output=True, text=True, env={**os.environ, "SMSDESK_BCRYPT_COST": "4"})
        passwords[name] = re.search(r"password:\s*(\S+)", out.stdout + out.stderr).group(1)
    log(f"(f) search: writing {messages:,} messages")
    started = time.monotonic()
    seeded = search_bench.fill(str(data / "smsdesk.sqlite"), messages, log=log)
    fill_seconds = time.monotonic() - started
    db_bytes = sum(p.stat().st_size for p in data.iterdir() if p.name.startswith("smsdesk.sqlite"))
    log(f"(f) search: {seeded['messages']:,} messages in {seeded['conversations']:,} conversations, {fill_seconds:.1f} s, "
        f"{db_bytes / 1e6:.0f} MB")
    server = Server(data, password=passwords["admin"])
    try:
        admin = server.client
        _, users = admin.call("GET", "/api/v1/users", expect=200)
        sara_id = next(u["id"] for u in users["users"] if u["username"] == "sara")
        supervised = seeded["campaigns"][:3]
        for cid in supervised:
            admin.call("PUT", f"/api/v1/campaigns/{cid}/supervisors", {"supervisorIds": [sara_id]}, expect=200)
        sara = Client(server.base)
        sara.login("sara", passwords["sara"])
        shapes = [  # (key, client, path, queries)
            ("typical", admin, SEARCH_PATH, search_bench.typical_queries(seeded, runs)),
            ("supervisor", sara, SEARCH_PATH,
             search_bench.typical_queries(seeded, runs, seed=8, campaigns=set(supervised), with_campaign=False)),
            ("all_campaigns", admin, SEARCH_PATH, search_bench.typical_queries(seeded, runs, seed=9, with_campaign=False)),
            ("no_dates", admin, SEARCH_PATH, search_bench.typical_queries(seeded, runs, seed=10, with_dates=False)),
            ("full_page", admin, SEARCH_PATH, search_bench.typical_queries(seeded, runs, seed=12, digits=0)),
            ("csv", admin, SEARCH_PATH + ".csv", search_bench.typical_queries(seeded, runs, seed=11)),
        ]
        search_bench.time_queries(admin, SEARCH_PATH, search_bench.typical_queries(seeded, 10, seed=1))  # warm-up
        result = {"messages": seeded["messages"], "conversations": seeded["conversations"],
                  "campaigns": len(seeded["campaigns"]), "fill_seconds": fill_seconds, "db_bytes": db_bytes,
                  "plan": search_bench.typical_plan(str(data / "smsdesk.sqlite"), seeded),
                  "example": shapes[0][3][0], "load_before": os.getloadavg()}
        for key, client, path, queries in shapes:
            result["quiet_before"] = wait_quiet(QUIET_WAIT) if key == "typical" else result.get("quiet_before")
            watch = CPUWatch({"smsdesk serve": [server.pid]})
            times, counts = search_bench.time_queries(client, path, queries)
            result[key] = {**search_bench.summary(times, counts), "cpu": watch.stop(), "load": os.getloadavg()}
            r = result[key]
            log(f"(f) {key}: median {r['median']:.1f} ms, p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms, "
                f"{r['results']:.1f} results on average")
        result["rss"] = vm_hwm_mib(server.pid)
    finally:
        server.stop()
    shutil.rmtree(data, ignore_errors=True)
    return result


def search_table_rows(f, target_ms):
    """Rows of the table for section (f)."""
    t = f["typical"]
    rows = [(f"(f) search, 1 campaign + 1 week + part of a number, {f['messages']:,} messages: median",
             f"{t['median']:.1f} ms", f"< {target_ms} ms", f"{target_ms / t['median']:.1f}" if t["median"] > 0 else ""),
            ("(f)   p95 / max (typical query)", f"{t['p95']:.1f} / {t['max']:.1f} ms", f"< {target_ms} ms",
             f"{target_ms / t['p95']:.1f}" if t["p95"] > 0 else "")]
    for key, label in (("supervisor", "supervisor of 3 campaigns, 1 week + number"),
                       ("all_campaigns", "admin, every campaign, 1 week + number"),
                       ("no_dates", "1 campaign + number, no dates"),
                       ("full_page", "1 campaign + 1 week, no number (a full page of 50)"),
                       ("csv", "CSV export of the typical query (whole body)")):
        r = f[key]
        rows.append((f"(f)   {label}: median / p95", f"{r['median']:.1f} / {r['p95']:.1f} ms", "", ""))
    return rows


def search_details(f):
    """The details paragraph of section (f)."""
    t, cpu = f["typical"], f["typical"]["cpu"]
    plan = "; ".join(f["plan"])
    return (f"- (f) data: {f['messages']:,} messages in {f['conversations']:,} conversations of {f['campaigns']} campaigns "
            f"over the year before the run (1-9 messages each, clients +5989xxxxxxx, outgoing ones with their spool rows), "
            f"written by `Benchmarks/search_bench.py` into a database `smsdesk migrate` created in {f['fill_seconds']:.0f} s "
            f"({f['db_bytes'] / 1e6:.0f} MB). Each of {t['runs']} runs asks `GET {SEARCH_PATH}` for a different campaign, "
            f"week and six digits of a number that wrote that week, e.g. `{urllib.parse.urlencode(f['example'])}`, as admin, "
            f"over one keep-alive-less HTTP connection per request, timed until the whole answer is read; "
            f"{t['results']:.1f} conversations per answer on average. SQLite plan of the statement: {plan}. "
            f"The supervisor's scope (3 campaigns, no campaign filter): {f['supervisor']['results']:.1f} results on average; "
            f"without a number: {f['full_page']['results']:.1f} per page; CSV: {f['csv']['results']:.1f} rows per export. Load average before the runs "
            f"{' / '.join(f'{x:.2f}' for x in f['load_before'])}, machine {f['quiet_before'] * 100:.0f}% busy just before the "
            f"typical runs; during them {describe_cpu(cpu, own='bench client')}; peak RSS smsdesk serve {f['rss']:.0f} MiB.")


# ---------------------------------------------------------------------------
# Report

def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))

    def version(args):
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=60)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    commit = version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.rstrip("\n")
    # Only what goes into the binary counts (a changed doc or benchmark script does not).
    changed = [line[3:] for line in dirty.splitlines()
               if line[3:].startswith(("Sources/", "Package.swift", "Package.resolved"))]
    dirty = "\n".join(changed)
    return {
        "changed": changed,
        "nproc": os.cpu_count(), "cpu": cpu, "memory": f"{mem / 1024 / 1024:.1f} GiB", "kernel": platform.release(),
        "swift": version(["swift", "--version"]), "sqlite3": version(["sqlite3", "--version"]).split()[0],
        "wrk": version(["wrk", "--version"]).split(" [")[0],
        "smsdesk": version([smsdesk_bin(), "--version"]),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        # Others build in this checkout too: when the measured binary was linked tells which sources it has.
        "binary_built": datetime.datetime.fromtimestamp(Path(smsdesk_bin()).stat().st_mtime, datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def fmt_int(v):
    return f"{v:,.0f}"


def build_table(results, targets):
    rows = []  # (metric, value, target, ratio)

    def add(metric, value, target=None, ratio=None):
        rows.append((metric, value, target or "", ratio or ""))

    a = results.get("import")
    if a:
        s, q = a["smsdesk"], a["sqlite3"]
        add(f"(a) import {a['rows']:,} rows: smsdesk import spool", f"{fmt_int(s['rate'])} rows/s ({s['wall']:.1f} s)",
            f"{targets['import']:,} rows/s", f"{s['rate'] / targets['import']:.2f}")
        add("(a) import: sqlite3 .import, bare table", f"{fmt_int(q['rate'])} rows/s ({q['wall']:.1f} s)")
        if "sqlite3_schema" in a:
            r = a["sqlite3_schema"]
            add("(a) import: sqlite3, same rows into the spool schema + history (reference)",
                f"{fmt_int(r['rate'])} rows/s ({r['wall']:.1f} s) = {r['rate'] / q['rate']:.2f}× bare")
        add("(a) import: smsdesk / sqlite3 bare", f"{s['rate'] / q['rate']:.3f}", "0.75", f"{s['rate'] / q['rate'] / 0.75:.2f}")
        if "sqlite3_schema" in a:
            r = a["sqlite3_schema"]
            add("(a) import: smsdesk / sqlite3 into the same schema", f"{s['rate'] / r['rate']:.3f}", "0.75",
                f"{s['rate'] / r['rate'] / 0.75:.2f}")
        add("(a) import: peak RSS smsdesk / sqlite3", f"{s['rss']:.0f} MiB / {q['rss']:.0f} MiB")
    for b in results.get("dispatch", []):
        label = {"twilio": "smsdesk simulate --type twilio", "urlsms": "URLSMS → " + b.get("sink_name", "sink")}[b["target"]]
        is_sink = b["target"] == "urlsms"
        add(f"(b) dispatch {b['messages']:,}, batch {b['batch']}: {label}", f"{fmt_int(b['rate'])} msg/s ({b['seconds']:.1f} s)",
            f"{targets['dispatch']:,} msg/s" if is_sink else "", f"{b['rate'] / targets['dispatch']:.2f}" if is_sink else "")
        if "claim_to_provider" in b:
            p50, p99 = b["claim_to_provider"]
            add(f"(b)   send latency p50 / p99 (claim → provider, {b['latency_source']})", f"{p50:.0f} ms / {p99:.0f} ms")
        r50, r99 = b["claim_to_recorded"]
        add("(b)   claim → recorded sent p50 / p99", f"{r50:.0f} ms / {r99:.0f} ms")
        add("(b)   peak RSS smsdesk serve", f"{b['rss']:.0f} MiB")
    c = results.get("api")
    if c:
        add(f"(c) POST /api/v1/messages, {c['connections']} connections", f"{fmt_int(c['rate'])} accepted/s",
            f"{targets['api']:,} req/s", f"{c['rate'] / targets['api']:.2f}")
        add("(c)   latency p50 / p99 (wrk)", f"{c['p50']:.2f} ms / {c['p99']:.2f} ms")
        add("(c)   202 answers / stored after SIGKILL / missing",
            f"{c['accepted']:,} / {c['stored']:,} / {c['missing']}", "0 missing",
            "ok" if c["missing"] == 0 and c["accepted_logged"] == c["accepted"] else "FAIL")
        add("(c)   peak RSS smsdesk serve", f"{c['rss']:.0f} MiB")
    d = results.get("crash")
    if d:
        add(f"(d) crash test ({d['messages']:,} messages)", (d["line"] or "no result line") + f"; {d['summary']}",
            "passes", "ok" if d["code"] == 0 else "FAIL")
    e = results.get("inbound")
    if e:
        lat, target = e["latency"], targets["inbound_p99_ms"]
        add(f"(e) inbound → agent WebSocket, {e['rate']}/s for {e['seconds']} s, {e['agents']} agents, {e['clients']} clients: p99",
            f"{lat[99]:.1f} ms", f"< {target} ms", f"{target / lat[99]:.2f}" if lat[99] > 0 else "")
        add("(e)   latency p50 / p95 / p99 / max", f"{lat[50]:.1f} / {lat[95]:.1f} / {lat[99]:.1f} / {lat['max']:.1f} ms")
        add("(e)   messages delivered / lost (on no agent's socket 10 s after the last send)",
            f"{e['delivered']:,} / {e['lost']}", "0 lost", "ok" if e["lost"] == 0 else "FAIL")
        add("(e)   webhook answer p50 / p99 (200 TwiML)", f"{e['answer'][50]:.1f} ms / {e['answer'][99]:.1f} ms")
        add("(e)   send rate achieved", f"{e['achieved_rate']:.1f} msg/s ({e['sent']:,} sent)", f"{e['rate']} msg/s",
            f"{e['achieved_rate'] / e['rate']:.2f}")
        cpu = e["cpu"]
        add("(e)   CPU: smsdesk serve / bench client / other processes",
            f"{cpu['cpu']['smsdesk serve'] / cpu['wall']:.2f} / {cpu['own'] / cpu['wall']:.2f} / "
            f"{cpu['others'] / cpu['wall']:.2f} cores")
        add("(e)   peak RSS smsdesk serve", f"{e['rss']:.0f} MiB")
    if results.get("search"):
        rows += search_table_rows(results["search"], targets["search_ms"])
    return rows


def render_text(rows):
    headers = ("metric", "value", "target", "ratio")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def render_markdown(rows):
    out = ["| metric | value | target | ratio |", "|---|---|---|---|"]
    out += ["| " + " | ".join(v.replace("|", "\\|") for v in r) + " |" for r in rows]
    return "\n".join(out)


def details(results):
    out = []
    a = results.get("import")
    if a:
        s, q = a["smsdesk"], a["sqlite3"]
        out.append(f"- (a) file: {a['rows']:,} rows, {a['bytes'] / 1e6:.1f} MB ({a['bytes'] / a['rows']:.0f} bytes/row). "
                   f"sqlite3: user {q['user']:.1f} s, sys {q['sys']:.1f} s, database {a['bare_db_bytes'] / 1e6:.0f} MB. "
                   f"smsdesk: user {s['user']:.1f} s, sys {s['sys']:.1f} s, {s['events']:,} history rows written next to "
                   f"the {a['rows']:,} spool rows, database + WAL {s['db_bytes'] / 1e6:.0f} MB; "
                   f"{(s['user'] + s['sys']) / a['rows'] * 1e6:.1f} µs CPU per row (sqlite3: "
                   f"{(q['user'] + q['sys']) / a['rows'] * 1e6:.1f} µs); during the smsdesk import: "
                   f"{describe_cpu(a['cpu'], own='smsdesk import (and this script)')}.")
    for b in results.get("dispatch", []):
        extra = ""
        if "rate_to_last_provider" in b:
            extra = f"; to the last provider arrival {fmt_int(b['rate_to_last_provider'])} msg/s"
        if "phases" in b:
            ph = b["phases"]
            total = ph["claim_to_first"] + ph["sending"] + ph["last_to_record"] + ph["record_to_next_claim"]
            extra += (f"; per batch ({ph['batches']:,} batches, {total:.1f} ms each): claim → first provider arrival "
                      f"{ph['claim_to_first']:.1f} ms, sending {ph['sending']:.1f} ms, last arrival → recording "
                      f"{ph['last_to_record']:.1f} ms, recording → next claim {ph['record_to_next_claim']:.1f} ms")
        per = b["cpu"]["cpu"]["smsdesk serve"] / max(1, b["sent"]) * 1e6
        out.append(f"- (b) {b['target']} batch {b['batch']}: {b['sent']:,} sent, {b['claims_total']:,} claims, "
                   f"smsdesk serve {per:.0f} µs CPU per message, "
                   f"provider received {b['provider_received']}, monitor {b['monitor']}{extra}; {describe_cpu(b['cpu'])}"
                   + (f"; simulator peak RSS {b['peer_rss']:.0f} MiB" if "peer_rss" in b else ""))
    c = results.get("api")
    if c:
        out.append(f"- (c) wrk: {c['requests']:,} requests in {c['duration']:.2f} s, {c['accepted']:,} answered 202, "
                   f"{c['other']} other; 202 destinations logged by the script {c['accepted_logged']:,}; rows on disk after "
                   f"SIGKILL {c['stored']:,} ({c['extra']} stored whose answer wrk did not count: in flight at the end), "
                   f"history rows {c['events']:,}; smsdesk serve "
                   f"{c['cpu']['cpu']['smsdesk serve'] / max(1, c['requests']) * 1e6:.0f} µs CPU per request; "
                   f"{describe_cpu(c['cpu'])}")
    d = results.get("crash")
    if d:
        out.append(f"- (d) crash test: {d['wall']:.0f} s, exit {d['code']}" + (f"\n\n```\n{d['tail']}\n```" if d["tail"] else ""))
    e = results.get("inbound")
    if e:
        w = e["warmup"]
        cpu = e["cpu"]
        out.append(
            f"- (e) set-up: campaign with strategy `{e['strategy']}`, cap {e['cap']} conversations per agent, "
            f"{e['agents']} agents signed in, available, one WebSocket each; {e['clients']} client numbers write in turn "
            f"(each about every {e['clients'] / e['rate']:.1f} s) to the campaign's number through a Twilio provider's "
            f"signed inbound webhook, open loop over keep-alive connections ({e['connections']} at first, {e['connections_used']} by the end: one more whenever a post was due and all were waiting). Warm-up (not measured): each client's "
            f"first message opened its conversation, {w['accepted']} offers accepted by the agents' sockets in "
            f"{w['seconds']:.1f} s (webhook → offer on the agent's socket p50 {w['offer_latency'][0]:.1f} ms, "
            f"p99 {w['offer_latency'][1]:.1f} ms).")
        out.append(
            f"- (e) measured: {e['sent']:,} webhooks sent of {e['total']:,}, {e['answered_200']:,} answered 200, "
            f"{e['answered_other']} other, {e['unanswered']} unanswered; {e['delivered']:,} delivered to an agent's socket, "
            f"{e['lost']} lost, {e['duplicates']} delivered twice, {e['wrong_agent']} to an agent not holding the "
            f"conversation; {e['over_target']} over 50 ms; p99.9 {e['latency'][99.9]:.1f} ms; "
            f"webhook answer max {e['answer']['max']:.1f} ms; all delivered {e['drained_after']:.2f} s after the last send; "
            f"p50 / p99 per 10 s of the run: {', '.join(f'{a:.0f}/{b:.0f}' for a, b in e['windows'])} ms. "
            + (f"The server's own timing of the webhook route (GET /metrics, from the request's head to the "
               f"answer): mean {e['server_handler']['mean']:.1f} ms over {e['server_handler']['count']:,}, "
               + ", ".join(f"{v * 100:.1f}% within {float(k) * 1000:.0f} ms" for k, v in e['server_handler']['within'].items())
               + ". " if e.get("server_handler") else "") +
            f"Sends late on their schedule p50 {e['lateness'][50]:.2f} ms, p99 {e['lateness'][99]:.2f} ms, max "
            f"{e['lateness']['max']:.1f} ms; the client's event loop woke late p50 {e['loop_lag'][50]:.2f} ms, "
            f"p99 {e['loop_lag'][99]:.2f} ms, max {e['loop_lag']['max']:.1f} ms (an upper bound of what the client adds). "
            f"Server: {cpu['cpu']['smsdesk serve'] / max(1, e['sent']) * 1e6:.0f} µs CPU per message; "
            f"{e['stored_in']:,} inbound messages stored, {e['conversations']:,} conversations, "
            f"{e['live_events']:,} live events; other events on the agents' sockets {e['other_events']}; "
            f"sockets closed by the server {e['sockets_closed'] or 'none'}; "
            f"{describe_cpu(cpu, own='bench client (webhook sender + agent sockets, one process)')}.")
    if results.get("search"):
        out.append(search_details(results["search"]))
    return "\n".join(out)


# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# (g) Several nodes: dispatch on PostgreSQL with 1 and with 2 server processes

class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port (as scripts/test starts it, but with
    fsync on, and pg_stat_statements for the statements' times), removed by `stop`."""

    def __init__(self):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", str(p))])
        assert bins, "PostgreSQL is not installed (Debian: postgresql; scripts/test installs it)"
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="smsdesk-bench-pg-"))
        self.port = free_port()
        self.root = os.getuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres")
        self._as([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8"])
        self._as([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                  "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all", "start"])
        self.pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        self.version = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()

    def _as(self, args):
        if self.root:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, db="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def psql(self, sql, db="postgres"):
        out = subprocess.run([str(self.bin / "psql"), self.url(db), "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1",
                              "-c", sql], check=True, capture_output=True, text=True).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def cpu(self):
        """CPU seconds of the whole cluster so far: the postmaster, its live processes, and those it has reaped."""
        total = proc_cpu(self.pid) + sum(proc_cpu(p) for p in children(self.pid))
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
        return total

    def stop(self):
        try:
            self._as([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class PostgresNode:
    """`smsdesk serve --database-url …` on a free loopback port, signed in as admin."""

    def __init__(self, work, name, url, env, password=None):
        self.port = free_port()
        self.process = Process([smsdesk_bin(), "serve", "--data-dir", str(work / name), "--database-url", url,
                                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                               env={"SMSDESK_BCRYPT_COST": "4", **env})
        try:
            self.password = password or self.process.wait_for(r"admin password: (\S+)").group(1)
            self.process.wait_for(r"listening on")
            self.client = Client(f"http://127.0.0.1:{self.port}")
            self.client.login("admin", self.password)
        except BaseException:
            self.process.stop()
            raise

    @property
    def pid(self):
        return self.process.proc.pid

    def stop(self):
        self.process.stop()


def bench_multinode_run(work, pg, sim, nodes, messages, batch):
    """Queues `messages` on a fresh database, then `nodes` server processes dispatch them to the simulator."""
    db = f"bench_{nodes}n_{int(time.time())}"
    pg.psql(f"CREATE DATABASE {db}")
    url = pg.url(db)
    env = {"SMSDESK_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "SMSDESK_QUIET_HOURS": "off",
           "SMSDESK_DISPATCH_BATCH": str(batch)}
    log(f"(g) {nodes} node(s) on PostgreSQL: queuing {messages:,} messages through the API import")
    servers = [PostgresNode(work, f"{db}-0", url, env)]
    result = {"nodes": nodes, "messages": messages, "batch": batch}
    try:
        client = servers[0].client
        # A rate limit far above what is reached: the shared limiter (one reservation per batch) is on the path.
        _, p = client.call("POST", "/api/v1/providers", {"name": "Sim Twilio", "type": "Twilio", "url": sim.url,
                                                        "username": TWILIO_SID, "secret": "12345",
                                                        "sender": "+15017122661", "ratePerSecond": 100000}, expect=201)
        campaign_id = create_campaign(client)
        _, d = client.call("POST", "/api/v1/dialers", {"name": "Bench", "providerId": p["provider"]["id"],
                                                        "campaignIds": [campaign_id]}, expect=201)
        body = "".join(csv_row(i) for i in range(messages)).encode()
        status, report = client.call("POST", "/api/v1/spool/import?fileName=bench.csv", raw=body, content_type="text/csv")
        assert status == 200 and report["report"]["queued"] == messages, report
        for i in range(1, nodes):
            servers.append(PostgresNode(work, f"{db}-{i}", url, env, password=servers[0].password))
        pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db)
        pg.psql("SELECT pg_stat_statements_reset()", db)
        sim.client.call("POST", "/_sim/reset", expect=200)
        wait_quiet(QUIET_WAIT)
        watch = CPUWatch({**{f"node {i + 1}": [s.pid] for i, s in enumerate(servers)}, "simulator": [sim.process.proc.pid]})
        pg_before = pg.cpu()
        log(f"(g) {nodes} node(s): dialer started")
        client.call("POST", f"/api/v1/dialers/{d['dialer']['id']}/start", expect=200)
        state = {}
        last = (time.monotonic(), 0)

        def done():
            nonlocal last
            state.update(monitor(client, campaign_id))
            if state["processed"] != last[1]:
                last = (time.monotonic(), state["processed"])
            elif time.monotonic() - last[0] > 90:
                raise AssertionError(f"no progress for 90 s: {state}")
            return state["processed"] >= messages and state["notProcessed"] == 0

        # Polled every 2 s: the dialer monitor's counts cost PostgreSQL ~50 ms each at 100,000 rows.
        wait_until(done, timeout=max(600, messages / 50), interval=2.0, message=f"{messages} messages processed")
        result["cpu"] = watch.stop()
        result["pg_cpu"] = pg.cpu() - pg_before
        result["rss"] = [vm_hwm_mib(s.pid) for s in servers]
    finally:
        for s in servers:
            s.stop()
    t0, t1, sent = (float(v) for v in pg.psql(
        "SELECT (SELECT MIN(at) FROM spool_events WHERE to_state = 'sending'), MAX(sent_at), COUNT(*) FROM spool "
        "WHERE state IN ('sent', 'delivered')", db)[0])
    result["sent"] = int(sent)
    result["seconds"] = (t1 - t0) / 1000
    result["rate"] = sent / result["seconds"]
    result["per_node"] = [int(n) for (n,) in pg.psql(
        "SELECT COUNT(*) FROM spool_events WHERE to_state = 'sent' GROUP BY split_part(node, '#', 1) ORDER BY 1 DESC", db)]
    result["statements"] = [
        (calls, mean, total, query) for calls, mean, total, query in pg.psql(
            "SELECT calls, round(mean_exec_time::numeric, 3), round(total_exec_time::numeric), "
            "regexp_replace(left(query, 70), '\\s+', ' ', 'g') FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT 6", db)]
    _, record = sim.client.call("GET", "/_sim/messages", expect=200)
    per_destination = record["perDestination"]
    result["received"] = sum(per_destination.values())
    result["twice"] = sum(1 for n in per_destination.values() if n > 1)
    result["missing"] = messages - len(per_destination)
    pg.psql(f"DROP DATABASE {db} WITH (FORCE)")
    log(f"(g) {nodes} node(s): {result['sent']:,} sent in {result['seconds']:.2f} s = {result['rate']:,.0f} msg/s "
        f"(per node {result['per_node']}); received {result['received']:,}, {result['twice']} twice, "
        f"{result['missing']} missing; PostgreSQL {result['pg_cpu']:.1f} s CPU "
        f"({result['pg_cpu'] / result['cpu']['wall']:.2f} cores); {describe_cpu(result['cpu'])}")
    return result


def bench_multinode(work, messages, batch=50):
    """(g): dispatch of `messages` on one PostgreSQL with 1 node, then with 2 nodes, same simulator."""
    pg = ThrowawayPostgres()
    sim = Simulator(max_records=messages * 2 + 1000)
    try:
        runs = [bench_multinode_run(work, pg, sim, nodes, messages, batch) for nodes in (1, 2)]
    finally:
        sim.stop()
        pg.stop()
    return {"runs": runs, "postgres": pg.version}


def multinode_table_rows(results):
    """The (g) rows of the table: msg/s with 1 and with 2 nodes."""
    g = results.get("multinode")
    return [(f"(g) dispatch {r['messages']:,} on PostgreSQL, {r['nodes']} node{'s' if r['nodes'] > 1 else ''}, "
             f"batch {r['batch']}: smsdesk simulate --type twilio", f"{fmt_int(r['rate'])} msg/s ({r['seconds']:.1f} s)", "", "")
            for r in (g["runs"] if g else [])]


def multinode_details(results):
    """The (g) lines of the report: rate, exactly-once check, CPU per process, PostgreSQL's statements."""
    g = results.get("multinode")
    if not g:
        return ""
    lines = [f"- **(g) Several nodes on PostgreSQL** ({g['postgres']}, fsync on, same machine; Twilio simulator with "
             f"ratePerSecond 100,000, so the shared limiter is on the path; batch {g['runs'][0]['batch']}):"]
    for r in g["runs"]:
        cpu = r["cpu"]
        per = ", ".join(f"{name} {s / cpu['wall']:.2f}" for name, s in cpu["cpu"].items())
        lines.append(
            f"  - {r['nodes']} node{'s' if r['nodes'] > 1 else ''}: **{r['rate']:,.0f} msg/s** ({r['sent']:,} in "
            f"{r['seconds']:.1f} s; sent per node {r['per_node']}); the simulator received {r['received']:,}, "
            f"{r['twice']} twice, {r['missing']} missing. CPU in cores: {per}, PostgreSQL "
            f"{r['pg_cpu'] / cpu['wall']:.2f}, bench script {cpu['own'] / cpu['wall']:.2f}, other processes "
            f"{max(0.0, cpu['others'] - r['pg_cpu']) / cpu['wall']:.2f} (machine {cpu['machine_busy'] * 100:.0f}% busy of "
            f"{cpu['cores']} cores); peak RSS per node {', '.join(f'{m:.0f}' for m in r['rss'])} MiB.")
        lines.append("    - top statements by total time (calls, mean ms, total ms): " + "; ".join(
            f"{calls} × {mean} ms = {total} ms `{query.strip()}…`" for calls, mean, total, query in r["statements"][:4]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the import file (a)")
    parser.add_argument("--messages", type=int, default=100_000, help="messages dispatched per run (b)")
    parser.add_argument("--sink", help="HTTP endpoint on loopback for the URLSMS runs (default: a local nginx)")
    parser.add_argument("--sink-regex", default="OK", help="success_regex for the sink's answer (empty: none)")
    parser.add_argument("--batches", default="50,500", help="SMSDESK_DISPATCH_BATCH values to run (b)")
    parser.add_argument("--api-seconds", type=int, default=20, help="duration of the wrk run (c)")
    parser.add_argument("--api-connections", type=int, default=64)
    parser.add_argument("--crash-messages", type=int, default=20_000, help="SMSDESK_CRASH_MESSAGES for (d)")
    parser.add_argument("--inbound-rate", type=int, default=500, help="inbound webhooks per second (e)")
    parser.add_argument("--inbound-seconds", type=int, default=60, help="duration of the inbound load (e)")
    parser.add_argument("--agents", type=int, default=50, help="agents signed in, each with a live WebSocket (e)")
    parser.add_argument("--clients", type=int, default=500,
                        help="distinct client numbers writing in turn, one open conversation each (e); "
                             "the campaign's cap per agent is clients / agents, rounded up")
    parser.add_argument("--inbound-connections", type=int, default=8,
                        help="keep-alive connections the webhook posts start with (e); another one is opened "
                             "whenever a post is due and all are waiting for answers (at most 256)")
    parser.add_argument("--inbound-csv", metavar="FILE",
                        help="write one row per inbound message (send time, answer and delivery latency, agent) to FILE (e)")
    parser.add_argument("--wait-quiet", type=int, default=120,
                        help="seconds to wait, before each measurement, for other processes to leave the machine idle")
    parser.add_argument("--perf", metavar="DIR",
                        help="record CPU profiles (perf record -g) of smsdesk in each measurement into DIR; "
                             "costs some throughput, so such a run's numbers are marked as profiled")
    parser.add_argument("--quick", action="store_true", help="10x smaller, for a smoke run")
    parser.add_argument("--search-messages", type=int, default=1_000_000, help="messages stored before the searches (f)")
    parser.add_argument("--search-runs", type=int, default=50, help="searches timed per query shape (f)")
    parser.add_argument("--multinode-messages", type=int, default=100_000,
                        help="messages dispatched per run of (g), with 1 and with 2 nodes on PostgreSQL")
    parser.add_argument("--only", default="import,dispatch,api,crash,inbound,search,multinode",
                        help="parts to run, comma-separated: import, dispatch, api, crash, inbound, search, multinode")
    parser.add_argument("--markdown", help="write the Markdown section (machine, command, table, details) here")
    parser.add_argument("--command", default=" ".join(sys.argv), help="the command line shown in the report")
    args = parser.parse_args()
    if args.quick:
        args.rows //= 10
        args.messages //= 10
        args.crash_messages //= 10
        args.api_seconds = max(3, args.api_seconds // 4)
        args.inbound_rate = max(1, args.inbound_rate // 5)
        args.inbound_seconds = max(5, args.inbound_seconds // 6)
        args.agents = max(1, args.agents // 5)
        args.clients = max(1, args.clients // 5)
        args.search_messages //= 10
        args.multinode_messages //= 10
    if args.sink:
        host = urllib.parse.urlsplit(args.sink).hostname or ""
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            parser.error("--sink must be on this machine's loopback (127.0.0.0/8, localhost, ::1)")
    global QUIET_WAIT, PERF_DIR
    QUIET_WAIT = args.wait_quiet
    if args.perf:
        assert shutil.which("perf"), "--perf needs perf (Debian: linux-perf)"
        PERF_DIR = str(Path(args.perf).resolve())
        Path(PERF_DIR).mkdir(parents=True, exist_ok=True)
    parts = set(args.only.split(","))
    batches = [int(b) for b in args.batches.split(",") if b]
    targets = {"import": 200_000, "dispatch": 7_500, "api": 6_000, "inbound_p99_ms": 50, "search_ms": 200}
    assert Path(smsdesk_bin()).exists(), f"{smsdesk_bin()} does not exist: build it first"

    started = datetime.datetime.now(datetime.timezone.utc)
    info = machine()
    log(f"machine: {info}")
    results = {"dispatch": []}
    work = Path(tempfile.mkdtemp(prefix="smsdesk-bench-"))
    sim = nginx = None
    try:
        if "import" in parts:
            results["import"] = bench_import(work, args.rows)
        if "dispatch" in parts:
            sim = Simulator(max_records=args.messages * 2 + 1000)
            sink_url, sink_name = args.sink, args.sink
            if not sink_url:
                nginx = Nginx(work)
                sink_url, sink_name = nginx.url, f"local {nginx.version.split(': ')[-1]} return 200"
            for batch in batches:
                for target in ("twilio", "urlsms"):
                    r = bench_dispatch(work, args.messages, target, batch, sink_url, args.sink_regex,
                                       sim=sim if target == "twilio" else None, nginx=nginx if target == "urlsms" else None)
                    r["sink_name"] = sink_name
                    results["dispatch"].append(r)
            sim.stop()
            sim = None
            if nginx:
                nginx.stop()
                nginx = None
        if "api" in parts:
            results["api"] = bench_api(work, args.api_seconds, args.api_connections)
        if "crash" in parts:
            results["crash"] = {**run_crash_test(args.crash_messages), "messages": args.crash_messages}
        if "inbound" in parts:
            results["inbound"] = bench_inbound(work, args.inbound_rate, args.inbound_seconds, args.agents, args.clients,
                                               args.inbound_connections, csv_path=args.inbound_csv)
        if "search" in parts:
            results["search"] = bench_search(work, args.search_messages, args.search_runs)
        if "multinode" in parts:
            results["multinode"] = bench_multinode(work, args.multinode_messages)
    finally:
        if sim:
            sim.stop()
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    rows = build_table(results, targets) + multinode_table_rows(results)
    finished = datetime.datetime.now(datetime.timezone.utc)
    print()
    print(render_text(rows))
    print()
    print(details(results))
    print(multinode_details(results))
    if args.markdown:
        section = "\n".join([
            f"## Run of {started.strftime('%Y-%m-%d %H:%M')} UTC ({(finished - started).total_seconds() / 60:.0f} min)"
            + (" — profiled with --perf, figures lowered by the profiler" if PERF_DIR else ""),
            "",
            f"**Command.** `{args.command}`",
            "",
            f"**Machine.** {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}; "
            f"{info['swift']}; smsdesk {info['smsdesk']} at {info['commit']}, release build linked {info['binary_built']}; "
            f"sqlite3 {info['sqlite3']}, {info['wrk']}.",
            "",
            render_markdown(rows),
            "",
            details(results),
            *([multinode_details(results)] if results.get("multinode") else []),
            *([f"- Uncommitted changes to the sources at build time: {', '.join(info['changed'])}."]
              if info["changed"] else []),
            "",
        ])
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(section)
        print(f"\nMarkdown section written to {args.markdown}")
    e = results.get("inbound", {})
    failed = (results.get("api", {}).get("missing", 0) > 0 or results.get("crash", {}).get("code", 0) != 0
              or e.get("lost", 0) > 0 or e.get("answered_other", 0) > 0 or e.get("unanswered", 0) > 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
