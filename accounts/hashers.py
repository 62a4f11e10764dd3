"""Argon2id at explicit, configurable parameters (never below OWASP's minimum), on passwords
in Unicode normalisation form NFKC.

Why NFKC, and why here. The same password can reach us as different code points: « é » is
one character typed on Windows or Android (NFC) and « e » + a combining accent on some macOS
and iOS keyboards or pasted from a PDF (NFD); a full-width « Ａ » from a Japanese keyboard is
« A » to the eye. NIST SP 800-63B §5.1.1.2 asks verifiers to normalise (NFKC or NFKD) before
hashing. The hasher is the one place every path goes through: `set_password` and
`check_password` of every account (sign-in, activation, recovery, « Mon compte », the admin's
forms, `changepassword`, `createsuperuser`) end in `encode()` and `verify()`; a form or a
service that forgot to normalise could not make a hash that another path then fails to
match. Password rules judge the same normalised form (accounts.password_policy).

Hashes made before normalisation. They keep Django's algorithm name « argon2 » and are read
by `LegacyArgon2Hasher`, which tries the NFKC form of the typed password and then the raw
form, and its NFC and NFD forms (the hash is of the password as typed then, maybe in the
other canonical form than today's keyboard); new hashes are named
« argon2_nfkc » (`EduConnectArgon2Hasher`, first in PASSWORD_HASHERS). Django's
`check_password` re-hashes with the first hasher after any success on a hash of another
algorithm: an old hash is replaced by an NFKC one at its owner's next sign-in.

Equal cost whatever the outcome (no enumeration by timing): `verify()` of both hashers runs
one Argon2 computation per distinct form of the typed password (one for ASCII, two for most
accented passwords), all computed even when the first matches and whatever the hash;
`dummy_verify()` does the same work for an identifier that matches no account
(accounts.backends).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.utils.crypto import get_random_string
from nacl.bindings import crypto_pwhash_alg, crypto_pwhash_ALG_ARGON2ID13, crypto_pwhash_str_verify
from nacl.exceptions import InvalidkeyError

from core.normalization import password_normalize

OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2
HASH_BYTES = 32  # argon2-cffi's and Django's length
# A PHC string libsodium verifies: Argon2id v1.3 with one lane (libsodium's Argon2 has one).
_ONE_LANE_ARGON2ID = re.compile(r"\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$")
_SODIUM_MAX_STRING = 127  # crypto_pwhash_STRBYTES less its NUL; ours are about 100


def _typed_forms(password: str) -> list[str]:
    """The distinct forms a typed password is checked in: NFKC first, then as typed, NFC
    and NFD (hashes made before normalisation)."""
    forms = []
    for form in (password_normalize(password), password,
                 unicodedata.normalize("NFC", password), unicodedata.normalize("NFD", password)):
        if form not in forms:
            forms.append(form)
    return forms


class _NfkcArgon2Hasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (Argon2id) with our parameters from settings, on NFKC
    passwords; one-lane hashes made and verified by libsodium, others by argon2-cffi."""

    def __init__(self):
        memory = max(settings.ARGON2_MEMORY_COST_KIB, OWASP_MIN_MEMORY_KIB)
        time_cost = max(settings.ARGON2_TIME_COST, OWASP_MIN_TIME_COST)
        self.memory_cost = memory
        self.time_cost = time_cost
        self.parallelism = max(settings.ARGON2_PARALLELISM, 1)

    def encode(self, password, salt):
        """The hash of `password`'s NFKC form: the algorithm's name, then Argon2id's PHC
        string « $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash> », as argon2-cffi writes it.
        Computed by libsodium (`_sodium_hash`) when the parameters allow it (one lane), else
        by argon2-cffi (Django's encode)."""
        password = password_normalize(password)
        if self.parallelism != 1:  # libsodium's Argon2 has one lane
            return super().encode(password, salt)
        return self.algorithm + _sodium_hash(password.encode(), salt,
                                             memory_cost=self.memory_cost,
                                             time_cost=self.time_cost)

    def must_update(self, encoded):
        """Django's test (other parameters: re-hash at the next sign-in), with the salt's
        entropy counted in bytes: our hashes' salt is 16 raw bytes (128 bits, `_sodium_hash`),
        which Django's count, made for salts of letters and digits, would take for 95."""
        decoded = self.decode(encoded)
        current = decoded["params"]
        wanted = self.params()
        wanted.salt_len = current.salt_len
        return current != wanted or len(decoded["salt"]) * 8 < self.salt_entropy

    def verify(self, password, encoded):
        """Whether `password` (as typed) matches `encoded`: its NFKC form or, for a hash made
        before normalisation, the password as typed then, which may have been in the other
        canonical form (typed now in NFC on a phone, then in NFD on a Mac): the raw, NFC and
        NFD forms. Every distinct form is computed, whatever matches first and whatever the
        hash, so the cost depends on what was typed only: one Argon2 computation for an
        ASCII password, two for « Crème-Brûlée-1 », rarely three."""
        return any([self._verify_as_is(form, encoded) for form in _typed_forms(password)])

    def _verify_as_is(self, password: str, encoded: str) -> bool:
        # Django's Argon2PasswordHasher.verify, for our algorithm names; a one-lane Argon2id
        # hash (every hash at the product's parameters, the dummy one included) is verified
        # by libsodium, whose Argon2 costs about a sixth less CPU than argon2-cffi's for the
        # same work (bench/README.md, issue 14), with its constant-time comparison.
        algorithm, rest = encoded.split("$", 1)
        assert algorithm == self.algorithm
        phc = "$" + rest
        if _ONE_LANE_ARGON2ID.match(phc) and len(phc) <= _SODIUM_MAX_STRING:
            try:
                return crypto_pwhash_str_verify(phc.encode(), password.encode())
            except InvalidkeyError:  # a wrong password (or a string libsodium cannot read)
                return False
        argon2 = self._load_library()
        try:
            return argon2.PasswordHasher().verify(phc, password)
        except argon2.exceptions.VerificationError:
            return False


