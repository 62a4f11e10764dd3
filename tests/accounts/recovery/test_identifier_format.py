"""« Mot de passe oublié ? » refuses, on the field, what cannot be an identifier (the format
p.nomXX is public): an e-mail address, a phone number, any other text. No flow starts and no
channel (real or decoy) is shown; the words are the same whether an account has that address
or number. A well-formed identifier that is no account still gets its decoy (tryout: an
address typed was offered « Par SMS, un code au 06 •• •• •• 16 »)."""

import pytest
from django.urls import reverse

from core.journal import EventKind
from core.models import Flow, JournalEvent
from tests import html

from .conftest import CSRF, decoy_identifier

pytestmark = pytest.mark.django_db

FORGOTTEN = "Identifiant oublié ?"
SAID = {
    "email": "Vous avez saisi une adresse mail : saisissez votre identifiant ÉduConnect, au "
             "format p.nomXX, par exemple p.durand12.",
    "phone": "Vous avez saisi un numéro de téléphone : saisissez votre identifiant "
             "ÉduConnect, au format p.nomXX, par exemple p.durand12.",
    "format": "L'identifiant saisi n'est pas au format p.nomXX",
}


def _field_errors(page) -> str:
    box = page.find(id="id_identifier_error") or page.find(
        class_="fr-input-group--error")
    assert box is not None, "the error is not on the field"
    return html.text(box)


@pytest.mark.parametrize(("typed", "kind"), [
    ("helene.dupre@example.org", "email"),
    ("seb.nguyen@orange.fr", "email"),  # the guardian's own address: the same words
    (" 06 12 34 56 78 ", "phone"),
    ("0612345678", "phone"),
    ("+262 692 12 34 56", "phone"),
    ("pas un identifiant", "format"),
    ("p.nom", "format"),
    ("sebastien", "format"),
])
@pytest.mark.parametrize("profile", ["representant-legal", "eleve"])
def test_what_cannot_be_an_identifier_is_refused_on_the_field(client, guardian, typed, kind,
                                                              profile):
    response = client.post(reverse("accounts:password_forgotten") + f"?profil={profile}",
                           {"identifier": typed})
    assert response.status_code == 200  # the form again, no flow, no channel page
    page = html.parse(response)
    errors = _field_errors(page)
    assert SAID[kind] in errors
    main = html.text(html.main(page))
    assert "Par SMS" not in main and "Par mail" not in main and "•" not in main
    assert page.title.get_text().startswith("Erreur")
    # « Identifiant oublié ? » is pointed at, and is a link on the page.
    if kind in ("email", "phone"):
        assert f"« {FORGOTTEN} » ci-dessous" in errors
    assert any(a.get_text(strip=True) == FORGOTTEN
               and a["href"].startswith(reverse("accounts:identifier_forgotten"))
               for a in html.main(page).find_all("a"))
    assert not Flow.objects.exists()
    assert not JournalEvent.objects.filter(kind=EventKind.PASSWORD_RECOVERY_STARTED).exists()


def test_an_account_s_address_and_a_stranger_s_read_the_same(client, guardian):
    url = reverse("accounts:password_forgotten")
    own = client.post(url, {"identifier": "seb.nguyen@orange.fr"}).content.decode()
    other = client.post(url, {"identifier": "personne@exemple.fr"}).content.decode()
    own_text, other_text = (html.text(html.main(html.parse(CSRF.sub("csrf", page))))
                            for page in (own, other))
    assert own_text.replace("seb.nguyen@orange.fr", "X") == \
        other_text.replace("personne@exemple.fr", "X")


@pytest.mark.parametrize("typed", ["  S.NGUYEN21 ", "s.nguyen21", "l.nguyen07"])
def test_identifiers_of_every_shape_issued_go_on(recovery, guardian, pupil, typed):
    assert recovery.start(typed).status_code == 302


def test_a_well_formed_unknown_identifier_still_gets_its_decoy(recovery, db):
    response = recovery.start(decoy_identifier(with_phone=True, with_email=True))
    page = recovery.page(response)
    assert "Par SMS, un code au" in page and "Par mail, un lien à" in page
