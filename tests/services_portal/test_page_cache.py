"""« Mes services » kept per account (issue 14, services_portal.page_cache): served without a
query while nothing it shows has changed, and never stale: each write that changes what a
family sees (a link added or removed by the school, a pupil renamed or moved, a service added,
a message published or ended, an account merge…) shows on the very next page. The roster
import's own bumps: test_page_cache_roster.py."""

import datetime
import re
import zoneinfo
from html import unescape

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import Account, AccountKind
from accounts.signals import accounts_merged
from core.versions import (
    account_version,
    school_version,
    versions_bump,
    versions_ensure,
    versions_get,
)
from families.services import accounts_merge
from pupils.models import Responsibility
from pupils.services import pupil_update, responsibility_remove
from saml_idp.models import ServiceProvider
from services_portal import page_cache
from services_portal.models import EstablishmentMessage, NewsItem, Service
from tests.factories import (
    DEFAULT_PASSWORD,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db

URL = "/services/"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def children(html: str) -> list[str]:
    return re.findall(r'<h3 class="fr-h4" id="child-\d+">([^<]+)</h3>', html)


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return unescape(response.content.decode())


def kept_page(client) -> str:
    """The page once kept: the first request learns the account's schools, the second
    keeps the page, the third is answered from the cache without any query on the pupils'
    or the catalogue's tables (what this file checks is then an invalidation, not a miss)."""
    page(client)
    page(client)
    with CaptureQueriesContext(connection) as queries:
        html = page(client)
    assert [q["sql"] for q in queries
            if "pupils_" in q["sql"] or "services_portal_" in q["sql"]] == []
    return html


@pytest.fixture
def helene():
    """Hélène: Lucas at the collège (with its ENT, a SAML service), her record there."""
    account = AccountFactory(identifier="h.martin7", first_name="Hélène", last_name="Martin")
    college = EstablishmentFactory(name="Collège Victor-Hugo")
    record = GuardianRecordFactory(establishment=college, account=account,
                                   first_name="Hélène", last_name="MARTIN",
                                   mobile_phone="+33612345678",
                                   email="helene.dupre@example.org")
    lucas = PupilFactory(first_names="Lucas", last_name="MARTIN", establishment=college,
                         level="5EME")
    link = ResponsibilityFactory(guardian_record=record, pupil=lucas)
    client = Client()
    client.force_login(account)
    return {"account": account, "college": college, "record": record, "lucas": lucas,
            "link": link, "client": client}


def test_a_kept_page_is_served_without_a_query_and_with_this_requests_csrf_token(helene):
    client = Client(enforce_csrf_checks=True)
    client.force_login(helene["account"])
    html = kept_page(client)
    assert children(html) == ["Lucas MARTIN"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert token != page_cache.CSRF_PLACEHOLDER
    assert page_cache.CSRF_PLACEHOLDER not in html
    # The sign-out form of the kept page works: its token is this browser's.
    response = client.post("/deconnexion/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get(URL).status_code == 302  # signed out


def test_each_account_gets_its_own_page(helene):
    other = AccountFactory(identifier="k.haddad1", first_name="Karim", last_name="Haddad")
    school = EstablishmentFactory(name="École Jean-Jaurès")
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=school, account=other),
        pupil=PupilFactory(first_names="Sami", last_name="HADDAD", establishment=school))
    karim = Client()
    karim.force_login(other)
    for _ in range(2):
        helene_page, karim_page = kept_page(helene["client"]), kept_page(karim)
        assert children(helene_page) == ["Lucas MARTIN"]
        assert "Bonjour Hélène MARTIN" in helene_page and "Karim" not in helene_page
        assert children(karim_page) == ["Sami HADDAD"]
        assert "Bonjour Karim HADDAD" in karim_page and "Hélène" not in karim_page
        assert "Jean-Jaurès" not in helene_page and "Victor-Hugo" not in karim_page


def test_a_school_renamed_shows_at_once(helene):
    assert "Collège Victor-Hugo —" in kept_page(helene["client"])
    college = helene["college"]
    college.name = "Collège Victor-Hugo II"
    college.save()
    assert "Collège Victor-Hugo II — niveau : 5e" in page(helene["client"])


def test_a_link_removed_by_the_school_hides_the_child_at_once(helene):
    assert children(kept_page(helene["client"])) == ["Lucas MARTIN"]
    secretary = AccountFactory(kind=AccountKind.STAFF, is_staff=True)
    responsibility_remove(responsibility=helene["link"], actor=secretary)
    assert children(page(helene["client"])) == []


def test_a_link_added_and_a_pupil_renamed_by_the_school_show_at_once(helene):
    kept_page(helene["client"])
    chloe = PupilFactory(first_names="Chloé", last_name="MARTIN",
                         establishment=helene["college"])
    Responsibility.objects.create(guardian_record=helene["record"], pupil=chloe)
    assert children(kept_page(helene["client"])) == ["Chloé MARTIN", "Lucas MARTIN"]
    pupil_update(pupil=chloe, last_name="MARTIN-DURAND", first_names="Chloé",
                 birth_date=chloe.birth_date, actor=AccountFactory(kind=AccountKind.STAFF))
    assert children(page(helene["client"])) == ["Lucas MARTIN", "Chloé MARTIN-DURAND"]


def test_a_pupil_moved_to_another_school_shows_there_at_once(helene):
    kept_page(helene["client"])
    lucas = helene["lucas"]
    lucas.establishment = EstablishmentFactory(name="Collège Camus")
    lucas.save()
    assert "Collège Camus — niveau : 5e" in page(helene["client"])


def test_a_service_added_changed_or_its_sso_ended_shows_at_once(helene):
    kept_page(helene["client"])
    provider = ServiceProvider.objects.create(name="ENT", entity_id="https://ent.example.test/sp",
                                              metadata_xml="<md/>")
    ent = Service.objects.create(title="Accédez à l'ENT", url="https://ent.example.test/",
                                 establishment=helene["college"],
                                 saml_service_provider=provider, position=1)
    html = kept_page(helene["client"])
    assert "Accédez à l'ENT" in html and "/idp/profile/SAML2/Unsolicited/SSO?" in html
    provider.is_active = False
    provider.save()
    html = kept_page(helene["client"])
    assert 'href="https://ent.example.test/"' in html
    ent.title = "Mon ENT"
    ent.save()
    assert "Mon ENT" in page(helene["client"])


def test_a_message_and_news_published_show_at_once(helene):
    kept_page(helene["client"])
    today = timezone.localdate()  # the product's date (Paris)
    EstablishmentMessage.objects.create(establishment=helene["college"], text="Sortie lundi",
                                        starts_on=today, ends_on=today)
    assert "Sortie lundi" in kept_page(helene["client"])
    NewsItem.objects.create(title="Rentrée", text="Bonne rentrée", starts_on=today,
                            ends_on=today)
    assert "Bonne rentrée" in page(helene["client"])


def test_a_message_ends_and_another_starts_at_midnight_without_any_write(helene):
    """Dates are days in Europe/Paris: a page kept at 23:58 is not served at 00:01."""
    evening = datetime.datetime(2026, 3, 10, 23, 58, tzinfo=PARIS)
    with freeze_time(evening) as clock:
        client = Client()
        client.force_login(helene["account"])
        EstablishmentMessage.objects.create(
            establishment=helene["college"], text="Conseil de classe ce soir",
            starts_on=datetime.date(2026, 3, 10), ends_on=datetime.date(2026, 3, 10))
        EstablishmentMessage.objects.create(
            establishment=helene["college"], text="Photos de classe demain",
            starts_on=datetime.date(2026, 3, 11), ends_on=datetime.date(2026, 3, 11))
        html = kept_page(client)
        assert "Conseil de classe ce soir" in html and "Photos de classe" not in html
        clock.move_to(evening + datetime.timedelta(minutes=3))
        html = page(client)
        assert "Conseil de classe" not in html and "Photos de classe demain" in html


def test_a_page_is_kept_until_the_next_local_midnight_at_most():
    at = datetime.datetime(2026, 3, 10, 23, 58, tzinfo=PARIS)
    assert page_cache._seconds_to_keep(at) == 120
    assert page_cache._seconds_to_keep(at - datetime.timedelta(hours=5)) == page_cache.MAX_SECONDS


def test_an_account_merge_shows_the_other_accounts_children_at_once(helene):
    other = AccountFactory(identifier="h.martin8", first_name="Hélène", last_name="Martin")
    school = EstablishmentFactory(name="École Jean-Jaurès")
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=school, account=other,
                                              first_name="Hélène", last_name="MARTIN"),
        pupil=PupilFactory(first_names="Inès", last_name="MARTIN", establishment=school))
    assert children(kept_page(helene["client"])) == ["Lucas MARTIN"]
    accounts_merge(account=helene["account"], identifier="h.martin8", password=DEFAULT_PASSWORD)
    assert children(page(helene["client"])) == ["Inès MARTIN", "Lucas MARTIN"]


