"""The helpdesk files of two accounts merged by « Ajouter des enfants depuis un autre
compte » (families.services.accounts_merge): the closed account's file offers no action that
cannot apply to it and names the kept account; both journals name the accounts and the
guardian records moved, with links, rather than their ids."""

from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountState, StaffRole
from backoffice.journal_labels import describe_events
from core.journal import EventKind
from core.models import JournalEvent
from families.services import accounts_merge
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory, GuardianRecordFactory

from .conftest import make_staff, sign_in

pytestmark = pytest.mark.django_db


def account_url(account):
    return reverse("admin:helpdesk_account", args=[account.pk])


@pytest.fixture
def merged(world):
    """Hélène Lefèvre's second account (h.lefevre7, école Les Lilas) took the children of
    her first one (h.lefevre12, collège Jules-Ferry, its number verified), now closed."""
    closed = world.account_a1
    closed.phone_verified = True
    closed.save(update_fields=["phone_verified"])
    kept = AccountFactory(identifier="h.lefevre7", first_name="Hélène", last_name="LEFÈVRE",
                          phone="+33699887766", phone_verified=True)
    GuardianRecordFactory(establishment=world.a2, last_name="Lefèvre", first_name="Hélène",
                          mobile_phone="+33699887766", account=kept)
    accounts_merge(account=kept, identifier=closed.identifier, password=DEFAULT_PASSWORD)
    closed.refresh_from_db()
    assert closed.state == AccountState.CLOSED
    return kept, closed


def test_the_closed_accounts_file_offers_no_dead_end_and_names_the_kept_account(
        helpdesk_client, world, merged):
    kept, closed = merged
    response = helpdesk_client.get(account_url(closed))
    assert response.status_code == 200
    page = unescape(response.content.decode())
    # Nothing it would refuse (« Ce compte est fermé : il n'a plus d'identifiant
    # utilisable. »): no identifier to send, nothing to unlock or close.
    assert "Renvoyer l'identifiant par SMS" not in page
    assert "Déverrouiller le compte" not in page
    assert "Fermer le compte" not in page
    parsed = h.parse(response)
    [merged_into] = parsed.select("#merged-into")
    assert "ajoutés au compte conservé H.LEFEVRE7" in h.text(merged_into)
    [link] = merged_into.select("a")
    assert link["href"] == account_url(kept) and h.text(link) == "H.LEFEVRE7"


def test_the_kept_accounts_file_is_not_said_merged_into_anything(helpdesk_client, merged):
    kept, _closed = merged
    response = helpdesk_client.get(account_url(kept))
    assert not h.parse(response).select("#merged-into")
    assert "Renvoyer l'identifiant par SMS" in unescape(response.content.decode())


def _journal_cell(response, label: str):
    """The « Détails » cell of the journal line labelled `label`."""
    for row in h.parse(response).select("table tbody tr"):
        cells = row.select("td")
        if len(cells) == 5 and h.text(cells[1]) == label:
            return cells[3]
    raise AssertionError(f"no journal line {label!r}")


def test_both_journals_name_the_accounts_and_records_with_links(helpdesk_client, world,
                                                                 merged):
    kept, closed = merged
    record_url = reverse("admin:helpdesk_record", args=[world.rec_a1.pk])

    merged_label = str(EventKind.ACCOUNTS_MERGED.label)
    cell = _journal_cell(helpdesk_client.get(account_url(kept)), merged_label)
    text = h.text(cell)
    assert "autre compte : H.LEFEVRE12" in text
    assert "fiches responsables : LEFÈVRE Hélène, Collège Jules-Ferry" in text
    assert "n°" not in text and "h.lefevre12" not in text  # no raw id, no repeated identifier
    links = {h.text(a): a["href"] for a in cell.select("a")}
    assert links == {"H.LEFEVRE12": account_url(closed),
                     "LEFÈVRE Hélène, Collège Jules-Ferry": record_url}

    closed_label = str(EventKind.ACCOUNT_CLOSED_BY_MERGE.label)
    cell = _journal_cell(helpdesk_client.get(account_url(closed)), closed_label)
    text = h.text(cell)
    assert "compte conservé : H.LEFEVRE7" in text
    assert "n°" not in text and "h.lefevre7" not in text
    links = {h.text(a): a["href"] for a in cell.select("a")}
    assert links == {"H.LEFEVRE7": account_url(kept),
                     "LEFÈVRE Hélène, Collège Jules-Ferry": record_url}


def test_names_cost_one_query_per_kind_and_gone_ids_stay_ids(merged, world,
                                                              django_assert_num_queries):
    events = list(JournalEvent.objects.filter(kind__in=[
        EventKind.ACCOUNTS_MERGED, EventKind.ACCOUNT_CLOSED_BY_MERGE]))
    assert len(events) == 2
    with django_assert_num_queries(2):  # the accounts, the guardian records
        lines = describe_events(events)
    assert all(dict(line.details).get("fiches responsables") for line in lines)
    # An id no row answers (a record deleted since): the fact stays as written.
    gone = JournalEvent(kind=EventKind.ACCOUNTS_MERGED, data={
        "other_account_id": 999999, "other_identifier": "x.gone1",
        "guardian_record_ids": [world.rec_a1.pk, 999999]})
    [line] = describe_events([gone])
    details = dict(line.details)
    assert details["autre compte n°"] == "999999"
    assert details["identifiant de l'autre compte"] == "x.gone1"
    assert details["fiches responsables (n°)"] == f"{world.rec_a1.pk}, 999999"


