"""Accessibility check for browser tests: `from tests.browser.a11y import assert_accessible`.

Tests under tests/browser/ drive Debian's Chromium through Playwright against pytest-django's
live_server; tests/conftest.py marks them `browser` (skipped with a reason where Chromium is
missing, never in CI). `assert_accessible(page)` runs axe in the page and fails on any serious
or critical violation, listing them; `strict=True` fails on moderate ones too (the portal,
issue 13 §7). Moderate and minor violations that do not fail are printed (pytest shows them
with -s or on failure): `violations(page)` returns them all.
"""

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()
BLOCKING_IMPACTS = {"serious", "critical"}
STRICT_IMPACTS = {"moderate", "serious", "critical"}


def violations(page) -> list[dict]:
    """axe's violations in `page`: dicts with `id`, `impact`, `help`, `nodes`."""
    return _axe.run(page).response["violations"]


def describe(found: list[dict]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in found
    )


def assert_accessible(page, *, strict: bool = False) -> None:
    found = violations(page)
    failing = STRICT_IMPACTS if strict else BLOCKING_IMPACTS
    blocking = [v for v in found if v.get("impact") in failing]
    others = [v for v in found if v.get("impact") not in failing]
    if others:
        print(f"axe, not failing, on {page.url}:\n{describe(others)}")
    assert not blocking, (
        f"axe found {'moderate, ' if strict else ''}serious or critical violations on "
        f"{page.url}:\n{describe(blocking)}"
    )
