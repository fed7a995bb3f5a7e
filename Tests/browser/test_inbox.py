"""Browser tests for the agent inbox (SPEC A1–A7, C3, C5, C8–C10) against the real server.

A Nexmo (Vonage) simulator (`smsdesk simulate --type nexmo`) is the campaign's provider: it posts
inbound SMS and delivery reports to the provider's webhook, and records the data coding each send
declared (`type=unicode` is UCS-2), so the test sees what encoding the server asked for.

Run: /usr/bin/python3 -m pytest Tests/browser/test_inbox.py -q
"""

import json
import re
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser_helpers import attr_is, click, is_shown, login, present, screenshot, text_is, tid, visible, wait
from desk_helpers import ApiClient, NexmoSimulator
from conftest import free_port, smsdesk_bin

SIM_KEY = "simkey01"
SIM_SECRET = "simsecret01"
DID = "+15550009999"
CLIENT = "+59899123456"
REPO_ROOT = Path(__file__).resolve().parents[2]
GSM_VECTORS = REPO_ROOT / "Tests" / "SMSCoreTests" / "Fixtures" / "gsm0338.json"
SEND_TIMEOUT = 60

# ---- Server side helpers ----------------------------------------------------------------------

class Desk:
    """A server set up for the inbox: a Nexmo simulator as provider, a transactional campaign
    (no quiet hours) with the simulator's number as DID, agents as members in order, canned
    responses, and an enabled dialer serving it (replies go out through the spool)."""

    def __init__(self, server, agents, strategy="linear"):
        self.server = server
        self.admin = ApiClient(server.base_url).login(server.admin_user, server.admin_password)
        self.passwords = {name: server.add_user(name, "agent") for name in agents}
        _, users = self.admin.call("GET", "/users", expect=200)
        self.user_ids = {u["username"]: u["id"] for u in users["users"]}
        sim_port = free_port()
        _, p = self.admin.call("POST", "/providers", {
            "name": "Vonage sim", "type": "Nexmo", "url": f"http://127.0.0.1:{sim_port}",
            "username": SIM_KEY, "secret": SIM_SECRET, "sender": DID}, expect=201)
        self.provider_id = p["provider"]["id"]
        self.simulator = NexmoSimulator(sim_port, server.base_url + p["provider"]["webhookURL"], SIM_KEY, SIM_SECRET, DID, CLIENT)
        _, c = self.admin.call("POST", "/campaigns", {
            "name": "Soporte", "timeZone": "America/Montevideo", "transactional": True, "strategy": strategy,
            "dids": [DID], "offerTimeoutSeconds": 900, "maxInteractionsPerAgent": 5}, expect=201)
        self.campaign_id = c["campaign"]["id"]
        self.admin.call("PUT", f"/campaigns/{self.campaign_id}/members", {"members": [
            {"userId": self.user_ids[name], "penalty": 0} for name in agents]}, expect=200)
        self.admin.call("PUT", f"/campaigns/{self.campaign_id}/canned-responses", {"cannedResponses": [
            {"title": "Saludo", "body": "Hola, gracias por escribirnos."},
            {"title": "Horario", "body": "Atendemos de lunes a viernes de 9 a 18."}]}, expect=200)
        _, campaign = self.admin.call("GET", f"/campaigns/{self.campaign_id}", expect=200)
        self.canned = {r["title"]: r["id"] for r in campaign["campaign"]["cannedResponses"]}
        self.admin.call("POST", "/dialers", {"name": "Respuestas", "providerId": self.provider_id,
                                             "campaignIds": [self.campaign_id], "enabled": True}, expect=201)

    def stop(self):
        self.simulator.stop()


@pytest.fixture
def desk_factory(fresh_server):
    made = []

    def make(agents, **kwargs):
        desk = Desk(fresh_server, agents, **kwargs)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.stop()


# ---- Page helpers ---------------------------------------------------------------------------------

def agent_page(new_driver, desk, name, width=1280, height=800):
    """A browser signed in as agent `name` on the inbox, live, and set Available from the page."""
    driver = new_driver(width, height)
    login(driver, desk.server, name, desk.passwords[name], "inbox")
    text_is(driver, "page-title", "Inbox")
    attr_is(driver, "inbox-live", "data-state", "live")
    click(driver, "presence-available")
    attr_is(driver, "presence", "data-status", "available")
    attr_is(driver, "presence-available", "aria-pressed", "true")
    attr_is(driver, "inbox-list", "aria-busy", "false")
    # Set once; still there later proves that nothing reloaded the page.
    driver.execute_script("window.__sameDocument = 'yes'")
    return driver


