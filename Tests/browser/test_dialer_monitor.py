"""Browser tests for the Dialer monitor (SPEC D7, D9, D12, S5) and the Dialers page (D1, D2).

A Twilio simulator (`smsdesk simulate`) stands in for the provider, so the
messages the dialer sends can be counted on the provider's side.

Run: /usr/bin/python3 -m pytest Tests/browser/test_dialer_monitor.py -q
"""

import json
import re
import subprocess
import threading
import time

import pytest
from selenium.webdriver.common.by import By

from browser_helpers import (
    api, attr_is, click, is_shown, login, open_app, present, screenshot, select_value, table_idle,
    text_is, tid, visible, wait,
)
from conftest import free_port, http_get, smsdesk_bin

TWILIO_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TWILIO_TOKEN = "12345"
TWILIO_FROM = "+15017122661"
SEND_TIMEOUT = 60


class Simulator:
    def __init__(self, proc, base_url):
        self.proc = proc
        self.base_url = base_url

    def messages(self):
        status, body = http_get(self.base_url + "/_sim/messages", timeout=5)
        assert status == 200, status
        return json.loads(body)


@pytest.fixture
def simulator():
    """A Twilio simulator on a free 127.0.0.1 port that requires the test account."""
    port = free_port()
    cmd = [str(smsdesk_bin()), "simulate", "--type", "twilio", "--port", str(port),
           "--username", TWILIO_SID, "--secret", TWILIO_TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, bufsize=1)
    output, found = [], {}
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            output.append(line)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m and not ready.is_set():
                found["url"] = m.group(1)
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(30):
        proc.kill()
        pytest.fail("simulator did not start:\n" + "".join(output))
    yield Simulator(proc, found["url"])
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ---- Helpers ------------------------------------------------------------------------------

def create_provider(driver, url, name="Twilio sim"):
    status, body = api(driver, "POST", "/providers", {
        "name": name, "type": "Twilio", "url": url, "username": TWILIO_SID,
        "secret": TWILIO_TOKEN, "sender": TWILIO_FROM})
    assert status == 201, body
    return body["provider"]["id"]


def set_input(driver, testid, value):
    el = visible(driver, testid)
    el.clear()
    if value:
        el.send_keys(value)
    return el


def set_checked(driver, testid, checked):
    el = present(driver, testid)
    if el.is_selected() != checked:
        driver.find_element(By.CSS_SELECTOR, f'label[for="{el.get_attribute("id")}"]').click()
    assert el.is_selected() == checked


def stat(driver, testid):
    return int(driver.find_element(*tid(testid)).get_attribute("data-value"))


def stat_is(driver, testid, value, timeout=15):
    wait(driver, timeout).until(lambda d: stat(d, testid) == value,
                                message=f"[data-testid={testid}] never reached {value}")


