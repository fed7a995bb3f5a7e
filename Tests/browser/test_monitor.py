"""Browser tests for the supervisor's campaign monitor (SPEC S1–S3, S6) against the real server.

A supervisor watches the monitor of the campaign assigned to them while agents work in their own
browsers: an agent pauses and the supervisor's page shows it within 2 s; the supervisor spies on a
conversation and sees the client's new message arrive; chats with an agent; takes a conversation
over and answers it; and disconnects an agent, whose browser goes back to the sign-in view. A Nexmo
simulator (`smsdesk simulate --type nexmo`) is the campaign's provider and posts the client's SMS.

Run: /usr/bin/python3 -m pytest Tests/browser/test_monitor.py -q
"""


import pytest
from selenium.webdriver.common.by import By

from browser_helpers import (attr_is, click, is_shown, login, present, screenshot, text_is, tid, visible, wait,
                             wait_login_view)
from desk_helpers import ApiClient, NexmoSimulator
from conftest import free_port, smsdesk_bin

SIM_KEY = "monkey01"
SIM_SECRET = "monsecret01"
DID = "+15550008888"
OTHER_DID = "+15550008889"
CLIENT = "+59899555001"
SEND_TIMEOUT = 60

class Floor:
    """A contact-center floor: the campaign "Soporte" (ringall; chat time threshold 5 s, so a running
    conversation soon crosses it) with agents ana and bob and the supervisor sara; a second campaign
    "Cobros" that is not sara's; a Nexmo simulator as provider."""

    def __init__(self, server):
        self.server = server
        self.admin = ApiClient(server.base_url).login(server.admin_user, server.admin_password)
        self.passwords = {name: server.add_user(name, "agent") for name in ("ana", "bob")}
        self.passwords["sara"] = server.add_user("sara", "supervisor")
        _, users = self.admin.call("GET", "/users", expect=200)
        self.ids = {u["username"]: u["id"] for u in users["users"]}
        sim_port = free_port()
        _, p = self.admin.call("POST", "/providers", {
            "name": "Vonage sim", "type": "Nexmo", "url": f"http://127.0.0.1:{sim_port}",
            "username": SIM_KEY, "secret": SIM_SECRET, "sender": DID}, expect=201)
        self.simulator = NexmoSimulator(sim_port, server.base_url + p["provider"]["webhookURL"], SIM_KEY, SIM_SECRET, DID, CLIENT)
        _, c = self.admin.call("POST", "/campaigns", {
            "name": "Soporte", "timeZone": "UTC", "transactional": True, "strategy": "ringall", "dids": [DID],
            "offerTimeoutSeconds": 900, "maxInteractionsPerAgent": 5, "providerId": p["provider"]["id"],
            "thresholds": {"chatTimeSeconds": 5}}, expect=201)
        self.campaign_id = c["campaign"]["id"]
        self.admin.call("PUT", f"/campaigns/{self.campaign_id}/members", {"members": [
            {"userId": self.ids[name], "penalty": 0} for name in ("ana", "bob")]}, expect=200)
        self.admin.call("PUT", f"/campaigns/{self.campaign_id}/supervisors", {"supervisorIds": [self.ids["sara"]]}, expect=200)
        _, other = self.admin.call("POST", "/campaigns", {"name": "Cobros", "timeZone": "UTC", "dids": [OTHER_DID]}, expect=201)
        self.other_id = other["campaign"]["id"]

    def stop(self):
        self.simulator.stop()


@pytest.fixture
def floor(fresh_server):
    f = Floor(fresh_server)
    yield f
    f.stop()


# ---- Page helpers ---------------------------------------------------------------------------------

def agent_page(new_driver, floor, name):
    """A browser signed in as agent `name` on the inbox, live, and Available."""
    driver = new_driver()
    login(driver, floor.server, name, floor.passwords[name], "inbox")
    attr_is(driver, "inbox-live", "data-state", "live")
    click(driver, "presence-available")
    attr_is(driver, "presence", "data-status", "available")
    return driver


def monitor_page(new_driver, floor, width=1440, height=1000):
    driver = new_driver(width, height)
    login(driver, floor.server, "sara", floor.passwords["sara"], "monitor")
    text_is(driver, "page-title", "Monitor")
    attr_is(driver, "mon-live", "data-state", "live")
    attr_is(driver, "mon-agents", "aria-busy", "false")
    return driver


def status_of(driver, user_id):
    return driver.find_element(*tid(f"agent-row-{user_id}")).get_attribute("data-status")