def conversation_items(driver):
    return driver.find_elements(By.CSS_SELECTOR, '[data-testid^="conv-item-"]')


def wait_conversation(driver, number, timeout=20, exclude=()):
    """The id of the list item for `number` (written with or without its +), once it is there."""
    def find(d):
        for i in conversation_items(d):
            if (i.get_attribute("data-number") or "").lstrip("+") == number.lstrip("+") \
                    and int(i.get_attribute("data-id")) not in exclude:
                return i
        return None
    item = wait(driver, timeout).until(find, message=f"no conversation with {number} in the list")
    return int(item.get_attribute("data-id"))


def stable(driver, read):
    """read(driver), tried again when a re-render replaced an element while it was being read."""
    return wait(driver).until(lambda d: (read(d),))[0]


def same_document(driver):
    return driver.execute_script("return window.__sameDocument") == "yes"


def message_ids(driver):
    return [int(e.get_attribute("data-id")) for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid^="msg-"][data-id]')]


def last_message_id(driver, direction):
    ids = [int(e.get_attribute("data-id")) for e in
           driver.find_elements(By.CSS_SELECTOR, f'li[data-testid^="msg-"][data-direction="{direction}"]')]
    return ids[-1] if ids else None


def composer_value(driver):
    return driver.find_element(*tid("composer-text")).get_attribute("value")


def counter(driver, testid="composer-count"):
    el = driver.find_element(*tid(testid))
    return {k: el.get_attribute(f"data-{k}") for k in ("encoding", "segments", "units", "remaining", "characters")}


