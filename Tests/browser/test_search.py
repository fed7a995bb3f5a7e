"""Browser tests for the conversation search, the "recordings" (SPEC S4), against the real server.

Two in-process Simulator providers stand in for the operators: each "sends" the agents' messages,
reports delivery, fails destinations ending in 99 (`fail_suffix`), and has the client answer with a
text that a spreadsheet would run as a formula (`auto_reply`), so the thread shows delivered, failed
(with its reason) and received messages, and the CSV export must neutralise that text.

Run: /usr/bin/python3 -m pytest Tests/browser/test_search.py -q
"""

import datetime
import json
import time

from selenium.webdriver.common.by import By

from browser_helpers import click, login, present, screenshot, select_value, table_idle, text_is, tid, visible, wait
from desk_helpers import ApiClient

FORMULA = "=cmd|' /C calc'!A0"
VENTAS_DID = "+59820000001"
COBROS_DID = "+59820000002"
DELIVERED = "+59899123401"   # Ana writes, it is delivered, the client answers with FORMULA
FAILED = "+59899123499"      # Ana writes, the provider refuses it (ends in 99)
COBROS = "+59898555501"      # Carla writes in the other campaign
DEADLINE = 60


def wait_for(predicate, message, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


def seed(server):
    """Two campaigns on simulators, Ana and Carla writing to clients, Sara supervising Cobros only.
    Returns the ids and passwords the tests need once every delivery state and reply has arrived."""
    admin = ApiClient(server.base_url).login(server.admin_user, server.admin_password)
    passwords = {name: server.add_user(name, role) for name, role in
                 [("ana", "agent"), ("carla", "agent"), ("sara", "supervisor")]}
    users = {u["username"]: u["id"] for u in admin.call("GET", "/users", expect=200)[1]["users"]}
    campaigns = {}
    for name, did, agent in [("Ventas", VENTAS_DID, "ana"), ("Cobros", COBROS_DID, "carla")]:
        _, p = admin.call("POST", "/providers", {
            "name": f"Sim {name}", "type": "Simulator", "sender": did,
            "settings": {"latency_ms": "10", "dlr_delay_ms": "100", "reply_delay_ms": "200", "fail_suffix": "99",
                         "auto_reply": FORMULA}}, expect=201)
        _, c = admin.call("POST", "/campaigns", {"name": name, "timeZone": "America/Montevideo", "transactional": True,
                                                 "providerId": p["provider"]["id"], "dids": [did]}, expect=201)
        cid = c["campaign"]["id"]
        campaigns[name] = cid
        admin.call("PUT", f"/campaigns/{cid}/members", {"members": [{"userId": users[agent], "penalty": 0}]}, expect=200)
    admin.call("PUT", f"/campaigns/{campaigns['Cobros']}/supervisors", {"supervisorIds": [users["sara"]]}, expect=200)

    conversations = {}
    ana = ApiClient(server.base_url).login("ana", passwords["ana"])
    for number, text in [(DELIVERED, "Hola, su pedido salió hoy"), (FAILED, "Hola, le escribimos por su factura")]:
        _, sent = ana.call("POST", "/conversations", {"campaignId": campaigns["Ventas"], "number": number, "text": text}, expect=201)
        conversations[number] = sent["conversation"]["id"]
    carla = ApiClient(server.base_url).login("carla", passwords["carla"])
    _, sent = carla.call("POST", "/conversations", {"campaignId": campaigns["Cobros"], "number": COBROS, "text": "Recordatorio de pago"},
                         expect=201)
    conversations[COBROS] = sent["conversation"]["id"]

    def states(number):
        _, detail = admin.call("GET", f"/conversations/{conversations[number]}", expect=200)
        return [(m["direction"], m["state"]) for m in detail["messages"]]
    wait_for(lambda: states(DELIVERED) == [("out", "delivered"), ("in", "received")], "the delivered reply and the client's answer")
    wait_for(lambda: states(FAILED) == [("out", "failed")], "the refused message")
    wait_for(lambda: states(COBROS) == [("out", "delivered"), ("in", "received")], "Carla's message and its answer")
    return {"campaigns": campaigns, "conversations": conversations, "passwords": passwords, "users": users}


def set_date(driver, testid, value):
    """Type a YYYY-MM-DD into a date input whatever the browser's date format."""
    el = present(driver, testid)
    driver.execute_script("""
        arguments[0].value = arguments[1];
        arguments[0].dispatchEvent(new Event('input', { bubbles: true }));
        arguments[0].dispatchEvent(new Event('change', { bubbles: true }));""", el, value)


def set_text(driver, testid, value):
    el = visible(driver, testid)
    el.clear()
    if value:
        el.send_keys(value)


def result_numbers(driver):
    table_idle(driver, "search-table")
    return [el.text for el in driver.find_elements(By.CSS_SELECTOR, '[data-testid^="search-client-"]')]


def search(driver):
    click(driver, "search-submit")
    table_idle(driver, "search-table")


def fetch_text(driver, url):
    """GET `url` from inside the page (the session cookie goes along, as for a download); (status, text, type)."""
    return driver.execute_async_script("""
        const [url, done] = arguments;
        fetch(url, { credentials: 'same-origin' })
          .then(async (r) => done([r.status, await r.text(), r.headers.get('Content-Type'), r.headers.get('Content-Disposition')]))
          .catch((e) => done([0, String(e), null, null]));""", url)


def console_errors(driver, allowed=()):
    bad = []
    for e in driver.get_log("browser"):
        msg = e.get("message", "")
        if e.get("level") != "SEVERE":
            continue
        if e.get("source") == "network" and ("/api/v1/me" in msg and "401" in msg or any(a in msg for a in allowed)):
            continue
        bad.append(e)
    return bad


def test_search_by_number_and_date_open_thread_and_export_csv(new_driver, fresh_server):
    data = seed(fresh_server)
    ids = data["conversations"]
    driver = new_driver()
    login(driver, fresh_server, fresh_server.admin_user, fresh_server.admin_password, route="search")
    text_is(driver, "page-title", "Conversation search")
    assert set(result_numbers(driver)) == {DELIVERED, FAILED, COBROS}, "newest first, every campaign for an admin"
    assert result_numbers(driver)[0] == COBROS

    # Part of the number.
    set_text(driver, "search-number", "99 1234")
    search(driver)
    assert result_numbers(driver) == [FAILED, DELIVERED]
    set_text(driver, "search-number", "123401")
    search(driver)
    assert result_numbers(driver) == [DELIVERED]

    # Dates are the browser's days; "To" includes the whole day.
    today = datetime.date.today()
    set_date(driver, "search-from", today.isoformat())
    set_date(driver, "search-to", today.isoformat())
    search(driver)
    assert result_numbers(driver) == [DELIVERED]
    set_date(driver, "search-from", (today + datetime.timedelta(days=1)).isoformat())
    set_date(driver, "search-to", (today + datetime.timedelta(days=2)).isoformat())
    search(driver)
    visible(driver, "search-empty")
    set_date(driver, "search-to", (today - datetime.timedelta(days=1)).isoformat())
    click(driver, "search-submit")
    text_is(driver, "search-to-error", '"To" is before "From".')
    set_date(driver, "search-from", (today - datetime.timedelta(days=7)).isoformat())
    set_date(driver, "search-to", today.isoformat())
    set_text(driver, "search-number", "1234")
    select_value(driver, "search-campaign", str(data["campaigns"]["Ventas"]))
    search(driver)
    assert result_numbers(driver) == [FAILED, DELIVERED]
    screenshot(driver, "s01-search-results")

    # Open a result: the whole thread, read-only, with delivery states; the client's formula is plain text.
    click(driver, f"search-open-{ids[DELIVERED]}")
    text_is(driver, "search-thread-title", DELIVERED)
    assert driver.switch_to.active_element.get_attribute("data-testid") == "search-thread-title"
    messages = driver.find_elements(By.CSS_SELECTOR, '[data-testid="search-messages"] > li')
    assert [(m.get_attribute("data-direction"), m.get_attribute("data-state")) for m in messages] == [("out", "delivered"), ("in", "received")]
    assert messages[0].find_element(By.CSS_SELECTOR, ".msg-state").text == "Delivered"
    assert messages[1].find_element(By.CSS_SELECTOR, ".msg-text").text == FORMULA
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="search-thread"] textarea, [data-testid="search-thread"] form'), \
        "read-only: no composer"
    assert "Ventas" in driver.find_element(*tid("search-thread-meta")).text
    screenshot(driver, "s02-search-thread-delivered")
    click(driver, "search-thread-back")
    visible(driver, "search-results")
    assert driver.switch_to.active_element.get_attribute("data-testid") == f"search-open-{ids[DELIVERED]}", "focus returns to the row"

    click(driver, f"search-open-{ids[FAILED]}")
    text_is(driver, "search-thread-title", FAILED)
    failed = driver.find_element(By.CSS_SELECTOR, '[data-testid="search-messages"] > li')
    assert failed.get_attribute("data-state") == "failed"
    assert failed.find_element(By.CSS_SELECTOR, ".msg-state").text == "Failed"
    assert "ends in 99" in failed.find_element(By.CSS_SELECTOR, ".msg-reason").text
    screenshot(driver, "s03-search-thread-failed")
    click(driver, "search-thread-back")

    # Export CSV with the filters on screen: one row per message, the formula and the numbers neutralised.
    href = driver.find_element(*tid("search-export")).get_attribute("href")
    assert "number=1234" in href and f"campaignId={data['campaigns']['Ventas']}" in href and "from=" in href, href
    status, text, content_type, disposition = fetch_text(driver, href)
    assert status == 200 and content_type.startswith("text/csv") and "attachment" in disposition, (status, content_type, text)
    rows = [line.split(";") for line in text.split("\r\n") if line]
    assert rows[0] == ["conversation_id", "message_id", "date", "campaign", "client_number", "agent", "direction", "text", "state",
                       "reason"]
    body = rows[1:]
    assert [(r[0], r[6], r[8]) for r in body] == [
        (str(ids[FAILED]), "out", "failed"),
        (str(ids[DELIVERED]), "out", "delivered"), (str(ids[DELIVERED]), "in", "received")]
    assert {r[4] for r in body} == {"'" + FAILED, "'" + DELIVERED}
    assert "'" + FORMULA in [r[7] for r in body]
    assert all(r[5] == "ana" for r in body)
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), f"a cell that a spreadsheet would run: {cell!r}"

    bad = console_errors(driver)
    assert not bad, "console errors:\n" + "\n".join(json.dumps(e) for e in bad)