def test_the_other_account_of_a_refused_merge_stays_an_id(world):
    """Names that differ: the other account may be someone else's, of another academy."""
    refused = JournalEvent(kind=EventKind.ACCOUNTS_MERGE_REFUSED, data={
        "reason": "names_differ", "other_account_id": world.account_b1.pk})
    [line] = describe_events([refused])
    assert dict(line.details)["autre compte n°"] == str(world.account_b1.pk)
    assert "M.LEFEVRE40" not in str(line.details)


# --- An account closed by a merge is in the scope of the account it was merged into --------


@pytest.fixture
def merged_without_history(merged, world):
    """The same merge, the records' history not naming the closed account (records written
    in bulk, as the demo's and a roster import's are): only the merge names it now."""
    _kept, closed = merged
    GuardianRecordFactory._meta.model.history.filter(account_id=closed.pk).delete()
    return merged


def _search(client, q):
    return client.get(reverse("admin:helpdesk_search"), {"q": q})


def test_the_academy_helpdesk_finds_the_closed_account_by_its_old_identifier(
        helpdesk_client, merged_without_history):
    kept, closed = merged_without_history
    response = _search(helpdesk_client, "h.lefevre12")
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert "Aucun compte de votre périmètre ne correspond" not in page
    links = {a["href"] for a in h.parse(response).select("a")}
    assert account_url(closed) in links

    response = helpdesk_client.get(account_url(closed))
    assert response.status_code == 200
    [merged_into] = h.parse(response).select("#merged-into")
    closed_at = JournalEvent.objects.get(kind=EventKind.ACCOUNT_CLOSED_BY_MERGE).at
    when = timezone.localtime(closed_at).strftime("%d/%m/%Y %H:%M")
    assert h.text(merged_into).startswith(f"Fermé le {when} par un regroupement de comptes")
    [link] = merged_into.select("a")
    assert link["href"] == account_url(kept) and h.text(link) == "H.LEFEVRE7"


@pytest.mark.parametrize("fixture", ["merged", "merged_without_history"])
def test_the_academy_helpdesk_finds_the_closed_account_by_its_name(helpdesk_client, request,
                                                                   fixture):
    """By the records' history (closed_covered) or by the merge's event (closed_merged): the
    family says its name, not an identifier; both accounts are listed."""
    kept, closed = request.getfixturevalue(fixture)
    response = _search(helpdesk_client, "lefèvre")
    assert response.status_code == 200
    links = {a["href"] for a in h.parse(response).select("a")}
    assert {account_url(closed), account_url(kept)} <= links


def test_another_academy_does_not_see_the_merged_account(client, world,
                                                         merged_without_history):
    _kept, closed = merged_without_history
    agent_b = make_staff(StaffRole.HELPDESK, academy=world.academy_b, last_name="Lyon")
    sign_in(client, agent_b)
    assert client.get(account_url(closed)).status_code == 404
    response = _search(client, "h.lefevre12")
    assert account_url(closed) not in {a["href"] for a in h.parse(response).select("a")}


def test_a_closed_account_not_merged_stays_out_of_scope_without_its_records(
        helpdesk_client, world):
    """Closed otherwise (no merge), its records' history gone: nothing makes it visible."""
    account = world.account_a1
    world.rec_a1.account = None
    world.rec_a1.save(update_fields=["account"])
    account.state = AccountState.CLOSED
    account.save(update_fields=["state"])
    GuardianRecordFactory._meta.model.history.filter(account_id=account.pk).delete()
    assert helpdesk_client.get(account_url(account)).status_code == 404


def test_the_kept_account_out_of_scope_is_named_without_a_link(client, world, merged):
    """The closed account visible by its own records' history (academy A), the kept one
    moved to academy B since: named, not linked (its file would answer 404)."""
    kept, closed = merged
    for record in kept.guardian_records.all():
        record.establishment = world.b1
        record.save(update_fields=["establishment"])
    GuardianRecordFactory._meta.model.history.filter(account_id=kept.pk).delete()
    agent = make_staff(StaffRole.HELPDESK, academy=world.academy_a, last_name="Créteil")
    sign_in(client, agent)
    assert client.get(account_url(kept)).status_code == 404
    response = client.get(account_url(closed))
    assert response.status_code == 200
    [merged_into] = h.parse(response).select("#merged-into")
    assert not merged_into.select("a")
    assert "compte conservé H.LEFEVRE7, hors de votre périmètre" in h.text(merged_into)
    # The journal names the kept account too, without the link that would answer 404; the
    # record it took, of academy B now, is not named at all (another academy's data).
    cell = _journal_cell(response, str(EventKind.ACCOUNT_CLOSED_BY_MERGE.label))
    assert "compte conservé : H.LEFEVRE7" in h.text(cell)
    assert "fiches responsables : fiche d'une autre académie" in h.text(cell)
    assert "Lycée Ampère" not in h.text(cell)
    assert not cell.select("a")
