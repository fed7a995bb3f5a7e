"""Page helpers shared by the SMSDesk browser tests (explicit waits only)."""

import json
from pathlib import Path

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
WAIT = 15


def tid(testid: str):
    return (By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def wait(driver, timeout=WAIT):
    # Views re-render rows after each change, so an element can go stale between
    # finding and reading it; the wait simply tries again.
    return WebDriverWait(driver, timeout,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def click(driver, testid: str, timeout=WAIT):
    """Click an enabled, visible element, retrying if a re-render replaced it."""
    def attempt(d):
        el = d.find_element(*tid(testid))
        if not (el.is_displayed() and el.is_enabled()):
            return False
        el.click()
        return True
    wait(driver, timeout).until(attempt, message=f"could not click [data-testid={testid}]")


def table_idle(driver, testid: str, timeout=WAIT):
    """Wait until a data table has finished (re)loading (aria-busy=false)."""
    attr_is(driver, testid, "aria-busy", "false", timeout)


def visible(driver, testid: str, timeout=WAIT):
    return wait(driver, timeout).until(EC.visibility_of_element_located(tid(testid)))


def present(driver, testid: str, timeout=WAIT):
    return wait(driver, timeout).until(EC.presence_of_element_located(tid(testid)))


def gone(driver, testid: str, timeout=WAIT):
    wait(driver, timeout).until(EC.invisibility_of_element_located(tid(testid)))


def is_shown(driver, testid: str) -> bool:
    els = driver.find_elements(*tid(testid))
    return bool(els) and els[0].is_displayed()


def text_is(driver, testid: str, text: str, timeout=WAIT):
    wait(driver, timeout).until(lambda d: d.find_element(*tid(testid)).text.strip() == text,
                                message=f"[data-testid={testid}] never had text {text!r}")
    return driver.find_element(*tid(testid))


def attr_is(driver, testid: str, attr: str, value: str, timeout=WAIT):
    wait(driver, timeout).until(lambda d: d.find_element(*tid(testid)).get_attribute(attr) == value,
                                message=f"[data-testid={testid}] never had {attr}={value!r}")


def screenshot(driver, name: str):
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    driver.save_screenshot(str(SCREENSHOT_DIR / f"{name}.png"))


def open_app(driver, server, route: str = ""):
    driver.get(server.base_url + "/" + (f"#/{route}" if route else ""))


def wait_login_view(driver):
    visible(driver, "login-view")
    visible(driver, "login-username")
    assert not is_shown(driver, "shell")


def fill_login(driver, username: str, password: str):
    user = visible(driver, "login-username")
    user.clear()
    user.send_keys(username)
    pw = driver.find_element(*tid("login-password"))
    pw.clear()
    pw.send_keys(password)
    pw.send_keys(Keys.ENTER)  # Enter submits the form


def login(driver, server, username: str, password: str, route: str = ""):
    """Open the app, sign in, and wait for the shell."""
    open_app(driver, server, route)
    wait_login_view(driver)
    fill_login(driver, username, password)
    visible(driver, "shell")
    visible(driver, "page-title")


def logout(driver):
    driver.find_element(*tid("logout")).click()
    wait_login_view(driver)


def nav_visible(driver, name: str) -> bool:
    return is_shown(driver, f"nav-{name}")


def select_value(driver, testid: str, value: str):
    def attempt(d):
        Select(d.find_element(*tid(testid))).select_by_value(value)
        return True
    wait(driver).until(attempt)


def api(driver, method, path, body=None):
    """Call /api/v1<path> from inside the page with the session cookie and CSRF token; (status, json|text)."""
    status, text = driver.execute_async_script("""
        const [method, path, body, done] = arguments;
        (async () => {
          const me = await (await fetch('/api/v1/me', { credentials: 'same-origin' })).json();
          const init = { method, credentials: 'same-origin',
                         headers: { Accept: 'application/json', 'X-CSRF-Token': me.csrfToken } };
          if (body !== null) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
          const r = await fetch('/api/v1' + path, init);
          done([r.status, await r.text()]);
        })().catch((e) => done([0, String(e)]));
    """, method, path, body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
