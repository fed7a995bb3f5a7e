"""The web UI in English, Spanish and Italian, per user, with dates in the user's language and time zone."""

import re
import uuid
from datetime import datetime, timedelta, timezone

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from browser_helpers import (click, login, logout, open_app, present, screenshot, select_value, text_is, tid,
                             visible, wait, wait_login_view)
from conftest import CHROMEDRIVER, CHROMIUM
from desk_helpers import ApiClient

ES_MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"]
EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# Asia/Kolkata is UTC+5:30 all year: its minutes differ from UTC's, so a time shown in it cannot be a UTC time.
KOLKATA = timezone(timedelta(hours=5, minutes=30))


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def spanish_driver(new_driver_factory=None):
    """A Chromium whose browser language is Spanish (--lang and Accept-Language)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                "--no-proxy-server", "--lang=es-ES", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-sync", "--disable-component-update",
                "--disable-default-apps"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "es-ES,es"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def choose_preferences(driver, language, zone):
    """Pick a language and a zone in the top bar's dialog; returns the zone name picked."""
    click(driver, "preferences")
    visible(driver, "prefs-dialog")
    select_value(driver, "prefs-language", language)
    if zone == "Asia/Kolkata":  # ICU, and so Chromium, may list it under its old name
        offered = driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=prefs-timezone] option')].map((o) => o.value)")
        zone = zone if zone in offered else "Asia/Calcutta"
    select_value(driver, "prefs-timezone", zone)
    click(driver, "prefs-save")
    wait(driver).until(lambda d: not d.find_elements(*tid("prefs-dialog")))
    return zone


def html_lang(driver):
    return driver.execute_script("return document.documentElement.lang")


def created_cell_of(driver, username):
    """The <time> of the user's "Created" cell on the Users page."""
    row = present(driver, f"user-row-{username}")
    return row.find_element("css selector", "time")


