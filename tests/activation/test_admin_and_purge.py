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
from activation.models import ActivationFlow
from activation.services import activation_flows_purge
from backoffice.admin.activation import ActivationFlowAdmin
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    return ActivationFlow.objects.get()


def admin_request(path, **params):
    request = RequestFactory().get(path, params)
    request.user = AccountFactory(identifier="admin.national10", kind=AccountKind.STAFF,
                                  is_staff=True, is_superuser=True)
    request.session = SessionBase()
    request._messages = FallbackStorage(request)
    return request


def test_flows_are_listed_with_a_masked_number_and_no_secret(flow):
    model_admin = ActivationFlowAdmin(ActivationFlow, admin.site)
    response = model_admin.changelist_view(admin_request("/gestion/activation/activationflow/"))
    response.render()
    page = response.content.decode()
    assert str(flow.id) in page
    assert "+262 692 ** ** 56" in page and "+262692123456" not in page
    assert flow.code_hash not in page and flow.session_secret_hash not in page


def test_a_flow_page_is_read_only_and_shows_no_secret(flow):
    model_admin = ActivationFlowAdmin(ActivationFlow, admin.site)
    request = admin_request(f"/gestion/activation/activationflow/{flow.pk}/change/")
    response = model_admin.change_view(request, str(flow.pk))
    response.render()
    page = response.content.decode()
    assert "Auto-inscription par SMS" in page
    assert flow.code_hash not in page and flow.session_secret_hash not in page
    assert 'name="_save"' not in page
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, flow)


@pytest.mark.parametrize("query", ["+262692123456", str(ActivationFlow.id.field.default())[:8],
                                   "n'importe quoi"])
def test_searching_flows_never_fails(flow, query):
    model_admin = ActivationFlowAdmin(ActivationFlow, admin.site)
    response = model_admin.changelist_view(
        admin_request("/gestion/activation/activationflow/", q=query)
    )
    assert response.status_code == 200
    response.render()
    assert (str(flow.id) in response.content.decode()) == (query == "+262692123456")


def test_flows_are_deleted_after_the_retention_period(flow, settings):
    settings.ACTIVATION_FLOW_RETENTION_DAYS = 30
    ActivationFlow.objects.filter(pk=flow.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    recent = ActivationFlow.objects.create(
        kind="sms", step=2, session_secret_hash="x", last_name="A", first_name="B",
        phone="+33612345678", expires_at=timezone.now(),
    )
    assert activation_flows_purge(batch_size=1) == 1
    assert list(ActivationFlow.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_purge_runs_periodically(settings, flow):
    from activation.tasks import activation_flows_purge_task

    entry = settings.CELERY_BEAT_SCHEDULE["activation-flows-purge"]
    assert entry["task"] == activation_flows_purge_task.name
    assert activation_flows_purge_task() == 0  # the flow is recent
    assert ActivationFlow.objects.filter(pk=flow.pk).exists()
