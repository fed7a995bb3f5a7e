"""Section (f) of Benchmarks/bench.py: conversation search ("recordings", SPEC S4) over a
SQLite database of 1,000,000 stored messages.

`fill()` writes a year of conversation history straight into a database that
`smsdesk migrate --data-dir` created (same schema, Python's sqlite3, one
transaction): --search-campaigns campaigns with five agents each, conversations
of 1-9 messages (client and agent alternating, 5 on average) with clients of one
country (Uruguayan mobiles, +5989xxxxxxx), the outgoing messages with their spool
rows (delivered, sent or failed). `bench_search()` then starts the release server
on that data directory and times `GET /api/v1/search/conversations` over HTTP for
the typical query — one campaign, one week, part of a number — with a different
campaign, week and number on each run, and a few other shapes for reference.

Standard library only. Can also be run alone:
    /usr/bin/python3 Benchmarks/search_bench.py --data-dir /tmp/x --messages 1000000  (fill only)
"""

import argparse
import random
import sqlite3
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
YEAR_MS = 365 * DAY_MS
AGENTS_PER_CAMPAIGN = 5
TEXTS_IN = [
    "Hola, quiero saber el estado de mi pedido",
    "No me llegó la factura de este mes",
    "¿Puedo pagar en dos cuotas?",
    "Gracias, quedó claro",
    "Mi número de cliente es 4471, ¿me pueden llamar?",
    "El técnico no vino hoy",
    "ok",
    "¿A qué hora abren mañana?",
]
TEXTS_OUT = [
    "Hola, soy de atención al cliente. ¿En qué puedo ayudarle?",
    "Su pedido fue despachado y llegará en 48 horas.",
    "Le envío el enlace de pago: https://pagos.example.com/abc123",
    "Sí, puede pagar en dos cuotas sin recargo.",
    "Quedo a las órdenes. ¡Que tenga buen día!",
    "Ya reagendamos la visita para el jueves de 9 a 12.",
]


