"""The flow engine on its own: a kind declared as stages, rows bound to a browser, the row's
step as the truth, lifetimes, and a refused POST's errors shown once by the next GET."""

import datetime

import pytest
from django import forms
from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from core import flows
from core.flowkinds import FlowKind, Stage, kind_named, register
from core.models import Flow, FlowStatus

pytestmark = pytest.mark.django_db

RECOVERY = register(FlowKind(
    name="test_recovery", label="Mot de passe oublié (essai)", title="Mot de passe oublié",
    stages=(
        Stage("identifier", "activation:start", "Je saisis mon identifiant"),
        Stage("code", "activation:code", "Je saisis le code reçu"),
        Stage("password", "activation:password", "Je choisis un nouveau mot de passe"),
        Stage("done", "activation:done", "Mot de passe modifié"),
    ),
    home_url_name="activation:flow",
    idle_setting="ACTIVATION_FLOW_IDLE_SECONDS", max_age_setting="ACTIVATION_FLOW_MAX_AGE_SECONDS",
    retention_setting="ACTIVATION_FLOW_RETENTION_DAYS",
    not_found_template="activation/not_found.html",
))


def request_with_session():
    request = RequestFactory().post("/")
    request.session = SessionStore()
    return request


# --- Declarations ------------------------------------------------------------------------


def test_a_kind_reads_as_its_stages_in_order():
    assert [stage.name for stage in RECOVERY.stages] == ["identifier", "code", "password",
                                                         "done"]
    assert RECOVERY.position("password") == 3 and RECOVERY.total == 4
    assert RECOVERY.next_stage("password").name == "done"
    assert RECOVERY.next_stage("done") is None
    assert RECOVERY.stepper("code") == {
        "step": 2, "step_title": "Je saisis le code reçu",
        "next_step_title": "Je choisis un nouveau mot de passe", "total_steps": 4,
    }
    assert RECOVERY.page_title("code") == (
        "Étape 2 sur 4 : Je saisis le code reçu — Mot de passe oublié"
    )
    assert RECOVERY.page_title("code", error=True).startswith("Erreur : Étape 2 sur 4")
    assert kind_named("test_recovery") is RECOVERY
    with pytest.raises(ValueError, match="no stage"):
        RECOVERY.stage("nope")


def test_a_kind_with_a_repeated_stage_or_a_name_taken_is_refused():
    with pytest.raises(ValueError, match="unique"):
        FlowKind(name="x", label="x", title="x", stages=(Stage("a", "u", "A"),
                                                          Stage("a", "u", "A")),
                 home_url_name="h", idle_setting="", max_age_setting="",
                 retention_setting="", not_found_template="")
    with pytest.raises(ValueError, match="already registered"):
        register(FlowKind(name="test_recovery", label="autre", title="autre",
                          stages=(Stage("a", "u", "A"),), home_url_name="h",
                          idle_setting="", max_age_setting="", retention_setting="",
                          not_found_template=""))


# --- Rows --------------------------------------------------------------------------------


def test_a_started_flow_is_open_at_its_step_and_bound_to_one_browser():
    flow, secret = flows.flow_start(kind=RECOVERY, step="code", phone="+33612345678",
                                    data={"identifier": "p.dupont12"})
    assert len(secret) >= 43  # 256 bits, URL-safe
    stored = Flow.objects.get()
    assert (stored.kind, stored.step, stored.status) == ("test_recovery", "code", "open")
    assert secret not in stored.session_secret_hash and len(stored.session_secret_hash) == 64
    assert stored.step_label == "Je saisis le code reçu"

    mine, other = request_with_session(), request_with_session()
    flows.flow_bind(mine, flow, secret)
    assert flows.flow_for_request(mine, flow_id=flow.id, kind=RECOVERY) == flow
    # Another browser, or this browser asking for the flow as another kind: nothing.
    assert flows.flow_for_request(other, flow_id=flow.id, kind=RECOVERY) is None
    activation = kind_named("sms_activation")
    assert flows.flow_for_request(mine, flow_id=flow.id, kind=activation) is None
    # A secret that does not match the row (another flow's): nothing either.
    mine.session[flows.SESSION_FLOWS] = {str(flow.id): "x" * 43}
    assert flows.flow_for_request(mine, flow_id=flow.id, kind=RECOVERY) is None


def test_a_session_remembers_its_last_five_flows():
    request = request_with_session()
    started = []
    for _ in range(6):
        flow, secret = flows.flow_start(kind=RECOVERY, step="code")
        flows.flow_bind(request, flow, secret)
        started.append(flow)
    assert flows.session_flow_ids(request) == [str(f.id) for f in started[1:]]
    assert flows.flow_for_request(request, flow_id=started[0].id, kind=RECOVERY) is None


