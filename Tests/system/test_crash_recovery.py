"""Crash safety (SPEC D4): kill the server with SIGKILL in the middle of a bulk
dispatch, restart it, and check against the simulator's record that every
message was sent at least once, that duplicates stay within the in-flight
bound, and that every duplicate is flagged `possible_duplicate`."""

import os
import time

from smsdesk_process import (Client, bulk_csv, free_port, set_up_bulk, start_server, start_simulator, wait_until)

MESSAGES = int(os.environ.get("SMSDESK_CRASH_MESSAGES", "3000"))
BATCH = 50


def monitor(client, campaign_id):
    _, body = client.call("GET", "/api/v1/dialer-monitor", expect=200)
    return next(c for c in body["campaigns"] if c["campaignId"] == campaign_id)


def test_sigkill_mid_dispatch_loses_nothing_and_flags_duplicates(tmp_path):
    sim_port, port = free_port(), free_port()
    # 50 ms per send keeps a batch in flight most of the time, so the kill usually strands one.
    simulator = start_simulator(sim_port, extra=("--latency-ms", "50"))
    env = {"SMSDESK_DISPATCH_LEASE_SECONDS": "3", "SMSDESK_DISPATCH_BATCH": str(BATCH)}
    server = start_server(tmp_path / "data", port, env=env)
    try:
        password = server.wait_for(r"admin password: (\S+)").group(1)
        server.wait_for(r"listening on")
        client = Client(f"http://127.0.0.1:{port}")
        client.login("admin", password)
        _, campaign_id, dialer_id = set_up_bulk(client, f"http://127.0.0.1:{sim_port}")
        status, body = client.call("POST", "/api/v1/spool/import?fileName=crash.csv", raw=bulk_csv("Cobranzas", MESSAGES),
                                   content_type="text/csv")
        assert status == 200 and body["report"]["queued"] == MESSAGES, body
        client.call("POST", f"/api/v1/dialers/{dialer_id}/start", expect=200)

        # Kill it while a good part, but not all, has gone out.
        wait_until(lambda: monitor(client, campaign_id)["processed"] >= MESSAGES // 3, timeout=180, interval=0.05,
                   message="a third of the messages sent")
        server.kill()

        server = start_server(tmp_path / "data", port, env=env)
        server.wait_for(r"listening on")
        client = Client(f"http://127.0.0.1:{port}")
        client.login("admin", password)
        state = {}

        def done():
            state.update(monitor(client, campaign_id))
            return state["processed"] == MESSAGES and state["notProcessed"] == 0

        try:
            wait_until(done, timeout=300, message="every message processed after the restart")
        except AssertionError as error:
            raise AssertionError(f"{error}; monitor: {state}; server output:\n" + "\n".join(server.lines[-20:]))
        final = state

        sim = Client(f"http://127.0.0.1:{sim_port}")
        _, record = sim.call("GET", "/_sim/messages", expect=200)
        per_destination = record["perDestination"]
        destinations = {f"+1555{i:07d}" for i in range(MESSAGES)}
        missing = destinations - set(per_destination)
        assert not missing, f"{len(missing)} messages never reached the provider"
        duplicates = {to: n for to, n in per_destination.items() if n > 1}
        extra_sends = sum(n - 1 for n in duplicates.values())
        assert extra_sends <= BATCH, f"{extra_sends} duplicate sends, more than the in-flight bound {BATCH}"

        flagged = set()
        before = None
        while True:
            path = f"/api/v1/spool?campaignId={campaign_id}&limit=500" + (f"&before={before}" if before else "")
            _, page = client.call("GET", path, expect=200)
            flagged |= {m["to"] for m in page["messages"] if m["possibleDuplicate"]}
            assert all(m["state"] in ("sent", "delivered") for m in page["messages"])
            before = page.get("nextBefore")
            if not before:
                break
        assert set(duplicates) <= flagged, f"unflagged duplicates: {sorted(set(duplicates) - flagged)[:5]}"
        assert final["possibleDuplicates"] == len(flagged)
        print(f"crash test: {MESSAGES} messages, {len(duplicates)} sent twice, {len(flagged)} flagged as possible duplicates")
    finally:
        server.stop()
        simulator.stop()
