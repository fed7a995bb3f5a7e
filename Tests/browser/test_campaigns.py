"""Browser tests for the Campaigns page (SPEC C1–C9, D8) against the real server.

Run: /usr/bin/python3 -m pytest Tests/browser/test_campaigns.py -q
"""

import json

from selenium.webdriver.common.by import By

from browser_helpers import (
    api, attr_is, click, is_shown, login, open_app, present, screenshot, select_value, table_idle, text_is, tid, visible, wait,
)


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


def set_time(driver, testid, value):
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(*tid(testid)), value)


def row_id(driver, name):
    """Wait for the list row of the campaign called `name`; its id."""
    row = wait(driver).until(lambda d: next(
        (r for r in d.find_elements(By.CSS_SELECTOR, '[data-testid^="campaign-row-"]')
         if r.get_attribute("data-name") == name), None), message=f"no campaign row named {name!r}")
    return int(row.get_attribute("data-id"))


def member_order(driver):
    return [r.get_attribute("data-username")
            for r in driver.find_elements(By.CSS_SELECTOR, '[data-testid^="campaign-member-row-"]')]


def add_member(driver, user_id, penalty):
    select_value(driver, "campaign-member-select", str(user_id))
    set_input(driver, "campaign-member-penalty-new", str(penalty))
    click(driver, "campaign-member-add")
    present(driver, f"campaign-member-row-{user_id}")


def console_errors(driver):
    """SEVERE browser log entries, except the expected 409 answers of refused saves and deletes."""
    bad = []
    for e in driver.get_log("browser"):
        msg = e.get("message", "")
        if e.get("level") != "SEVERE":
            continue
        if e.get("source") == "network" and ("409" in msg or ("/api/v1/me" in msg and "401" in msg)):
            continue
        bad.append(e)
    return bad