def monitor_gets(driver):
    """How many GET /api/v1/dialer-monitor the server has answered (its Prometheus counter, read from the page)."""
    text = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/metrics', { credentials: 'same-origin' }).then((r) => r.text()).then(done, (e) => done(String(e)));
    """)
    total = 0
    for line in text.splitlines():
        if line.startswith("smsdesk_http_requests_total{") and 'route="/api/v1/dialer-monitor"' in line \
                and 'method="GET"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def row_by_name(driver, prefix, name):
    """Wait for a row whose data-testid starts with prefix and whose data-name is name; its id."""
    row = wait(driver).until(lambda d: next(
        (r for r in d.find_elements(By.CSS_SELECTOR, f'[data-testid^="{prefix}"]')
         if r.get_attribute("data-name") == name), None), message=f"no {prefix}* row named {name!r}")
    return row.get_attribute("data-testid").removeprefix(prefix)


def create_campaign_ui(driver, server, name, zone, transactional, back=True):
    """Create a campaign on the Campaigns page; with `back`, return to a loaded Dialers page."""
    open_app(driver, server, "campaigns")
    text_is(driver, "page-title", "Campaigns")
    table_idle(driver, "campaigns-table")
    set_input(driver, "campaign-name", name)
    set_input(driver, "campaign-timezone", zone)
    set_checked(driver, "campaign-transactional", transactional)
    click(driver, "campaign-submit")
    text_is(driver, "campaign-form-status", f'Campaign "{name}" created.')
    campaign_id = int(row_by_name(driver, "campaign-row-", name))
    if back:
        open_app(driver, server, "dialers")
        text_is(driver, "page-title", "Dialers")
        table_idle(driver, "dialers-table")
    return campaign_id


def create_dialer_ui(driver, name, provider_id, campaign_ids, enabled=False):
    set_input(driver, "dialer-name", name)
    select_value(driver, "dialer-provider", str(provider_id))
    for cid in campaign_ids:
        set_checked(driver, f"dialer-campaign-{cid}", True)
    set_checked(driver, "dialer-enabled", enabled)
    click(driver, "dialer-submit")
    text_is(driver, "dialer-form-status", f'Dialer "{name}" added.')
    table_idle(driver, "dialers-table")
    return int(row_by_name(driver, "dialer-row-", name))


def write_csv(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def choose_file(driver, testid, path):
    el = present(driver, testid)
    el.send_keys(str(path))


def issue_rows(driver, prefix):
    rows = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{prefix}-issues"] tbody tr')
    return [[td.text.strip() for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]


def report_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, '[data-testid^="dm-report-row-"]')


def unexpected_console_errors(driver):
    """SEVERE browser log entries, except the 422 answers of refused uploads (expected)."""
    bad = []
    for e in driver.get_log("browser"):
        if e.get("level") != "SEVERE":
            continue
        msg = e.get("message", "")
        if e.get("source") == "network" and "422" in msg and ("/spool/import" in msg or "/dncr/import" in msg):
            continue
        if e.get("source") == "network" and "/api/v1/me" in msg and "401" in msg:
            continue
        bad.append(e)
    return bad


def admin_login(driver, server, route):
    login(driver, server, server.admin_user, server.admin_password, route)


# ---- Tests ---------------------------------------------------------------------------------

def test_bulk_upload_dry_run_queue_and_send(driver, fresh_server, simulator, tmp_path):
    server = fresh_server
    admin_login(driver, server, "dialers")
    text_is(driver, "page-title", "Dialers")
    provider_id = create_provider(driver, simulator.base_url)

    # The campaign on the Campaigns page, the dialer on the Dialers page.
    click(driver, "dialers-refresh")
    table_idle(driver, "dialers-table")
    text_is(driver, "dialers-empty", "No dialers yet. Add one below.")
    campaign_id = create_campaign_ui(driver, server, "Cobranzas", "America/Montevideo", transactional=True)
    status, body = api(driver, "GET", "/campaigns")
    campaign = next(c for c in body["campaigns"] if c["id"] == campaign_id)
    assert campaign["timeZone"] == "America/Montevideo" and campaign["transactional"] is True, campaign
    dialer_id = create_dialer_ui(driver, "Cobranzas dialer", provider_id, [campaign_id], enabled=False)
    attr_is(driver, f"dialer-row-{dialer_id}", "data-enabled", "false")
    text_is(driver, f"dialer-campaigns-{dialer_id}", "Cobranzas")
    text_is(driver, f"dialer-schedule-{dialer_id}", "Always open")
    screenshot(driver, "dm01-dialers")

    # The monitor shows the campaign, inactive, nothing queued.
    click(driver, "nav-dialer-monitor")
    text_is(driver, "page-title", "Dialer monitor")
    text_is(driver, f"dm-name-{campaign_id}", "Cobranzas")
    text_is(driver, f"dm-status-{campaign_id}", "Inactive")
    text_is(driver, f"dm-indate-{campaign_id}", "In schedule")
    attr_is(driver, "dm-live", "data-state", "live")
    assert stat(driver, f"dm-not-processed-{campaign_id}") == 0
    attr_is(driver, f"dm-dialer-{campaign_id}-{dialer_id}", "data-enabled", "false")
    assert not driver.find_element(*tid(f"dm-start-{campaign_id}-{dialer_id}")).get_attribute("disabled")
    assert driver.find_element(*tid(f"dm-finish-{campaign_id}-{dialer_id}")).get_attribute("disabled")
    screenshot(driver, "dm02-monitor-empty")

    # A file with an empty destination on line 3 is refused whole: every bad line listed, nothing queued.
    click(driver, "dm-tab-import")
    bad = write_csv(tmp_path / "cobranzas-bad.csv", [
        "Cobranzas;+15550000001;Hola 1;1",
        "Cobranzas;+15550000002;Hola 2;1",
        "Cobranzas;;Hola 3;1",
        "Cobranzas;+15550000004;Hola 4;1",
    ])
    choose_file(driver, "dm-import-file", bad)
    click(driver, "dm-import-dryrun")
    visible(driver, "dm-import-issues")
    text_is(driver, "dm-import-refused", "cobranzas-bad.csv was refused: 1 problem. Nothing was queued.")
    rows = issue_rows(driver, "dm-import")
    assert rows == [["3", "Destination", "is empty"]], rows
    attr_is(driver, "dm-import-issue-0", "data-line", "3")
    assert not is_shown(driver, "dm-import-queue")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", driver.find_element(*tid("dm-import-issues")))
    screenshot(driver, "dm03-import-refused")
    status, body = api(driver, "GET", f"/spool?campaignId={campaign_id}")
    assert status == 200 and body["messages"] == [], body
    assert stat(driver, f"dm-not-processed-{campaign_id}") == 0

    # A good file of 30 rows: the dry run reports it, then "Queue 30 messages" loads it.
    numbers = [f"+1555000{n:04d}" for n in range(1, 31)]
    good = write_csv(tmp_path / "cobranzas-30.csv", [f"Cobranzas;{num};Hola {i};1" for i, num in enumerate(numbers, 1)])
    choose_file(driver, "dm-import-file", good)
    wait(driver).until(lambda d: not d.find_elements(*tid("dm-import-issues")))
    click(driver, "dm-import-dryrun")
    text_is(driver, "dm-import-rows", "30")
    text_is(driver, "dm-import-valid", "30")
    text_is(driver, "dm-import-invalid", "0")
    text_is(driver, "dm-import-duplicates", "0")
    text_is(driver, "dm-import-dncr", "0")
    text_is(driver, "dm-import-tosend", "30")
    text_is(driver, "dm-import-segments", "30")
    assert "GSM-7: 30" in driver.find_element(*tid("dm-import-encodings")).text
    assert "nothing has been queued yet" in driver.find_element(*tid("dm-import-dryrun-note")).text
    text_is(driver, "dm-import-queue", "Queue 30 messages")
    assert stat(driver, f"dm-not-processed-{campaign_id}") == 0, "a dry run must not queue anything"
    screenshot(driver, "dm04-import-dry-run")

    click(driver, "dm-import-queue")
    text_is(driver, "dm-import-done", "Queued 30 messages from cobranzas-30.csv.", timeout=30)
    assert not is_shown(driver, "dm-import-queue")
    stat_is(driver, f"dm-not-processed-{campaign_id}", 30)
    assert int(driver.find_element(*tid(f"dm-funnel-to_process-{campaign_id}")).get_attribute("data-value")) == 30
    assert simulator.messages()["count"] == 0, "the dialer is paused: nothing may be sent yet"

    # Start: everything goes out, each destination once. The page follows through the WebSocket: it
    # reloads on the dialer's events, and does not poll (a quiet page makes no monitor request).
    attr_is(driver, "dm-live", "data-state", "live")
    before = monitor_gets(driver)
    click(driver, f"dm-start-{campaign_id}-{dialer_id}")
    text_is(driver, f"dm-status-{campaign_id}", "Active")
    stat_is(driver, f"dm-processed-{campaign_id}", 30, timeout=SEND_TIMEOUT)
    during = monitor_gets(driver) - before
    assert during >= 1, "the monitor never reloaded after Start"
    # Once the last merged event's reload has landed, a quiet page makes no monitor request (a poller makes
    # one a second). These are observation windows, not waits for something to happen.
    settle_until = time.monotonic() + 15
    quiet_from = monitor_gets(driver)
    while time.monotonic() < settle_until:
        time.sleep(1.5)
        now = monitor_gets(driver)
        if now == quiet_from:
            break
        quiet_from = now
    time.sleep(4)
    quiet = monitor_gets(driver) - quiet_from
    assert quiet <= 1, f"{quiet} monitor requests in 4 quiet seconds: the page is polling"  # 1: the minute's safety reload
    assert stat(driver, f"dm-not-processed-{campaign_id}") == 0
    assert stat(driver, f"dm-other-{campaign_id}") == 0
    sim = simulator.messages()
    assert sim["perDestination"] == {num: 1 for num in numbers}, sim["perDestination"]
    assert sim["count"] == 30, sim["count"]
    driver.execute_script("document.getElementById('main').scrollTop = 0")
    screenshot(driver, "dm05-monitor-sent")

    # Reports: the campaign's messages, drillable from the card; CSV export is a plain link.
    click(driver, f"dm-reports-{campaign_id}")
    table_idle(driver, "dm-report-table")
    wait(driver).until(lambda d: len(report_rows(d)) == 30)
    states = {r.get_attribute("data-state") for r in report_rows(driver)}
    assert states <= {"sent", "delivered"}, states
    assert {r.get_attribute("data-to") for r in report_rows(driver)} == set(numbers)
    assert driver.find_element(*tid("dm-report-campaign")).get_attribute("value") == str(campaign_id)
    href = driver.find_element(*tid("dm-report-export")).get_attribute("href")
    assert f"campaignId={campaign_id}" in href and "format=csv" in href, href
    csv_text = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], { credentials: 'same-origin' }).then((r) => r.text()).then(done, (e) => done(String(e)));
    """, href)
    lines = [line for line in csv_text.splitlines() if line]
    assert len(lines) == 31 and lines[0].startswith("id;campaign_id;destination"), lines[:3]
    screenshot(driver, "dm06-reports")

    # Filter by number (partial) and state.
    set_input(driver, "dm-report-number", "0000007")
    click(driver, "dm-report-search")
    wait(driver).until(lambda d: [r.get_attribute("data-to") for r in report_rows(d)] == ["+15550000007"])
    set_checked(driver, "dm-report-state-failed", True)
    click(driver, "dm-report-search")
    text_is(driver, "dm-report-empty", "No messages match.")
    screenshot(driver, "dm06b-reports-filtered")

    # Finish pauses the dialer.
    click(driver, f"dm-finish-{campaign_id}-{dialer_id}")
    text_is(driver, f"dm-status-{campaign_id}", "Inactive")
    attr_is(driver, f"dm-dialer-{campaign_id}-{dialer_id}", "data-enabled", "false")

    bad_logs = unexpected_console_errors(driver)
    assert not bad_logs, "console errors:\n" + "\n".join(json.dumps(e) for e in bad_logs)


