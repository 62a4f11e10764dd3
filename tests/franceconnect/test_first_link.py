"""The first time a FranceConnect identity comes: the number given to the school, the SMS
code, the birth dates (activation.flows.FRANCECONNECT_LINK), then linked — to the account
covering the records, or to a new one whose identifier is shown; never on names alone.
Then « Mon compte » shows the link and removes it."""

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import Account
from core.journal import EventKind
from core.models import Flow, FlowStatus
from franceconnect.models import FranceConnectLink
from notifications import sms
from pupils.models import ResponsibilityStatus
from tests.factories import AccountFactory, PupilFactory, ResponsibilityFactory

from .conftest import fc_answer

CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")
PASSWORD = "Cartable-Vert-2024!"


class Walk:
    def __init__(self, client, capture, fc):
        self.client, self.capture, self.fc = client, capture, fc

    def post(self, url, data):
        with self.capture(execute=True):
            return self.client.post(url, data)

    def to_phone_step(self):
        response = self.client.get(fc_answer(self.client, self.fc))
        assert response["Location"] == reverse("activation:franceconnect")
        return response

    def phone(self, typed):
        response = self.post(reverse("activation:franceconnect"), {"phone": typed})
        assert response.status_code == 302, response.content.decode()[:3000]
        self.flow_id = response["Location"].rstrip("/").split("/")[-2]
        return response

    def url(self, name):
        return reverse(f"activation:{name}", kwargs={"flow_id": self.flow_id})

    def code(self, code=None):
        if code is None:
            code = CODE_IN_SMS.search(sms.outbox[-1].body).group(1)
        return self.post(self.url("fc_code"), {"code": code})

    def pupils(self, pupil, birth_date):
        page = self.client.get(self.url("fc_pupils")).content.decode()
        prefix = re.search(r'id="(eleve\d+)-title"', page).group(1)
        return self.post(self.url("fc_pupils"), {
            f"{prefix}_lien": "oui", f"{prefix}_jour": f"{birth_date.day:02d}",
            f"{prefix}_mois": f"{birth_date.month:02d}", f"{prefix}_annee": str(birth_date.year),
        })

    def page(self, response):
        return unescape(self.client.get(response["Location"], follow=True).content.decode())


@pytest.fixture
def walk(client, django_capture_on_commit_callbacks, fc):
    return Walk(client, django_capture_on_commit_callbacks, fc)


def test_first_link_creates_an_account_whose_identifier_is_shown(walk, client, fc, family):
    walk.to_phone_step()
    page = unescape(client.get(reverse("activation:franceconnect")).content.decode())
    assert "FranceConnect vous a identifié(e) : Stéphane Louis Perceval DUPONT." in page
    assert "Étape 1 sur 4" in page
    walk.phone(family["phone_typed"])
    assert len(sms.outbox) == 1 and sms.outbox[0].to == "+33671234589"
    walk.page(walk.code())
    response = walk.pupils(family["pupil"], family["pupil"].birth_date)
    page = walk.page(response)
    assert "Votre compte a été activé avec succès" in page
    account = Account.objects.get(kind="guardian")
    assert re.fullmatch(r"s\.dupont\d{2}", account.identifier)
    assert account.display_identifier in page and account.identifier not in page
    assert not account.has_usable_password() and account.phone_verified
    assert FranceConnectLink.objects.get().account == account
    assert str(account.pk) == client.session["_auth_user_id"]
    assert client.session["educonnect_sign_in_methods"] == ["fc", "sms"]
    family["record"].refresh_from_db()
    assert family["record"].account == account
    flow = Flow.objects.get()
    assert flow.kind == "franceconnect_link" and flow.status == FlowStatus.COMPLETED
    assert "id_token" not in str(flow.data)  # the token stays in the session

    # Next time FranceConnect alone signs in.
    client.logout()
    response = client.get(fc_answer(client, fc))
    assert response["Location"] == reverse("services_portal:my_services")
    assert client.session["_auth_user_id"] == str(account.pk)


def test_the_last_page_names_a_child_left_out_and_the_way_to_add_it_back(walk, client,
                                                                          family):
    """As the SMS activation's: « Je ne suis pas le représentant légal » for one of two
    children disputes that link at once; the last page names the child and leads to
    « Ajouter un enfant »."""
    tom = PupilFactory(establishment=family["pupil"].establishment, first_names="Tom",
                       last_name="DUPONT", birth_date=datetime.date(2014, 2, 3))
    ResponsibilityFactory(guardian_record=family["record"], pupil=tom)
    walk.to_phone_step()
    walk.phone(family["phone_typed"])
    walk.code()
    page = client.get(walk.url("fc_pupils")).content.decode()
    prefixes = dict(re.findall(r'<h3[^>]*id="(eleve\d+)-title">([^<]+)</h3>', page))
    lea = next(prefix for prefix, name in prefixes.items() if name == "Léa")
    tom_prefix = next(prefix for prefix, name in prefixes.items() if name == "Tom")
    born = family["pupil"].birth_date
    response = walk.post(walk.url("fc_pupils"), {
        f"{lea}_lien": "oui", f"{lea}_jour": f"{born.day:02d}",
        f"{lea}_mois": f"{born.month:02d}", f"{lea}_annee": str(born.year),
        f"{tom_prefix}_lien": "non"})
    page = walk.page(response)
    assert "Votre compte a été activé avec succès" in page
    assert "Un enfant n'a pas été rattaché à votre compte" in page
    assert "Tom (Collège Jean-Moulin)" in page
    assert reverse("families:child_add") in page
    assert tom.responsibilities.get().status == ResponsibilityStatus.DISPUTED


