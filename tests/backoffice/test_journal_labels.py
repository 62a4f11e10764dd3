"""The journal as the helpdesk reads it: French labels and values, never raw codes or None
(issue 16 §5)."""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse

from backoffice.journal_labels import describe_event, describe_events
from pupils.models import LetterRun


def event(kind, **data):
    return SimpleNamespace(at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC), kind=kind,
                           actor_id=None, data=data, ip_address=None)


def test_counters_cleared_after_a_fix_reads_in_french():
    line = describe_event(event("activation_counters_cleared", numbers=2,
                                reason="birth_date_fixed"))
    assert line.label == "Activation : compteurs d'un numéro remis à zéro après une correction"
    assert line.details == [("numéros", "2"),
                            ("motif", "date de naissance corrigée par l'établissement")]


def test_a_closed_accounts_released_records_and_a_missing_value_read_in_french():
    line = describe_event(event("helpdesk.account_closed", reason="Demande du titulaire",
                                state_before="active", released_guardian_records=[3, 4],
                                establishment=None))
    details = dict(line.details)
    assert details["fiches responsables libérées"] == "3, 4"
    assert details["établissement (UAI)"] == "—"
    assert "None" not in str(line.details) and "released_guardian_records" not in details


def test_assistance_events_read_in_french():
    line = describe_event(event("assistance.request_submitted", assistance_request=7,
                                establishment="0750001A", category="phone_unknown"))
    assert line.label == "Demande d'assistance envoyée par une famille"
    assert dict(line.details)["objet"] == "numéro de téléphone non reconnu"


def test_letter_events_read_in_french():
    line = describe_event(event("letters.issued", establishment="0940001A", reissued=True,
                                delivery="paper", letter_run=4, pupil=12))
    assert line.label == "Lettre émise : identifiant et mot de passe provisoire"
    details = dict(line.details)
    assert details["mot de passe renouvelé"] == "oui"
    assert details["remise"] == "lettre imprimée"
    assert details["lot de lettres n°"] == "4"



def test_a_sign_out_says_whether_franceconnect_was_signed_out_too():
    """« provider » is whether the sign-out also ended the FranceConnect session
    (accounts.views.logout_view): said so, not « déconnexion chez le fournisseur »."""
    for provider, said in ((False, "non"), (True, "oui")):
        line = describe_event(event("logout", provider=provider))
        assert line.label == "Déconnexion"
        assert line.details == [("déconnexion de FranceConnect aussi", said)]


@pytest.mark.django_db
def test_ids_read_as_names_with_the_records_page(world, secretary):
    """« élève n° : 8 », « fiche responsable n° : 11 », « lot de lettres n° : 1 » told the
    agent nothing: the helpdesk's pages name them, a record with the link to its page."""
    run = LetterRun.objects.create(establishment=world.a1, requested_by=secretary)
    [line, gone] = describe_events([
        event("letters.issued", letter_run=run.pk, pupil=world.pupil_a1.pk,
              guardian_record=world.rec_a1.pk, delivery="paper"),
        event("activation.birthdate_rejected", pupil_id=987654, attempt=1),
    ])
    details = dict(line.details)
    assert details["élève"] == "LEFÈVRE Zoé, Collège Jules-Ferry"
    assert details["fiche responsable"] == "LEFÈVRE Hélène, Collège Jules-Ferry"
    assert details["fiche responsable"].url == reverse("admin:helpdesk_record",
                                                       args=[world.rec_a1.pk])
    assert details["lot de lettres"].startswith("lettres du ")
    assert details["lot de lettres"].endswith(", Collège Jules-Ferry")
    assert details["remise"] == "lettre imprimée"
    assert dict(gone.details)["élève n°"] == "987654"  # a row gone stays an id
