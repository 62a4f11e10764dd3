"""Link tokens never reach a log line (educonnect/log_redaction.py): every URL pattern that
carries a token is covered by the expression, and Django's own warning for an unknown link
(« Gone: <path> ») comes out of the console handler redacted."""

import logging

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from educonnect.log_redaction import RedactLinkTokens, path_redact

TOKEN = "Xy9-Secret_Token-0123456789abcdefABCDEF"


def _token_patterns(resolver=None, namespace=""):
    """The names (namespaced) of every URL pattern with a `token` argument."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _token_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and "token" in entry.pattern.converters:
            yield namespace + entry.name


def test_every_url_that_carries_a_token_is_redacted():
    names = sorted(_token_patterns())
    assert len(names) >= 3  # reset link, e-mail validation, a letter's first sign-in
    for name in names:
        path = reverse(name, kwargs={"token": TOKEN})
        redacted = path_redact(f'"GET {path} HTTP/1.1" 410')
        assert TOKEN not in redacted, name
        assert "/***/" in redacted, name


def test_other_paths_are_left_as_they_are():
    for path in ("/mot-de-passe-oublie/", "/gestion/pupils/responsibility/3/change/",
                 "/activation/8f0c/code/", "/mon-compte/adresse-mail/validee/"):
        assert path_redact(path) == path


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.mark.django_db
def test_django_s_warning_for_an_unknown_link_is_printed_without_its_token(client):
    # The « django » loggers do not propagate to the root (settings.LOGGING): the record is
    # caught on its own logger, then printed by the console handler as in production.
    kept = _Kept()
    logger = logging.getLogger("django.request")
    logger.addHandler(kept)
    try:
        response = client.get(reverse("accounts:password_recovery_link_open", args=[TOKEN]))
    finally:
        logger.removeHandler(kept)
    assert response.status_code == 410
    [record] = kept.records
    [console] = [handler for handler in logging.getLogger("django").handlers
                 if any(isinstance(f, RedactLinkTokens) for f in handler.filters)]
    assert console.filter(record)
    printed = console.format(record)
    assert TOKEN not in printed and "/mot-de-passe-oublie/lien/***/" in printed
