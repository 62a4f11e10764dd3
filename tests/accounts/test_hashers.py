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


# --- libsodium makes the hashes -------------------------------------------------------------


def test_the_hash_is_the_one_argon2_cffi_makes_for_the_same_salt(settings):
    """libsodium's Argon2id (accounts.hashers._sodium_hash) writes exactly argon2-cffi's PHC
    string for the 16-byte salt derived from Django's salt: same algorithm, same parameters,
    same format, so every hash verifies with argon2-cffi and carries its parameters."""
    import hashlib

    import argon2

    hasher = EduConnectArgon2Hasher()
    salt = hasher.salt()
    expected = argon2.low_level.hash_secret(
        "Crème-Brûlée-1".encode(), hashlib.blake2b(salt.encode(), digest_size=16).digest(),
        time_cost=settings.ARGON2_TIME_COST, memory_cost=settings.ARGON2_MEMORY_COST_KIB,
        parallelism=1, hash_len=32, type=argon2.Type.ID).decode()
    encoded = hasher.encode("Crème-Brûlée-1", salt)
    assert encoded == "argon2_nfkc" + expected
    assert check_password("Crème-Brûlée-1", encoded)
    assert not check_password("Creme-Brulee-1", encoded)
    assert hasher.encode("Crème-Brûlée-1", hasher.salt()) != encoded  # a salt of its own


def test_no_rehash_for_our_salts_nor_older_ones_but_for_a_short_salt():
    """Our 16-byte salts hold 128 bits, and hashes made by argon2-cffi with Django's
    22-character salts before stay as they are; a salt of 8 bytes is replaced."""
    import argon2

    hasher = EduConnectArgon2Hasher()
    assert not hasher.must_update(hasher.encode("Motdepasse1!", hasher.salt()))
    older = Argon2PasswordHasher.encode(hasher, "Motdepasse1!", hasher.salt())
    assert not hasher.must_update(older)
    short = "argon2_nfkc" + argon2.low_level.hash_secret(
        b"Motdepasse1!", b"8bytes!!", time_cost=hasher.time_cost,
        memory_cost=hasher.memory_cost, parallelism=1, hash_len=32,
        type=argon2.Type.ID).decode()
    assert hasher.must_update(short)


@override_settings(ARGON2_PARALLELISM=2)
def test_two_lanes_are_hashed_by_argon2_cffi():
    hasher = EduConnectArgon2Hasher()
    encoded = hasher.encode("Motdepasse1!", hasher.salt())
    assert parameters(encoded)["p"] == 2
    assert hasher.verify("Motdepasse1!", encoded)
    assert not hasher.must_update(encoded)


def test_one_lane_hashes_are_verified_by_libsodium_as_argon2_cffi_would(monkeypatch):
    """libsodium verifies every one-lane Argon2id hash (ours, with a 16-byte salt, and
    argon2-cffi's with Django's 22-character salt) with argon2-cffi's answer; two lanes and
    a string too long for libsodium go to argon2-cffi."""
    import argon2

    hasher = EduConnectArgon2Hasher()
    ours = hasher.encode("Motdepasse1!", hasher.salt())
    older = Argon2PasswordHasher.encode(hasher, "Motdepasse1!", hasher.salt())
    long_salt = "argon2_nfkc" + argon2.low_level.hash_secret(
        b"Motdepasse1!", b"s" * 64, time_cost=hasher.time_cost,
        memory_cost=hasher.memory_cost, parallelism=1, hash_len=32,
        type=argon2.Type.ID).decode()
    two_lanes = "argon2_nfkc" + argon2.low_level.hash_secret(
        b"Motdepasse1!", b"s" * 16, time_cost=hasher.time_cost,
        memory_cost=hasher.memory_cost, parallelism=2, hash_len=32,
        type=argon2.Type.ID).decode()
    by_cffi = []
    real = argon2.PasswordHasher.verify
    monkeypatch.setattr(argon2.PasswordHasher, "verify",
                        lambda self, h, p: by_cffi.append(h) or real(self, h, p))
    for encoded, cffi in [(ours, False), (older, False), (long_salt, True), (two_lanes, True)]:
        by_cffi.clear()
        assert hasher.verify("Motdepasse1!", encoded)
        assert not hasher.verify("Motdepasse1?", encoded)
        assert not hasher.verify("", encoded)
        assert bool(by_cffi) == cffi, encoded
    # A damaged hash is a refusal, not an error.
    assert not hasher.verify("Motdepasse1!", ours[:-4] + "AAAA")
    assert not hasher.verify("Motdepasse1!", ours.rsplit("$", 1)[0] + "$")


