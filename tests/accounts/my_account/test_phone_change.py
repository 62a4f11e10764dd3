"""« Modifier mon numéro de téléphone »: the password again after 5 minutes, a code by SMS to
the new number, then the number is the account's and the old one is told; the flow engine's
rules (bound to the browser and the account, refresh repeats nothing)."""

import datetime
import time

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.middleware import SIGNED_IN_AT
from accounts.models import AccountKind
from accounts.my_account.flows import PHONE_CHANGE
from core.flows import flows_purge
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from tests import html
from tests.factories import DEFAULT_PASSWORD, AccountFactory

from .conftest import CODE_IN_SMS, sign_in

pytestmark = pytest.mark.django_db

START = reverse("accounts:my_account:phone")
REAUTH = reverse("accounts:my_account:reauthenticate")
NEW_NUMBER = "+33698765432"


def last_code():
    assert sms.outbox, "no SMS was sent"
    return CODE_IN_SMS.search(sms.outbox[-1].body).group(1)


def start(client, commit, phone="06 98 76 54 32"):
    return commit(client.post, START, {"phone": phone})


def flow_of(response):
    flow_id = response["Location"].rstrip("/").split("/")[-2]
    return Flow.objects.get(pk=flow_id)


def code_url(flow):
    return reverse("accounts:my_account:phone_code", args=[flow.id])


def age_the_sign_in(client, seconds):
    session = client.session
    session[SIGNED_IN_AT] = time.time() - seconds
    session.save()


def test_the_whole_change_from_the_new_number_to_the_old_one_told(signed_in, guardian, commit):
    page = html.parse(signed_in.get(START))
    assert "Étape 1 sur 3" in html.text(page)
    assert "06 •• •• •• 78" in html.text(html.main(page))

    response = start(signed_in, commit)
    flow = flow_of(response)
    assert response["Location"] == code_url(flow)
    assert flow.kind == "phone_change" and flow.account == guardian
    assert str(flow.phone) == NEW_NUMBER
    assert [m.to for m in sms.outbox] == [NEW_NUMBER]
    page = html.parse(signed_in.get(code_url(flow)))
    assert "Étape 2 sur 3" in html.text(page)
    assert "06 •• •• •• 32" in html.text(page)

    response = commit(signed_in.post, code_url(flow), {"code": last_code().lower()})
    assert response.status_code == 302
    done = signed_in.get(response["Location"], follow=True)
    assert done.redirect_chain[-1][0] == reverse("accounts:my_account:phone_done",
                                                  args=[flow.id])
    done_text = html.text(html.main(html.parse(done)))
    assert "Votre numéro de téléphone a été modifié" in done_text
    assert "Votre ancien numéro a été prévenu par SMS." in done_text

    guardian.refresh_from_db()
    assert str(guardian.phone) == NEW_NUMBER and guardian.phone_verified
    flow.refresh_from_db()
    assert flow.status == FlowStatus.COMPLETED and flow.step == "done"
    # The old number is told, without the new one in the text.
    assert [m.to for m in sms.outbox] == [NEW_NUMBER, "+33612345678"]
    notice = sms.outbox[-1].body
    assert "le numéro de téléphone portable de votre compte a été remplacé" in notice
    assert "98 76" not in notice
    # Journaled, numbers masked; the code never.
    kinds = list(JournalEvent.objects.filter(account=guardian).values_list("kind", flat=True))
    assert "my_account.phone_change_started" in kinds
    assert "my_account.phone_changed" in kinds
    changed = JournalEvent.objects.get(kind="my_account.phone_changed")
    assert changed.data == {"old_phone": "06 •• •• •• 78", "new_phone": "06 •• •• •• 32"}
    assert JournalEvent.objects.filter(kind="my_account.phone_change_code_sent",
                                       flow_id=flow.id).exists()
    # « Mes informations » shows the new number.
    info = html.main(html.parse(signed_in.get(reverse("accounts:my_account:information"))))
    assert info.find(id="phone").span.get_text() == "06\u00a0••\u00a0••\u00a0••\u00a032"


def test_the_password_is_asked_again_after_five_minutes_then_comes_back(
        signed_in, guardian, commit):
    age_the_sign_in(signed_in, 301)
    response = signed_in.get(START)
    assert response.status_code == 302
    assert response["Location"] == f"{REAUTH}?next=%2Fmon-compte%2Ftelephone%2F"
    # A POST arriving too late is not carried out either.
    assert start(signed_in, commit)["Location"].startswith(REAUTH)
    assert sms.outbox == [] and not Flow.objects.exists()

    page = html.parse(signed_in.get(response["Location"]))
    assert page.find("h1").get_text() == "Je confirme mon mot de passe"
    wrong = signed_in.post(REAUTH, {"password": "Motdepasse2!", "next": START})
    assert wrong.status_code == 400
    assert "Le mot de passe actuel est incorrect" in html.text(html.parse(wrong).find(
        id="id_password_error"))
    right = signed_in.post(REAUTH, {"password": DEFAULT_PASSWORD, "next": START})
    assert right.status_code == 302 and right["Location"] == START
    assert signed_in.get(START).status_code == 200
    assert JournalEvent.objects.filter(kind="my_account.reauthenticated",
                                       account=guardian).count() == 1


