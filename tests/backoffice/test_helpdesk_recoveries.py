"""The helpdesk file of an account shows its recoveries: the flows of « Mot de passe oublié ? »
and every step's journal event, in French, with no secret."""

import pytest
from django.urls import reverse

from accounts.recovery import services
from notifications import sms
from tests import html

pytestmark = pytest.mark.django_db


def test_an_account_file_lists_its_password_recovery_and_identifier_reminder(
    helpdesk_client, world, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    account = world.account_a1
    account.phone_verified = True
    account.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.identifier_reminder_by_sms(last_name="LEFEVRE", first_name="helene",
                                            phone="+33611223344")
        flow, _secret = services.password_recovery_start(identifier="h.lefevre12",
                                                         profile="guardian")
        services.password_recovery_channel_choose(flow_id=flow.id, channel="sms")
    code = sms.outbox[-1].body.split(" est ")[1][:6]
    services.password_recovery_code_verify(flow_id=flow.id, typed_code=code)
    services.password_recovery_password_set(flow_id=flow.id, password="Goyave-Piment-2031!")

    page = html.parse(helpdesk_client.get(reverse("admin:helpdesk_account", args=[account.pk])))
    tables = {html.text(t.find("caption")): t for t in page.find_all("table")}
    flows = next(t for caption, t in tables.items() if caption == "Parcours")
    assert "Mot de passe oublié" in html.text(flows)
    journal = next(t for caption, t in tables.items() if caption.startswith("Journal"))
    rows = [[html.text(td) for td in tr.find_all("td")] for tr in journal.find_all("tr")[1:]]
    labels = [row[1] for row in rows]
    for label in ("Identifiant oublié : identifiant envoyé",
                  "Mot de passe oublié : demande commencée",
                  "Mot de passe oublié : code envoyé par SMS",
                  "Mot de passe oublié : code vérifié",
                  "Mot de passe modifié",
                  "Mot de passe oublié : nouveau mot de passe choisi"):
        assert label in labels
    changed = next(row for row in rows if row[1] == "Mot de passe modifié")
    assert changed[3] == "motif : mot de passe oublié, code reçu par SMS"
    assert code not in html.text(journal)
