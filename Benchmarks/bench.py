#!/usr/bin/python3
"""SMSDesk benchmark (standard library only; run it through `Benchmarks/run`).

(a) import of a generated CSV with `smsdesk import spool`, next to `sqlite3 .import`
    of the same file into a bare table;
(b) dispatch of already-queued messages to a provider over loopback: against
    `smsdesk simulate --type twilio`, and through a URLSMS provider against an HTTP
    sink (a local nginx answering `200 OK 1`, or --sink URL);
(c) `POST /api/v1/messages` accept rate with wrk at 64 keep-alive connections,
    with a durability check after a SIGKILL of the server;
(d) the crash-recovery system test with 20,000 messages.

Every process is started on 127.0.0.1 and stopped at the end. Prints one table and
writes a Markdown section (machine, command, table, details) to --markdown.
"""

import argparse
import contextlib
import datetime
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

    def __init__(self, data_dir, env=None, password=None):
        self.port = free_port()
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
        add("(a) import: smsdesk / sqlite3", f"{s['rate'] / q['rate']:.3f}", "0.75", f"{s['rate'] / q['rate'] / 0.75:.2f}")
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
    return "\n".join(out)


# ---------------------------------------------------------------------------

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
    parser.add_argument("--wait-quiet", type=int, default=120,
                        help="seconds to wait, before each measurement, for other processes to leave the machine idle")
    parser.add_argument("--perf", metavar="DIR",
                        help="record CPU profiles (perf record -g) of smsdesk in each measurement into DIR; "
                             "costs some throughput, so such a run's numbers are marked as profiled")
    parser.add_argument("--quick", action="store_true", help="10x smaller, for a smoke run")
    parser.add_argument("--only", default="import,dispatch,api,crash", help="parts to run")
    parser.add_argument("--markdown", help="write the Markdown section (machine, command, table, details) here")
    parser.add_argument("--command", default=" ".join(sys.argv), help="the command line shown in the report")
    args = parser.parse_args()
    if args.quick:
        args.rows //= 10
        args.messages //= 10
        args.crash_messages //= 10
        args.api_seconds = max(3, args.api_seconds // 4)
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
    targets = {"import": 200_000, "dispatch": 7_500, "api": 6_000}
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
    finally:
        if sim:
            sim.stop()
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    rows = build_table(results, targets)
    finished = datetime.datetime.now(datetime.timezone.utc)
    print()
    print(render_text(rows))
    print()
    print(details(results))
    if args.markdown:
        section = "\n".join([
            f"## Run of {started.strftime('%Y-%m-%d %H:%M')} UTC ({(finished - started).total_seconds() / 60:.0f} min)"
            + (" — profiled with --perf, figures lowered by the profiler" if PERF_DIR else ""),
            "",
            f"**Command.** `{args.command}`",
            "",
            f"**Machine.** {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}; "
            f"{info['swift']}; smsdesk {info['smsdesk']} at {info['commit']}, release build; "
            f"sqlite3 {info['sqlite3']}, {info['wrk']}.",
            "",
            render_markdown(rows),
            "",
            details(results),
            *([f"- Uncommitted changes to the sources at build time: {', '.join(info['changed'])}."]
              if info["changed"] else []),
            "",
        ])
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(section)
        print(f"\nMarkdown section written to {args.markdown}")
    failed = (results.get("api", {}).get("missing", 0) > 0 or results.get("crash", {}).get("code", 0) != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