def test_first_link_joins_the_account_that_covers_the_records(walk, client, family):
    account = AccountFactory(identifier="s.dupont07", first_name="Stéphane", last_name="DUPONT")
    family["record"].account = account
    family["record"].save(update_fields=["account"])
    walk.to_phone_step()
    walk.phone(family["phone_typed"])
    walk.code()
    page = walk.page(walk.pupils(family["pupil"], family["pupil"].birth_date))
    assert "S.DUPONT07" in page and "s.dupont07" not in page
    assert Account.objects.count() == 1
    assert FranceConnectLink.objects.get().account == account
    assert client.session["_auth_user_id"] == str(account.pk)


def test_an_unknown_number_gets_the_same_page_and_no_sms(walk, client, family):
    walk.to_phone_step()
    response = walk.phone("06 71 23 45 00")
    page = walk.page(response)
    assert "Si ce numéro est celui connu de l'école ou de l'établissement" in page
    assert sms.outbox == []
    assert "incorrect" in walk.page(walk.code("K7PMX4"))
    assert not FranceConnectLink.objects.exists()


def test_a_wrong_birth_date_is_refused_and_links_nothing(walk, client, family):
    walk.to_phone_step()
    walk.phone(family["phone_typed"])
    walk.code()
    page = walk.page(walk.pupils(family["pupil"], datetime.date(2012, 4, 18)))
    assert "La date de naissance saisie est incorrecte." in page
    assert not FranceConnectLink.objects.exists()
    assert not Account.objects.exists()
    assert "_auth_user_id" not in client.session


def test_names_alone_never_link(walk, client, fc, family):
    """Another person with the same names and another number: FranceConnect's names match
    the school's « DUPONT Stéphane », but the number typed is not theirs."""
    fc.control(identity="testfc1")
    walk.to_phone_step()
    walk.phone("06 00 00 00 01")
    assert sms.outbox == []
    assert Flow.objects.get().data["matched_record_ids"] == []


def test_the_phone_step_needs_a_franceconnect_identity(client, fc, db):
    response = client.get(reverse("activation:franceconnect"))
    assert response["Location"] == reverse("accounts:login", args=["representant-legal"])
    page = unescape(client.get(response["Location"]).content.decode())
    assert "Votre connexion avec FranceConnect a expiré" in page


def test_my_account_shows_the_link_and_removes_it_with_the_password(client, fc, family):
    account = AccountFactory(identifier="s.dupont31", first_name="Stéphane", last_name="DUPONT")
    account.set_password(PASSWORD)
    account.save()
    FranceConnectLink.objects.create(account=account, sub=fc.subs["testfc1"])
    client.force_login(account)
    url = reverse("franceconnect:my_account")
    page = unescape(client.get(url).content.decode())
    assert "Votre compte est associé à votre identité FranceConnect depuis le" in page

    response = client.post(url, {"password": "Pas-le-bon-2024!"})
    assert response.status_code == 400
    assert FranceConnectLink.objects.exists()
    assert "Dissocier FranceConnect" in unescape(response.content.decode())

    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 302
    assert not FranceConnectLink.objects.exists()
    page = unescape(client.get(url).content.decode())
    assert "Votre compte n'est plus associé à FranceConnect." in page
    assert "Votre compte n'est pas associé à FranceConnect." in page
    from core.models import JournalEvent
    assert JournalEvent.objects.filter(kind=EventKind.FRANCECONNECT_UNLINKED,
                                       account=account).count() == 1


def test_my_account_removes_the_link_of_an_account_without_password(client, fc, family):
    account = AccountFactory(identifier="s.dupont32")
    account.set_unusable_password()
    account.save()
    FranceConnectLink.objects.create(account=account, sub=fc.subs["testfc1"])
    client.force_login(account)
    url = reverse("franceconnect:my_account")
    page = unescape(client.get(url).content.decode())
    assert "Votre compte n'a pas encore de mot de passe" in page
    client.post(url, {})
    assert not FranceConnectLink.objects.exists()


def test_services_are_told_franceconnect_signed_the_person_in():
    """The OpenID Connect provider's acr/amr for a session opened by FranceConnect."""
    from oidc_idp.claims import ACR_FRANCECONNECT, authentication_claims

    claims = authentication_claims(methods=["fc"], authenticated_at=1)
    assert claims == {"amr": ["fc"], "acr": ACR_FRANCECONNECT, "auth_time": 1}
    assert authentication_claims(methods=["fc", "sms"], authenticated_at=1)["acr"] \
        == ACR_FRANCECONNECT