# --- NFKC -----------------------------------------------------------------------------------

import unicodedata  # noqa: E402

from django.contrib.auth.hashers import Argon2PasswordHasher  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.hashers import LegacyArgon2Hasher  # noqa: E402
from accounts.models import Account  # noqa: E402
from accounts.password_policy import password_errors  # noqa: E402

ACCENTED = "Crème-Brûlée-2026!"
NFC, NFD = unicodedata.normalize("NFC", ACCENTED), unicodedata.normalize("NFD", ACCENTED)
GUARDIAN_URL = "/connexion/representant-legal/"


def signs_in(identifier: str, password: str) -> bool:
    response = Client().post(GUARDIAN_URL, {"identifier": identifier, "password": password})
    return response.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(("set_as", "typed"), [(NFC, NFD), (NFD, NFC), (NFC, NFC)])
def test_an_accented_password_signs_in_typed_in_either_unicode_form(set_as, typed):
    assert NFC != NFD
    AccountFactory(identifier="m.dupont12", password=set_as)
    assert signs_in("m.dupont12", typed)


@pytest.mark.django_db
def test_a_full_width_password_is_its_ascii_form():
    AccountFactory(identifier="m.dupont12", password="Motdepasse1!")
    assert signs_in("m.dupont12", "Ｍｏｔｄｅｐａｓｓｅ１！")
    assert not signs_in("m.dupont12", "motdepasse1!")  # case still counts


@pytest.mark.django_db
@pytest.mark.parametrize("typed", [NFD, NFC])
def test_an_old_hash_of_an_unnormalised_password_works_and_is_replaced(typed):
    account = AccountFactory(identifier="m.dupont12")
    # As Django's own Argon2 hasher stored it before: the NFD password as typed on a Mac.
    legacy = LegacyArgon2Hasher()
    old_hash = Argon2PasswordHasher.encode(legacy, NFD, legacy.salt())
    assert old_hash.startswith("argon2$")
    Account.objects.filter(pk=account.pk).update(password=old_hash)
    history = account.history.count()

    assert signs_in("m.dupont12", typed)
    account.refresh_from_db()
    assert account.password.startswith("argon2_nfkc$")  # re-hashed at this success
    assert account.history.count() == history  # a re-hash is no change to audit
    assert signs_in("m.dupont12", NFC) and signs_in("m.dupont12", NFD)


@pytest.mark.django_db
def test_an_old_hash_refuses_a_wrong_password_and_stays():
    account = AccountFactory(identifier="m.dupont12")
    legacy = LegacyArgon2Hasher()
    old_hash = Argon2PasswordHasher.encode(legacy, NFD, legacy.salt())
    Account.objects.filter(pk=account.pk).update(password=old_hash)
    assert not signs_in("m.dupont12", "Crème-Brûlée-2025!")
    account.refresh_from_db()
    assert account.password == old_hash


def test_the_cost_depends_on_the_typed_password_only(monkeypatch):
    """One Argon2 computation per distinct form, for a match, a mismatch, an old hash and no
    account at all (accounts.backends' dummy verification): no timing tells them apart."""
    from accounts import hashers

    runs = []
    real = hashers._NfkcArgon2Hasher._verify_as_is
    monkeypatch.setattr(hashers._NfkcArgon2Hasher, "_verify_as_is",
                        lambda self, p, e: runs.append(1) or real(self, p, e))
    new = EduConnectArgon2Hasher()
    new_hash = new.encode(NFC, new.salt())
    legacy = LegacyArgon2Hasher()
    old_hash = Argon2PasswordHasher.encode(legacy, NFD, legacy.salt())
    for typed, expected in [("Motdepasse1!", 1), (NFC, 2), (NFD, 2)]:
        for check in (lambda t: new.verify(t, new_hash), lambda t: legacy.verify(t, old_hash),
                      hashers.dummy_verify):
            runs.clear()
            check(typed)
            assert len(runs) == expected, (typed, check)


def test_password_rules_judge_the_normalised_form():
    # A full-width « Ａ » is an upper-case A, and « ﬁ » two lower-case letters.
    assert password_errors("Ａstrolabe7!") == []
    assert password_errors("ﬁGUIER-BLEU1!") == []
    # NFD « é » is one character: 7 characters are too short, in either form.
    short = unicodedata.normalize("NFD", "Aéé1!xy")
    assert len(short) == 9
    assert any("8 caractères" in error for error in password_errors(short))