def console_errors(driver):
    """SEVERE browser log entries (none are expected)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
            and not (e.get("source") == "network" and "/api/v1/me" in e.get("message", "") and "401" in e.get("message", ""))]


def no_horizontal_scroll(driver):
    return driver.execute_script("""
        const els = [document.documentElement, document.getElementById('main')];
        return els.every((el) => el.scrollWidth <= el.clientWidth + 1);
    """)


# ---- Tests ------------------------------------------------------------------------------------------

def test_inbound_goes_live_to_the_chosen_agent_and_the_reply_is_delivered(new_driver, desk_factory):
    """Two agents; `linear` offers to the top member (bob). The inbound SMS appears in bob's inbox without
    a reload and never in ana's; bob replies with a canned response plus an emoji; the simulator gets it
    as UCS-2; the delivery report turns it "delivered" in bob's page."""
    desk = desk_factory(["bob", "ana"], strategy="linear")
    bob = agent_page(new_driver, desk, "bob")
    ana = agent_page(new_driver, desk, "ana")
    for d in (bob, ana):
        visible(d, "inbox-empty")
        assert conversation_items(d) == []
    screenshot(ana, "inbox01-empty-available")

    desk.simulator.inbound("Hola, tengo un problema con mi factura")
    conv = wait_conversation(bob, "59899123456")
    assert same_document(bob), "the conversation must arrive without a reload"
    attr_is(bob, f"conv-item-{conv}", "data-state", "offered")
    attr_is(bob, f"conv-item-{conv}", "data-unread", "1")
    text_is(bob, f"conv-campaign-{conv}", "Soporte")
    text_is(bob, f"conv-preview-{conv}", "Hola, tengo un problema con mi factura")
    assert stable(bob, lambda d: d.find_element(*tid(f"conv-offer-{conv}")).text).startswith("New · ")
    # The waiting time ticks without a reload.
    first_wait = stable(bob, lambda d: d.find_element(*tid(f"conv-wait-{conv}")).text)
    assert re.fullmatch(r"Waiting 0:\d\d", first_wait), first_wait
    wait(bob).until(lambda d: d.find_element(*tid(f"conv-wait-{conv}")).text != first_wait, message="waiting time does not tick")
    assert bob.title.startswith("(1) Inbox")
    screenshot(bob, "inbox02-offered")

    # Only bob: ana's page got nothing (the events are delivered together), and the server agrees.
    assert conversation_items(ana) == [] and is_shown(ana, "inbox-empty") and same_document(ana)
    _, ana_inbox = ApiClient(desk.server.base_url).login("ana", desk.passwords["ana"]).call("GET", "/inbox", expect=200)
    assert ana_inbox["conversations"] == []

    # Bob opens it: the message, the client's data; opening marks it read.
    click(bob, f"conv-item-{conv}")
    text_is(bob, "thread-number", "59899123456")
    text_is(bob, "thread-campaign", "Soporte")
    attr_is(bob, "thread-state", "data-state", "offered")
    inbound_id = wait(bob).until(lambda d: last_message_id(d, "in"))
    text_is(bob, f"msg-text-{inbound_id}", "Hola, tengo un problema con mi factura")
    visible(bob, "thread-earlier-none")
    visible(bob, "composer-offer-note")
    attr_is(bob, f"conv-item-{conv}", "data-unread", "0")
    click(bob, "conv-accept")
    attr_is(bob, "thread-state", "data-state", "assigned")
    text_is(bob, "thread-state", "Yours")
    assert not is_shown(bob, "conv-accept")

    # Canned response + emoji; the counter says UCS-2 before anything is sent.
    counts = counter(bob)
    assert counts["segments"] == "0" and counts["encoding"] == "GSM-7", counts
    click(bob, "composer-canned-toggle")
    visible(bob, "composer-canned-panel")
    screenshot(bob, "inbox03-canned-menu")
    click(bob, f"composer-canned-{desk.canned['Saludo']}")
    assert not is_shown(bob, "composer-canned-panel")
    assert composer_value(bob) == "Hola, gracias por escribirnos."
    assert counter(bob) == {"encoding": "GSM-7", "segments": "1", "units": "30", "remaining": "130", "characters": "30"}
    bob.find_element(*tid("composer-text")).send_keys(Keys.END, " ")
    click(bob, "composer-emoji-toggle")
    visible(bob, "composer-emoji-panel")
    screenshot(bob, "inbox04-emoji-picker")
    emoji = stable(bob, lambda d: d.find_element(*tid("composer-emoji-2")).get_attribute("data-emoji"))
    assert emoji == "😊"
    click(bob, "composer-emoji-2")
    reply = "Hola, gracias por escribirnos. 😊"
    assert composer_value(bob) == reply
    # 30 GSM characters + space + an emoji outside the BMP: 33 UTF-16 units, one UCS-2 segment.
    assert counter(bob) == {"encoding": "UCS-2", "segments": "1", "units": "33", "remaining": "37", "characters": "32"}
    text_is(bob, "composer-count", "32 characters · 1 SMS · UCS-2 · 37 left")
    text_is(bob, "composer-count-why", "Unicode because of: 😊")
    screenshot(bob, "inbox05-composer")

    click(bob, "composer-send")
    wait(bob).until(lambda d: composer_value(d) == "", message="the composer was not cleared after sending")
    out_id = wait(bob).until(lambda d: last_message_id(d, "out"))
    text_is(bob, f"msg-text-{out_id}", reply)
    # Sent through the campaign's provider: the simulator receives it declared as UCS-2.
    sim = wait(bob, SEND_TIMEOUT).until(lambda d: next(
        (m for m in desk.simulator.messages() if m["text"] == reply), None), message="the simulator never got the reply")
    assert sim["encoding"] == "UCS-2", sim
    assert sim["to"] == "59899123456" and sim["outcome"] == "accepted", sim
    # The delivery report turns it "delivered" in the page, without a reload.
    attr_is(bob, f"msg-state-{out_id}", "data-state", "delivered", timeout=SEND_TIMEOUT)
    text_is(bob, f"msg-state-{out_id}", "Delivered")
    assert same_document(bob)
    # The server's own analysis of the sent message is the counter's.
    _, spool = desk.admin.call("GET", f"/spool?campaignId={desk.campaign_id}", expect=200)
    row = next(m for m in spool["messages"] if m["text"] == reply)
    assert (row["encoding"], row["segments"]) == ("UCS-2", 1), row
    # The list shows the reply as the last message; the client no longer waits.
    text_is(bob, f"conv-preview-{conv}", f"You: {reply}")
    assert not is_shown(bob, f"conv-wait-{conv}")
    assert conversation_items(ana) == []
    screenshot(bob, "inbox06-delivered")
    screenshot(ana, "inbox07-other-agent-untouched")
    assert console_errors(bob) == [] and console_errors(ana) == []


