"""Argon2id at explicit, configurable parameters (never below OWASP's minimum)."""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2


class EduConnectArgon2Hasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (argon2-cffi, Argon2id) with our parameters from settings.

    Keeps the algorithm name "argon2": hashes stay readable by Django's own hasher, and
    changing the parameters makes Django re-hash at the next successful sign-in.
    """

    def __init__(self):
        memory = max(settings.ARGON2_MEMORY_COST_KIB, OWASP_MIN_MEMORY_KIB)
        time_cost = max(settings.ARGON2_TIME_COST, OWASP_MIN_TIME_COST)
        self.memory_cost = memory
        self.time_cost = time_cost
        self.parallelism = max(settings.ARGON2_PARALLELISM, 1)
