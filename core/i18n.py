"""Translation helpers the standard library of Django lacks."""

from django.utils.functional import Promise, lazy


def _interpolate(message: Promise | str, params: dict) -> str:
    return str(message) % params


_interpolate_lazy = lazy(_interpolate, str)


def lazy_interpolate(message: Promise, **params) -> Promise:
    """`message % params`, computed when the text is read, so in the language active then.

    For module-level texts with named placeholders: `gettext_lazy("… %(limit)s …") % {...}`
    would translate at import time, in no request's language.
    """
    return _interpolate_lazy(message, params)