def test_language_tables_have_the_same_keys_and_placeholders(server, driver):
    open_app(driver, server)
    wait_login_view(driver)
    tables = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/js/i18n.js').then((m) => done(m.TABLES), (e) => done({ error: String(e) }));
    """)
    assert "error" not in tables, tables
    assert set(tables) >= {"en", "es", "it"}
    en = tables["en"]
    assert len(en) > 800
    placeholders = lambda s: sorted(re.findall(r"\{\w+\}", s))
    for code in ("es", "it"):
        table = tables[code]
        assert set(table) - set(en) == set(), f"{code} has keys that en does not"
        assert set(en) - set(table) == set(), f"{code} misses keys of en"
        for key, text in en.items():
            assert placeholders(table[key]) == placeholders(text), f"{code} {key}: {table[key]!r} vs {text!r}"
            assert table[key].strip(), f"{code} {key} is empty"
        # A real translation, not a copy of English.
        copied = [k for k in en if table[k] == en[k] and re.search(r"[a-z]{4} [a-z]{4}", en[k])]
        assert len(copied) < 5, f"{code} has English left in: {copied[:10]}"


def test_a_user_switches_to_spanish_and_keeps_it_while_others_stay_in_english(server, new_driver):
    boss = unique("jefa")
    boss_password = server.add_user(boss, "admin")
    agent = unique("ana")
    agent_password = server.add_user(agent, "agent")

    driver = new_driver()
    login(driver, server, boss, boss_password, "users")
    assert html_lang(driver) == "en"
    text_is(driver, "nav-campaigns", "Campaigns")
    time_el = created_cell_of(driver, boss)
    assert any(m in time_el.text for m in EN_MONTHS), time_el.text

    kolkata = choose_preferences(driver, "es", "Asia/Kolkata")
    # Applied at once, on the same page, without signing in again.
    text_is(driver, "nav-campaigns", "Campañas")
    text_is(driver, "nav-dialers", "Marcadores")
    text_is(driver, "page-title", "Usuarios")
    assert html_lang(driver) == "es"
    assert "ES" in driver.find_element(*tid("preferences")).text

    # The creation time, Spanish style ("26 nov 2026, 16:08"), in Kolkata time.
    time_el = created_cell_of(driver, boss)
    at = datetime.fromisoformat(time_el.get_attribute("datetime").replace("Z", "+00:00")).astimezone(KOLKATA)
    shown = time_el.text
    assert f"{at.day} {ES_MONTHS[at.month - 1]}" in shown, shown
    assert f"{at.hour}:{at.minute:02d}" in shown, shown
    assert str(at.year) in shown, shown

    click(driver, "nav-campaigns")
    text_is(driver, "page-title", "Campañas")
    screenshot(driver, "languages-campaigns-es")
    click(driver, "nav-dialers")
    text_is(driver, "page-title", "Marcadores")
    screenshot(driver, "languages-dialers-es")

    # Saved for the user: a reload (same session) and a new browser both show Spanish.
    driver.refresh()
    visible(driver, "shell")
    text_is(driver, "page-title", "Marcadores")
    text_is(driver, "nav-users", "Usuarios")
    assert html_lang(driver) == "es"
    other_browser = new_driver()
    login(other_browser, server, boss, boss_password, "campaigns")
    text_is(other_browser, "page-title", "Campañas")
    me = ApiClient(server.base_url).login(boss, boss_password).call("GET", "/me", expect=200)[1]
    assert me["user"]["locale"] == "es" and me["user"]["timeZone"] == kolkata

    # Signing out shows the sign-in page in the browser's language again (English here).
    logout(driver)
    text_is(driver, "login-submit", "Sign in")
    assert html_lang(driver) == "en"

    # Another user still sees English; an agent's inbox in Spanish once they choose it.
    agent_driver = new_driver()
    login(agent_driver, server, agent, agent_password, "inbox")
    text_is(agent_driver, "page-title", "Inbox")
    text_is(agent_driver, "nav-inbox", "Inbox")
    choose_preferences(agent_driver, "es", "America/Montevideo")
    text_is(agent_driver, "page-title", "Bandeja de entrada")
    text_is(agent_driver, "nav-inbox", "Bandeja de entrada")
    screenshot(agent_driver, "languages-inbox-es")

    # And back to "as the browser": English again.
    choose_preferences(agent_driver, "", "")
    text_is(agent_driver, "page-title", "Inbox")
    me = ApiClient(server.base_url).login(agent, agent_password).call("GET", "/me", expect=200)[1]
    assert me["user"]["locale"] is None and me["user"]["timeZone"] is None


def test_italian_is_available_too(server, new_driver):
    name = unique("giulia")
    password = server.add_user(name, "supervisor")
    driver = new_driver()
    login(driver, server, name, password, "search")
    choose_preferences(driver, "it", "Europe/Rome")
    text_is(driver, "page-title", "Ricerca conversazioni")
    text_is(driver, "nav-dialer-monitor", "Monitor dei dialer")
    assert html_lang(driver) == "it"
    screenshot(driver, "languages-search-it")


def test_a_spanish_browser_shows_the_login_page_and_the_app_in_spanish(server, new_driver):
    name = unique("sofia")
    password = server.add_user(name, "admin")
    driver = spanish_driver()
    try:
        open_app(driver, server)
        wait_login_view(driver)
        assert html_lang(driver) == "es"
        text_is(driver, "login-submit", "Iniciar sesión")
        assert driver.find_element("css selector", ".login-title").text == "Inicia sesión en SMSDesk"
        assert driver.find_element("css selector", "label[for=login-username]").text == "Usuario"
        screenshot(driver, "languages-login-es")
        login(driver, server, name, password, "dialers")
        text_is(driver, "page-title", "Marcadores")
        text_is(driver, "nav-campaigns", "Campañas")
        text_is(driver, "logout", "Cerrar sesión")
        # No preference was saved: the user still has none.
        me = ApiClient(server.base_url).login(name, password).call("GET", "/me", expect=200)[1]
        assert me["user"]["locale"] is None
        # A user who chose English gets English even in a Spanish browser.
        choose_preferences(driver, "en", "UTC")
        text_is(driver, "page-title", "Dialers")
        assert html_lang(driver) == "en"
    finally:
        driver.quit()


def test_an_admin_sets_another_users_language_and_time_zone_on_the_users_page(server, new_driver):
    boss = unique("capo")
    boss_password = server.add_user(boss, "admin")
    agent = unique("luca")
    agent_password = server.add_user(agent, "agent")
    driver = new_driver()
    login(driver, server, boss, boss_password, "users")
    select_value(driver, f"locale-select-{agent}", "it")
    text_is(driver, "users-status", f"Language and time zone of {agent} saved.")
    zone = visible(driver, f"timezone-input-{agent}")
    zone.clear()
    zone.send_keys("Mars/Olympus")
    driver.find_element(*tid("users-refresh")).click()  # leaving the field commits it
    wait(driver).until(lambda d: "Mars/Olympus" in d.find_element(*tid("users-error")).text)
    zone = visible(driver, f"timezone-input-{agent}")
    zone.clear()
    zone.send_keys("Europe/Rome")
    driver.find_element(*tid("users-refresh")).click()
    wait(driver).until(lambda d: d.find_element(*tid(f"timezone-input-{agent}")).get_attribute("value") == "Europe/Rome")
    screenshot(driver, "languages-users-en")
    # The admin's own page stays in English.
    text_is(driver, "page-title", "Users")

    agent_driver = new_driver()
    login(agent_driver, server, agent, agent_password, "inbox")
    text_is(agent_driver, "page-title", "Posta in arrivo")
    assert html_lang(agent_driver) == "it"
    assert "Rome" in agent_driver.find_element(*tid("preferences")).text


# ---- Providers page: the server's field labels, help and type notes in the user's language ----------------------

def page_tables(driver):
    """The UI's string tables, as the page loaded them."""
    tables = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/js/i18n.js').then((m) => done(m.TABLES), (e) => done({ error: String(e) }));
    """)
    assert "error" not in tables, tables
    return tables


def provider_type_texts(types):
    """(key, English text) of every field label/help, setting label/help and note GET /provider-types returns."""
    texts = []
    for ty in types:
        name = ty["type"]
        for f in ty["fields"]:
            texts.append((f"providerFields.{name}.{f['name']}.label", f["label"]))
            if f.get("help"):
                texts.append((f"providerFields.{name}.{f['name']}.help", f["help"]))
        for s in ty["settings"]:
            texts.append((f"providerFields.{name}.settings.{s['key']}.label", s["label"]))
            if s.get("help"):
                texts.append((f"providerFields.{name}.settings.{s['key']}.help", s["help"]))
        if ty.get("note"):
            texts.append((f"providerTypes.{name}.note", ty["note"]))
    return texts


def choose_provider_type(driver, type_name):
    wait(driver).until(lambda d: d.find_elements(
        "css selector", f'[data-testid="provider-type"] option[value="{type_name}"]'))
    select_value(driver, "provider-type", type_name)
    visible(driver, "provider-section-connection")


def provider_form_texts(driver):
    """{field key: (label without the required marker, hint or None)} of the fields the type area shows."""
    return driver.execute_script("""
        const out = {};
        for (const el of document.querySelectorAll('[data-testid="provider-type-area"] [data-field]')) {
          const label = el.querySelector('label');
          const marker = label.querySelector('.req-marker');
          const text = [...label.childNodes].filter((n) => n !== marker).map((n) => n.textContent).join('');
          const hint = el.querySelector('.field-hint');
          out[el.dataset.field] = [text, hint ? hint.textContent : null];
        }
        return out;
    """)


def test_every_provider_type_text_of_the_server_has_its_key_in_every_language(server, driver):
    types = ApiClient(server.base_url).login(server.admin_user, server.admin_password) \
        .call("GET", "/provider-types", expect=200)[1]["types"]
    texts = provider_type_texts(types)
    assert {ty["type"] for ty in types} >= {"Twilio", "URLSMS", "URLSMSAuth", "Simulator"}
    assert len(texts) > 300, len(texts)
    open_app(driver, server)
    wait_login_view(driver)
    tables = page_tables(driver)
    en = tables["en"]
    missing = [key for key, _ in texts if key not in en]
    assert not missing, f"server texts without a key in en (add them to i18n.js, es.js and it.js): {missing[:10]}"
    changed = [(key, en[key], english) for key, english in texts if en[key] != english]
    assert not changed, f"en differs from the server's English: {changed[:5]}"
    for code in ("es", "it"):
        assert not [key for key, _ in texts if key not in tables[code]], f"{code} misses provider type texts"
    # No stale keys: every providerFields/providerTypes key of en is a text the server still sends.
    sent = {key for key, _ in texts}
    stale = [k for k in en if k.startswith(("providerFields.", "providerTypes.")) and k not in sent]
    assert not stale, f"keys of en the server no longer sends: {stale[:10]}"


def test_a_spanish_admin_sees_the_provider_fields_in_spanish(server, new_driver):
    name = unique("carla")
    password = server.add_user(name, "admin")
    driver = new_driver()
    login(driver, server, name, password, "providers")
    text_is(driver, "page-title", "Providers")
    choose_preferences(driver, "es", "Europe/Madrid")
    text_is(driver, "page-title", "Proveedores")
    es = page_tables(driver)["es"]

    choose_provider_type(driver, "Twilio")
    shown = provider_form_texts(driver)
    assert shown["url"] == ["URL base de la API", "Predeterminada https://api.twilio.com"], shown["url"]
    assert shown["username"] == ["Account SID", "AC seguido de 32 dígitos hexadecimales"], shown["username"]
    assert shown["secret"] == ["Auth token", "También es la clave con la que Twilio firma sus llamadas de webhook"]
    assert shown["sender"][0] == "Número remitente o Messaging Service SID"
    assert shown["numberPattern"] == ["Expresión regular de validación de números", None]
    assert shown["encoding"][0] == "Codificación SMS"
    assert shown["encoding"][1].startswith("Twilio elige por sí mismo GSM-7 o UCS-2")
    # The page's own fields are Spanish too.
    assert shown["ratePerSecond"][0] == "Mensajes por segundo"
    screenshot(driver, "languages-providers-twilio-es")

    choose_provider_type(driver, "URLSMSAuth")
    text_is(driver, "provider-type-note", "HTTP GET a la plantilla de URL con autenticación HTTP Basic.")
    shown = provider_form_texts(driver)
    assert shown["url"][0] == "Plantilla de URL"
    assert shown["url"][1].startswith("p. ej. https://sms.example.net/send?to={{to|noplus}}&text={{text}}; ")
    assert shown["username"] == ["Usuario (HTTP Basic)", "se envía como autenticación HTTP Basic; también {{username}}"]
    assert shown["secret"][0] == "Contraseña (HTTP Basic)"
    assert shown["ports"] == ["Puertos", "cadena de marcación; el puerto elegido es {{port}}"]
    assert shown["settings.success_regex"][0] == "Regex de éxito"
    assert shown["settings.dlr_failed"][1].endswith("; los demás quedan pendientes")
    # Every server text on the form is the Spanish one.
    for key, (label, hint) in shown.items():
        if key in ("ratePerSecond", "maxConcurrency"):
            continue
        assert label == es[f"providerFields.URLSMSAuth.{key}.label"], key
        assert hint == es.get(f"providerFields.URLSMSAuth.{key}.help"), key
    screenshot(driver, "languages-providers-urlsmsauth-es")

    # A key the language lacks shows the server's English instead of the key.
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/js/i18n.js').then((m) => { delete m.TABLES.es['providerFields.Twilio.url.help']; done(); });
    """)
    choose_provider_type(driver, "Twilio")
    shown = provider_form_texts(driver)
    assert shown["url"] == ["URL base de la API", "Default https://api.twilio.com"], shown["url"]

    # Italian: the same form, in Italian.
    choose_preferences(driver, "it", "Europe/Rome")
    text_is(driver, "page-title", "Provider")
    choose_provider_type(driver, "Simulator")
    text_is(driver, "provider-type-note",
            "Un provider interno al processo per provare il sistema senza spendere: nulla esce dal server.")
    shown = provider_form_texts(driver)
    assert shown["settings.latency_ms"] == ["Latenza (ms)", "tempo impiegato da ogni invio; predefinito 100"]
    assert shown["sender"][0] == "Mittente SMS"