def test_the_return_address_must_be_on_this_site(signed_in):
    response = signed_in.post(REAUTH, {"password": DEFAULT_PASSWORD,
                                       "next": "https://evil.example/"})
    assert response["Location"] == reverse("accounts:my_account:information")


def test_the_current_number_and_a_bad_number_are_refused_with_their_fix(signed_in, commit):
    same = start(signed_in, commit, phone="06 12 34 56 78")
    assert same.status_code == 400
    assert html.summary_links(html.parse(same)) == [(
        "#id_phone",
        "Nouveau numéro de téléphone portable : Ce numéro est déjà celui de votre compte. "
        "Saisissez le nouveau numéro de téléphone portable.")]
    landline = start(signed_in, commit, phone="01 23 45 67 89")
    assert landline.status_code == 400
    assert "n'est pas un numéro de téléphone portable valide" in html.summary_links(
        html.parse(landline))[0][1]
    assert sms.outbox == [] and not Flow.objects.exists()


def test_a_wrong_code_says_the_tries_left_and_a_refresh_spends_nothing(signed_in, guardian,
                                                                      commit):
    flow = flow_of(start(signed_in, commit))
    wrong = "AAAAAA" if last_code() != "AAAAAA" else "BBBBBB"
    response = commit(signed_in.post, code_url(flow), {"code": wrong})
    assert response["Location"] == code_url(flow)
    page = html.parse(signed_in.get(code_url(flow)))
    assert html.summary_links(page) == [(
        "#id_code", "Code de sécurité : Le code de sécurité saisi est incorrect. Vérifiez le "
        "code reçu par SMS et saisissez-le à nouveau (il vous reste 4 essais).")]
    # A refresh shows the clean page and spends no attempt.
    assert html.error_summary(html.parse(signed_in.get(code_url(flow)))) is None
    flow.refresh_from_db()
    assert flow.wrong_codes == 1
    guardian.refresh_from_db()
    assert str(guardian.phone) == "+33612345678"
    malformed = commit(signed_in.post, code_url(flow), {"code": "12"})
    assert malformed.status_code == 302
    flow.refresh_from_db()
    assert flow.wrong_codes == 1  # a malformed entry costs nothing


def test_five_wrong_codes_kill_the_code_and_a_resend_gives_another(signed_in, guardian,
                                                                 commit, settings):
    settings.PHONE_CHANGE_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    flow = flow_of(start(signed_in, commit))
    first = last_code()
    wrong = "AAAAAA" if first != "AAAAAA" else "BBBBBB"
    for _ in range(5):
        commit(signed_in.post, code_url(flow), {"code": wrong})
    page = html.parse(signed_in.get(code_url(flow)))
    assert "n'est plus valable. Demandez un nouveau code avec « Renvoyer le SMS »" in (
        html.summary_links(page)[0][1])
    response = commit(signed_in.post, code_url(flow), {"code": first})
    assert "n'est plus valable" in html.text(html.parse(signed_in.get(code_url(flow))))
    resend = commit(signed_in.post, reverse("accounts:my_account:phone_resend",
                                            args=[flow.id]))
    assert resend["Location"] == code_url(flow)
    assert len(sms.outbox) == 2
    response = commit(signed_in.post, code_url(flow), {"code": last_code()})
    guardian.refresh_from_db()
    assert str(guardian.phone) == NEW_NUMBER
    assert response.status_code == 302


def test_a_resend_too_early_says_how_long_to_wait(signed_in, commit):
    flow = flow_of(start(signed_in, commit))
    resend = commit(signed_in.post, reverse("accounts:my_account:phone_resend",
                                            args=[flow.id]))
    page = html.parse(signed_in.get(resend["Location"]))
    assert html.messages(page)[0].startswith("Un code vient de vous être envoyé. Patientez ")
    assert len(sms.outbox) == 1