def test_html_in_a_message_shows_as_text_and_runs_no_script(new_driver, desk_factory):
    desk = desk_factory(["carla"])
    driver = agent_page(new_driver, desk, "carla")
    driver.execute_script("window.__alerted = false; window.alert = () => { window.__alerted = true; };")
    payload = "<img src=x onerror=alert(1)>"
    desk.simulator.inbound(payload)
    conv = wait_conversation(driver, "59899123456")
    text_is(driver, f"conv-preview-{conv}", payload)
    click(driver, f"conv-item-{conv}")
    msg = wait(driver).until(lambda d: last_message_id(d, "in"))
    text_is(driver, f"msg-text-{msg}", payload)

    # The agent's own text is set as text too.
    box = visible(driver, "composer-text")
    box.send_keys("<b>negrita</b> <script>window.__alerted = true</script>")
    click(driver, "composer-send")
    out = wait(driver).until(lambda d: last_message_id(d, "out"))
    text_is(driver, f"msg-text-{out}", "<b>negrita</b> <script>window.__alerted = true</script>")

    inbox = driver.find_element(*tid("inbox"))
    assert inbox.find_elements(By.TAG_NAME, "img") == []
    assert inbox.find_elements(By.TAG_NAME, "script") == []
    assert inbox.find_elements(By.TAG_NAME, "b") == []
    assert driver.execute_script("return window.__alerted") is False
    try:
        driver.switch_to.alert
        pytest.fail("an alert opened")
    except NoAlertPresentException:
        pass
    screenshot(driver, "inbox08-html-as-text")
    assert console_errors(driver) == []


