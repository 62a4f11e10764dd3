"""Reading HTML in tests by its structure, not by substrings: `from tests import html`.

    page = html.parse(response)
    html.alerts(page)                  # the alerts (role="alert") of the page
    html.main(page)                    # the <main> element
    html.error_summary(page)           # the error summary (or None)
    html.summary_links(page)           # [(href, text)] of the summary's links to fields
    html.described_by(page, "id_x")    # the elements the input's aria-describedby names
    html.text(element)                 # visible text, whitespace collapsed
"""

import re

from bs4 import BeautifulSoup, Tag

ERROR_SUMMARY_ID = "error-summary"


def parse(response_or_html) -> BeautifulSoup:
    if isinstance(response_or_html, str | bytes):
        content = response_or_html
    else:
        content = response_or_html.content
    if isinstance(content, bytes):
        content = content.decode()
    return BeautifulSoup(content, "html.parser")


def text(element: Tag | None) -> str:
    """The element's text as a reader sees it: whitespace collapsed, trimmed."""
    if element is None:
        return ""
    return re.sub(r"\s+", " ", element.get_text(" ")).strip()


def main(page: BeautifulSoup) -> Tag:
    mains = page.find_all("main")
    assert len(mains) == 1, f"expected one <main>, found {len(mains)}"
    return mains[0]


def _shown(element: Tag) -> bool:
    """Neither hidden (the `hidden` attribute, on it or an ancestor) nor an empty live region
    waiting for a script to fill it (the time-limit warning, the password's summary)."""
    if element.has_attr("hidden") or any(p.has_attr("hidden") for p in element.parents
                                         if isinstance(p, Tag)):
        return False
    return bool(text(element))


def alerts(page: BeautifulSoup | Tag) -> list[Tag]:
    """The alerts a person is shown (role="alert")."""
    return [e for e in page.find_all(attrs={"role": "alert"}) if _shown(e)]


def statuses(page: BeautifulSoup | Tag) -> list[Tag]:
    """The statuses a person is shown (role="status")."""
    return [e for e in page.find_all(attrs={"role": "status"}) if _shown(e)]


def messages(page: BeautifulSoup | Tag) -> list[str]:
    """Texts of the Django messages shown (components/messages.html)."""
    box = page.find(id="messages")
    return [text(alert) for alert in box.find_all(class_="fr-alert")] if box else []


def error_summary(page: BeautifulSoup | Tag) -> Tag | None:
    return page.find(id=ERROR_SUMMARY_ID)


def summary_title(page: BeautifulSoup | Tag) -> str:
    summary = error_summary(page)
    assert summary is not None, "no error summary on the page"
    return text(summary.find(class_="fr-alert__title"))


def summary_links(page: BeautifulSoup | Tag) -> list[tuple[str, str]]:
    summary = error_summary(page)
    assert summary is not None, "no error summary on the page"
    return [(a["href"], text(a)) for a in summary.find_all("a")]


def field(page: BeautifulSoup | Tag, field_id: str) -> Tag:
    element = page.find(id=field_id)
    assert element is not None, f"no element with id {field_id!r}"
    return element


def described_by(page: BeautifulSoup | Tag, field_id: str) -> list[Tag]:
    """The elements the field's aria-describedby names; each must exist, once."""
    ids = field(page, field_id).get("aria-describedby", "").split()
    found = []
    for target in ids:
        matches = page.find_all(id=target)
        assert len(matches) == 1, f"aria-describedby of {field_id} names {target!r}, " \
                                  f"found {len(matches)} time(s)"
        found.append(matches[0])
    return found


def field_errors(page: BeautifulSoup | Tag, field_id: str) -> list[str]:
    """Error messages shown under a field (DSFR `fr-message--error`), read through its
    aria-describedby: an error the input does not point at does not count."""
    return [
        text(message)
        for element in described_by(page, field_id)
        for message in element.find_all(class_="fr-message--error")
    ]


def label_of(page: BeautifulSoup | Tag, field_id: str) -> str:
    label = page.find("label", attrs={"for": field_id})
    assert label is not None, f"no label for {field_id!r}"
    return text(label)


BRAND = "ÉduConnect"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


def doubled_brand_title(content: str | bytes) -> str | None:
    """The page's <title> if the brand stands more than once in it as a part of its own
    (« Je valide ma nouvelle adresse mail — ÉduConnect — ÉduConnect »), else None. A title
    naming the brand in a phrase (« Je me connecte avec mon compte ÉduConnect — ÉduConnect »)
    is fine."""
    import html as html_module

    if isinstance(content, bytes):
        content = content.decode(errors="replace")
    match = _TITLE.search(content)
    if match is None:
        return None
    title = " ".join(html_module.unescape(match.group(1)).split())
    parts = [part.strip() for part in title.split("—")]
    return title if parts.count(BRAND) > 1 else None
