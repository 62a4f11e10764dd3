"""Flows in the back-office (read-only, no secret shown) and their deletion after the
retention period."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.base import SessionBase
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import AccountKind
from backoffice.admin.flows import FlowAdmin
from core.flows import flows_purge
from core.models import Flow, FlowCode
from core.tasks import flows_purge_task
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    return Flow.objects.get()


def admin_request(path, **params):
    request = RequestFactory().get(path, params)
    request.user = AccountFactory(identifier="admin.national10", kind=AccountKind.STAFF,
                                  is_staff=True, is_superuser=True)
    request.session = SessionBase()
    request._messages = FallbackStorage(request)
    return request


def secrets_of(flow) -> list[str]:
    return [flow.session_secret_hash, *(code.code_hash for code in flow.codes.all())]


def test_flows_are_listed_with_a_masked_number_and_no_secret(flow):
    model_admin = FlowAdmin(Flow, admin.site)
    response = model_admin.changelist_view(admin_request("/gestion/core/flow/"))
    response.render()
    page = response.content.decode()
    assert str(flow.id) in page
    assert "Auto-inscription par SMS" in page and "Je saisis le code de sécurité" in page
    assert "0692 •• •• 56" in page and "+262692123456" not in page
    assert "1 / 1" in page  # codes sent / made
    assert all(secret not in page for secret in secrets_of(flow))


def test_a_flow_page_is_read_only_and_shows_no_secret(flow):
    model_admin = FlowAdmin(Flow, admin.site)
    request = admin_request(f"/gestion/core/flow/{flow.pk}/change/")
    response = model_admin.change_view(request, str(flow.pk))
    response.render()
    page = response.content.decode()
    assert "Auto-inscription par SMS" in page
    assert "matched_record_ids" in page  # the flow's data, for the helpdesk
    assert "activation_code" in page  # its code, by purpose, without the hash
    assert all(secret not in page for secret in secrets_of(flow))
    assert 'name="_save"' not in page
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, flow)


# A fixed flow id's start (the parallel workers, pytest-xdist, must collect the same names).
@pytest.mark.parametrize("query", ["+262692123456", "3f2b8c1e", "n'importe quoi"])
def test_searching_flows_never_fails(flow, query):
    model_admin = FlowAdmin(Flow, admin.site)
    response = model_admin.changelist_view(admin_request("/gestion/core/flow/", q=query))
    assert response.status_code == 200
    response.render()
    assert (str(flow.id) in response.content.decode()) == (query == "+262692123456")


def test_flows_and_their_codes_are_deleted_after_the_retention_period(flow, settings):
    settings.ACTIVATION_FLOW_RETENTION_DAYS = 30
    Flow.objects.filter(pk=flow.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    recent = Flow.objects.create(
        kind="sms_activation", step="code", session_secret_hash="x", phone="+33612345678",
        expires_at=timezone.now(),
    )
    assert flows_purge(batch_size=1) == 1
    assert list(Flow.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not FlowCode.objects.exists()


def test_the_purge_runs_periodically(settings, flow):
    entry = settings.CELERY_BEAT_SCHEDULE["flows-purge"]
    assert entry["task"] == flows_purge_task.name
    assert flows_purge_task() == 0  # the flow is recent
    assert Flow.objects.filter(pk=flow.pk).exists()