def fill(db_path, messages=1_000_000, campaigns=20, now_ms=None, seed=20240601, log=print):
    """Writes about `messages` messages (in conversations of 1-9) over the year before `now_ms`.
    Returns what the queries need: campaign ids, agent ids and the conversations per week."""
    rng = random.Random(seed)
    now_ms = now_ms or int(time.time() * 1000)
    start_ms = now_ms - YEAR_MS
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    db.execute("BEGIN")
    provider = db.execute(
        "INSERT INTO providers (name, type, sender, webhook_token, created_at, updated_at) VALUES (?, 'Simulator', ?, ?, ?, ?)",
        ("Bench operator", "+59820000000", f"bench-{seed}", start_ms, start_ms)).lastrowid
    campaign_ids = []
    agents = {}
    for c in range(campaigns):
        cur = db.execute(
            "INSERT INTO campaigns (name, schedule, time_zone, created_at, updated_at) VALUES (?, '{}', 'America/Montevideo', ?, ?)",
            (f"Campaña {c + 1:02d}", start_ms, start_ms))
        cid = cur.lastrowid
        campaign_ids.append(cid)
        agents[cid] = []
        for a in range(AGENTS_PER_CAMPAIGN):
            cur = db.execute(
                "INSERT INTO users (username, display_name, password_hash, role, created_at, updated_at) VALUES (?, ?, 'x', 'agent', ?, ?)",
                (f"bench.agent.{c + 1}.{a + 1}", f"Agente {c + 1}-{a + 1}", start_ms, start_ms))
            agents[cid].append(cur.lastrowid)
            db.execute("INSERT INTO campaign_members (campaign_id, user_id, position) VALUES (?, ?, ?)", (cid, cur.lastrowid, a))

    # Conversations in time order (ids grow with time, as in production), 1-9 messages each.
    counts, total = [], 0
    while total < messages:
        counts.append(min(rng.randint(1, 9), messages - total))
        total += counts[-1]
    clients = [f"+5989{rng.randrange(10_000_000):07d}" for _ in range(max(1, len(counts) // 2))]
    opened = sorted(start_ms + rng.randrange(YEAR_MS - DAY_MS) for _ in counts)
    conv_rows, msg_rows, spool_rows = [], [], []
    next_conv = (db.execute("SELECT COALESCE(MAX(id), 0) FROM conversations").fetchone()[0]) + 1
    next_msg = (db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]) + 1
    next_spool = (db.execute("SELECT COALESCE(MAX(id), 0) FROM spool").fetchone()[0]) + 1
    weeks = {}  # (campaign, week index) -> [conversation client numbers]
    written = 0
    for t0, count in zip(opened, counts):
        cid = campaign_ids[rng.randrange(campaigns)]
        agent = rng.choice(agents[cid])
        number = rng.choice(clients)
        did = f"+598200{campaign_ids.index(cid):05d}"
        client_first = rng.random() < 0.7
        t = t0
        first_response = None
        conv_id = next_conv
        next_conv += 1
        for k in range(count):
            inbound = (k % 2 == 0) == client_first
            if inbound:
                msg_rows.append((next_msg, conv_id, cid, "in", number, did, rng.choice(TEXTS_IN), provider, f"bench-{next_msg}", None,
                                 None, "received", t))
            else:
                roll = rng.random()
                state, sent, delivered, code, error = "delivered", t + 800, t + 4000, None, None
                if roll > 0.95:
                    state, sent, delivered, code, error = "failed", None, None, "30006", "landline or unreachable carrier"
                elif roll > 0.90:
                    state, delivered = "sent", None
                text = rng.choice(TEXTS_OUT)
                spool_rows.append((next_spool, cid, conv_id, number, text, 100, state, 1, "agent", agent, provider, f"SM{next_spool:010d}",
                                   "GSM-7", 1, code, error, t, t, sent, delivered))
                msg_rows.append((next_msg, conv_id, cid, "out", number, did, text, None, None, next_spool, agent, None, t))
                next_spool += 1
                if first_response is None:
                    first_response = t
            next_msg += 1
            t += rng.randrange(30_000, 1_200_000)
        last = t
        conv_rows.append((conv_id, cid, number, did, "closed", agent, t0, t0, t0 + 5_000, first_response, last, last + 300_000,
                          "resuelto"))
        weeks.setdefault((cid, (t0 - start_ms) // WEEK_MS), []).append(number)
        written += count
        if len(msg_rows) >= 100_000:
            _flush(db, conv_rows, msg_rows, spool_rows)
            log(f"search: {written:,} messages written")
    _flush(db, conv_rows, msg_rows, spool_rows)
    db.execute("COMMIT")
    db.execute("PRAGMA optimize")
    db.close()
    return {"campaigns": campaign_ids, "agents": agents, "weeks": weeks, "start_ms": start_ms, "now_ms": now_ms,
            "messages": written, "conversations": next_conv - 1}


def _flush(db, conv_rows, msg_rows, spool_rows):
    db.executemany("""
        INSERT INTO conversations (id, campaign_id, client_number, did, state, agent_id, opened_at, queued_at, assigned_at,
          first_response_at, last_activity_at, closed_at, close_reason)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", conv_rows)
    db.executemany("""
        INSERT INTO spool (id, campaign_id, conversation_id, destination, message, priority, state, attempts, source, created_by,
          provider_id, provider_message_id, encoding, segments, error_code, error_text, created_at, updated_at, sent_at,
          delivered_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", spool_rows)
    db.executemany("""
        INSERT INTO messages (id, conversation_id, campaign_id, direction, client_number, did, body, provider_id,
          provider_message_id, spool_id, agent_id, state, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", msg_rows)
    conv_rows.clear()
    msg_rows.clear()
    spool_rows.clear()


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def typical_queries(seeded, runs, seed=7, campaigns=None, with_campaign=True, with_dates=True, digits=6):
    """`runs` queries: a campaign (of `campaigns`, default any) and one week in which a client wrote, and
    `digits` digits of that client's number (0: no number); `with_campaign` / `with_dates` False leave that
    filter out."""
    rng = random.Random(seed)
    keys = sorted(k for k in seeded["weeks"] if campaigns is None or k[0] in campaigns)
    queries = []
    for _ in range(runs):
        cid, week = rng.choice(keys)
        number = rng.choice(seeded["weeks"][(cid, week)])
        cut = rng.randrange(5, len(number) - digits + 1)
        start = seeded["start_ms"] + week * WEEK_MS
        q = {"number": number[cut:cut + digits], "limit": 50} if digits else {"limit": 50}
        if with_campaign:
            q["campaignId"] = cid
        if with_dates:
            q["from"], q["to"] = iso(start), iso(start + WEEK_MS)
        queries.append(q)
    return queries


def time_queries(client, path, queries):
    """Wall time of each GET over HTTP (ms, until the whole body is read), and the result counts
    (conversations for JSON, rows for CSV)."""
    times, counts = [], []
    for q in queries:
        url = f"{path}?{urllib.parse.urlencode(q)}"
        t = time.perf_counter()
        status, body = client.call("GET", url)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200, f"GET {url}: {status} {str(body)[:500]}"
        counts.append(len(body["conversations"]) if isinstance(body, dict) else body.count("\n") - 1)
    return times, counts


def summary(times, counts=None):
    ordered = sorted(times)
    rank = max(1, -(-95 * len(ordered) // 100))  # nearest rank
    out = {"median": statistics.median(ordered), "p95": ordered[rank - 1], "max": ordered[-1], "runs": len(ordered)}
    if counts is not None:
        out["results"] = statistics.mean(counts)
        out["empty"] = sum(1 for c in counts if c == 0)
    return out


TYPICAL_PLAN_SQL = """
    SELECT c.id FROM conversations c LEFT JOIN campaigns p ON p.id = c.campaign_id LEFT JOIN users u ON u.id = c.agent_id
    WHERE c.id < ?
      AND c.id IN (SELECT m.conversation_id FROM messages m WHERE m.campaign_id IN (?) AND m.created_at >= ? AND m.created_at < ?)
      AND c.client_number LIKE ?
    ORDER BY c.id DESC LIMIT 51"""


def typical_plan(db_path, seeded):
    """EXPLAIN QUERY PLAN of the statement SQLConversationStore+Search.swift builds for the typical query."""
    cid = seeded["campaigns"][0]
    start = seeded["start_ms"] + 20 * WEEK_MS
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("EXPLAIN QUERY PLAN " + TYPICAL_PLAN_SQL, (2**63 - 1, cid, start, start + WEEK_MS, "%123456%"))
        return [row[-1] for row in rows]
    finally:
        db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="a data directory `smsdesk migrate --data-dir` created")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=20)
    args = parser.parse_args()
    t = time.time()
    seeded = fill(str(Path(args.data_dir) / "smsdesk.sqlite"), args.messages, args.campaigns, log=lambda m: print(m, file=sys.stderr))
    print(f"{seeded['messages']:,} messages in {seeded['conversations']:,} conversations, {time.time() - t:.1f} s")


if __name__ == "__main__":
    main()