def test_unitary_delete_unprocessed_and_dncr(driver, fresh_server, tmp_path):
    server = fresh_server
    admin_login(driver, server, "dialer-monitor")
    text_is(driver, "page-title", "Dialer monitor")
    text_is(driver, "dm-empty", "No campaigns yet. Create one on the Campaigns page.")
    # Set-up through the API: the provider is never reached (the dialer stays paused).
    provider_id = create_provider(driver, "http://127.0.0.1:9", name="Unused")
    status, body = api(driver, "POST", "/campaigns", {"name": "Ventas", "timeZone": "America/Montevideo", "transactional": True})
    assert status == 201, body
    campaign_id = body["campaign"]["id"]
    status, body = api(driver, "POST", "/dialers", {"name": "Ventas dialer", "providerId": provider_id, "campaignIds": [campaign_id]})
    assert status == 201, body

    text_is(driver, f"dm-name-{campaign_id}", "Ventas")  # the dialer's live event reloads the monitor
    dialer_id = body["dialer"]["id"]
    # The provider was created after the page loaded: its name is fetched when a dialer mentions it.
    wait(driver).until(lambda d: "Unused" in d.find_element(*tid(f"dm-dialer-{campaign_id}-{dialer_id}")).text)
    assert not driver.find_elements(*tid("dm-empty")) or not is_shown(driver, "dm-empty")

    # Outgoing unitary: the card's "Send one" picks the campaign; the number is required.
    click(driver, f"dm-send-one-{campaign_id}")
    assert driver.find_element(*tid("dm-unitary-campaign")).get_attribute("value") == "Ventas"
    set_input(driver, "dm-unitary-text", "Su pedido está listo")
    click(driver, "dm-unitary-send")
    text_is(driver, "dm-unitary-to-error", "Enter the number to send to.")
    set_input(driver, "dm-unitary-to", "+59899123456")
    click(driver, "dm-unitary-send")
    wait(driver).until(lambda d: "to +59899123456: Queued" in d.find_element(*tid("dm-unitary-status")).text)
    assert "UCS-2" in driver.find_element(*tid("dm-unitary-status")).text  # "á" is not in the GSM-7 alphabet
    stat_is(driver, f"dm-not-processed-{campaign_id}", 1)
    screenshot(driver, "dm07-unitary-queued")

    # Delete unprocessed asks first, naming the campaign; Cancel keeps the messages.
    click(driver, f"dm-cancel-{campaign_id}")
    visible(driver, f"dm-cancel-box-{campaign_id}")
    assert '"Ventas"' in driver.find_element(*tid(f"dm-cancel-box-{campaign_id}")).text
    screenshot(driver, "dm08-confirm-delete")
    click(driver, f"dm-cancel-cancel-{campaign_id}")
    assert not is_shown(driver, f"dm-cancel-box-{campaign_id}")
    assert stat(driver, f"dm-not-processed-{campaign_id}") == 1
    click(driver, f"dm-cancel-{campaign_id}")
    click(driver, f"dm-cancel-confirm-{campaign_id}")
    text_is(driver, "dm-status", 'Deleted 1 unprocessed message of "Ventas".')
    stat_is(driver, f"dm-not-processed-{campaign_id}", 0)
    wait(driver).until(lambda d: d.find_element(*tid(f"dm-funnel-cancelled-{campaign_id}")).get_attribute("data-value") == "1")

    # DNCR upload: an unknown campaign refuses the file; a good file adds the numbers.
    click(driver, "dm-tab-dncr")
    bad = write_csv(tmp_path / "dncr-bad.csv", ["+59899000001;;", "+59899000002;Nope;"])
    choose_file(driver, "dm-dncr-file", bad)
    click(driver, "dm-dncr-upload")
    visible(driver, "dm-dncr-issues")
    assert issue_rows(driver, "dm-dncr") == [["2", "Campaign", 'campaign "Nope" does not exist']]
    good = write_csv(tmp_path / "dncr.csv", ["+59899000001;;", "+59899000002;Ventas;"])
    choose_file(driver, "dm-dncr-file", good)
    click(driver, "dm-dncr-upload")
    text_is(driver, "dm-dncr-done", "dncr.csv loaded into the DNCR.")
    text_is(driver, "dm-dncr-added", "2")
    screenshot(driver, "dm09-dncr-uploaded")

    # A dry run counts the DNCR hits; a bad file name is the server's message.
    click(driver, "dm-tab-import")
    bulk = write_csv(tmp_path / "ventas.csv", ["Ventas;+59899000001;Hola;1", "Ventas;+59899000003;Hola;1",
                                                "Ventas;+59899000003;Hola;1"])
    choose_file(driver, "dm-import-file", bulk)
    click(driver, "dm-import-dryrun")
    text_is(driver, "dm-import-rows", "3")
    text_is(driver, "dm-import-dncr", "1")
    text_is(driver, "dm-import-duplicates", "1")
    bad_name = write_csv(tmp_path / "ventas enero.csv", ["Ventas;+59899000003;Hola;1"])
    choose_file(driver, "dm-import-file", bad_name)
    click(driver, "dm-import-dryrun")
    visible(driver, "dm-import-issues")
    rows = issue_rows(driver, "dm-import")
    assert rows[0][0] == "File" and "space" in rows[0][2], rows

    bad_logs = unexpected_console_errors(driver)
    assert not bad_logs, "console errors:\n" + "\n".join(json.dumps(e) for e in bad_logs)


