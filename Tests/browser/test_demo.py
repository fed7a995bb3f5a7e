"""`smsdesk serve --demo` on a fresh data dir: within 60 s the supervisor's monitor shows the demo's
agents and live traffic, without anyone configuring anything."""

import re
import time

from selenium.webdriver.common.by import By

from browser_helpers import attr_is, login, screenshot, text_is, wait
from conftest import Server


def demo_passwords(server, timeout=30):
    """The `demo <role> <user> password: …` lines the server printed on its first start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = dict(re.findall(r"^demo \w+ (\w+) password: (\S+)", "".join(server.output), re.MULTILINE))
        if len(found) == 4:
            return found
        time.sleep(0.2)
    raise AssertionError("the demo printed no four passwords:\n" + "".join(server.output))


def test_demo_mode_shows_agents_and_live_traffic_on_the_monitor_within_a_minute(tmp_path, new_driver):
    started = time.monotonic()
    server = Server(tmp_path, extra_args=["--demo"]).start()
    try:
        passwords = demo_passwords(server)
        assert set(passwords) == {"ana", "bruno", "carla", "sofia"}

        driver = new_driver(1440, 1000)
        login(driver, server, "sofia", passwords["sofia"], "monitor")
        text_is(driver, "page-title", "Monitor")
        attr_is(driver, "mon-live", "data-state", "live")

        # The supervisor sees the campaign's three agents; the two simulated ones are available or busy.
        def agent_rows(d):
            return d.find_elements(By.CSS_SELECTOR, '[data-testid^="agent-row-"]')
        wait(driver, 20).until(lambda d: len(agent_rows(d)) == 3, message="the monitor does not list the demo's three agents")
        wait(driver, 30).until(
            lambda d: sum(r.get_attribute("data-status") in ("available", "busy") for r in agent_rows(d)) >= 2,
            message="the simulated agents are not signed in and working")

        # Live traffic: clients write in and the simulated agents take their conversations, without a reload.
        def working(d):
            counts = [re.match(r"(\d+) open", e.text) for e in d.find_elements(By.CSS_SELECTOR, '[data-testid^="agent-active-"]')]
            return sum(int(m.group(1)) for m in counts if m) >= 1
        wait(driver, 45).until(working, message="no agent ever had an open conversation on the monitor")
        assert time.monotonic() - started < 60, "the demo took more than a minute to show live traffic"
        screenshot(driver, "demo_monitor")

        # The dialer monitor shows the demo's bulk send moving.
        driver.get(server.base_url + "/#/dialer-monitor")
        text_is(driver, "page-title", "Dialer monitor")
        wait(driver, 30).until(lambda d: any(int(e.get_attribute("data-value") or 0) > 0 for e in
                                             d.find_elements(By.CSS_SELECTOR, '[data-testid^="dm-processed-"]')),
                               message="the demo's bulk send never shows processed messages")
        screenshot(driver, "demo_dialer_monitor")
    finally:
        server.stop()