def test_presence_send_later_cancel_close_new_interaction_and_history(new_driver, desk_factory):
    desk = desk_factory(["dora"])
    driver = agent_page(new_driver, desk, "dora")
    agent = ApiClient(desk.server.base_url).login("dora", desk.passwords["dora"])

    # Paused with a reason (SPEC A5), then available again.
    click(driver, "presence-paused")
    reason = visible(driver, "presence-reason")
    reason.send_keys("Almuerzo")
    click(driver, "presence-pause")
    attr_is(driver, "presence", "data-status", "paused")
    text_is(driver, "presence-text", "Paused: Almuerzo")
    _, status = agent.call("GET", "/agent/status", expect=200)
    assert (status["status"]["status"], status["status"]["reason"]) == ("paused", "Almuerzo")
    screenshot(driver, "inbox09-paused")
    click(driver, "presence-available")
    attr_is(driver, "presence", "data-status", "available")
    assert not is_shown(driver, "presence-text")

    # Start an SMS interaction (SPEC A1).
    click(driver, "inbox-new")
    visible(driver, "new-dialog")
    assert driver.find_element(*tid("new-campaign")).get_attribute("value") == str(desk.campaign_id)
    visible(driver, "new-number").send_keys("+59899111222")
    driver.find_element(*tid("new-text")).send_keys("Buenos dias, le escribimos por su consulta. ¿Tiene un minuto?")
    text_is(driver, "new-count", "61 characters · 1 SMS · GSM-7 · 99 left")
    screenshot(driver, "inbox10-new-interaction")
    click(driver, "new-send")
    wait(driver).until(lambda d: not d.find_element(*tid("new-dialog")).is_displayed())
    conv = wait_conversation(driver, "+59899111222")
    attr_is(driver, f"conv-item-{conv}", "aria-current", "true")
    text_is(driver, "thread-number", "+59899111222")
    attr_is(driver, "thread-state", "data-state", "assigned")
    first_out = wait(driver).until(lambda d: last_message_id(d, "out"))
    attr_is(driver, f"msg-state-{first_out}", "data-state", "delivered", timeout=SEND_TIMEOUT)

    # Send later (SPEC A7): listed under Scheduled, shown in the thread, cancellable.
    visible(driver, "composer-text").send_keys("Le recuerdo su cita de mañana.")
    click(driver, "composer-later-toggle")
    at = visible(driver, "composer-later-at")
    assert at.get_attribute("value"), "send later proposes a time"
    text_is(driver, "composer-send", "Schedule")
    click(driver, "composer-send")
    scheduled = wait(driver).until(lambda d: next(
        (int(e.get_attribute("data-id")) for e in d.find_elements(By.CSS_SELECTOR, 'li[data-testid^="msg-"][data-state="scheduled"]')), None),
        message="no scheduled message in the thread")
    assert stable(driver, lambda d: d.find_element(*tid(f"msg-state-{scheduled}")).text).startswith("Scheduled for ")
    text_is(driver, "inbox-tab-scheduled", "Scheduled (1)")
    _, listed = agent.call("GET", "/scheduled-messages", expect=200)
    assert [m["id"] for m in listed["messages"]] == [scheduled]
    click(driver, "inbox-tab-scheduled")
    text_is(driver, f"sched-text-{scheduled}", "Le recuerdo su cita de mañana.")
    screenshot(driver, "inbox11-scheduled")
    click(driver, f"sched-cancel-{scheduled}")
    click(driver, f"sched-cancel-confirm-{scheduled}")
    wait(driver).until(lambda d: not d.find_elements(*tid(f"sched-item-{scheduled}")))
    text_is(driver, "inbox-tab-scheduled", "Scheduled (0)")
    visible(driver, "sched-empty")
    attr_is(driver, f"msg-state-{scheduled}", "data-state", "cancelled")
    _, listed = agent.call("GET", "/scheduled-messages", expect=200)
    assert listed["messages"] == []
    click(driver, "inbox-tab-conversations")

    # Close with a wrap-up (SPEC A5): it leaves the list; the thread says so.
    click(driver, "conv-close")
    visible(driver, "wrapup-text").send_keys("Cita confirmada")
    assert not is_shown(driver, "composer")
    click(driver, "wrapup-confirm")
    attr_is(driver, "thread-state", "data-state", "closed")
    text_is(driver, "thread-notice", "This conversation is closed. Wrap-up: Cita confirmada")
    wait(driver).until(lambda d: not d.find_elements(*tid(f"conv-item-{conv}")))
    assert not is_shown(driver, "composer")
    screenshot(driver, "inbox12-closed")

    # The client writes again: a new conversation, linked to the history (SPEC C10, A2, A4).
    desk.simulator.inbound("Perdón, ¿a qué hora era?", sender="+59899111222")
    again = wait_conversation(driver, "59899111222", exclude=(conv,))
    click(driver, f"conv-item-{again}")
    wait(driver).until(lambda d: d.find_element(*tid("thread-number")).text.lstrip("+") == "59899111222")
    click(driver, "thread-earlier-toggle")
    wait(driver).until(lambda d: "Cita confirmada" in d.find_element(*tid(f"earlier-{conv}")).text)
    assert first_out not in stable(driver, message_ids)
    click(driver, "thread-history")
    wait(driver).until(lambda d: first_out in message_ids(d), message="the full history does not show the earlier messages")
    visible(driver, "thread-history-done")
    text_is(driver, f"msg-text-{first_out}", "Buenos dias, le escribimos por su consulta. ¿Tiene un minuto?")
    screenshot(driver, "inbox13-history")
    assert console_errors(driver) == []