def test_supervisor_sees_only_assigned_campaigns(new_driver, fresh_server):
    data = seed(fresh_server)
    ids = data["conversations"]
    driver = new_driver()
    login(driver, fresh_server, "sara", data["passwords"]["sara"], route="search")
    text_is(driver, "page-title", "Conversation search")
    assert result_numbers(driver) == [COBROS], "Sara supervises Cobros only"
    options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, '[data-testid="search-campaign"] option')]
    assert options == ["All my campaigns", "Cobros"]
    assert "assigned to you" in driver.find_element(*tid("search-scope-note")).text
    set_text(driver, "search-number", "1234")
    search(driver)
    visible(driver, "search-empty")
    screenshot(driver, "s04-search-supervisor")

    # The API refuses the other campaign and its threads, whatever the page shows.
    status, text, _, _ = fetch_text(driver, f"/api/v1/search/conversations?campaignId={data['campaigns']['Ventas']}")
    assert status == 403 and json.loads(text)["error"]["field"] == "campaignId"
    status, _, _, _ = fetch_text(driver, f"/api/v1/conversations/{ids[DELIVERED]}")
    assert status == 404
    status, text, _, _ = fetch_text(driver, "/api/v1/search/conversations.csv")
    assert status == 200 and [line.split(";")[4] for line in text.split("\r\n")[1:] if line] == ["'" + COBROS, "'" + COBROS]
    click(driver, "search-reset")
    click(driver, f"search-open-{ids[COBROS]}")
    text_is(driver, "search-thread-title", COBROS)

    # An agent has no search page.
    agent = new_driver()
    login(agent, fresh_server, "ana", data["passwords"]["ana"])
    assert not agent.find_elements(*tid("nav-search"))
    agent.get(fresh_server.base_url + "/#/search")
    visible(agent, "no-access")

    bad = console_errors(driver, allowed=("403", "404"))
    assert not bad, "console errors:\n" + "\n".join(json.dumps(e) for e in bad)


def test_search_narrow_window(new_driver, fresh_server):
    driver = new_driver(820, 900)
    login(driver, fresh_server, fresh_server.admin_user, fresh_server.admin_password, route="search")
    visible(driver, "search-empty")
    width = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px at 820 px"
    screenshot(driver, "s05-search-narrow")