def test_dialers_page_validation_schedule_edit_delete(driver, fresh_server):
    server = fresh_server
    admin_login(driver, server, "dialers")
    provider_id = create_provider(driver, "http://127.0.0.1:9", name="Main")
    backup_id = create_provider(driver, "http://127.0.0.1:9", name="Backup")
    click(driver, "dialers-refresh")
    table_idle(driver, "dialers-table")
    campaign_id = create_campaign_ui(driver, server, "Avisos", "America/Montevideo", transactional=False, back=False)

    # The campaign name is unique; an unknown time zone is caught before sending.
    set_input(driver, "campaign-name", "Avisos")
    click(driver, "campaign-submit")
    wait(driver).until(lambda d: d.find_element(*tid("campaign-name-error")).text.strip() != "")
    set_input(driver, "campaign-name", "Otra")
    set_input(driver, "campaign-timezone", "Mars/Olympus")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-timezone-error", '"Mars/Olympus" is not a known time zone.')
    open_app(driver, server, "dialers")
    table_idle(driver, "dialers-table")

    # A reversed dial-string range is refused by the server, next to the field.
    set_input(driver, "dialer-name", "Avisos dialer")
    select_value(driver, "dialer-provider", str(provider_id))
    select_value(driver, "dialer-fallback", str(backup_id))
    set_checked(driver, f"dialer-campaign-{campaign_id}", True)
    set_input(driver, "dialer-dialstring", "3.0")
    click(driver, "dialer-submit")
    wait(driver).until(lambda d: "reversed" in d.find_element(*tid("dialer-dialstring-error")).text)
    assert driver.find_element(*tid("dialer-dialstring")).get_attribute("aria-invalid") == "true"
    screenshot(driver, "dm10-dialer-dialstring-error")

    # Weekly hours: end before start and unknown zones are marked; then it saves.
    set_input(driver, "dialer-dialstring", "")
    set_input(driver, "dialer-interval", "250")
    click(driver, "dialer-schedule-weekly")
    visible(driver, "dialer-schedule-area")
    set_input(driver, "dialer-timezone", "America/Montevideo")
    driver.execute_script("arguments[0].value = '21:00'", driver.find_element(*tid("dialer-start-monday")))
    click(driver, "dialer-submit")
    text_is(driver, "dialer-day-error-monday", '"Until" must be after "From".')
    driver.execute_script("arguments[0].value = '08:00'", driver.find_element(*tid("dialer-start-monday")))
    set_checked(driver, "dialer-day-saturday", True)
    driver.execute_script("arguments[0].value = '09:00'; arguments[1].value = '00:00'",
                          driver.find_element(*tid("dialer-start-saturday")), driver.find_element(*tid("dialer-end-saturday")))
    screenshot(driver, "dm11-dialer-schedule-editor")
    click(driver, "dialer-submit")
    text_is(driver, "dialer-form-status", 'Dialer "Avisos dialer" added.')
    table_idle(driver, "dialers-table")
    dialer_id = int(row_by_name(driver, "dialer-row-", "Avisos dialer"))
    text_is(driver, f"dialer-schedule-{dialer_id}", "Mon–Fri 08:00–20:00, Sat 09:00–24:00 (America/Montevideo)")
    status, body = api(driver, "GET", "/dialers")
    d = next(x for x in body["dialers"] if x["id"] == dialer_id)
    assert d["fallbackProviderId"] == backup_id and d["intervalMs"] == 250 and d["enabled"] is False, d
    assert d["schedule"]["timeZone"] == "America/Montevideo"
    assert {"day": "saturday", "start": "09:00", "end": "24:00"} in d["schedule"]["weekly"], d["schedule"]
    assert "dialString" not in d or d["dialString"] in (None, ""), d
    screenshot(driver, "dm12-dialers-list")

    # Edit: the form shows the stored values; back to "always open", no fallback.
    click(driver, f"dialer-edit-{dialer_id}")
    attr_is(driver, "dialer-form", "data-mode", "edit")
    assert driver.find_element(*tid("dialer-schedule-weekly")).is_selected()
    assert driver.find_element(*tid("dialer-timezone")).get_attribute("value") == "America/Montevideo"
    assert driver.find_element(*tid("dialer-end-saturday")).get_attribute("value") == "00:00"
    assert driver.find_element(*tid(f"dialer-campaign-{campaign_id}")).is_selected()
    click(driver, "dialer-schedule-always")
    select_value(driver, "dialer-fallback", "")
    click(driver, "dialer-submit")
    text_is(driver, "dialer-form-status", 'Dialer "Avisos dialer" saved.')
    text_is(driver, f"dialer-schedule-{dialer_id}", "Always open")
    status, body = api(driver, "GET", "/dialers")
    d = next(x for x in body["dialers"] if x["id"] == dialer_id)
    assert d.get("fallbackProviderId") is None, d

    # The monitor treats the always-open week as in schedule.
    open_app(driver, server, "dialer-monitor")
    text_is(driver, f"dm-indate-{campaign_id}", "In schedule")
    open_app(driver, server, "dialers")
    table_idle(driver, "dialers-table")

    # Delete asks first.
    click(driver, f"dialer-delete-{dialer_id}")
    click(driver, f"dialer-delete-cancel-{dialer_id}")
    present(driver, f"dialer-row-{dialer_id}")
    click(driver, f"dialer-delete-{dialer_id}")
    click(driver, f"dialer-delete-confirm-{dialer_id}")
    text_is(driver, "dialers-status", 'Dialer "Avisos dialer" deleted.')
    wait(driver).until(lambda d: not d.find_elements(*tid(f"dialer-row-{dialer_id}")))