def test_the_flow_belongs_to_its_browser_and_its_account(signed_in, guardian, commit):
    flow = flow_of(start(signed_in, commit))
    # Another browser of the same account: the same 404 as an unknown flow.
    other = sign_in(Client())
    assert other.get(code_url(flow)).status_code == 404
    # Another account in the same browser, after signing out: the session is gone…
    secrets = dict(signed_in.session["flows"])
    signed_in.post(reverse("accounts:logout"))
    AccountFactory(identifier="b.roux15")
    sign_in(signed_in, "b.roux15")
    assert signed_in.get(code_url(flow)).status_code == 404
    # …and even with the flow's secret in its session, another account gets the same 404.
    session = signed_in.session
    session["flows"] = secrets
    session.save()
    assert signed_in.get(code_url(flow)).status_code == 404
    assert commit(signed_in.post, code_url(flow), {"code": last_code()}).status_code == 404
    guardian.refresh_from_db()
    assert str(guardian.phone) == "+33612345678"


def test_an_idle_flow_expires_and_says_so(signed_in, commit, settings):
    flow = flow_of(start(signed_in, commit))
    with freeze_time(flow.expires_at):
        session = signed_in.session
        session[SIGNED_IN_AT] = time.time()
        session.save()
        response = signed_in.get(code_url(flow))
        assert response.status_code == 302
        expired = signed_in.get(response["Location"])
    assert expired.status_code == 410
    assert "Cette modification du numéro a expiré" in html.text(html.parse(expired))


def test_an_account_without_a_phone_adds_one_and_nobody_else_is_told(client, commit):
    account = AccountFactory(identifier="c.leroy16", phone="")
    sign_in(client, "c.leroy16")
    flow = flow_of(start(client, commit))
    commit(client.post, code_url(flow), {"code": last_code()})
    account.refresh_from_db()
    assert str(account.phone) == NEW_NUMBER
    assert [m.to for m in sms.outbox] == [NEW_NUMBER]


def test_an_account_starts_a_limited_number_of_changes(signed_in, commit, settings):
    settings.PHONE_CHANGE_MAX_STARTS_PER_ACCOUNT = 2
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    for number in ("06 98 76 54 31", "06 98 76 54 32"):
        assert start(signed_in, commit, phone=number).status_code == 302
    refused = start(signed_in, commit, phone="06 98 76 54 33")
    assert refused.status_code == 400
    assert html.summary_links(html.parse(refused))[0][1].startswith(
        "Nouveau numéro de téléphone portable : Vous avez demandé trop de changements de "
        "numéro aujourd'hui. Réessayez dans ")
    assert len(sms.outbox) == 2 and Flow.objects.count() == 2


def test_phone_changes_are_purged_after_their_retention(signed_in, commit):
    flow = flow_of(start(signed_in, commit))
    with freeze_time(flow.created_at + datetime.timedelta(days=31)):
        assert flows_purge(kind=PHONE_CHANGE) == 1
    assert not Flow.objects.filter(pk=flow.pk).exists()


def test_the_code_page_warns_before_the_code_expires_with_a_new_code_in_reach(
        signed_in, guardian, commit, settings):
    """The shared code step (core.code_step): the phone change's code lifetime (30 min, as
    every SMS code of the portal), its own resend, counted from the code's expiry (issue 13 §2)."""
    settings.CODE_EXPIRY_WARNING_SECONDS = 120
    flow = flow_of(start(signed_in, commit))
    sent_at = flow.codes.get().created_at
    with freeze_time(sent_at + datetime.timedelta(minutes=5)):
        box = html.parse(signed_in.get(code_url(flow))).find(id="code-expiry")
    assert box.has_attr("hidden") and box["data-seconds-left"] == str(25 * 60)
    assert box["data-warn-seconds"] == "120"
    form = box.find("form")
    assert form["action"] == reverse("accounts:my_account:phone_resend", args=[flow.id])
    assert html.text(form.find("button")) == "Recevoir un nouveau code"


def test_a_pupil_without_a_phone_reads_no_old_number_and_words_for_a_pupil(client, commit):
    """Zoé, a pupil, had no number: no « ancien numéro » is promised or said told (none was,
    and no SMS left but the code), no « vos enfants », and the number is not said to reset
    her password (a pupil's « Mot de passe oublié ? » is by mail only)."""
    AccountFactory(identifier="z.coeur70", first_name="Zoé", last_name="Coeur",
                   kind=AccountKind.PUPIL, phone="", phone_verified=False)
    client.post(reverse("accounts:login", args=["eleve"]),
                {"identifier": "z.coeur70", "password": DEFAULT_PASSWORD})
    page = html.main(html.parse(client.get(START)))
    text = html.text(page)
    assert "ancien numéro" not in text
    assert ("Saisissez votre numéro : un code de sécurité vous sera envoyé par SMS à ce "
            "numéro pour le vérifier.") in text
    use = html.text(page.find(id="phone-use"))
    assert "vos enfants" not in use and "réinitialiser votre mot de passe" not in use
    assert use.startswith("Ce numéro sert à votre compte ÉduConnect : il vous permet de "
                          "recevoir votre identifiant par SMS si vous l'oubliez.")
    assert "Pour que votre établissement connaisse aussi ce numéro, prévenez son secrétariat." \
        in use

    flow = flow_of(start(client, commit))
    response = commit(client.post, code_url(flow), {"code": last_code()})
    done = html.text(html.main(html.parse(client.get(response["Location"], follow=True))))
    assert "Votre numéro de téléphone a été modifié" in done
    assert "ancien numéro" not in done
    assert [m.to for m in sms.outbox] == [NEW_NUMBER]


