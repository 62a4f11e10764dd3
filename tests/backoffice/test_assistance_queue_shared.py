"""The assistance queue and a shared account (tryout of an academy's agent): Jean-Éric
N'Diaye has a child at the collège Jules-Ferry (Créteil) and one at the lycée Ampère (Lyon),
one account for both. Signed in, he writes about the Créteil school. Créteil's helpdesk
handles the request and reads Créteil's records only; Lyon's helpdesk, whose records the
account covers too, also finds it in its queue (it was hidden) and reads Lyon's part only:
neither the other academy's school nor its records, and it does not answer for Créteil."""

from html import unescape

import pytest
from django.test import Client

from assistance.models import AssistanceRequest
from tests import html
from tests.backoffice.test_assistance_queue import QUEUE, _roles, submit  # noqa: F401
from tests.backoffice.test_helpdesk_shared_account import shared  # noqa: F401

from .conftest import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_of_shared(shared, django_capture_on_commit_callbacks):  # noqa: F811
    account = shared[0]
    family = Client()
    family.force_login(account, backend="accounts.backends.IdentifierBackend")
    item = submit(family, django_capture_on_commit_callbacks, school="0940001A",
                  last_name="N'Diaye", first_name="Jean-Éric", pupil_name="Idriss",
                  email="ndiaye.paris@exemple.fr")
    assert item.account == account
    return item


def text_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return unescape(html.text(html.main(html.parse(response))))


def test_the_academy_of_the_school_handles_it_and_reads_its_own_records(
        helpdesk_client, shared, request_of_shared):  # noqa: F811
    _account, here, there, _pupil_here, _pupil_there = shared
    item = request_of_shared
    assert f"/gestion/demandes/{item.pk}/" in helpdesk_client.get(QUEUE).content.decode()
    page = helpdesk_client.get(f"{QUEUE}{item.pk}/").content.decode()
    assert f"/gestion/assistance/fiches/{here.pk}/" in page
    assert f"/gestion/assistance/fiches/{there.pk}/" not in page
    assert "Envoyer la réponse" in unescape(page)
    text = text_of(helpdesk_client, f"{QUEUE}{item.pk}/")
    for words in ("Lycée Ampère", "0690001C", "Lyon", "Maëlle", "+262 692 99 88 77"):
        assert words not in text, words


def test_the_other_academy_of_the_account_sees_it_with_its_own_part_only(
        client, world, shared, request_of_shared):  # noqa: F811
    account, here, there, _pupil_here, _pupil_there = shared
    item = request_of_shared
    sign_in(client, make_staff("helpdesk", academy=world.academy_b, last_name="Lyon"))

    queue = client.get(QUEUE)
    assert f"/gestion/demandes/{item.pk}/" in queue.content.decode()
    row = [r for r in html.parse(queue).select("tbody tr") if f"n° {item.pk}" in html.text(r)]
    assert row and "Jules-Ferry" not in html.text(row[0]) and "0940001A" not in html.text(row[0])

    response = client.get(f"{QUEUE}{item.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/gestion/assistance/fiches/{there.pk}/" in page  # Lyon's record of the account
    assert f"/gestion/assistance/fiches/{here.pk}/" not in page
    assert f"/gestion/assistance/comptes/{account.pk}/" in page
    text = text_of(client, f"{QUEUE}{item.pk}/")
    assert "Mon numéro n'est pas reconnu." in text  # the family's message
    for words in ("Jules-Ferry", "0940001A", "Créteil", "Idriss", "+33 6 98 76 54 32"):
        assert words not in text, words
    assert "adressée à l'assistance d'une autre académie" in text
    # Créteil's request: Lyon reads it, Créteil answers and closes it.
    assert "Envoyer la réponse" not in unescape(page)
    assert "Clore la demande" not in unescape(page)
    assert client.post(f"{QUEUE}{item.pk}/clore/").status_code == 404
    assert client.post(f"{QUEUE}{item.pk}/repondre/", {"body": "Bonjour"}).status_code == 404
    assert AssistanceRequest.objects.get(pk=item.pk).status == "new"


def test_a_third_academy_sees_nothing_of_it(client, world, request_of_shared):
    from tests.factories import AcademyFactory

    item = request_of_shared
    sign_in(client, make_staff("helpdesk", academy=AcademyFactory(name="Rennes"),
                               last_name="Rennes"))
    assert f"/gestion/demandes/{item.pk}/" not in client.get(QUEUE).content.decode()
    assert client.get(f"{QUEUE}{item.pk}/").status_code == 404
