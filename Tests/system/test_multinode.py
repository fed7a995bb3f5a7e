"""Several nodes (issue 7): two `smsdesk serve` processes on one throwaway
PostgreSQL database dispatch one bulk file to `smsdesk simulate`. One node is
killed with SIGKILL midway; the other recovers its expired leases and finishes.

Checked against the simulator's record and the database: every message reached
the provider; each message not flagged `possible_duplicate` reached it exactly
once (no claim was ever handed to both nodes); the only messages sent twice are
flagged, and every flagged one had been claimed by the killed node and was
queued again by the surviving one. A second test gives the provider a rate
limit and checks at the simulator that both nodes together keep it.

Needs PostgreSQL: scripts/test exports SMSDESK_TEST_DATABASE_URL (the test
creates its own database there). SMSDESK_MULTINODE_MESSAGES sets the count
(default 20000)."""

import base64
import datetime
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from smsdesk_process import Client, bulk_csv, free_port, set_up_bulk, start_server, start_simulator, wait_until

MESSAGES = int(os.environ.get("SMSDESK_MULTINODE_MESSAGES", "20000"))
BATCH = 50
BASE_URL = os.environ.get("SMSDESK_TEST_DATABASE_URL")


def psql_binary():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    return str(candidates[-1]) if candidates else None