def test_supervisor_uses_monitor_but_not_dialers(new_driver, fresh_server):
    server = fresh_server
    admin = new_driver()
    admin_login(admin, server, "dialer-monitor")
    provider_id = create_provider(admin, "http://127.0.0.1:9", name="Unused")
    status, body = api(admin, "POST", "/campaigns", {"name": "Soporte", "timeZone": "UTC"})
    campaign_id = body["campaign"]["id"]
    status, body = api(admin, "POST", "/dialers", {"name": "Soporte dialer", "providerId": provider_id, "campaignIds": [campaign_id]})
    dialer_id = body["dialer"]["id"]

    password = server.add_user("sup.dm", "supervisor")
    sup = new_driver()
    login(sup, server, "sup.dm", password, "dialer-monitor")
    text_is(sup, "page-title", "Dialer monitor")
    assert is_shown(sup, "nav-dialer-monitor") and not is_shown(sup, "nav-dialers")
    text_is(sup, f"dm-status-{campaign_id}", "Inactive")
    click(sup, f"dm-start-{campaign_id}-{dialer_id}")
    text_is(sup, f"dm-status-{campaign_id}", "Active")
    text_is(admin, f"dm-status-{campaign_id}", "Active")  # the admin's page follows live
    click(sup, f"dm-finish-{campaign_id}-{dialer_id}")
    text_is(sup, f"dm-status-{campaign_id}", "Inactive")
    screenshot(sup, "dm13-supervisor-monitor")
    open_app(sup, server, "dialers")
    text_is(sup, "no-access", "You do not have access to this page.")


