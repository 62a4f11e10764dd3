"""Accessibility check for browser tests: `from tests.browser.a11y import assert_accessible`.

Tests under tests/browser/ drive Debian's Chromium through Playwright against pytest-django's
live_server; tests/conftest.py marks them `browser` (skipped with a reason where Chromium is
missing, never in CI). `assert_accessible(page)` runs axe in the page and fails on any serious
or critical violation, listing them.
"""

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()
BLOCKING_IMPACTS = {"serious", "critical"}


def assert_accessible(page) -> None:
    results = _axe.run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    details = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in blocking
    )
    assert not blocking, f"axe found serious or critical violations on {page.url}:\n{details}"
