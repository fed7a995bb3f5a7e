"""Browser tests for the Providers page (SPEC P1–P6) against the real server.

Run: /usr/bin/python3 -m pytest Tests/browser/test_providers.py -q
"""

import json

from selenium.webdriver.common.by import By

from browser_helpers import (
    attr_is, click, is_shown, login, open_app, present, screenshot, select_value, table_idle,
    text_is, tid, visible, wait,
)

TWILIO_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TWILIO_TOKEN = "12345"
TWILIO_FROM = "+15017122661"
URLSMS_TEMPLATE = "http://127.0.0.1:9/send?to={{to}}&text={{text}}"
WEBHOOK_HINT = "Give this URL to the provider for incoming messages and delivery reports."


def admin_login(driver, server, route="providers"):
    login(driver, server, server.admin_user, server.admin_password, route)
    text_is(driver, "page-title", "Providers")


def api_get(driver, path):
    """GET /api/v1<path> from inside the page (same session cookie); returns (status, text)."""
    r = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1' + arguments[0], { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(async (r) => done([r.status, await r.text()]))
          .catch((e) => done([0, String(e)]));
    """, path)
    return r[0], r[1]


def provider_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, '[data-testid^="provider-row-"]')


def row_id(driver, name):
    """Wait for the row of the provider called `name`; returns its id (string)."""
    row = wait(driver).until(lambda d: next(
        (r for r in provider_rows(d) if r.get_attribute("data-name") == name), None),
        message=f"no provider row named {name!r}")
    return row.get_attribute("data-id")


def set_input(driver, testid, value):
    el = visible(driver, testid)
    el.clear()
    if value:
        el.send_keys(value)
    return el


def choose_type(driver, type_name):
    # The options arrive with GET /provider-types.
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-testid="provider-type"] option[value="{type_name}"]'))
    select_value(driver, "provider-type", type_name)
    visible(driver, "provider-section-connection")


def shown_fields(driver):
    """Names of the connection fields and settings the form shows now."""
    return {el.get_attribute("data-field")
            for el in driver.find_elements(By.CSS_SELECTOR, '[data-testid="provider-type-area"] [data-field]')
            if el.is_displayed()}


def field_label(driver, key):
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="provider-type-area"] [data-field="{key}"] label').text


def submit_ok(driver, name, verb="added"):
    click(driver, "provider-submit")
    text_is(driver, "provider-form-status", f'Provider "{name}" {verb}.')
    table_idle(driver, "providers-table")
    return row_id(driver, name)


def test_providers_admin_flow(driver, fresh_server):
    server = fresh_server
    admin_login(driver, server)
    table_idle(driver, "providers-table")
    text_is(driver, "providers-empty", "No providers yet. Add one below.")
    visible(driver, "provider-choose-type")
    assert driver.find_element(*tid("nav-providers")).get_attribute("aria-current") == "page"
    screenshot(driver, "p01-providers-empty")

    # ---- Twilio: fields follow the type; a missing token is reported next to the token field.
    choose_type(driver, "Twilio")
    fields = shown_fields(driver)
    assert {"url", "username", "secret", "sender", "numberPattern", "encoding"} <= fields, fields
    assert "ports" not in fields, "Twilio does not use ports"
    assert not any(f.startswith("settings.") for f in fields), fields
    assert field_label(driver, "username").startswith("Account SID")
    assert "(required)" in field_label(driver, "secret")
    assert "(required)" not in field_label(driver, "url")
    assert driver.find_element(*tid("provider-field-secret")).get_attribute("type") == "password"
    assert not is_shown(driver, "provider-type-note")

    set_input(driver, "provider-name", "Twilio main")
    set_input(driver, "provider-field-username", TWILIO_SID)
    set_input(driver, "provider-field-sender", TWILIO_FROM)
    click(driver, "provider-submit")
    wait(driver).until(lambda d: d.find_element(*tid("provider-field-secret-error")).text.strip() != "")
    assert "Auth token" in driver.find_element(*tid("provider-field-secret-error")).text
    secret_input = driver.find_element(*tid("provider-field-secret"))
    assert secret_input.get_attribute("aria-invalid") == "true"
    assert driver.switch_to.active_element == secret_input, "focus moves to the field in error"
    assert not provider_rows(driver)
    screenshot(driver, "p02-providers-twilio-missing-token")

    secret_input.send_keys(TWILIO_TOKEN)
    twilio_id = submit_ok(driver, "Twilio main")
    # The form is back to "choose a type" and holds no secret any more.
    visible(driver, "provider-choose-type")
    assert driver.find_element(*tid("provider-type")).get_attribute("value") == ""
    assert not driver.find_elements(*tid("provider-field-secret"))
    text_is(driver, f"provider-type-{twilio_id}", "Twilio")
    # With none marked, the first in the list acts as default.
    text_is(driver, f"provider-default-{twilio_id}", "Default (first in list)")

    # ---- URLSMS (generic GET with a URL template).
    choose_type(driver, "URLSMS")
    text_is(driver, "provider-type-note", "HTTP GET to the URL template.")
    assert field_label(driver, "url").startswith("URL template")
    assert "settings.headers" in shown_fields(driver)
    assert driver.find_element(*tid("provider-setting-headers")).tag_name == "textarea"
    set_input(driver, "provider-name", "Generic GET")
    set_input(driver, "provider-field-url", URLSMS_TEMPLATE)
    urlsms_id = submit_ok(driver, "Generic GET")
    text_is(driver, f"provider-default-{urlsms_id}", "")

    # ---- Make the URLSMS one the default: exactly one default, and it is URLSMS.
    click(driver, f"provider-make-default-{urlsms_id}")
    wait(driver).until(lambda d: '"Generic GET" is now the default provider.' in d.find_element(*tid("providers-status")).text)
    table_idle(driver, "providers-table")
    attr_is(driver, f"provider-row-{urlsms_id}", "data-default", "true")
    text_is(driver, f"provider-default-{urlsms_id}", "Default")
    text_is(driver, f"provider-default-{twilio_id}", "")
    defaults = [r.get_attribute("data-name") for r in provider_rows(driver)
                if r.get_attribute("data-acts-as-default") == "true"]
    assert defaults == ["Generic GET"], defaults
    assert [r.get_attribute("data-name") for r in provider_rows(driver)
            if r.get_attribute("data-default") == "true"] == ["Generic GET"]
    assert not driver.find_elements(*tid(f"provider-make-default-{urlsms_id}")), "already the default"
    assert "Default (first in list)" not in driver.find_element(*tid("providers-table")).text

    # ---- Webhook URL: absolute, with a copy button and the hint.
    webhook = driver.find_element(*tid(f"provider-webhook-{twilio_id}")).get_attribute("textContent")
    assert webhook.startswith(server.base_url + "/webhooks/"), webhook
    text_is(driver, "providers-webhook-hint", WEBHOOK_HINT)
    click(driver, f"provider-copy-{twilio_id}")
    wait(driver).until(lambda d: d.find_element(*tid("providers-status")).text.strip() != ""
                       or d.find_element(*tid("providers-error")).text.strip() != "")
    screenshot(driver, "p03-providers-list-default")

    # ---- The token never comes back: not in the page, not in the API.
    assert TWILIO_TOKEN not in driver.page_source
    status, body = api_get(driver, "/providers")
    assert status == 200 and TWILIO_TOKEN not in body
    stored = {p["name"]: p for p in json.loads(body)["providers"]}
    assert stored["Twilio main"]["hasSecret"] is True
    assert stored["Twilio main"]["username"] == TWILIO_SID

    # ---- Edit: the secret input is empty with a "stored" placeholder; empty keeps the token.
    click(driver, f"provider-edit-{twilio_id}")
    text_is(driver, "provider-form-title", 'Edit provider "Twilio main"')
    attr_is(driver, "provider-form", "data-mode", "edit")
    secret_input = visible(driver, "provider-field-secret")
    assert secret_input.get_attribute("value") == ""
    assert "stored; leave empty to keep" in secret_input.get_attribute("placeholder")
    assert driver.find_element(*tid("provider-field-username")).get_attribute("value") == TWILIO_SID
    assert driver.find_element(*tid("provider-field-sender")).get_attribute("value") == TWILIO_FROM
    assert driver.find_element(*tid("provider-form-webhook")).get_attribute("textContent") == webhook
    assert "provider-name" == driver.switch_to.active_element.get_attribute("data-testid")
    assert TWILIO_TOKEN not in driver.page_source
    screenshot(driver, "p04-providers-edit-twilio")
    set_input(driver, "provider-field-sender", "+15017122662")
    submit_ok(driver, "Twilio main", "saved")
    attr_is(driver, "provider-form", "data-mode", "create")
    status, body = api_get(driver, f"/providers/{twilio_id}")
    saved = json.loads(body)["provider"]
    assert saved["hasSecret"] is True and saved["sender"] == "+15017122662"
    assert TWILIO_TOKEN not in body and TWILIO_TOKEN not in driver.page_source

    # ---- Simulator + Test: accepted, with the provider's message id and raw answer.
    choose_type(driver, "Simulator")
    assert "nothing leaves the server" in driver.find_element(*tid("provider-type-note")).text
    assert "url" not in shown_fields(driver) and "secret" not in shown_fields(driver)
    set_input(driver, "provider-name", "Simulator")
    sim_id = submit_ok(driver, "Simulator")
    click(driver, f"provider-test-{sim_id}")
    visible(driver, "test-dialog")
    text_is(driver, "test-title", 'Test "Simulator"')
    set_input(driver, "test-destination", "+59899123456")
    assert driver.find_element(*tid("test-text")).get_attribute("value") == "SMSDesk test message"
    click(driver, "test-send")
    text_is(driver, "test-outcome", "Accepted")
    message_id = visible(driver, "test-message-id").text.strip()
    assert message_id, "the provider's message id is shown"
    raw = visible(driver, "test-raw")
    assert raw.tag_name == "pre" and message_id in raw.text
    screenshot(driver, "p05-providers-test-accepted")
    click(driver, "test-close")
    wait(driver).until(lambda d: not d.find_element(*tid("test-dialog")).is_displayed())

    # ---- Delete asks first; Cancel keeps the provider, Delete removes it.
    click(driver, f"provider-delete-{twilio_id}")
    visible(driver, f"provider-delete-confirm-{twilio_id}")
    screenshot(driver, "p06-providers-confirm-delete")
    click(driver, f"provider-delete-cancel-{twilio_id}")
    visible(driver, f"provider-delete-{twilio_id}")
    click(driver, f"provider-delete-{twilio_id}")
    click(driver, f"provider-delete-confirm-{twilio_id}")
    text_is(driver, "providers-status", 'Provider "Twilio main" deleted.')
    table_idle(driver, "providers-table")
    wait(driver).until(lambda d: not d.find_elements(*tid(f"provider-row-{twilio_id}")))
    assert sorted(r.get_attribute("data-name") for r in provider_rows(driver)) == ["Generic GET", "Simulator"]
    status, _ = api_get(driver, f"/providers/{twilio_id}")
    assert status == 404


def test_provider_form_per_type_and_validation(driver, server):
    admin_login(driver, server)
    table_idle(driver, "providers-table")

    # Submitting without a type says so next to the type select.
    set_input(driver, "provider-name", "No type")
    click(driver, "provider-submit")
    text_is(driver, "provider-type-error", "Choose a provider type.")

    # Quality is a preset of the generic engine: its note says so; templates get textareas.
    choose_type(driver, "Quality")
    note = visible(driver, "provider-type-note").text
    assert "preset of the generic URL template engine" in note, note
    assert driver.find_element(*tid("provider-setting-body_template")).tag_name == "textarea"
    assert driver.find_element(*tid("provider-setting-headers")).tag_name == "textarea"
    assert driver.find_element(*tid("provider-setting-method")).get_attribute("type") == "text"
    screenshot(driver, "p07-providers-quality-form")

    choose_type(driver, "GMG")
    assert "preset of the generic URL template engine" in visible(driver, "provider-type-note").text

    # URLSMSPOST requires a body template: the server's message shows next to that setting.
    choose_type(driver, "URLSMSPOST")
    assert "(required)" in field_label(driver, "settings.body_template")
    set_input(driver, "provider-name", "Generic POST")
    set_input(driver, "provider-field-url", "http://127.0.0.1:9/send")
    click(driver, "provider-submit")
    text_is(driver, "provider-setting-body_template-error", "Body template is required for URLSMSPOST")

    # A bad number pattern is reported next to the pattern field.
    set_input(driver, "provider-setting-body_template", "to={{to}}&text={{text}}")
    set_input(driver, "provider-field-numberPattern", "^(09\\d{7}$")
    click(driver, "provider-submit")
    wait(driver).until(lambda d: d.find_element(*tid("provider-field-numberPattern-error")).text.strip() != "")
    assert driver.find_element(*tid("provider-setting-body_template-error")).text == ""

    # Typed values survive switching the type back and forth.
    choose_type(driver, "URLSMS")
    assert driver.find_element(*tid("provider-field-url")).get_attribute("value") == "http://127.0.0.1:9/send"
    choose_type(driver, "URLSMSPOST")
    assert driver.find_element(*tid("provider-setting-body_template")).get_attribute("value") == "to={{to}}&text={{text}}"

    set_input(driver, "provider-field-numberPattern", "^(09\\d{7})$")
    pid = submit_ok(driver, "Generic POST")

    # A duplicate name is reported on the name field.
    choose_type(driver, "Simulator")
    set_input(driver, "provider-name", "Generic POST")
    click(driver, "provider-submit")
    text_is(driver, "provider-name-error", "A provider with this name already exists.")

    # Test with a number outside the pattern: the server's refusal shows next to the number.
    click(driver, f"provider-test-{pid}")
    set_input(driver, "test-destination", "+59899123456")
    click(driver, "test-send")
    wait(driver).until(lambda d: "number pattern" in d.find_element(*tid("test-destination-error")).text)
    assert not driver.find_elements(*tid("test-outcome"))
    screenshot(driver, "p08-providers-test-pattern-refused")
    click(driver, "test-close")

    # Test against an address nobody listens on: not accepted, with the error kind, code and text.
    click(driver, f"provider-test-{pid}")
    set_input(driver, "test-destination", "091234567")
    click(driver, "test-send")
    text_is(driver, "test-outcome", "Not accepted")
    assert visible(driver, "test-error-kind").text.startswith("Retryable")
    assert visible(driver, "test-error-code").text.strip() != ""
    assert visible(driver, "test-error-text").text.strip() != ""
    screenshot(driver, "p09-providers-test-not-accepted")
    click(driver, "test-close")

    # Cancel leaves edit mode without saving.
    click(driver, f"provider-edit-{pid}")
    attr_is(driver, "provider-form", "data-mode", "edit")
    assert driver.find_element(*tid("provider-setting-body_template")).get_attribute("value") == "to={{to}}&text={{text}}"
    set_input(driver, "provider-name", "Renamed but cancelled")
    click(driver, "provider-cancel")
    attr_is(driver, "provider-form", "data-mode", "create")
    text_is(driver, f"provider-name-{pid}", "Generic POST")


def test_supervisor_sees_providers_read_only(new_driver, server):
    admin = new_driver()
    admin_login(admin, server)
    choose_type(admin, "Simulator")
    set_input(admin, "provider-name", "Sim for supervisors")
    pid = submit_ok(admin, "Sim for supervisors")

    password = server.add_user("super.providers", "supervisor")
    sup = new_driver()
    login(sup, server, "super.providers", password)
    assert is_shown(sup, "nav-providers")
    click(sup, "nav-providers")
    text_is(sup, "page-title", "Providers")
    visible(sup, "providers-readonly")
    present(sup, f"provider-row-{pid}")
    table_idle(sup, "providers-table")
    assert not sup.find_elements(*tid("provider-form"))
    for action in ("edit", "make-default", "test", "delete"):
        assert not sup.find_elements(*tid(f"provider-{action}-{pid}")), action
    # The webhook URL carries the provider's secret token: only admins are given it.
    assert not sup.find_elements(*tid(f"provider-webhook-{pid}"))
    screenshot(sup, "p10-providers-supervisor-read-only")

    # An agent still may not open the page.
    agent_pw = server.add_user("agent.providers", "agent")
    agent = new_driver()
    login(agent, server, "agent.providers", agent_pw)
    assert not is_shown(agent, "nav-providers")
    open_app(agent, server, "providers")
    text_is(agent, "no-access", "You do not have access to this page.")


def test_providers_narrow_window(new_driver, server):
    driver = new_driver(820, 900)
    admin_login(driver, server)
    table_idle(driver, "providers-table")
    for type_name in ("URLPOSTSMSAuth", "Quality", "DinstarWeb", "Twilio"):
        choose_type(driver, type_name)
        overflow = driver.execute_script(
            "const m = document.getElementById('main');"
            "return Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,"
            "                m.scrollWidth - m.clientWidth)")
        assert overflow <= 0, f"{type_name}: the page scrolls horizontally by {overflow}px at 820px"
    screenshot(driver, "p11-providers-narrow")
