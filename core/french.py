"""French grammar the pages need around names typed by people or imported from schools.

`of_name(name)`: « de » before a first name, elided to « d' » before a vowel or a mute h
(« la date de naissance d'Apolline », « d'Hugo », « de Marc »). One place, used by the
`of_name` template filter (core/templatetags/educonnect.py) wherever « de <prénom> » is built.
"""

import unicodedata

from django.utils.translation import pgettext

# Letters before which « de » becomes « d' » (accents removed first: « Élodie », « Œlle »).
_ELIDING = frozenset("aeiouhæœ")
_VOWELS = frozenset("aeiou")


def _base_letter(char: str) -> str:
    return unicodedata.normalize("NFD", char)[:1].lower()


def elides(word: str) -> bool:
    """Whether « de » before `word` is written « d' »: a vowel (accented or not), a mute h
    (first names starting with h take the elision: « d'Hugo », « d'Hélène »), or a y before
    a consonant (« d'Yves », but « de Yasmine »)."""
    letters = [_base_letter(char) for char in (word or "").strip()[:2]]
    if not letters:
        return False
    if letters[0] == "y":
        return len(letters) > 1 and letters[1].isalpha() and letters[1] not in _VOWELS
    return letters[0] in _ELIDING


def of_name(name: str) -> str:
    """« de Marc », « d'Apolline »: the French « of » before a name."""
    name = (name or "").strip()
    if not name:
        return ""
    if elides(name):
        return pgettext("elided « de » before a name", "d'%(name)s") % {"name": name}
    return pgettext("« de » before a name", "de %(name)s") % {"name": name}


def plural_count(count: int) -> int:
    """The number `ngettext` (or `{% blocktranslate count %}`) should choose its form by, as
    French counts: the singular for 0 and 1 (« 0 fiche », « 1 fiche », « 2 fiches »). Our
    French words are their own msgids, with no catalogue to give French's plural rule, and
    gettext without one takes the singular for 1 only (« 0 fiches »)."""
    return 1 if count <= 1 else count