def test_counter_follows_the_server_rules(driver, desk_factory):
    """smstext.js against every gsm0338.json vector, and against the server's analysis of queued messages."""
    desk = desk_factory(["eva"])
    login(driver, desk.server, "eva", desk.passwords["eva"], "inbox")
    text_is(driver, "page-title", "Inbox")
    vectors = json.loads(GSM_VECTORS.read_text(encoding="utf-8"))["vectors"]
    assert len(vectors) == 25
    texts = [v["text"] for v in vectors]
    extra = ["", "a" * 150, "a" * 160, "€" + "a" * 150, "ó" + "a" * 60, "a" * 161, "ó" + "a" * 70,
             "Hola \t mundo", "Qu" + "e\u0301", "óáó😀á🇮🇹", "ó" + "a" * 65 + "😀aaaaa", "ó" + "a" * 64 + "🇮🇹" + "b" * 10,
             "a" + "\u0301" * 100, "¿Qué tal? Niño, mañana a las 8", "Total: 100€ [IVA incl.]", "\r\n" * 90]
    analysed = driver.execute_async_script("""
        const [texts, done] = arguments;
        import('/js/smstext.js').then((m) => done(texts.map((t) => m.analyze(t))), (e) => done(String(e)));
    """, texts + extra)
    assert isinstance(analysed, list), analysed
    for v, a in zip(vectors, analysed):
        assert a["encoding"] == v["encoding"] and a["segments"] == v["segments"], (v["id"], a)
        if "units" in v:
            assert a["units"] == v["units"], (v["id"], a)
        if a["encoding"] == "UCS-2":
            assert a["units"] == len(v["text"].encode("utf-16-le")) // 2, (v["id"], a)
    by_text = dict(zip(extra, analysed[len(vectors):]))
    assert by_text[""] == {"encoding": "GSM-7", "units": 0, "segments": 0, "perSegmentLimit": 160,
                           "remainingInSegment": 160, "nonGSMCharacters": []}
    assert by_text["a" * 150]["remainingInSegment"] == 10
    assert by_text["a" * 160]["remainingInSegment"] == 0
    assert by_text["€" + "a" * 150]["remainingInSegment"] == 8
    assert by_text["ó" + "a" * 60]["remainingInSegment"] == 9
    assert (by_text["a" * 161]["perSegmentLimit"], by_text["a" * 161]["remainingInSegment"]) == (153, 153 * 2 - 161)
    assert (by_text["ó" + "a" * 70]["perSegmentLimit"], by_text["ó" + "a" * 70]["remainingInSegment"]) == (67, 67 * 2 - 71)
    assert by_text["Hola \t mundo"]["nonGSMCharacters"] == ["\t"]
    assert by_text["Qu" + "e\u0301"]["encoding"] == "UCS-2"
    assert by_text["óáó😀á🇮🇹"]["nonGSMCharacters"] == ["ó", "á", "😀", "🇮🇹"]
    assert by_text["ó" + "a" * 65 + "😀aaaaa"]["segments"] == 2
    assert by_text["a" + "\u0301" * 100]["segments"] == 2
    assert by_text["\r\n" * 90]["encoding"] == "GSM-7" and by_text["\r\n" * 90]["segments"] == 2

    # The server's analysis of the same texts, as it stores them for sending (no dialer serves this
    # campaign: the messages stay queued, nothing is sent).
    samples = ["Hola", "Hola 😀", "Total: 100€ [IVA incl.]", "¿Dónde está?", "€" * 80 + "x", "ó" * 70, "ó" * 71,
               "a" * 153 + "€", "🇮🇹" * 20, "👨‍👩‍👧" * 9, "x" * 306, "x" * 307, "Ж" * 134, "Ж" * 135,
               "ó" + "a" * 64 + "🇮🇹" + "b" * 10, "Línea 1\nLínea 2", "e\u0301" * 40]
    desk.admin.call("POST", "/campaigns", {"name": "Contador", "timeZone": "UTC"}, expect=201)
    server_side = []
    for i, text in enumerate(samples):
        _, r = desk.admin.call("POST", "/spool/unitary", {"campaign": "Contador", "to": f"+1555000{i:04d}", "text": text},
                               expect=202)
        server_side.append((r["message"]["encoding"], r["message"]["segments"]))
    page_side = driver.execute_async_script("""
        const [texts, done] = arguments;
        import('/js/smstext.js').then((m) => done(texts.map((t) => { const a = m.analyze(t); return [a.encoding, a.segments]; })),
                                      (e) => done(String(e)));
    """, samples)
    assert [tuple(x) for x in page_side] == server_side


def test_inbox_at_820_pixels_has_no_horizontal_scroll(new_driver, desk_factory):
    desk = desk_factory(["fede"])
    driver = agent_page(new_driver, desk, "fede", width=820, height=900)
    desk.simulator.inbound("Necesito la segunda via de la factura de octubre, por favor, a este mismo numero")
    conv = wait_conversation(driver, "59899123456")
    click(driver, f"conv-item-{conv}")
    wait(driver).until(lambda d: last_message_id(d, "in"))
    visible(driver, "composer-text").send_keys("Claro, se la envio enseguida por correo electronico. " * 3)
    assert no_horizontal_scroll(driver), "horizontal scroll at 820 px"
    inbox = driver.find_element(*tid("inbox")).rect
    assert inbox["x"] + inbox["width"] <= 820
    screenshot(driver, "inbox14-narrow-820")