def test_campaign_with_members_dids_and_canned_responses(driver, fresh_server):
    server = fresh_server
    server.add_user("ana.agent", "agent")
    server.add_user("bob.agent", "agent")
    server.add_user("sara.super", "supervisor")
    login(driver, server, server.admin_user, server.admin_password, "campaigns")
    text_is(driver, "page-title", "Campaigns")
    table_idle(driver, "campaigns-table")
    text_is(driver, "campaigns-empty", "No campaigns yet. Add one below.")
    assert driver.find_element(*tid("nav-campaigns")).get_attribute("aria-current") == "page"
    status, body = api(driver, "GET", "/users")
    users = {u["username"]: u["id"] for u in body["users"]}

    # ---- Create: every section of the form.
    set_input(driver, "campaign-name", "Cobranzas")
    set_input(driver, "campaign-timezone", "America/Montevideo")
    select_value(driver, "campaign-strategy", "rrordered")
    text_is(driver, "campaign-strategy-about", "Round robin in the member order below.")
    set_input(driver, "campaign-service-level", "90")
    set_input(driver, "campaign-threshold-acd-queue", "5")
    set_input(driver, "campaign-max-interactions", "2")
    set_input(driver, "campaign-offer-timeout", "30")
    click(driver, "campaign-schedule-weekly")
    visible(driver, "campaign-schedule-area")
    assert len(driver.find_elements(By.CSS_SELECTOR, 'input[list="tz-list"]')) == 1, "hours are in the campaign's own zone"
    set_time(driver, "campaign-start-monday", "09:00")
    click(driver, "campaign-copy-monday")
    set_input(driver, "campaign-out-of-time", "Atendemos de lunes a viernes de 9 a 20.")
    set_input(driver, "campaign-dids", "+598 99 000 001\n3")
    set_input(driver, "campaign-optout", "STOP, BAJA, BASTA")

    # Members: two agents, then the second is moved to the top.
    text_is(driver, "campaign-members-empty", "No members yet: add agents above.")
    add_member(driver, users["ana.agent"], 0)
    add_member(driver, users["bob.agent"], 1)
    assert member_order(driver) == ["ana.agent", "bob.agent"]
    option_values = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, '[data-testid="campaign-member-select"] option')]
    assert str(users["sara.super"]) not in option_values, "only agents can be members"
    click(driver, f"campaign-member-up-{users['bob.agent']}")
    assert member_order(driver) == ["bob.agent", "ana.agent"]
    assert driver.switch_to.active_element.get_attribute("data-testid").startswith("campaign-member-")

    set_checked(driver, f"campaign-supervisor-{users['sara.super']}", True)
    click(driver, "campaign-canned-add")
    set_input(driver, "campaign-canned-title-0", "Saludo")
    set_input(driver, "campaign-canned-body-0", "Hola, ¿en qué puedo ayudarle?")
    screenshot(driver, "c01-campaign-form-filled")

    click(driver, "campaign-submit")
    text_is(driver, "campaign-form-status", 'Campaign "Cobranzas" created.')
    table_idle(driver, "campaigns-table")
    cid = row_id(driver, "Cobranzas")
    text_is(driver, f"campaign-dids-{cid}", "+59899000001, 3")
    text_is(driver, f"campaign-members-{cid}", "bob.agent, ana.agent")
    text_is(driver, f"campaign-strategy-{cid}", "Round robin (in order)")
    text_is(driver, f"campaign-status-{cid}", "Enabled")
    text_is(driver, f"campaign-schedule-{cid}", "Mon–Fri 09:00–20:00 (America/Montevideo)")
    attr_is(driver, "campaign-form", "data-mode", "create")
    assert driver.find_element(*tid("campaign-name")).get_attribute("value") == ""

    status, body = api(driver, "GET", f"/campaigns/{cid}")
    c = body["campaign"]
    assert [(m["username"], m["penalty"]) for m in c["members"]] == [("bob.agent", 1), ("ana.agent", 0)], c["members"]
    assert c["dids"] == ["+59899000001", "3"]
    assert [s["username"] for s in c["supervisors"]] == ["sara.super"]
    assert [(x["title"], x["body"]) for x in c["cannedResponses"]] == [("Saludo", "Hola, ¿en qué puedo ayudarle?")]
    assert c["serviceLevelPercent"] == 90 and c["thresholds"]["acdQueueLength"] == 5, c
    assert c["maxInteractionsPerAgent"] == 2 and c["offerTimeoutSeconds"] == 30, c
    assert c["optOutKeywords"] == ["STOP", "BAJA", "BASTA"] and c["standardKeywords"] is False, c
    assert c["schedule"]["timeZone"] == "America/Montevideo", c["schedule"]
    assert c["outOfTimeMessage"] == "Atendemos de lunes a viernes de 9 a 20."
    screenshot(driver, "c02-campaigns-list")

    # ---- Another campaign cannot take its number (written without +), nor its name.
    set_input(driver, "campaign-name", "Ventas")
    set_input(driver, "campaign-dids", "59899000001")
    click(driver, "campaign-submit")
    wait(driver).until(lambda d: "Cobranzas" in d.find_element(*tid("campaign-dids-error")).text)
    assert driver.find_element(*tid("campaign-dids")).get_attribute("aria-invalid") == "true"
    set_input(driver, "campaign-name", "Cobranzas")
    set_input(driver, "campaign-dids", "")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-name-error", "A campaign with this name already exists.")
    set_input(driver, "campaign-name", "Ventas")
    set_input(driver, "campaign-timezone", "Mars/Olympus")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-timezone-error", '"Mars/Olympus" is not a known time zone.')
    set_input(driver, "campaign-timezone", "UTC")
    click(driver, "campaign-canned-add")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-canned-error", "Canned response 1 needs a title and a text.")
    click(driver, "campaign-canned-remove-0")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-form-status", 'Campaign "Ventas" created.')
    vid = row_id(driver, "Ventas")

    # ---- Edit: the form shows what is stored; change strategy, members, canned responses, disable.
    click(driver, f"campaign-edit-{cid}")
    attr_is(driver, "campaign-form", "data-mode", "edit")
    text_is(driver, "campaign-form-title", 'Edit campaign "Cobranzas"')
    assert driver.find_element(*tid("campaign-name")).get_attribute("value") == "Cobranzas"
    assert driver.find_element(*tid("campaign-strategy")).get_attribute("value") == "rrordered"
    assert driver.find_element(*tid("campaign-schedule-weekly")).is_selected()
    assert driver.find_element(*tid("campaign-start-friday")).get_attribute("value") == "09:00"
    assert member_order(driver) == ["bob.agent", "ana.agent"]
    assert driver.find_element(*tid(f"campaign-member-penalty-{users['bob.agent']}")).get_attribute("value") == "1"
    assert driver.find_element(*tid(f"campaign-supervisor-{users['sara.super']}")).is_selected()
    assert driver.find_element(*tid("campaign-canned-title-0")).get_attribute("value") == "Saludo"
    assert driver.find_element(*tid("campaign-dids")).get_attribute("value") == "+59899000001\n3"
    select_value(driver, "campaign-strategy", "balanced")
    set_input(driver, f"campaign-member-penalty-{users['ana.agent']}", "3")
    click(driver, f"campaign-member-remove-{users['bob.agent']}")
    assert member_order(driver) == ["ana.agent"]
    click(driver, "campaign-canned-add")
    set_input(driver, "campaign-canned-title-1", "Despedida")
    set_input(driver, "campaign-canned-body-1", "Gracias por escribirnos.")
    click(driver, "campaign-canned-up-1")
    assert driver.find_element(*tid("campaign-canned-title-0")).get_attribute("value") == "Despedida"
    set_checked(driver, "campaign-enabled", False)
    screenshot(driver, "c03-campaign-edit")
    click(driver, "campaign-submit")
    text_is(driver, "campaign-form-status", 'Campaign "Cobranzas" saved.')
    table_idle(driver, "campaigns-table")
    text_is(driver, f"campaign-status-{cid}", "Disabled")
    text_is(driver, f"campaign-strategy-{cid}", "Balanced")
    text_is(driver, f"campaign-members-{cid}", "ana.agent")
    status, body = api(driver, "GET", f"/campaigns/{cid}")
    c = body["campaign"]
    assert c["enabled"] is False and c["strategy"] == "balanced", c
    assert [(m["username"], m["penalty"]) for m in c["members"]] == [("ana.agent", 3)], c["members"]
    assert [x["title"] for x in c["cannedResponses"]] == ["Despedida", "Saludo"], c["cannedResponses"]
    assert c["dids"] == ["+59899000001", "3"], "unchanged settings are kept"

    # ---- Delete: refused while a dialer serves the campaign; an unused one goes.
    status, body = api(driver, "POST", "/providers", {"name": "Sim", "type": "Simulator"})
    assert status == 201, body
    status, body = api(driver, "POST", "/dialers", {"name": "Cobranzas dialer", "providerId": body["provider"]["id"],
                                                    "campaignIds": [cid]})
    assert status == 201, body
    click(driver, "campaigns-refresh")
    text_is(driver, f"campaign-dialers-{cid}", "Cobranzas dialer")
    click(driver, f"campaign-delete-{cid}")
    click(driver, f"campaign-delete-confirm-{cid}")
    wait(driver).until(lambda d: "Cobranzas dialer" in d.find_element(*tid("campaigns-error")).text)
    assert "disable" in driver.find_element(*tid("campaigns-error")).text
    present(driver, f"campaign-row-{cid}")
    click(driver, f"campaign-delete-{vid}")
    click(driver, f"campaign-delete-confirm-{vid}")
    text_is(driver, "campaigns-status", 'Campaign "Ventas" deleted.')
    wait(driver).until(lambda d: not d.find_elements(*tid(f"campaign-row-{vid}")))
    screenshot(driver, "c04-campaigns-after-delete")

    bad = console_errors(driver)
    assert not bad, "console errors:\n" + "\n".join(json.dumps(e) for e in bad)


def test_campaigns_page_is_for_admins(new_driver, fresh_server):
    password = fresh_server.add_user("sup.camp", "supervisor")
    sup = new_driver()
    login(sup, fresh_server, "sup.camp", password)
    open_app(sup, fresh_server, "campaigns")
    text_is(sup, "no-access", "You do not have access to this page.")
    assert not is_shown(sup, "nav-campaigns")


def test_campaigns_narrow_window(new_driver, fresh_server):
    driver = new_driver(820, 900)
    login(driver, fresh_server, fresh_server.admin_user, fresh_server.admin_password, "campaigns")
    table_idle(driver, "campaigns-table")
    click(driver, "campaign-canned-add")
    overflow = driver.execute_script(
        "const m = document.getElementById('main');"
        "return Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,"
        "                m.scrollWidth - m.clientWidth)")
    assert overflow <= 0, f"the page scrolls horizontally by {overflow}px at 820px"
    screenshot(driver, "c05-campaigns-narrow")
