"""The operator documentation covers the program as built: every command and every flag that
`smsdesk … --help` lists, and every SMSDESK_* environment variable the sources read, appear in
docs/configuration.md; every page the docs index links to exists."""

import re
import subprocess
from pathlib import Path

from smsdesk_process import REPO_ROOT, smsdesk_bin

DOCS = REPO_ROOT / "docs"


def help_text(*command):
    r = subprocess.run([smsdesk_bin(), *command, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"smsdesk {' '.join(command)} --help failed: {r.stdout}{r.stderr}"
    return r.stdout


def subcommands(*command):
    text = help_text(*command)
    if "SUBCOMMANDS:" not in text:
        return []
    block = text.split("SUBCOMMANDS:", 1)[1].split("\n\n")[0]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)\s", block, re.MULTILINE)]


def every_command():
    """Leaf commands as tuples, e.g. ('import', 'spool')."""
    found, todo = [], [()]
    while todo:
        command = todo.pop()
        children = subcommands(*command)
        if command and not children:
            found.append(command)
        todo.extend(command + (child,) for child in children)
    return sorted(found)


def test_every_command_and_flag_is_in_the_configuration_doc():
    doc = (DOCS / "configuration.md").read_text()
    commands = every_command()
    assert ("serve",) in commands and ("import", "spool") in commands, commands
    missing = []
    for command in commands:
        name = "smsdesk " + " ".join(command)
        if f"`{name}" not in doc:
            missing.append(name)
        for flag in sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", help_text(*command), re.MULTILINE))):
            if flag in ("--help", "--version"):
                continue
            section = doc.split(f"`{name}", 1)[1] if f"`{name}" in doc else ""
            section = section.split("\n### ", 1)[0]
            if f"`{flag}" not in section:
                missing.append(f"{name} {flag}")
    assert not missing, "docs/configuration.md does not describe: " + ", ".join(missing)


def test_every_environment_variable_is_in_the_configuration_doc():
    doc = (DOCS / "configuration.md").read_text()
    names = set()
    for source in (REPO_ROOT / "Sources").rglob("*.swift"):
        names |= set(re.findall(r"\bSMSDESK_[A-Z_]+[A-Z]\b", source.read_text()))
    assert "SMSDESK_DATA_DIR" in names
    missing = sorted(n for n in names if f"`{n}" not in doc)
    assert not missing, "docs/configuration.md does not describe: " + ", ".join(missing)


def test_the_docs_index_links_to_pages_that_exist():
    index = (DOCS / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+\.md)\)", index)
    assert len(links) >= 8, links
    missing = [link for link in links if not (DOCS / link).exists()]
    assert not missing, missing