def psql(url, sql):
    """Rows of `sql` on `url`, each a list of text fields."""
    out = subprocess.run([psql_binary(), url, "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    return [line.split("|") for line in out.splitlines() if line]


def database_url(base, name):
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def fresh_database():
    if not BASE_URL:
        pytest.skip("needs PostgreSQL: SMSDESK_TEST_DATABASE_URL is not set (scripts/test starts one and sets it)")
    if not psql_binary():
        pytest.skip("needs psql to create a database on SMSDESK_TEST_DATABASE_URL")
    name = "smsdesk_multinode_" + uuid.uuid4().hex[:12]
    psql(BASE_URL, f"CREATE DATABASE {name}")
    try:
        yield database_url(BASE_URL, name)
    finally:
        psql(BASE_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def monitor(client, campaign_id):
    _, body = client.call("GET", "/api/v1/dialer-monitor", expect=200)
    return next(c for c in body["campaigns"] if c["campaignId"] == campaign_id)


def test_two_nodes_share_one_dispatch_and_survive_one_killed(tmp_path, fresh_database):
    url = fresh_database
    started = time.time()
    sim_port, port_a, port_b = free_port(), free_port(), free_port()
    # 20 ms per send keeps a batch in flight most of the time, so the kill usually strands one.
    simulator = start_simulator(sim_port, extra=("--latency-ms", "20"))
    # The same secret key on every node, so that each decrypts the provider's secret.
    env = {"SMSDESK_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "SMSDESK_DISPATCH_LEASE_SECONDS": "5",
           "SMSDESK_DISPATCH_BATCH": str(BATCH)}
    node_a = start_server(tmp_path / "a", port_a, env=env, extra=("--database-url", url))
    node_b = None
    try:
        password = node_a.wait_for(r"admin password: (\S+)").group(1)
        node_a.wait_for(r"listening on")
        node_b = start_server(tmp_path / "b", port_b, env=env, extra=("--database-url", url))
        node_b.wait_for(r"listening on")
        a = Client(f"http://127.0.0.1:{port_a}")
        a.login("admin", password)
        b = Client(f"http://127.0.0.1:{port_b}")
        b.login("admin", password)

        provider_id, campaign_id, dialer_id = set_up_bulk(a, f"http://127.0.0.1:{sim_port}")
        # A provider rate limit, far above what the nodes reach here: it puts the shared limiter on the path.
        a.call("PATCH", f"/api/v1/providers/{provider_id}", {"ratePerSecond": 100000}, expect=200)
        status, body = a.call("POST", "/api/v1/spool/import?fileName=multinode.csv", raw=bulk_csv("Cobranzas", MESSAGES),
                              content_type="text/csv")
        assert status == 200 and body["report"]["queued"] == MESSAGES, body
        queued_at = time.time()
        b.call("POST", f"/api/v1/dialers/{dialer_id}/start", expect=200)

        # Both nodes pick up the dialer and dispatch; kill node A once a third has gone out.
        wait_until(lambda: monitor(b, campaign_id)["processed"] >= MESSAGES // 3, timeout=300, interval=0.05,
                   message="a third of the messages sent")
        node_names = {row[0] for row in psql(url, "SELECT DISTINCT split_part(node, '#', 1) FROM spool_events "
                                                  "WHERE to_state = 'sending'")}
        pid_a = node_a.proc.pid
        node_a.kill()
        killed_at = time.time()
        name_a = next((n for n in node_names if n.endswith(f"-{pid_a}")), None)
        assert name_a is not None and len(node_names) == 2, f"both nodes claim before the kill: {node_names}"
        # Node A's claims in flight when it died (still `sending` under its lease until the lease expires).
        stranded = {row[0] for row in psql(url, f"SELECT destination FROM spool WHERE state = 'sending' "
                                                f"AND lease_owner LIKE '{name_a}#%'")}

        state = {}

        def done():
            state.update(monitor(b, campaign_id))
            return state["processed"] == MESSAGES and state["notProcessed"] == 0

        try:
            wait_until(done, timeout=600, message="every message processed by the surviving node")
        except AssertionError as error:
            raise AssertionError(f"{error}; monitor: {state}; node B output:\n" + "\n".join(node_b.lines[-20:]))
        finished_at = time.time()

        _, record = Client(f"http://127.0.0.1:{sim_port}").call("GET", "/_sim/messages", expect=200)
        per_destination = record["perDestination"]
        destinations = {f"+1555{i:07d}" for i in range(MESSAGES)}
        missing = destinations - set(per_destination)
        assert not missing, f"{len(missing)} messages never reached the provider"

        rows = psql(url, f"SELECT destination, state, possible_duplicate FROM spool WHERE campaign_id = {campaign_id}")
        assert len(rows) == MESSAGES
        assert all(state in ("sent", "delivered") for _, state, _ in rows), "every message ends sent or delivered"
        flagged = {to for to, _, dup in rows if dup == "t"}
        # No claim was shared: a message not flagged went out exactly once.
        twice_unflagged = {to: per_destination[to] for to in destinations - flagged if per_destination[to] != 1}
        assert not twice_unflagged, f"unflagged messages sent more than once: {list(twice_unflagged.items())[:5]}"
        duplicates = {to for to, n in per_destination.items() if n > 1}
        extra_sends = sum(per_destination[to] - 1 for to in duplicates)
        assert extra_sends <= BATCH, f"{extra_sends} duplicate sends, more than node A's in-flight bound {BATCH}"

        # Every flagged message was in node A's claim when it died, and was queued again by node B.
        recovered = psql(url, f"""
            SELECT s.destination, r.node,
                   (SELECT split_part(c.node, '#', 1) FROM spool_events c
                    WHERE c.spool_id = s.id AND c.to_state = 'sending' AND c.id < r.id ORDER BY c.id DESC LIMIT 1)
            FROM spool s JOIN spool_events r ON r.spool_id = s.id AND r.reason LIKE 'lease expired%'
            WHERE s.campaign_id = {campaign_id}""")
        assert {to for to, _, _ in recovered} == flagged
        assert flagged == stranded, "exactly node A's in-flight claims were queued again as possible duplicates"
        assert all(claimer == name_a for _, _, claimer in recovered), "only node A's claims were recovered"
        assert all(recoverer != name_a for _, recoverer, _ in recovered), "node B recovered them"

        per_node = psql(url, "SELECT split_part(node, '#', 1), count(*) FROM spool_events WHERE to_state = 'sent' "
                             "GROUP BY 1 ORDER BY 1")
        print(f"multinode test: {MESSAGES} messages on 2 nodes in {finished_at - queued_at:.1f} s "
              f"(node A killed after {killed_at - queued_at:.1f} s); sent per node {per_node}; "
              f"{len(stranded)} in flight on node A at the kill, {len(duplicates)} sent twice, "
              f"{len(flagged)} flagged possible duplicates; "
              f"whole test {time.time() - started:.1f} s")
    finally:
        for node in (node_a, node_b):
            if node:
                node.stop()
        simulator.stop()


RATE = 500
RATE_MESSAGES = 3000


def test_two_nodes_keep_the_providers_rate_together(tmp_path, fresh_database):
    """The provider's ratePerSecond is the provider's, not the node's: with two nodes sending, the simulator
    never receives more than rate × elapsed + burst (burst = one second's worth), and not much less."""
    url = fresh_database
    sim_port, port_a, port_b = free_port(), free_port(), free_port()
    simulator = start_simulator(sim_port)
    env = {"SMSDESK_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "SMSDESK_DISPATCH_BATCH": str(BATCH)}
    node_a = start_server(tmp_path / "a", port_a, env=env, extra=("--database-url", url))
    node_b = None
    try:
        password = node_a.wait_for(r"admin password: (\S+)").group(1)
        node_a.wait_for(r"listening on")
        node_b = start_server(tmp_path / "b", port_b, env=env, extra=("--database-url", url))
        node_b.wait_for(r"listening on")
        a = Client(f"http://127.0.0.1:{port_a}")
        a.login("admin", password)
        provider_id, campaign_id, dialer_id = set_up_bulk(a, f"http://127.0.0.1:{sim_port}")
        a.call("PATCH", f"/api/v1/providers/{provider_id}", {"ratePerSecond": RATE}, expect=200)
        status, body = a.call("POST", "/api/v1/spool/import?fileName=rate.csv", raw=bulk_csv("Cobranzas", RATE_MESSAGES),
                              content_type="text/csv")
        assert status == 200 and body["report"]["queued"] == RATE_MESSAGES, body
        a.call("POST", f"/api/v1/dialers/{dialer_id}/start", expect=200)
        wait_until(lambda: monitor(a, campaign_id)["processed"] == RATE_MESSAGES, timeout=120, interval=0.2,
                   message="every message sent")

        _, record = Client(f"http://127.0.0.1:{sim_port}").call("GET", "/_sim/messages", expect=200)
        times = sorted(datetime.datetime.strptime(m["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
                       for m in record["messages"])
        assert len(times) == RATE_MESSAGES
        first = times[0]
        # Arrivals lag their slots by a variable HTTP time: 50 ms of slack.
        early = [(k + 1, t - first) for k, t in enumerate(times) if k + 1 > RATE * (t - first + 0.05) + RATE]
        assert not early, f"more than rate × time + burst reached the provider: {early[:5]}"
        elapsed = times[-1] - first
        assert elapsed <= (RATE_MESSAGES - RATE) / RATE * 1.5 + 1, f"far below the rate: {elapsed:.1f} s"
        per_node = psql(url, "SELECT split_part(node, '#', 1), count(*) FROM spool_events WHERE to_state = 'sent' "
                             "GROUP BY 1 ORDER BY 1")
        assert len(per_node) == 2, f"both nodes sent: {per_node}"
        print(f"rate test: {RATE_MESSAGES} messages at {RATE}/s through 2 nodes in {elapsed:.2f} s "
              f"(ideal {(RATE_MESSAGES - RATE) / RATE:.2f} s after the burst); sent per node {per_node}")
    finally:
        for node in (node_a, node_b):
            if node:
                node.stop()
        simulator.stop()
