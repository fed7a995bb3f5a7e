#!/usr/bin/python3
"""Live event latency across two nodes (standard library only; not part of the tests).

Starts a throwaway PostgreSQL cluster (initdb + pg_ctl on a free loopback port, removed at the
end) and two `smsdesk serve` processes (nodes A and B) on it. An admin keeps one live WebSocket on
each node. An agent changes their presence on node A (`PUT /api/v1/agent/status`, paused with a
unique reason) --events times at --rate per second over one keep-alive connection; each change
is one `agent.status` event, stored by node A and announced with NOTIFY. For every event, the
latency is from just before its request is written to node A until the event has been read from
the socket: on node B (across nodes: LISTEN/NOTIFY, then B reads it from live_events) and on node
A (the same node, for comparison). Both on time.monotonic().

    Benchmarks/live_nodes.py [--events 2000] [--rate 100]    (SMSDESK_BIN: default .build/release/smsdesk)
"""

import argparse
import asyncio
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SMSDESK_BIN", str(Path(__file__).resolve().parents[1] / ".build" / "release" / "smsdesk"))
from bench import Server, WebSocketClient, free_port, percentile, read_http_response, smsdesk_bin  # noqa: E402


class ThrowawayPostgres:
    """initdb + pg_ctl in a temporary folder on a free 127.0.0.1 port (as the postgres user when root)."""

    def __init__(self):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: [int(x) for x in p.parts[-3].split(".")])
        assert bins, "PostgreSQL server binaries not found (apt-get install postgresql)"
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="smsdesk-livepg-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(self.as_user + [str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust",
                                       "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        subprocess.run(self.as_user + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w",
                                       "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200",
                                       "start"], check=True, capture_output=True)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def stop(self):
        subprocess.run(self.as_user + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def login(port, username, password):
    """(cookie header value, CSRF token) of a fresh session."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/login", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        return cookie, json.loads(response.read())["csrfToken"]


async def measure(port_a, port_b, admin, agent, events, rate):
    sent = [None] * events
    arrived = {"A": [None] * events, "B": [None] * events}
    sockets = {}
    for name, port in (("A", port_a), ("B", port_b)):
        ws = WebSocketClient()
        await ws.connect(port, "/api/v1/live", admin[0])
        message, _ = await ws.receive()
        assert json.loads(message)["type"] == "hello", message
        sockets[name] = ws

    async def read(name):
        ws = sockets[name]
        last_seq, last_index = 0, -1
        while None in arrived[name]:
            received = await ws.receive()
            if received is None:
                raise AssertionError(f"node {name}'s socket closed: {ws.closed}")
            message, at = received
            event = json.loads(message)
            reason = (event.get("data", {}).get("status") or {}).get("reason") or ""
            assert event["seq"] > last_seq, f"node {name}: seq {event['seq']} after {last_seq}"
            last_seq = event["seq"]
            if event.get("topic") == "agent.status" and reason.startswith("bench "):
                index = int(reason[6:])
                assert index == last_index + 1, f"node {name}: event {index} after {last_index}"
                last_index = index
                arrived[name][index] = at

    async def send():
        reader, writer = await asyncio.open_connection("127.0.0.1", port_a)
        start = time.monotonic()
        for i in range(events):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            body = json.dumps({"status": "paused", "reason": f"bench {i}"}).encode()
            sent[i] = time.monotonic()
            writer.write((f"PUT /api/v1/agent/status HTTP/1.1\r\nHost: 127.0.0.1:{port_a}\r\nCookie: {agent[0]}\r\n"
                          f"X-CSRF-Token: {agent[1]}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                         + body)
            status, text = await read_http_response(reader)
            assert status == 200, (status, text)
        writer.close()

    await asyncio.wait_for(asyncio.gather(send(), read("A"), read("B")), timeout=events / rate + 60)
    for ws in sockets.values():
        ws.close()
    latencies = {name: sorted((at - sent[i]) * 1000 for i, at in enumerate(times)) for name, times in arrived.items()}
    # The hop to the other node alone: per event, how much later node B's socket had it than node A's.
    latencies["B-A"] = sorted((b - a) * 1000 for a, b in zip(arrived["A"], arrived["B"]))
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100, help="events per second")
    args = parser.parse_args()
    print(f"binary: {smsdesk_bin()}", file=sys.stderr)
    # One benchmark at a time on this machine (the lock Benchmarks/run takes).
    lock = open(Path(os.environ.get("TMPDIR", "/tmp")) / "smsdesk-benchmark.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    pg = ThrowawayPostgres()
    work = Path(tempfile.mkdtemp(prefix="smsdesk-livenodes-"))
    nodes = []
    try:
        env = {"SMSDESK_DATABASE_URL": pg.url, "SMSDESK_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
               "SMSDESK_DISPATCH": "off"}
        nodes.append(Server(work / "a", env=env))
        nodes.append(Server(work / "b", env=env, password=nodes[0].password))
        out = subprocess.run([smsdesk_bin(), "user", "add", "bench_agent", "--role", "agent", "--database-url", pg.url],
                             check=True, capture_output=True, text=True, env={**os.environ, "SMSDESK_BCRYPT_COST": "4"}).stdout
        agent_password = out.split("password:", 1)[1].split()[0]
        admin = login(nodes[1].port, "admin", nodes[0].password)
        agent = login(nodes[0].port, "bench_agent", agent_password)
        load = os.getloadavg()
        latencies = asyncio.run(measure(nodes[0].port, nodes[1].port, admin, agent, args.events, args.rate))
        print(f"{args.events} agent.status events produced on node A at {args.rate:g}/s, every one received on both nodes' "
              "sockets in order (strictly increasing seq); latency from the request to node A until the event is read from "
              "an admin's live socket:")
        print(f"  (load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs)")
        for name, label in (("B", "node B (other node, LISTEN/NOTIFY)"), ("A", "node A (same node)"),
                            ("B-A", "per event, node B minus node A")):
            values = latencies[name]
            print(f"  {label}: p50 {percentile(values, 50):.2f} ms, p99 {percentile(values, 99):.2f} ms, "
                  f"max {values[-1]:.2f} ms")
    finally:
        for node in nodes:
            node.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
