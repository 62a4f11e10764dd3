"""Passwords are hashed with Argon2id at no less than OWASP's minimum (19 MiB, t=2, p=1)."""

import re

import pytest
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.test import override_settings

from accounts.hashers import EduConnectArgon2Hasher
from tests.factories import DEFAULT_PASSWORD, AccountFactory

ENCODED = re.compile(
    r"^argon2_nfkc\$(?P<variant>argon2id)\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[^$]+\$[^$]+$"
)


def parameters(encoded: str) -> dict:
    match = ENCODED.match(encoded)
    assert match, f"not an Argon2id hash: {encoded[:30]}…"
    return {"variant": match["variant"], **{k: int(match[k]) for k in "mtp"}}


@pytest.mark.django_db
def test_stored_passwords_are_argon2id_at_owasp_minimum_or_more():
    account = AccountFactory()
    params = parameters(account.password)
    assert params["variant"] == "argon2id"
    assert params["m"] >= 19456
    assert params["t"] >= 2
    assert params["p"] >= 1
    assert account.check_password(DEFAULT_PASSWORD)
    assert DEFAULT_PASSWORD not in account.password


def test_default_hasher_is_ours_with_the_settings_parameters(settings):
    hasher = get_hasher("default")
    assert isinstance(hasher, EduConnectArgon2Hasher)
    params = parameters(make_password("Motdepasse1!"))
    assert (params["m"], params["t"], params["p"]) == (
        settings.ARGON2_MEMORY_COST_KIB, settings.ARGON2_TIME_COST, settings.ARGON2_PARALLELISM
    )


@override_settings(ARGON2_MEMORY_COST_KIB=1024, ARGON2_TIME_COST=1, ARGON2_PARALLELISM=0)
def test_settings_below_the_minimum_are_raised_to_it():
    params = parameters(EduConnectArgon2Hasher().encode("Motdepasse1!", "saltsaltsaltsalt"))
    assert (params["m"], params["t"], params["p"]) == (19456, 2, 1)


def test_raising_the_parameters_asks_for_a_rehash_at_next_sign_in():
    hasher = EduConnectArgon2Hasher()
    encoded = hasher.encode("Motdepasse1!", hasher.salt())
    assert not hasher.must_update(encoded)
    with override_settings(ARGON2_TIME_COST=3):
        stronger = EduConnectArgon2Hasher()
        assert stronger.must_update(encoded)
        assert parameters(stronger.encode("Motdepasse1!", stronger.salt()))["t"] == 3
    # The old hash still verifies meanwhile.
    assert check_password("Motdepasse1!", encoded)