def test_monitor_narrow_window(new_driver, fresh_server):
    driver = new_driver(820, 900)
    admin_login(driver, fresh_server, "dialer-monitor")
    provider_id = create_provider(driver, "http://127.0.0.1:9", name="Unused")
    status, body = api(driver, "POST", "/campaigns", {"name": "Cobranzas", "timeZone": "UTC"})
    campaign_id = body["campaign"]["id"]
    api(driver, "POST", "/dialers", {"name": "D", "providerId": provider_id, "campaignIds": [campaign_id]})
    text_is(driver, f"dm-name-{campaign_id}", "Cobranzas")
    for route in ("dialer-monitor", "dialers"):
        open_app(driver, fresh_server, route)
        visible(driver, "page-title")
        if route == "dialer-monitor":
            present(driver, f"dm-campaign-{campaign_id}")
        else:
            table_idle(driver, "dialers-table")
        overflow = driver.execute_script(
            "const m = document.getElementById('main');"
            "return Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,"
            "                m.scrollWidth - m.clientWidth)")
        assert overflow <= 0, f"{route}: the page scrolls horizontally by {overflow}px at 820px"
        screenshot(driver, f"dm14-narrow-{route}")


def test_monitor_reconnects_after_the_server_restarts(driver, fresh_server):
    """The page's WebSocket drops with the server, comes back by itself, and the monitor follows live again."""
    server = fresh_server
    admin_login(driver, server, "dialer-monitor")
    provider_id = create_provider(driver, "http://127.0.0.1:9", name="Unused")
    status, body = api(driver, "POST", "/campaigns", {"name": "Avisos", "timeZone": "UTC"})
    campaign_id = body["campaign"]["id"]
    status, body = api(driver, "POST", "/dialers", {"name": "Avisos dialer", "providerId": provider_id, "campaignIds": [campaign_id]})
    dialer_id = body["dialer"]["id"]
    text_is(driver, f"dm-status-{campaign_id}", "Inactive")
    attr_is(driver, "dm-live", "data-state", "live")

    server.stop()
    attr_is(driver, "dm-live", "data-state", "lost")
    text_is(driver, "dm-live-text", "Not updating · retrying")
    server.start()
    attr_is(driver, "dm-live", "data-state", "live", timeout=40)
    wait(driver).until(lambda d: "Live updates are back." in d.find_element(*tid("dm-status")).text)

    # A change made elsewhere reaches the page through the new connection.
    status, body = api(driver, "POST", f"/dialers/{dialer_id}/start")
    assert status == 200, body
    text_is(driver, f"dm-status-{campaign_id}", "Active")
    bad_logs = [e for e in unexpected_console_errors(driver)
                if "/api/v1/live" not in e.get("message", "") and "ERR_CONNECTION_REFUSED" not in e.get("message", "")]
    assert not bad_logs, "console errors:\n" + "\n".join(json.dumps(e) for e in bad_logs)