def test_the_merge_bumps_both_accounts(helene):
    """The accounts_merged receiver, besides the records' saves."""
    other = AccountFactory(identifier="h.martin8", first_name="Hélène", last_name="Martin")
    names = [account_version(helene["account"].pk), account_version(other.pk)]
    versions_bump(*names)
    before = versions_get(names)
    accounts_merged.send(sender=Account, kept=helene["account"], closed=other, request=None)
    after = versions_get(names)
    assert all(after[n] != before[n] for n in names)


def test_a_pupil_account_sees_its_school_once_the_school_links_it(helene):
    account = AccountFactory(kind=AccountKind.PUPIL, identifier="l.martin2")
    client = Client()
    client.force_login(account)
    assert "Votre compte n'est rattaché à aucun établissement" in kept_page(client)
    lucas = helene["lucas"]
    lucas.account = account
    lucas.save()
    assert "Collège Victor-Hugo — niveau : 5e" in page(client)


def test_the_account_s_own_names_show_at_once(helene):
    kept_page(helene["client"])
    account = helene["account"]
    account.first_name = "Hélèna"
    account.save()
    assert "Bonjour Hélèna MARTIN" in page(helene["client"])


def test_pending_messages_are_shown_once_and_never_kept(helene):
    kept_page(helene["client"])
    client = helene["client"]
    # A message queued by an earlier request (the merge's confirmation, for instance).
    request = HttpRequest()
    storage = CookieStorage(request)
    storage.add(25, "Les enfants ont été ajoutés à votre compte.")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    assert "Les enfants ont été ajoutés à votre compte." in page(client)
    assert "Les enfants ont été ajoutés" not in kept_page(client)


