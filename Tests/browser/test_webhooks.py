"""Browser tests for the Webhooks page (outgoing webhooks, SPEC X3) against the real server.

A receiver on 127.0.0.1 (a thread of this test) records what SMSDesk POSTs and answers 200.

Run: /usr/bin/python3 -m pytest Tests/browser/test_webhooks.py -q
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.webdriver.common.by import By

from browser_helpers import click, is_shown, login, present, screenshot, table_idle, text_is, tid, visible, wait


class Receiver:
    """A webhook receiver: records (headers, raw body) of each POST and answers 200 "received"."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers), body))
                answer = b"received"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/smsdesk"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def webhook_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, '[data-testid^="webhook-row-"]')


def test_admin_creates_webhook_sees_secret_once_and_replays_a_delivery(driver, server, receiver):
    login(driver, server, server.admin_user, server.admin_password, "webhooks")
    text_is(driver, "page-title", "Webhooks")
    table_idle(driver, "webhooks-table")

    # A bad URL is refused with the field named.
    visible(driver, "webhook-url").send_keys("ftp://example.com/x")
    click(driver, "webhook-event-optout")
    click(driver, "webhook-submit")
    wait(driver).until(lambda d: d.find_element(*tid("webhook-url-error")).text.strip() != "")
    assert "http" in driver.find_element(*tid("webhook-url-error")).text

    # Create: the secret is shown once, with a copy button and the warning.
    url_input = driver.find_element(*tid("webhook-url"))
    url_input.clear()
    url_input.send_keys(receiver.url)
    click(driver, "webhook-submit")
    box = visible(driver, "secret-box")
    secret = driver.find_element(*tid("secret-value")).text.strip()
    assert len(secret) == 64 and all(c in "0123456789abcdef" for c in secret)
    assert "will not see it again" in driver.find_element(*tid("secret-notice")).text
    assert driver.find_element(*tid("secret-copy")).is_displayed()
    screenshot(driver, "webhooks-created")
    row = wait(driver).until(lambda d: next((r for r in webhook_rows(d) if r.get_attribute("data-url") == receiver.url), None))
    hook_id = row.get_attribute("data-testid").rsplit("-", 1)[1]
    assert "optout" in row.text

    click(driver, "secret-dismiss")
    assert not box.is_displayed()
    driver.refresh()
    table_idle(driver, "webhooks-table")
    present(driver, f"webhook-row-{hook_id}")
    assert secret not in driver.page_source, "the secret is never shown again"

    # A test event is delivered; the log shows it with the receiver's answer.
    click(driver, f"webhook-ping-{hook_id}")
    visible(driver, "webhook-log-panel")
    wait(driver, 15).until(lambda d: len(receiver.requests) == 1, message="the receiver got no request")
    headers, body = receiver.requests[0]
    assert headers["SMSDesk-Event"] == "ping"
    t = headers["SMSDesk-Timestamp"]
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["SMSDesk-Signature"] == f"t={t},v1={expected}", "signed with the secret shown at creation"
    delivery_id = headers["SMSDesk-Delivery"]
    assert json.loads(body)["event"] == "ping"

    def delivered_with_attempts(n):
        def check(d):
            click(d, "webhook-log-refresh")
            table_idle(d, "webhook-log")
            rows = d.find_elements(*tid(f"delivery-row-{delivery_id}"))
            return (rows and rows[0].get_attribute("data-state") == "delivered"
                    and d.find_element(*tid(f"delivery-attempts-{delivery_id}")).text.strip() == str(n))
        return check

    wait(driver, 15).until(delivered_with_attempts(1), message="the delivery never showed as delivered")
    assert driver.find_element(*tid(f"delivery-state-{delivery_id}")).text.strip() == "Delivered"
    assert driver.find_element(*tid(f"delivery-response-{delivery_id}")).text.strip() == "200 · received"
    click(driver, f"delivery-details-{delivery_id}")  # the <details> element: opens it
    assert '"event": "ping"' in visible(driver, f"delivery-payload-{delivery_id}").text
    driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(*tid("webhook-log-panel")))
    screenshot(driver, "webhooks-log")

    # Replay sends the same delivery again.
    click(driver, f"delivery-replay-{delivery_id}")
    text_is(driver, "webhooks-status", f"Delivery {delivery_id} queued again.")
    wait(driver, 15).until(lambda d: len(receiver.requests) == 2, message="the replay never reached the receiver")
    assert receiver.requests[1][0]["SMSDesk-Delivery"] == delivery_id
    assert receiver.requests[1][1] == body
    wait(driver, 15).until(delivered_with_attempts(2), message="the log never showed the second attempt")

    # Delete, with a confirmation.
    click(driver, f"webhook-delete-{hook_id}")
    click(driver, f"webhook-delete-confirm-{hook_id}")
    wait(driver).until(lambda d: not d.find_elements(*tid(f"webhook-row-{hook_id}")))
    assert not is_shown(driver, "webhook-log-panel")
