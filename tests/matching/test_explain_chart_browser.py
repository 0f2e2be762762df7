"""The `--explain` waterfall chart, opened in a real headless Chromium with markup in the names.

The chart shows the two records' compared values; a name or identifier written as HTML or
script must never run or become markup (the values are compared, and shown, as match keys,
and Splink writes the chart's data as JSON with <, > and & escaped). The page must also open offline: it carries its own Vega and asks the network
for nothing. Needs Debian's chromium and the playwright package; CI installs both
(CRM_HYGIENE_REQUIRE_BROWSER=1 turns a missing browser into a failure instead of a skip).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from crm_hygiene.matching.file_io import read_table
from crm_hygiene.matching.file_mapping import parse_mapping
from crm_hygiene.matching.files import dedupe_table
from crm_hygiene.model.records import Entity
from tests.matching.people import people

CHROMIUM = os.environ.get("CRM_HYGIENE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = '</script><script>window.__ran = 1</script><img src=x onerror="window.__ran = 2">'
MARKUP = "<b>O'Brien & Sons</b>"
MAPPING = {
    "id": "id",
    "fields": {"first_name": "first_name", "last_name": "surname", "email": "email", "phone": "phone"},
    # A list identifier: its items are shown in the chart (as match keys).
    "identifiers": {"ref": {"column": "ref", "split": ";"}},
}


def _browser():
    """Playwright's `sync_playwright`, or a skip (a failure in CI) without it or Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        if _required():
            raise
        pytest.skip("the playwright package is not installed")
    if not Path(CHROMIUM).exists():
        if _required():
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return sync_playwright


def _required() -> bool:
    return os.environ.get("CRM_HYGIENE_REQUIRE_BROWSER") == "1"


def test_the_explain_chart_shows_markup_as_text_and_loads_nothing(tmp_path: Path) -> None:
    sync_playwright = _browser()
    generated = people(300, email_share=0.6, seed=5)
    table = generated.table.copy()
    twice = table[table["person"].duplicated(keep=False)]
    pair = twice[twice["person"] == twice["person"].iloc[0]].index[:2]
    table.loc[pair, "first_name"] = SCRIPT
    table.loc[pair, "surname"] = MARKUP
    table["ref"] = table["id"].astype(str)
    table.loc[pair, "ref"] = SCRIPT + MARKUP
    source = tmp_path / "people.csv"
    table.to_csv(source, index=False)
    chart = tmp_path / "explain.html"
    result = dedupe_table(
        read_table(source),
        Entity.CONTACT,
        parse_mapping(MAPPING, Entity.CONTACT),
        explain_ids=tuple(table.loc[pair, "id"].astype(str)),
        explain_chart=chart,
    )
    assert result.explanation is not None and result.explanation.chart == chart
    html = chart.read_text(encoding="utf-8")
    # The values reach the page as the match keys they were compared on (markup stripped),
    # inside JSON escaped for a script element: none of their markup is in the file raw.
    spec = re.search(r"vegaEmbed\(document\.getElementById\('[^']*'\), (.*), \{\}\)\.catch", html, re.S)
    assert spec is not None, "the chart's spec is in the page"
    assert "scriptscriptwindowran1" in spec.group(1)
    assert "<" not in spec.group(1) and ">" not in spec.group(1)
    assert SCRIPT not in html and "<b>O" not in html
    scripts_in_file = len(re.findall(r"<script\b", html))

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(chart.as_uri())
            # Vega drew the chart: one SVG or canvas per view, with the comparison labels.
            page.wait_for_selector("svg, canvas", timeout=30_000)
            assert page.evaluate("window.__ran") is None
            assert page.evaluate("document.querySelectorAll('script').length") == scripts_in_file
            assert page.evaluate("document.querySelectorAll('img[src=\"x\"], body b').length") == 0
            assert not dialogs and not errors, (dialogs, errors)
        finally:
            browser.close()
    # Offline: the page asked for itself only.
    assert [url for url in requests if not url.startswith("file://")] == []
