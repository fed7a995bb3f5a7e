"""The admin Settings page: message retention (issue 8 item 5)."""

import subprocess

from browser_helpers import (click, is_shown, login, nav_visible, open_app, screenshot, select_value, text_is, tid,
                             visible, wait)


def test_admin_sets_retention_and_sees_the_last_run(fresh_server, new_driver):
    server = fresh_server
    driver = new_driver()
    login(driver, server, server.admin_user, server.admin_password)
    click(driver, "nav-settings")
    text_is(driver, "page-title", "Settings")
    wait(driver).until(lambda d: "not run yet" in d.find_element(*tid("retention-last-run")).text)
    mode = driver.find_element(*tid("retention-mode"))
    days = driver.find_element(*tid("retention-days"))
    assert mode.get_attribute("value") == "keep"
    assert not days.is_enabled(), "no days to give when everything is kept"

    # Anonymise without a number of days is refused next to the field.
    select_value(driver, "retention-mode", "anonymise")
    assert days.is_enabled()
    assert "keyed hash" in driver.find_element(*tid("retention-explanation")).text
    click(driver, "retention-save")
    text_is(driver, "retention-days-error", "Enter a whole number of days from 1 to 36500.")

    days.send_keys("90")
    click(driver, "retention-save")
    text_is(driver, "settings-status", "Retention setting saved. It applies at the next daily run.")
    assert driver.find_element(*tid("retention-days-error")).text == ""

    # Run it by hand (as the daily run would), then the page shows what it did.
    r = subprocess.run([str(server.bin), "retention", "--data-dir", str(server.data_dir)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "anonymised what is older than 90 days" in r.stdout, r.stdout
    driver.refresh()
    text_is(driver, "page-title", "Settings")
    wait(driver).until(lambda d: "Outgoing messages" in d.find_element(*tid("retention-last-run")).text)
    assert driver.find_element(*tid("retention-mode")).get_attribute("value") == "anonymise"
    assert driver.find_element(*tid("retention-days")).get_attribute("value") == "90"
    assert "Anonymise" in driver.find_element(*tid("retention-last-run")).text
    screenshot(driver, "settings-retention")

    # Back to keeping everything.
    select_value(driver, "retention-mode", "keep")
    click(driver, "retention-save")
    text_is(driver, "settings-status", "Retention setting saved. It applies at the next daily run.")
    assert not driver.find_element(*tid("retention-days")).is_enabled()


def test_settings_is_for_admins_only(fresh_server, new_driver):
    password = fresh_server.add_user("sofia", "supervisor")
    driver = new_driver()
    login(driver, fresh_server, "sofia", password)
    assert not nav_visible(driver, "settings")
    open_app(driver, fresh_server, "settings")
    visible(driver, "no-access")
    assert not is_shown(driver, "retention-form")
