"""The roster reader's fast phone path must say exactly what parse_mobile_phone says.

pupils.roster reads a national-form number of the school's region against libphonenumber's
metadata patterns directly (100,000 rows would otherwise spend seconds in parsing). If a
phonenumbers upgrade changed how it decides, these tests catch the divergence.
"""

import random

import pytest

from core.normalization import FRENCH_REGIONS, InvalidPhoneNumber, parse_mobile_phone
from pupils.roster import _mobile_phone, _national_mobile


def reference(raw: str, region: str) -> str | None:
    try:
        return parse_mobile_phone(raw, preferred_region=region)
    except InvalidPhoneNumber:
        return None


def fast(raw: str, region: str) -> str | None:
    try:
        return _mobile_phone(raw, region)
    except InvalidPhoneNumber:
        return None


@pytest.mark.parametrize("region", FRENCH_REGIONS)
def test_every_number_the_fast_path_accepts_is_the_mobile_parse_mobile_phone_reads(region):
    # When the fast path declines, the reader falls back to parse_mobile_phone itself; so
    # what must hold is: whatever it accepts, parse_mobile_phone reads the same way.
    rng = random.Random(region)
    accepted = 0
    for prefix in range(10_000):  # every four-digit prefix, then random digits
        national_number = f"{prefix:04d}{rng.randrange(100_000):05d}"
        e164 = _national_mobile(national_number, region)
        if e164 is not None:
            accepted += 1
            assert e164 == reference("0" + national_number, region), (national_number, region)
            # The same number in international form, from a school of any region.
            international = e164.replace("+", "00", 1) if prefix % 2 else e164
            assert fast(international, "FR") == e164 == reference(international, "FR")
    # Regions dialled with a leading 0 have mobiles; WF, NC and PF numbers have no 0.
    assert (accepted > 0) == (region not in {"WF", "NC", "PF"})


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0692 12 34 56", "RE", "+262692123456"),
        ("0692 12 34 56", "FR", "+262692123456"),  # not a +33 number: the next region
        ("0639 01 23 45", "RE", "+262639012345"),  # Mayotte's block, read from La Réunion
        ("+262 692 12 34 56", "FR", "+262692123456"),
        ("0033 6 12 34 56 78", "GP", "+33612345678"),
        ("06.12.34.56.78", "MQ", "+33612345678"),
        ("01 23 45 67 89", "FR", None),
        ("0590 12 34 56", "GP", None),  # a Guadeloupe landline
    ],
)
def test_written_forms(raw, region, e164):
    assert fast(raw, region) == e164 == reference(raw, region)