def test_a_guardian_with_a_number_is_told_the_old_one_will_be_told(signed_in):
    page = html.main(html.parse(signed_in.get(START)))
    assert "Votre ancien numéro sera prévenu du changement." in html.text(page)
    assert "l'établissement de vos enfants" in html.text(page.find(id="phone-use"))


def test_a_newer_change_replaces_the_older_one_whose_code_is_refused(
        signed_in, guardian, commit, settings):
    """Number 1 asked for (code 1), then number 2 (code 2): both codes used to be accepted
    one after the other, each changing the number. As with the e-mail address, the newer
    request replaces the older one: code 1, typed on the page left open, changes nothing
    and its page says why; code 2 still works."""
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    first = flow_of(start(signed_in, commit, phone="06 98 76 54 31"))
    code_1 = last_code()
    second = flow_of(start(signed_in, commit, phone="06 98 76 54 32"))
    code_2 = last_code()

    refused = commit(signed_in.post, code_url(first), {"code": code_1})
    assert refused.status_code == 302
    page = signed_in.get(refused["Location"])
    assert page.status_code == 410
    words = html.text(html.main(html.parse(page)))
    assert "Cette modification du numéro a été remplacée" in words
    assert ("Une modification plus récente de votre numéro a été demandée : le code envoyé "
            "au 06 •• •• •• 31 ne fonctionne plus et ce numéro n'a pas été enregistré") in words
    guardian.refresh_from_db()
    assert str(guardian.phone) == "+33612345678"

    done = commit(signed_in.post, code_url(second), {"code": code_2})
    assert done["Location"].startswith(reverse("accounts:my_account:phone_flow",
                                               args=[second.id]))
    guardian.refresh_from_db()
    assert str(guardian.phone) == "+33698765432"
    started = JournalEvent.objects.filter(kind="my_account.phone_change_started",
                                          account=guardian).order_by("at")
    assert [event.data.get("replaced") for event in started] == [None, True]
    first.refresh_from_db()
    assert first.status == FlowStatus.REPLACED  # the helpdesk reads why it stopped


def test_the_phone_change_code_lasts_as_long_as_the_other_sms_codes(signed_in, commit,
                                                                       settings):
    """« Mon compte »'s code said « valable 15 minutes » while the activation's, « Ajouter un
    enfant »'s and the password reset's say 30: one lifetime for every SMS code."""
    assert settings.PHONE_CHANGE_CODE_TTL_SECONDS == settings.ACTIVATION_CODE_TTL_SECONDS
    assert settings.PHONE_CHANGE_CODE_TTL_SECONDS == settings.PASSWORD_RESET_CODE_TTL_SECONDS
    start(signed_in, commit)
    assert "Il est valable 30 minutes." in " ".join(sms.outbox[-1].body.split())


def test_an_expired_code_page_has_one_resend_named_as_its_error_says(signed_in, commit,
                                                                     settings):
    """Once the code has expired, « Nous venons de vous envoyer un code » is not said any more,
    the page holds one resend, and the field error names that very button."""
    settings.PHONE_CHANGE_CODE_TTL_SECONDS = 5 * 60  # shorter than the flow's idle lifetime
    flow = flow_of(start(signed_in, commit))
    sent_at = flow.codes.get().created_at
    with freeze_time(sent_at + datetime.timedelta(minutes=6)):
        session = signed_in.session
        session[SIGNED_IN_AT] = time.time()
        session.save()
        commit(signed_in.post, code_url(flow), {"code": last_code()})
        page = html.parse(signed_in.get(code_url(flow)))
    text = html.text(html.main(page))
    assert "Nous venons de vous envoyer" not in text
    assert "Un code de sécurité a été envoyé" not in text
    resend = reverse("accounts:my_account:phone_resend", args=[flow.id])
    buttons = [html.text(f.find("button")) for f in page.find_all("form")
               if f.get("action") == resend]
    assert buttons == ["Recevoir un nouveau code"]
    assert html.summary_links(page)[0][1].endswith(
        "Demandez un nouveau code avec le bouton « Recevoir un nouveau code ».")