def wait_status(driver, user_id, status, timeout=15):
    wait(driver, timeout).until(lambda d: status_of(d, user_id) == status,
                                message=f"agent {user_id} never showed as {status} on the monitor")


def open_menu_action(driver, user_id, action):
    click(driver, f"agent-actions-{user_id}")
    visible(driver, f"agent-menu-{user_id}")
    click(driver, f"agent-action-{action}-{user_id}")


def texts(driver, css):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def dom_value(driver, testid, path="textContent"):
    """A property of the element (read in the page, so a re-render in between cannot make it stale); None if absent."""
    return driver.execute_script(
        "const el = document.querySelector(`[data-testid=\"${arguments[0]}\"]`);"
        "return el ? arguments[1].split('.').reduce((v, k) => v == null ? v : v[k], el) : null;", testid, path)


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
            and not (e.get("source") == "network" and "401" in e.get("message", ""))]


# ---- Tests ------------------------------------------------------------------------------------------

def test_supervisor_watches_pauses_spies_chats_takes_over_and_disconnects(new_driver, floor):
    ana = agent_page(new_driver, floor, "ana")
    bob = agent_page(new_driver, floor, "bob")
    sara = monitor_page(new_driver, floor)
    ana_id, bob_id = floor.ids["ana"], floor.ids["bob"]

    # Only her campaign is offered; both agents are there, available, and the queue is empty.
    assert [o.text for o in sara.find_elements(By.CSS_SELECTOR, '[data-testid="mon-campaign"] option')] == ["Soporte"]
    wait_status(sara, ana_id, "available")
    wait_status(sara, bob_id, "available")
    visible(sara, "mon-queue-empty")
    attr_is(sara, "kpi-queue-length", "data-crossed", "false")
    present(sara, "chart-service-level")
    present(sara, "chart-queue-threshold")

    # Ana pauses in her own page: the supervisor's page shows it within 2 s (a live event, no reload).
    sara.execute_script("window.__sameDocument = 'yes'")
    click(ana, "presence-paused")
    visible(ana, "presence-reason").send_keys("Almuerzo")
    click(ana, "presence-pause")
    attr_is(ana, "presence", "data-status", "paused")
    wait_status(sara, ana_id, "paused", timeout=2)
    text_is(sara, f"agent-reason-{ana_id}", "Almuerzo")
    assert sara.execute_script("return window.__sameDocument") == "yes"
    # The time in status ticks.
    first = sara.find_element(*tid(f"agent-since-{ana_id}")).text
    wait(sara).until(lambda d: d.find_element(*tid(f"agent-since-{ana_id}")).text != first, message="time in status does not tick")

    # A client writes: offered to bob only (ana is paused). Bob accepts; the monitor lists it under bob.
    floor.simulator.inbound("Hola, no me llega la factura")
    conv_item = wait(bob, 20).until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, '[data-testid^="conv-item-"]')), None),
                                    message="the conversation never reached bob")
    conv = int(conv_item.get_attribute("data-id"))
    # While it waits for an agent it is in the campaign queue, its wait ticking.
    click(bob, f"conv-item-{conv}")
    click(bob, "conv-accept")
    attr_is(bob, "thread-state", "data-state", "assigned")
    visible(sara, f"spy-{conv}")
    text_is(sara, f"agent-active-{bob_id}", "1 open · 0 offered")

    # Spy: read-only and silent; a new message from the client appears in the supervisor's panel live.
    click(sara, f"spy-{conv}")
    visible(sara, "spy-banner")
    wait(sara).until(lambda d: "Hola, no me llega la factura" in texts(d, '[data-testid="spy-messages"] .msg-text'))
    floor.simulator.inbound("¿Siguen ahí?")
    wait(sara, 20).until(lambda d: "¿Siguen ahí?" in texts(d, '[data-testid="spy-messages"] .msg-text'),
                         message="the client's new message never appeared in the spy panel")
    assert not is_shown(bob, "sup-notice") and not is_shown(bob, "sup-panel"), "nothing shows on the agent's page"
    # The chat time threshold (5 s) is crossed by the running conversation: its card turns red.
    attr_is(sara, "kpi-longest-chat", "data-crossed", "true", timeout=20)
    attr_is(sara, "kpi-service-level", "data-crossed", "false")
    screenshot(sara, "mon01-monitor-spy")

    # Chat: the supervisor writes, it appears in bob's page at once; bob answers.
    open_menu_action(sara, bob_id, "chat")
    visible(sara, "chat-text").send_keys("Bob, ¿necesitás ayuda con este cliente?")
    click(sara, "chat-send")
    wait(bob, 10).until(lambda d: "Bob, ¿necesitás ayuda con este cliente?" in texts(d, '[data-testid="sup-messages"] .msg-text'),
                        message="the supervisor's message never appeared in the agent's page")
    screenshot(bob, "mon02-agent-chat")
    visible(bob, "sup-text").send_keys("Sí, tomala vos por favor")
    click(bob, "sup-send")
    wait(sara, 10).until(lambda d: "Sí, tomala vos por favor" in texts(d, '[data-testid="chat-messages"] .msg-text'),
                         message="the agent's answer never reached the supervisor")
    screenshot(sara, "mon03-chat")

    # Info: the agent's details and today's figures, from the row's actions menu.
    click(sara, f"agent-actions-{bob_id}")
    visible(sara, f"agent-menu-{bob_id}")
    screenshot(sara, "mon03b-actions-menu")
    click(sara, f"agent-action-info-{bob_id}")
    text_is(sara, "info-sessions", "1")
    visible(sara, "info-campaigns")

    # Take over: the conversation leaves bob's inbox and is the supervisor's to answer.
    click(sara, f"spy-{conv}")
    visible(sara, "spy-banner")
    click(sara, "spy-takeover")
    visible(sara, "spy-mine")
    wait(bob, 10).until(lambda d: not d.find_elements(*tid(f"conv-item-{conv}")), message="bob still has the conversation")
    visible(bob, "sup-notice")
    visible(sara, f"mine-{conv}")
    visible(sara, "mine-text").send_keys("Hola, soy Sara, la supervisora. Ya lo resolvemos.")
    click(sara, "mine-send")
    wait(sara, SEND_TIMEOUT).until(lambda d: any(m["text"] == "Hola, soy Sara, la supervisora. Ya lo resolvemos."
                                                 for m in floor.simulator.messages()),
                                   message="the supervisor's reply never reached the client")
    # Her reply is the first agent reply, within the service level: the card and this hour's bar say 100%.
    text_is(sara, "kpi-service-level-value", "100%", timeout=15)
    wait(sara, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="chart-service-level"] rect.mon-bar[data-value="1"]'),
                         message="the service level chart has no bar for this hour")
    screenshot(sara, "mon04-taken-over")

    # Pause from the monitor: reflected in the agent's page at once.
    open_menu_action(sara, bob_id, "pause")
    visible(sara, "pause-reason").send_keys("Coaching")
    click(sara, "pause-submit")
    attr_is(bob, "presence", "data-status", "paused", timeout=5)
    wait_status(sara, bob_id, "paused", timeout=5)
    text_is(sara, f"agent-reason-{bob_id}", "Coaching")

    # Disconnect: the agent's browser goes back to the sign-in view and she must sign in again.
    open_menu_action(sara, ana_id, "disconnect")
    visible(sara, "disconnect-confirm")
    screenshot(sara, "mon05-disconnect-confirm")
    click(sara, "disconnect-confirm")
    wait_login_view(ana)
    wait_status(sara, ana_id, "offline", timeout=5)
    screenshot(ana, "mon06-agent-disconnected")
    screenshot(sara, "mon07-after-disconnect")

    assert console_errors(sara) == [], console_errors(sara)