def test_a_bump_is_made_again_after_the_commit(helene, django_capture_on_commit_callbacks):
    """A page built between the write and its commit from rows not yet committed is kept
    under the first new token: the second, after the commit, makes it unusable."""
    name = school_version(helene["college"].pk)
    versions_bump(name)
    first = versions_get([name])[name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        versions_bump(name)
    in_transaction = versions_get([name])[name]
    assert in_transaction != first
    for callback in callbacks:
        callback()
    assert versions_get([name])[name] != in_transaction


def test_a_lost_token_means_the_page_is_built_again(helene):
    """Redis evicted the tokens: a missing token never serves a kept page."""
    kept_page(helene["client"])
    Responsibility.objects.filter(pk=helene["link"].pk).update(status="removed")  # no signal
    cache.delete_many([f"version:{school_version(helene['college'].pk)}"])
    assert children(page(helene["client"])) == []


def test_the_kept_page_s_csrf_token_is_django_s_masked_secret_drawn_anew_each_time():
    """page_cache.csrf_token: what Django's middleware unmasks to the cookie's secret, a new
    mask each time, only allowed characters; the cookie is sent again (as get_token does)."""
    from django.middleware.csrf import (
        CSRF_ALLOWED_CHARS,
        _get_new_csrf_string,
        _unmask_cipher_token,
    )

    request = HttpRequest()
    secret = _get_new_csrf_string()
    request.META["CSRF_COOKIE"] = secret
    tokens = {page_cache.csrf_token(request) for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) == 64 and set(t) <= set(CSRF_ALLOWED_CHARS) for t in tokens)
    assert {_unmask_cipher_token(t) for t in tokens} == {secret}
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    # Each of the 62 characters shows in the masks (32 × 200 draws).
    assert set("".join(t[:32] for t in tokens)) == set(CSRF_ALLOWED_CHARS)
    # No cookie yet: Django's get_token makes the secret.
    fresh = HttpRequest()
    assert _unmask_cipher_token(page_cache.csrf_token(fresh)) == fresh.META["CSRF_COOKIE"]


def test_the_kept_page_loses_its_indentation_but_never_a_pre_s_or_a_textarea_s_spaces():
    html = "<ul>\n    <li>\n      <a href='/x'>Un\n   lien</a>\n\n    </li>\n</ul>\n"
    assert (page_cache.without_indentation(html)
            == "<ul>\n<li>\n<a href='/x'>Un\nlien</a>\n</li>\n</ul>")
    for kept in ("<PRE>\n  a\n    b</PRE>", "<div>\n  <textarea>\n  x</textarea></div>"):
        assert page_cache.without_indentation(kept) == kept


@pytest.mark.needs_redis
def test_version_tokens_expire_so_that_redis_may_evict_them():
    """The production Redis evicts only keys with an expiry (volatile-lru): a token without
    one, one per family, would never leave and would crowd out sessions and limits."""
    versions_bump("catalogue", account_version(7))
    client = page_cache._raw_client()
    assert client is not None
    for name in ("catalogue", account_version(7)):
        ttl = client.ttl(cache.make_key("version:" + name))
        assert 0 < ttl <= 2 * 24 * 3600
    # A name read for the first time gets an expiring token too.
    versions_ensure([school_version(3)], {})
    assert 0 < client.ttl(cache.make_key("version:" + school_version(3))) <= 2 * 24 * 3600
