"""Single-use link tokens (core.tokens): hashed, expiring, consumed once, revocable."""

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from freezegun import freeze_time

from core import tokens
from core.models import LinkToken
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

RESET = "password_reset"


def test_the_token_is_long_random_url_safe_and_only_its_hash_is_stored():
    account = AccountFactory()
    token = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600,
                                    payload={"email": "marie@example.org"})
    other = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    assert token != other
    # 32 random bytes in base64url: 43 characters from the URL-safe alphabet, 256 bits.
    assert len(token) == 43
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    row = LinkToken.objects.get(digest=hashlib.sha256(token.encode()).hexdigest())
    assert row.account == account
    assert row.payload == {"email": "marie@example.org"}
    assert row.expires_at - row.created_at == timedelta(hours=1)
    # Nowhere in the row is the token itself.
    stored = " ".join(str(value) for value in LinkToken.objects.filter(pk=row.pk).values()[0]
                      .values())
    assert token not in stored


def test_peek_does_not_consume_and_consume_works_once():
    account = AccountFactory()
    token = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    # A mail scanner opening the link, then the person: the GET consumes nothing.
    assert tokens.link_token_peek(token=token, purpose=RESET).account == account
    assert tokens.link_token_peek(token=token, purpose=RESET) is not None

    used = tokens.link_token_consume(token=token, purpose=RESET)
    assert used is not None and used.account == account and used.used_at is not None
    assert tokens.link_token_consume(token=token, purpose=RESET) is None
    assert tokens.link_token_peek(token=token, purpose=RESET) is None


def test_a_token_is_bound_to_its_purpose():
    token = tokens.link_token_issue(purpose=RESET, account=AccountFactory(), ttl_seconds=3600)
    assert tokens.link_token_peek(token=token, purpose="email_validation") is None
    assert tokens.link_token_consume(token=token, purpose="email_validation") is None
    assert tokens.link_token_consume(token=token, purpose=RESET) is not None


def test_an_expired_token_is_refused():
    account = AccountFactory()
    with freeze_time("2026-11-29 10:00:00") as clock:
        token = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
        clock.tick(timedelta(minutes=59, seconds=59))
        assert tokens.link_token_peek(token=token, purpose=RESET) is not None
        clock.tick(timedelta(seconds=1))
        assert tokens.link_token_peek(token=token, purpose=RESET) is None
        assert tokens.link_token_consume(token=token, purpose=RESET) is None
    assert LinkToken.objects.get().used_at is None


@pytest.mark.parametrize("typed", ["", "x", "a" * 43, "é" * 43, "a" * 5000, "\x00\ud800"])
def test_unknown_or_malformed_tokens_are_refused_by_the_same_single_query(typed,
                                                                          django_assert_num_queries):
    tokens.link_token_issue(purpose=RESET, account=AccountFactory(), ttl_seconds=3600)
    with django_assert_num_queries(1):
        assert tokens.link_token_peek(token=typed, purpose=RESET) is None
    with django_assert_num_queries(1):
        # The conditional UPDATE, matching nothing, and nothing else.
        assert tokens.link_token_consume(token=typed, purpose=RESET) is None


def test_revoke_voids_the_live_tokens_of_that_account_and_purpose_only():
    account, someone_else = AccountFactory(), AccountFactory()
    first = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    second = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    used = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    tokens.link_token_consume(token=used, purpose=RESET)
    other_purpose = tokens.link_token_issue(purpose="email_validation", account=account,
                                            ttl_seconds=3600)
    other_account = tokens.link_token_issue(purpose=RESET, account=someone_else,
                                            ttl_seconds=3600)

    assert tokens.link_tokens_revoke(account=account, purpose=RESET) == 2

    assert tokens.link_token_consume(token=first, purpose=RESET) is None
    assert tokens.link_token_peek(token=second, purpose=RESET) is None
    assert tokens.link_token_peek(token=other_purpose, purpose="email_validation") is not None
    assert tokens.link_token_peek(token=other_account, purpose=RESET) is not None
    # A newer link issued after the revocation works.
    newer = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    assert tokens.link_token_consume(token=newer, purpose=RESET) is not None


def test_a_token_issued_in_a_rolled_back_transaction_never_existed():
    account = AccountFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        token = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
        raise RuntimeError
    assert tokens.link_token_peek(token=token, purpose=RESET) is None


def test_a_consume_rolled_back_with_its_action_leaves_the_token_live():
    token = tokens.link_token_issue(purpose=RESET, account=AccountFactory(), ttl_seconds=3600)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert tokens.link_token_consume(token=token, purpose=RESET) is not None
        raise RuntimeError("the new password was refused")
    assert tokens.link_token_consume(token=token, purpose=RESET) is not None


def test_issue_refuses_a_missing_purpose_or_lifetime():
    account = AccountFactory()
    with pytest.raises(ValueError):
        tokens.link_token_issue(purpose="", account=account, ttl_seconds=3600)
    with pytest.raises(ValueError):
        tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=0)


def test_the_periodic_purge_deletes_tokens_expired_past_the_retention(settings):
    from core.tasks import link_tokens_purge_task

    settings.LINK_TOKEN_RETENTION_DAYS = 30
    account = AccountFactory()
    with freeze_time(timezone.now() - timedelta(days=31, hours=2)):
        old = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    with freeze_time(timezone.now() - timedelta(days=29)):
        recent = tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    assert link_tokens_purge_task.apply().get() == 1
    remaining = set(LinkToken.objects.values_list("digest", flat=True))
    assert remaining == {hashlib.sha256(recent.encode()).hexdigest()}
    assert hashlib.sha256(old.encode()).hexdigest() not in remaining


def test_deleting_the_account_deletes_its_tokens():
    account = AccountFactory()
    tokens.link_token_issue(purpose=RESET, account=account, ttl_seconds=3600)
    account.delete()
    assert not LinkToken.objects.exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_consumes_of_one_token_exactly_one_wins():
    """Two POSTs of the same link at the same instant, each in its own transaction on its own
    connection, held open after the UPDATE so that the other one has to wait for it."""
    def post(token, barrier, results):
        try:
            barrier.wait(timeout=5)
            with transaction.atomic():
                results.append(tokens.link_token_consume(token=token, purpose=RESET))
                # The winner keeps its row lock a moment: the loser blocks on it, then
                # PostgreSQL re-checks `used_at IS NULL` on the new row version.
                threading.Event().wait(0.05)
        finally:
            connection.close()

    for _round in range(5):
        token = tokens.link_token_issue(purpose=RESET, account=AccountFactory(),
                                        ttl_seconds=3600)
        barrier, results = threading.Barrier(2), []
        threads = [threading.Thread(target=post, args=(token, barrier, results))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(results) == 2
        assert sum(result is not None for result in results) == 1