def test_threshold_view_and_scope(new_driver, floor):
    """The threshold view's cards and charts; a supervisor sees only the campaigns assigned to them,
    and a supervisor with none is told so; an admin sees every campaign."""
    floor.simulator.inbound("hola", sender="+59899555002")  # nobody is available: it waits in the queue
    sara = monitor_page(new_driver, floor, 1280, 800)
    visible(sara, "queue-row-" + str(wait(sara, 20).until(
        lambda d: next((int(e.get_attribute("data-testid").split("-")[-1])
                        for e in d.find_elements(By.CSS_SELECTOR, '[data-testid^="queue-row-"]')), None),
        message="the waiting client is not in the queue")))
    text_is(sara, "kpi-queue-length-value", "1")
    first = sara.find_element(By.CSS_SELECTOR, '[data-testid^="queue-wait-"]').text
    wait(sara).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid^="queue-wait-"]').text != first,
                     message="the queue wait does not tick")
    # The queue chart drawn by the page: this hour's peak is the waiting client; the limit line is there.
    wait(sara).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="chart-queue"] circle.mon-dot[data-value="1"]'),
                     message="the queue chart does not show this hour's peak of 1")
    present(sara, "chart-queue-threshold")
    present(sara, "chart-service-level-threshold")
    screenshot(sara, "mon08-threshold-view")

    # Sara cannot reach the other campaign, even by asking the API directly.
    api = ApiClient(floor.server.base_url).login("sara", floor.passwords["sara"])
    status, _ = api.call("GET", f"/monitor/campaigns/{floor.other_id}")
    assert status == 404

    # A supervisor with no campaign sees an explanation instead of data.
    floor.passwords["tom"] = floor.server.add_user("tom", "supervisor")
    tom = new_driver()
    login(tom, floor.server, "tom", floor.passwords["tom"], "monitor")
    visible(tom, "mon-empty")
    assert "No campaign is assigned to you" in tom.find_element(*tid("mon-empty")).text

    # The admin chooses among every campaign.
    admin = new_driver()
    login(admin, floor.server, floor.server.admin_user, floor.server.admin_password, "monitor")
    wait(admin).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="mon-campaign"] option')) == 2)


