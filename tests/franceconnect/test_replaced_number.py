"""The first link of a FranceConnect identity with a number the guardian replaced in
« Mon compte »: the roster still has it, but it proves nothing any more for that account's
record — no SMS, no code accepted, nothing linked (activation.selectors.ROSTER_NUMBER_PROVES),
the page as for a number no school knows."""

from html import unescape

import pytest

from core.models import Flow
from franceconnect.models import FranceConnectLink
from notifications import sms
from tests.factories import AccountFactory

from .test_first_link import Walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk(client, django_capture_on_commit_callbacks, fc):
    return Walk(client, django_capture_on_commit_callbacks, fc)


def test_a_number_the_account_replaced_sends_no_code_and_links_nothing(walk, client, family):
    account = AccountFactory(identifier="s.dupont07", first_name="Stéphane", last_name="DUPONT",
                             phone="+33698765432", phone_verified=True)
    family["record"].account = account
    family["record"].save(update_fields=["account"])
    walk.to_phone_step()
    page = walk.page(walk.phone(family["phone_typed"]))
    assert "Si ce numéro est celui connu de l'école ou de l'établissement" in page
    assert sms.outbox == []
    assert Flow.objects.get().data["matched_record_ids"] == []
    page = walk.page(walk.code("K7PMX4"))
    assert "incorrect" in page and "S.DUPONT07" not in page
    assert not FranceConnectLink.objects.exists()
    assert "_auth_user_id" not in client.session


def test_the_accounts_own_number_still_links(walk, client, family):
    account = AccountFactory(identifier="s.dupont07", first_name="Stéphane", last_name="DUPONT",
                             phone="+33671234589", phone_verified=True)
    family["record"].account = account
    family["record"].save(update_fields=["account"])
    walk.to_phone_step()
    walk.phone(family["phone_typed"])
    assert [m.to for m in sms.outbox] == ["+33671234589"]
    walk.code()
    page = unescape(walk.page(walk.pupils(family["pupil"], family["pupil"].birth_date)))
    assert "S.DUPONT07" in page
    assert FranceConnectLink.objects.get().account == account