def _sodium_hash(password: bytes, salt: str, *, memory_cost: int, time_cost: int) -> str:
    """Argon2id v1.3 of `password` at `memory_cost` KiB, `time_cost` passes and one lane, as
    a PHC string (« $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> », unpadded base64, a
    32-byte hash): the string argon2-cffi makes and verifies.

    Computed by libsodium (PyNaCl), whose Argon2 uses the processor's AVX2 or AVX-512 when it
    has them: about a fifth less CPU than argon2-cffi's build for the same hash (a school
    letter run makes thousands, pupils.letters; bench/README.md). libsodium takes a 16-byte
    salt: Django's salt (22 letters and digits, 131 bits) is reduced to 16 bytes by BLAKE2b,
    keeping 128 bits. A test checks that argon2-cffi gives the same string for that salt."""
    raw_salt = hashlib.blake2b(salt.encode(), digest_size=16).digest()
    digest = crypto_pwhash_alg(HASH_BYTES, password, raw_salt, time_cost, memory_cost * 1024,
                               crypto_pwhash_ALG_ARGON2ID13)

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii").rstrip("=")

    return (f"$argon2id$v=19$m={memory_cost},t={time_cost},p=1"
            f"${b64(raw_salt)}${b64(digest)}")


class EduConnectArgon2Hasher(_NfkcArgon2Hasher):
    """The hasher of every new password (first in PASSWORD_HASHERS): Argon2id of its NFKC
    form. Changing the parameters in settings makes Django re-hash at the next successful
    sign-in (`must_update`)."""

    algorithm = "argon2_nfkc"


class LegacyArgon2Hasher(_NfkcArgon2Hasher):
    """Hashes made before passwords were normalised (algorithm « argon2 », Django's own
    Argon2 format): they verify with the NFKC form or the raw form of the typed password,
    and are replaced by an EduConnectArgon2Hasher hash at the next success."""

    algorithm = "argon2"


class ProvisionalLetterHasher(_NfkcArgon2Hasher):
    """The hash of a school letter's provisional password (pupils.letters: made with
    `make_password(password, hasher=LETTER_ALGORITHM)`), verified whatever the case typed.

    Why: the letter prints the password in capitals (« 7RNCMWEN ») and a phone's keyboard
    types it in lower case; « 7rncmwen » is the same password to whoever holds the letter.
    Upper-casing is lossless here and only here: the provisional alphabet is capitals and
    digits (pupils.letters.PASSWORD_ALPHABET, checked by a test), so the letter's password
    is its own upper case. A password the person chose is never hashed by this hasher (its
    case keeps mattering): setting one replaces the hash with EduConnectArgon2Hasher's.

    Same cost as any other account (no timing tells a letter's account apart, the unknown
    identifier's dummy verification included): one Argon2 computation per distinct form of
    the typed password (`_typed_forms`, one for ASCII), each form upper-cased; never a
    second verification in the typed case. Never re-hashed at sign-in
    (Account.check_password passes no setter for it): Django's re-hash would store the text
    as typed with the default hasher, and the capitals printed on the letter would then be
    refused.
    """

    algorithm = "argon2_letter"

    def encode(self, password, salt):
        """The hash of `password` upper-cased (after NFKC): see the class docstring."""
        return super().encode(password_normalize(password).upper(), salt)

    def verify(self, password, encoded):
        """Whether `password`, whatever its case, is the letter's password of `encoded`."""
        return any([self._verify_as_is(form.upper(), encoded) for form in _typed_forms(password)])


LETTER_ALGORITHM = ProvisionalLetterHasher.algorithm


@functools.lru_cache(maxsize=4)
def _dummy_encoded(memory_cost: int, time_cost: int, parallelism: int) -> str:
    hasher = EduConnectArgon2Hasher()
    # Through Django's encode, not ours: a test counting our hasher's work sees only the
    # dummy verification, as it sees one verification for a real account.
    return Argon2PasswordHasher.encode(hasher, get_random_string(32), hasher.salt())


def dummy_verify(password: str) -> bool:
    """Verify `password` against a hash that matches nothing, at the current parameters:
    the work `EduConnectArgon2Hasher.verify` does for a real account (one Argon2
    computation per distinct form of the typed password, see the module docstring), for an
    identifier that matches no account. Always False. The dummy hash is made once per
    process and parameters (`dummy_hash_prepare`, called when the app is ready, so that no
    request pays for it)."""
    hasher = EduConnectArgon2Hasher()
    encoded = _dummy_encoded(hasher.memory_cost, hasher.time_cost, hasher.parallelism)
    hasher.verify(password, encoded)
    return False


def dummy_hash_prepare() -> None:
    """Make the dummy hash of the current parameters now (AccountsConfig.ready): else the
    first unknown identifier of each process would cost one more Argon2 computation."""
    hasher = EduConnectArgon2Hasher()
    _dummy_encoded(hasher.memory_cost, hasher.time_cost, hasher.parallelism)