def test_monitor_screen(new_driver, floor):
    """Monitor screen (SPEC S3): an admin allows it for ana on the Users page; sara watches ana's screen
    from the actions menu; ana's page says so; the conversation ana opens and the draft she types show in
    sara's panel within 2 s; stopping removes the notice. Not allowed for bob: refused with a message."""
    ana_id, bob_id = floor.ids["ana"], floor.ids["bob"]
    admin = new_driver()
    login(admin, floor.server, floor.server.admin_user, floor.server.admin_password, "users")
    box = visible(admin, "monitor-screen-ana")
    assert not box.is_selected()
    box.click()
    wait(admin).until(lambda d: d.find_element(*tid("monitor-screen-ana")).is_selected()
                      and d.find_element(*tid("monitor-screen-ana")).is_enabled(), message="the setting was not saved")
    _, users = floor.admin.call("GET", "/users", expect=200)
    assert {u["username"]: u["monitorScreenAllowed"] for u in users["users"]}["ana"] is True
    assert {u["username"]: u["monitorScreenAllowed"] for u in users["users"]}["bob"] is False
    screenshot(admin, "mon09-users-monitor-screen")

    ana = agent_page(new_driver, floor, "ana")
    sara = monitor_page(new_driver, floor)
    wait_status(sara, ana_id, "available")

    # Bob's screen may not be watched: the panel says why.
    open_menu_action(sara, bob_id, "screen")
    assert "not allowed" in visible(sara, "panel-error").text

    open_menu_action(sara, ana_id, "screen")
    visible(sara, "screen-banner")
    notice = visible(ana, "sup-monitored", timeout=5)
    assert "sara" in notice.text and "monitored" in notice.text
    visible(sara, "screen-none", timeout=5)  # her page reported it: nothing open yet

    floor.simulator.inbound("Hola, quiero cambiar mi plan")
    conv_item = wait(ana, 20).until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, '[data-testid^="conv-item-"]')), None),
                                    message="the conversation never reached ana")
    conv = int(conv_item.get_attribute("data-id"))
    click(ana, f"conv-item-{conv}")
    click(ana, "conv-accept")
    attr_is(ana, "thread-state", "data-state", "assigned")
    visible(ana, "composer-text").send_keys("Claro, ¿a qué plan te gustaría")
    wait(sara, 2).until(lambda d: dom_value(d, "screen-conversation", "dataset.conversationId") == str(conv),
                        message="the conversation ana opened is not in sara's panel within 2 s")
    wait(sara, 2).until(lambda d: dom_value(d, "screen-draft") == "Claro, ¿a qué plan te gustaría",
                        message="ana's draft is not in sara's panel within 2 s")
    assert "Hola, quiero cambiar mi plan" in texts(sara, '[data-testid="screen-messages"] .msg-text')
    ana.find_element(*tid("composer-text")).send_keys(" cambiar?")
    wait(sara, 2).until(lambda d: dom_value(d, "screen-draft") == "Claro, ¿a qué plan te gustaría cambiar?",
                        message="the rest of ana's draft is not in sara's panel within 2 s")
    sara.execute_script("document.querySelector('[data-testid=\"mon-side\"]').scrollIntoView({block: 'center'})")
    screenshot(sara, "mon10-monitor-screen")
    screenshot(ana, "mon11-agent-monitored")

    click(sara, "screen-stop")
    wait(ana, 5).until(lambda d: not d.find_elements(*tid("sup-monitored")), message="the notice stayed after the stop")
    assert not is_shown(sara, "screen-banner")
    refused = f"/api/v1/monitor/agents/{bob_id}/screen"  # the expected 403 for bob, above
    errors = [e for e in console_errors(sara) if refused not in e.get("message", "")]
    assert errors == [], errors
    assert console_errors(ana) == [], console_errors(ana)
