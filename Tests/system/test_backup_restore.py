"""Backup and restore (issue 8 item 4): `smsdesk backup` while the server serves and writes, the server stopped,
`smsdesk restore` into a new data dir, and every message queued before the backup found again through the API."""

import os
import subprocess
import threading

from smsdesk_process import Client, free_port, smsdesk_bin, start_server

BEFORE = 150


def smsdesk(*args):
    result = subprocess.run([smsdesk_bin(), *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SMSDESK_BCRYPT_COST": "4"})
    return result.returncode, result.stdout + result.stderr


def queue(client, campaign, i, prefix):
    _, body = client.call("POST", "/api/v1/messages", {"campaign": campaign, "to": f"+1555{i:07d}",
                                                       "text": f"{prefix} {i} — ñ"}, expect=202)
    return body["message"]["id"], body["message"]["text"]


def test_backup_while_serving_then_restore_into_a_new_data_dir(tmp_path):
    live, restored_dir, backup = tmp_path / "live", tmp_path / "restored", tmp_path / "backups" / "smsdesk.sqlite"
    backup.parent.mkdir()
    port = free_port()
    server = start_server(live, port)
    try:
        password = server.wait_for(r"admin password: (\S+)").group(1)
        server.wait_for(r"listening on")
        client = Client(f"http://127.0.0.1:{port}")
        client.login("admin", password)
        client.call("POST", "/api/v1/campaigns", {"name": "Ventas", "timeZone": "UTC"}, expect=201)
        before = dict(queue(client, "Ventas", i, "antes") for i in range(BEFORE))

        # Another client keeps queueing while the backup runs.
        stop, during = threading.Event(), []
        writer_client = Client(f"http://127.0.0.1:{port}")
        writer_client.login("admin", password)

        def write():
            i = BEFORE
            while not stop.is_set():
                during.append(queue(writer_client, "Ventas", i, "durante"))
                i += 1

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        code, out = smsdesk("backup", str(backup), "--data-dir", str(live), "--include-secret-key")
        stop.set()
        writer.join(30)
        assert code == 0, out
        assert "integrity check: ok" in out and "schema version:" in out, out
        assert f"written to {backup}.key (mode 0600)" in out, out
        key = (live / "secret.key").read_text().strip()
        assert key not in out, "the secret key is never printed"
        assert (backup.parent / "smsdesk.sqlite.key").read_text().strip() == key
        assert oct((backup.parent / "smsdesk.sqlite.key").stat().st_mode & 0o777) == "0o600"
        assert during, "the writer queued messages while the backup ran"

        # A restore refuses while the server runs on the data dir.
        code, out = smsdesk("restore", str(backup), "--data-dir", str(live), "--force")
        assert code != 0 and "a server is running" in out, out
    finally:
        server.stop()

    # Files that are not SMSDesk backups are refused, naming the problem.
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 200)
    code, out = smsdesk("restore", str(junk), "--data-dir", str(restored_dir))
    assert code != 0 and "is not an SQLite database" in out, out

    code, out = smsdesk("restore", str(backup), "--data-dir", str(restored_dir))
    assert code == 0, out
    assert "restored" in out and "secret key installed" in out, out
    assert (restored_dir / "secret.key").read_text().strip() == key

    port = free_port()
    server = start_server(restored_dir, port)
    try:
        server.wait_for(r"listening on")
        assert not any("admin password" in line for line in server.lines), "the restored users are kept"
        client = Client(f"http://127.0.0.1:{port}")
        client.login("admin", password)
        for message_id, text in before.items():
            _, body = client.call("GET", f"/api/v1/messages/{message_id}", expect=200)
            assert body["message"]["text"] == text
        # Messages queued during the backup are either in it whole or not at all.
        found = sum(1 for message_id, _ in during if client.call("GET", f"/api/v1/messages/{message_id}")[0] == 200)
        print(f"backup test: {len(before)} messages before the backup all restored; {found} of {len(during)} queued during it")
    finally:
        server.stop()


def test_backup_on_postgresql_gives_the_pg_dump_commands_without_the_password(tmp_path):
    url = "postgres://smsdesk:s3cr3t-pw@db.example.com:5432/smsdesk?sslmode=require"
    code, out = smsdesk("backup", str(tmp_path / "dump"), "--database-url", url)
    assert code != 0, out
    assert "pg_dump --format=custom" in out and "pg_restore --clean --if-exists" in out, out
    assert "postgres://smsdesk@db.example.com:5432/smsdesk?sslmode=require" in out, out
    assert "s3cr3t-pw" not in out
