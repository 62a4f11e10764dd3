"""School levels: the codes rosters write (`5EME`, `2NDE`, `TLE`) and the words people read
(« 5e », « Seconde », « Terminale »).

Rosters come from ONDE (école) and SIECLE (collège, lycée), whose short level labels vary
(`6EME`, `6E`, `6ème`; `2NDE`, `2DE`; `TLE`, `TERM`); `level_code()` reads them all to one
canonical code, which the catalogue stores (Service.levels) and « Mes services » compares.
A level no rule knows is shown as the school wrote it and sees only the services open to
every level.
"""

import re
import unicodedata

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """Canonical levels, in schooling order (the value is what the catalogue stores)."""

    PS = "PS", _("Petite section")
    MS = "MS", _("Moyenne section")
    GS = "GS", _("Grande section")
    CP = "CP", _("CP")
    CE1 = "CE1", _("CE1")
    CE2 = "CE2", _("CE2")
    CM1 = "CM1", _("CM1")
    CM2 = "CM2", _("CM2")
    SIXIEME = "6E", _("6e")
    CINQUIEME = "5E", _("5e")
    QUATRIEME = "4E", _("4e")
    TROISIEME = "3E", _("3e")
    SECONDE = "2NDE", _("Seconde")
    PREMIERE = "1RE", _("Première")
    TERMINALE = "TLE", _("Terminale")
    SECONDE_PRO = "2NDEPRO", _("Seconde professionnelle")
    PREMIERE_PRO = "1REPRO", _("Première professionnelle")
    TERMINALE_PRO = "TLEPRO", _("Terminale professionnelle")
    CAP1 = "CAP1", _("1re année de CAP")
    CAP2 = "CAP2", _("2e année de CAP")


ECOLE_LEVELS = (Level.PS, Level.MS, Level.GS, Level.CP, Level.CE1, Level.CE2, Level.CM1,
                Level.CM2)
COLLEGE_LEVELS = (Level.SIXIEME, Level.CINQUIEME, Level.QUATRIEME, Level.TROISIEME)
LYCEE_LEVELS = (Level.SECONDE, Level.PREMIERE, Level.TERMINALE, Level.SECONDE_PRO,
                Level.PREMIERE_PRO, Level.TERMINALE_PRO, Level.CAP1, Level.CAP2)

# Spellings seen in rosters, once accents, spaces, dots and dashes are gone, upper case.
_ALIASES = {
    "PS": Level.PS, "PETITESECTION": Level.PS, "TPS": Level.PS,
    "MS": Level.MS, "MOYENNESECTION": Level.MS,
    "GS": Level.GS, "GRANDESECTION": Level.GS,
    "CP": Level.CP, "CE1": Level.CE1, "CE2": Level.CE2, "CM1": Level.CM1, "CM2": Level.CM2,
    "6": Level.SIXIEME, "6E": Level.SIXIEME, "6EME": Level.SIXIEME, "SIXIEME": Level.SIXIEME,
    "5": Level.CINQUIEME, "5E": Level.CINQUIEME, "5EME": Level.CINQUIEME,
    "CINQUIEME": Level.CINQUIEME,
    "4": Level.QUATRIEME, "4E": Level.QUATRIEME, "4EME": Level.QUATRIEME,
    "QUATRIEME": Level.QUATRIEME,
    "3": Level.TROISIEME, "3E": Level.TROISIEME, "3EME": Level.TROISIEME,
    "TROISIEME": Level.TROISIEME,
    "2NDE": Level.SECONDE, "2DE": Level.SECONDE, "2NDEGT": Level.SECONDE,
    "2NDEGENERALEETTECHNOLOGIQUE": Level.SECONDE, "SECONDE": Level.SECONDE,
    "1ERE": Level.PREMIERE, "1RE": Level.PREMIERE, "1ERES": Level.PREMIERE,
    "1EREG": Level.PREMIERE, "1ERET": Level.PREMIERE, "PREMIERE": Level.PREMIERE,
    "TLE": Level.TERMINALE, "TERM": Level.TERMINALE, "TERMINALE": Level.TERMINALE,
    "TLEG": Level.TERMINALE, "TLET": Level.TERMINALE,
    "2NDEPRO": Level.SECONDE_PRO, "2DEPRO": Level.SECONDE_PRO, "SECONDEPRO": Level.SECONDE_PRO,
    "1EREPRO": Level.PREMIERE_PRO, "1REPRO": Level.PREMIERE_PRO,
    "PREMIEREPRO": Level.PREMIERE_PRO,
    "TLEPRO": Level.TERMINALE_PRO, "TERMPRO": Level.TERMINALE_PRO,
    "TERMINALEPRO": Level.TERMINALE_PRO,
    "1CAP": Level.CAP1, "1CAP2": Level.CAP1, "CAP1": Level.CAP1, "1ERECAP": Level.CAP1,
    "2CAP": Level.CAP2, "2CAP2": Level.CAP2, "CAP2": Level.CAP2, "2EMECAP": Level.CAP2,
}
_NOT_LETTERS = re.compile(r"[^0-9A-Z]")


def level_code(raw: str) -> str:
    """The canonical code (a `Level` value) of a level as a roster wrote it, or "" when no
    spelling matches. `level_code("5EME") == level_code("5ème") == "5E"`."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().upper()
    return str(_ALIASES.get(_NOT_LETTERS.sub("", text), ""))


def level_in_words(raw: str) -> str:
    """What a person reads for a roster level: « 5e » for `5EME`, « Seconde » for `2NDE`,
    « Terminale » for `TLE`; a level no rule knows is returned as written."""
    code = level_code(raw)
    return str(Level(code).label) if code else (raw or "")
