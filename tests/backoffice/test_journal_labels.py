"""The journal as the helpdesk reads it: French labels and values, never raw codes or None
(issue 16 §5)."""

import datetime
from types import SimpleNamespace

from backoffice.journal_labels import describe_event


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