def test_lock_refuses_another_step_an_ended_flow_an_expired_one_and_another_kind():
    flow, _ = flows.flow_start(kind=RECOVERY, step="code")
    assert flows.flow_lock(flow_id=flow.id, kind=RECOVERY, step="code") == flow
    for kind, step in ((RECOVERY, "password"), (kind_named("sms_activation"), "code")):
        with pytest.raises(flows.FlowUnavailable):
            flows.flow_lock(flow_id=flow.id, kind=kind, step=step)
    later = flow.expires_at + datetime.timedelta(seconds=1)
    with pytest.raises(flows.FlowUnavailable):
        flows.flow_lock(flow_id=flow.id, kind=RECOVERY, step="code", now=later)
    flows.flow_end(flow, status=FlowStatus.BLOCKED)
    flow.save()
    with pytest.raises(flows.FlowUnavailable):
        flows.flow_lock(flow_id=flow.id, kind=RECOVERY, step="code")


def test_every_action_pushes_the_idle_expiry_back_within_the_maximum_age(settings):
    settings.ACTIVATION_FLOW_IDLE_SECONDS = 600
    settings.ACTIVATION_FLOW_MAX_AGE_SECONDS = 1000
    started = timezone.now()
    flow, _ = flows.flow_start(kind=RECOVERY, step="code", now=started)
    assert flow.expires_at == started + datetime.timedelta(seconds=600)
    flows.flow_touch(flow, now=started + datetime.timedelta(seconds=300))
    assert flow.expires_at == started + datetime.timedelta(seconds=900)
    flows.flow_touch(flow, now=started + datetime.timedelta(seconds=800))
    assert flow.expires_at == started + datetime.timedelta(seconds=1000)
    assert flow.is_expired(started + datetime.timedelta(seconds=1000))
    assert not flow.is_open_at("code", started + datetime.timedelta(seconds=1000))


def test_a_completed_flow_names_its_account_and_moves_only_to_its_own_stages():
    flow, _ = flows.flow_start(kind=RECOVERY, step="code")
    with pytest.raises(ValueError, match="no stage"):
        flows.flow_move(flow, step="pupils")
    with pytest.raises(ValueError, match="other than open"):
        flows.flow_end(flow, status=FlowStatus.OPEN)
    flows.flow_end(flow, status=FlowStatus.COMPLETED, step="done")
    with pytest.raises(IntegrityError), transaction.atomic():
        flow.save()


# --- A refused POST's errors, once ------------------------------------------------------


class NameForm(forms.Form):
    name = forms.CharField(label="Nom")
    secret = forms.CharField(label="Mot de passe", required=False)


def test_a_refused_form_comes_back_once_with_its_errors_and_without_its_secrets():
    flow, secret = flows.flow_start(kind=RECOVERY, step="code")
    request = request_with_session()
    flows.flow_bind(request, flow, secret)
    posted = NameForm({"name": "Dupont", "secret": "Cartable-Vert-2024!",
                       "csrfmiddlewaretoken": "t"})
    assert posted.is_valid()
    posted.add_error("name", "Ce nom ne correspond à aucun compte.")
    posted.add_error(None, "Réessayez.")
    response = flows.flow_form_refused(request, flow, posted, secret_fields=("secret",))
    assert response.status_code == 302 and response["Location"].endswith(f"{flow.id}/code/")
    assert "Cartable-Vert-2024!" not in str(dict(request.session))

    shown = flows.flow_form(request, flow, NameForm)
    assert shown.is_bound and shown["name"].value() == "Dupont"
    assert shown["secret"].value() is None
    assert shown.errors["name"] == ["Ce nom ne correspond à aucun compte."]
    assert shown.non_field_errors() == ["Réessayez."]
    # Shown once: the next GET (a refresh) has a clean form.
    again = flows.flow_form(request, flow, NameForm)
    assert not again.is_bound and not again.errors


def test_errors_kept_for_a_step_are_not_shown_once_the_flow_moved_on():
    flow, secret = flows.flow_start(kind=RECOVERY, step="code")
    request = request_with_session()
    flows.flow_bind(request, flow, secret)
    posted = NameForm({"name": ""})
    posted.is_valid()
    flows.flow_form_refused(request, flow, posted)
    flows.flow_move(flow, step="password")
    assert not flows.flow_form(request, flow, NameForm).is_bound


# --- Purge -------------------------------------------------------------------------------


def test_the_purge_follows_each_kinds_retention(settings):
    settings.ACTIVATION_FLOW_RETENTION_DAYS = 10
    old, _ = flows.flow_start(kind=RECOVERY, step="code",
                              now=timezone.now() - datetime.timedelta(days=11))
    recent, _ = flows.flow_start(kind=RECOVERY, step="code",
                                 now=timezone.now() - datetime.timedelta(days=9))
    assert flows.flows_purge(kind=RECOVERY) == 1
    assert list(Flow.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Flow.objects.filter(pk=old.pk).exists()
