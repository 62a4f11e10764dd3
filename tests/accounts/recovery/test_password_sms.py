"""« Mot de passe oublié ? » by SMS: identifier → channel → code → new password → done."""

import re
from html import unescape

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.limits import sign_in_attempt_admit, sign_in_suspension
from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from tests import html
from tests.factories import DEFAULT_PASSWORD

from .conftest import NEW_PASSWORD, Recovery, decoy_identifier, last_code

pytestmark = pytest.mark.django_db


def test_a_guardian_resets_the_password_with_the_code_sent_by_sms(recovery, guardian):
    # Another device is signed in with the old password.
    other_device = Client()
    other_device.force_login(guardian, backend="accounts.backends.IdentifierBackend")
    assert other_device.get(reverse("services_portal:my_services")).status_code == 200

    response = recovery.start("  S.NGUYEN21 ")
    assert response.status_code == 302
    page = html.parse(recovery.get("channel"))
    labels = [html.text(label) for label in page.select("input[name=channel] + label")]
    assert labels == ["Par SMS, un code au 06 •• •• •• 78", "Par mail, un lien à s•••@o•••.fr"]
    assert "Étape 2 sur 5" in html.text(page.find("title"))

    code_page = recovery.page(recovery.choose("sms"))
    assert "un code de sécurité (valable 30 min) vient d'être envoyé par SMS" in code_page
    assert "06\u00a0••\u00a0••\u00a0••\u00a078" in code_page
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert "ÉduConnect : votre code pour changer de mot de passe est" in sms.outbox[0].body

    password_page = recovery.page(recovery.send_code(last_code().lower()))
    assert "Je choisis mon nouveau mot de passe" in password_page
    done_page = recovery.page(recovery.new_password())
    assert "Votre mot de passe a été modifié" in done_page

    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    # The other device's session is over; nobody is signed in here either.
    assert other_device.get(reverse("services_portal:my_services")).status_code == 302
    assert SESSION_KEY not in recovery.client.session
    flow = Flow.objects.get()
    assert (flow.status, flow.step, flow.account) == (FlowStatus.COMPLETED, "done", guardian)
    changed = JournalEvent.objects.get(kind=EventKind.PASSWORD_CHANGED)
    assert changed.account == guardian and changed.data == {"reason": "recovery_sms"}

    # The new password signs in on the guardian's page.
    signed_in = Client().post(reverse("accounts:login", args=["representant-legal"]),
                              {"identifier": "s.nguyen21", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_a_weak_or_personal_password_is_refused_with_the_rule(recovery, guardian):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    page = html.parse(recovery.page(recovery.new_password("Nguyen-Lefort-2031!")))  # the name
    errors = [html.text(e) for e in page.select("#id_password_error .fr-message--error")]
    assert any("nom" in error for error in errors)
    page = html.parse(recovery.page(recovery.new_password(NEW_PASSWORD, "autre chose")))
    assert html.error_summary(page) is not None
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)


def test_wrong_codes_are_counted_and_said(recovery, guardian):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    page = recovery.page(recovery.send_code("AAAAAA"))
    assert "Le code de sécurité saisi est incorrect" in page and "il vous reste 4 essais" in page
    page = recovery.page(recovery.send_code("12"))
    assert "Le code de sécurité comporte 6 caractères" in page
    assert Flow.objects.get().wrong_codes == 1


def test_the_code_resend_waits_and_keeps_earlier_codes(recovery, guardian, settings):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    first = last_code()
    response = recovery._post(recovery.url("code_resend"))
    page = html.parse(recovery.client.get(response["Location"]))
    assert "Patientez" in " ".join(html.messages(page))
    settings.PASSWORD_RESET_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    response = recovery._post(recovery.url("code_resend"))
    page = html.parse(recovery.client.get(response["Location"]))
    assert "un nouveau code de sécurité vient de vous être envoyé" in " ".join(
        html.messages(page))
    assert len(sms.outbox) == 2
    recovery.send_code(first)  # the first code still works
    assert Flow.objects.get().step == "password"


def test_the_flow_is_bound_to_the_browser_that_started_it(recovery, guardian):
    recovery.start("s.nguyen21")
    stranger = Client()
    assert stranger.get(recovery.url("channel")).status_code == 404
    assert "Cette page n'est pas disponible" in unescape(
        stranger.get(recovery.url("channel")).content.decode())


def test_later_steps_cannot_be_skipped(recovery, guardian):
    recovery.start("s.nguyen21")
    response = recovery.get("password")
    assert response.status_code == 302
    assert response["Location"] == recovery.url("flow")
    assert recovery.client.get(response["Location"])["Location"] == recovery.url("channel")


def test_a_reset_lifts_the_sign_in_suspension_of_the_identifier(recovery, guardian, settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 2
    for _ in range(3):
        sign_in_attempt_admit(identifier="s.nguyen21", ip="203.0.113.9")
    assert not sign_in_suspension(identifier="s.nguyen21").allowed
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    recovery.new_password()
    assert sign_in_suspension(identifier="s.nguyen21").allowed


def test_the_email_is_told_after_an_sms_reset(recovery, guardian):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    recovery.new_password()
    notified = JournalEvent.objects.get(kind=EventKind.PASSWORD_CHANGE_NOTIFIED)
    assert notified.data == {"channel": "email"} and notified.account == guardian


def test_a_reunion_family_reads_the_same_time_in_the_sms_code_and_the_e_mail(
        recovery, guardian):
    """The tryout: the Réunion family's SMS said « 10:53, heure de La Réunion », the e-mail
    about the same password change « 07:53, heure de Paris »: the e-mail states the time of
    the account's validated mobile, named."""
    guardian.phone = "+262692123456"
    guardian.save(update_fields=["phone"])
    with freeze_time("2026-12-01 06:53:00+00:00"):
        recovery.start("s.nguyen21")
        recovery.choose("sms")
        recovery.send_code(last_code())
        recovery.new_password()
    [email] = [m for m in mail.outbox if m.to == ["seb.nguyen@orange.fr"]]
    assert "à 10:53, heure de La Réunion" in " ".join(email.body.split())


def test_a_pupil_is_offered_the_email_only_and_told_to_ask_the_school(
    client, pupil_without_email, django_capture_on_commit_callbacks
):
    recovery = Recovery(client, django_capture_on_commit_callbacks, profile="eleve")
    recovery.start("t.nguyen08")
    page = html.parse(recovery.get("channel"))
    labels = [html.text(label) for label in page.select("input[name=channel] + label")]
    assert len(labels) == 1 and labels[0].startswith("Par mail, un lien à ")
    assert "demandez un nouveau mot de passe à votre établissement" in html.text(page)
    # An SMS cannot be asked for by a pupil's page.
    page = html.parse(recovery.page(recovery.choose("sms")))
    assert html.error_summary(page) is not None
    assert not sms.outbox


def test_every_step_is_journaled_without_a_secret(recovery, guardian):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code("AAAAAA")
    recovery.send_code(last_code())
    recovery.new_password()
    kinds = list(JournalEvent.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        EventKind.PASSWORD_RECOVERY_STARTED, EventKind.PASSWORD_RESET_CODE_SENT,
        EventKind.PASSWORD_RECOVERY_CHANNEL_CHOSEN, EventKind.PASSWORD_RESET_CODE_REJECTED,
        EventKind.PASSWORD_RESET_CODE_VERIFIED, EventKind.PASSWORD_CHANGED,
        EventKind.PASSWORD_CHANGE_NOTIFIED, EventKind.PASSWORD_RECOVERY_COMPLETED,
    ]
    everything = " ".join(str(e.data) for e in JournalEvent.objects.all())
    assert NEW_PASSWORD not in everything


def test_an_expired_recovery_says_so_and_offers_to_start_again(recovery, guardian):
    recovery.start("s.nguyen21")
    Flow.objects.update(expires_at=Flow.objects.get().created_at)
    response = recovery.client.get(recovery.url("channel"), follow=True)
    assert response.status_code == 410
    page = html.parse(response)
    assert "Cette demande a expiré" in html.text(html.main(page))
    assert not sms.outbox


def _no_sms_help(page):
    return page.find(id="no-sms-help")


def test_an_account_without_a_mobile_number_is_offered_the_email_only(
    client, django_capture_on_commit_callbacks
):
    """A family whose account came from a school letter has no number: it is offered its
    address only (tryout: an invented number was offered too, and no SMS ever came), and
    the e-mail brings the link."""
    from notifications.models import OutboundMessage
    from tests.factories import AccountFactory

    AccountFactory(identifier="f.hoarau33", first_name="Fabrice", last_name="Hoarau",
                   email="fabrice.hoarau@gmail.com", email_verified=True)
    recovery = Recovery(client, django_capture_on_commit_callbacks)
    recovery.start("f.hoarau33")
    page = html.parse(recovery.get("channel"))
    assert [html.text(label) for label in page.select("input[name=channel] + label")] == [
        "Par mail, un lien à f•••@g•••.com"]
    assert "Consultez votre messagerie" in recovery.page(recovery.choose("email"))
    assert not sms.outbox
    assert OutboundMessage.objects.filter(recipient="fabrice.hoarau@gmail.com").count() == 1


def test_the_code_page_says_what_to_do_when_no_sms_comes(client,
                                                         django_capture_on_commit_callbacks):
    """Whoever chose « Par SMS » and gets nothing (an identifier mistyped into another one, a
    number that is no longer theirs) reads, under « Je n'ai pas reçu le code par SMS », that
    the account may have no mobile number, with links that work: start again and choose the
    e-mail, the academic assistance form, the help."""
    recovery = Recovery(client, django_capture_on_commit_callbacks)
    recovery.start(decoy_identifier(with_phone=True, with_email=True))
    page = html.parse(recovery.page(recovery.choose("sms")))
    assert not sms.outbox
    help_box = _no_sms_help(page)
    assert help_box is not None
    words = html.text(help_box)
    assert ("Vous n'avez pas reçu de SMS après quelques minutes ? Votre compte n'a peut-être "
            "pas de numéro de téléphone portable") in words
    assert "en choisissant « Par mail »" in words
    links = {html.text(a): a["href"] for a in help_box.find_all("a")}
    assert links == {
        "Recommencez": reverse("accounts:password_forgotten") + "?profil=representant-legal",
        "formulaire d'assistance académique": reverse("assistance:form"),
        "Aide et assistance": reverse("pages:help"),
    }
    for href in links.values():
        assert client.get(href).status_code == 200, href


def test_the_no_sms_help_reads_the_same_for_an_account_with_a_number(recovery, guardian):
    recovery.start("s.nguyen21")
    page = html.parse(recovery.page(recovery.choose("sms")))
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert "Votre compte n'a peut-être pas de numéro" in html.text(_no_sms_help(page))


SAME_AS_CURRENT = ("Ce mot de passe est déjà celui de votre compte. Choisissez un mot de passe "
                   "différent de votre mot de passe actuel.")


def test_the_current_password_is_refused_as_the_new_one(recovery, guardian):
    """A person who remembers their password after all and types it again is told so on the
    new-password field, and the flow stays at the password step; another password works."""
    guardian.set_password(NEW_PASSWORD)
    guardian.save(update_fields=["password"])
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    page = html.parse(recovery.page(recovery.new_password(NEW_PASSWORD)))
    errors = [html.text(e) for e in page.select("#id_password_error .fr-message--error")]
    assert SAME_AS_CURRENT in errors
    assert html.error_summary(page) is not None
    flow = Flow.objects.get()
    assert (flow.step, flow.status) == ("password", FlowStatus.OPEN)
    assert flow.data["same_checks"] == 1
    assert not JournalEvent.objects.filter(kind=EventKind.PASSWORD_RECOVERY_COMPLETED).exists()
    assert "différent" not in str(flow.data)  # the refusal is said, not stored

    recovery.page(recovery.new_password("Autre-Cartable-2031!"))
    guardian.refresh_from_db()
    assert guardian.check_password("Autre-Cartable-2031!")
    assert Flow.objects.get().status == FlowStatus.COMPLETED


def test_a_flow_compares_with_the_current_password_a_few_times_only(recovery, guardian):
    """Each comparison is an Argon2 verification that tells whether a guess is the current
    password: a flow makes SAME_PASSWORD_CHECKS of them, then sets what is typed."""
    from accounts.recovery.services import SAME_PASSWORD_CHECKS

    guardian.set_password(NEW_PASSWORD)
    guardian.save(update_fields=["password"])
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    for _ in range(SAME_PASSWORD_CHECKS):
        assert SAME_AS_CURRENT in recovery.page(recovery.new_password(NEW_PASSWORD))
    recovery.page(recovery.new_password(NEW_PASSWORD))
    assert Flow.objects.get().status == FlowStatus.COMPLETED


def test_the_password_step_left_open_in_a_second_tab_reads_the_result(recovery, guardian):
    """Tab 1 sets the new password; tab 2, still at the same step, submits: the flow's result
    (« Votre mot de passe a été modifié ») with a notice, never a second change."""
    recovery.start(guardian.identifier)
    recovery.choose("sms")
    recovery.send_code(last_code())
    recovery.client.handler.enforce_csrf_checks = True
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    first, second = (token.search(recovery.get("password").content.decode()).group(1)
                     for _ in range(2))
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    recovery._post(recovery.url("password"), {**data, "csrfmiddlewaretoken": first})
    response = recovery._post(recovery.url("password"), {**data, "csrfmiddlewaretoken": second})
    page = html.parse(recovery.client.get(response["Location"], follow=True))
    assert "Votre mot de passe a été modifié" in html.text(html.main(page))
    (notice,) = html.messages(page)
    assert "c'est le mot de passe choisi là-bas qui est enregistré" in notice
    assert "Le mot de passe saisi dans cette page n'a pas été enregistré" in notice
    assert "« Mon compte »" in notice and "« Mot de passe oublié ? »" in notice
