"""The channel page of « Mot de passe oublié ? » (tryout finding): a real account is offered
the channels it has, and only those; an identifier that is no account is offered a decoy that
reads like a real account's — stable, sometimes a number only, sometimes an address only,
numbers from the whole of France (overseas too), addresses at the usual providers — in
exactly the shapes of real masks, so that nothing on the page tells the two apart."""

import re
from collections import Counter

import pytest
from django.test import Client

from accounts.models import AccountKind
from accounts.recovery import services
from accounts.recovery.flows import RecoveryData
from accounts.recovery.masking import channel_masks, decoy_contacts, mask_email, mask_mobile
from core.models import Flow
from notifications import sms
from notifications.models import OutboundMessage
from tests import html
from tests.factories import AccountFactory

from .conftest import Recovery, decoy_identifier, normalized

pytestmark = pytest.mark.django_db

# The shapes of real masks (core.normalization.mask_phone, masking.mask_email): a
# metropolitan mobile « 06 •• •• •• 12 », an overseas one « 0692 •• •• 56 »; an address
# « m•••@o•••.fr ».
METROPOLITAN_MASK = re.compile(r"0[67] •• •• •• \d\d")
OVERSEAS_MASK = re.compile(r"06(?:90|91|94|96|97|92|93|39) •• •• \d\d")
EMAIL_SHAPE = re.compile(r"[a-z0-9]•••@[a-z0-9]•••\.[a-z]{2,}")
OVERSEAS = ("0690", "0691", "0694", "0696", "0697", "0692", "0693", "0639")


def _offered(recovery, identifier) -> list[str]:
    recovery.start(identifier)
    page = html.parse(recovery.get("channel"))
    return [html.text(label) for label in page.select("input[name=channel] + label")]


def test_the_real_masks_have_the_shapes_the_decoys_are_checked_against():
    assert METROPOLITAN_MASK.fullmatch(mask_mobile("+33612345678"))
    assert METROPOLITAN_MASK.fullmatch(mask_mobile("+33780123456"))
    for number in ("+262692123456", "+262639401122", "+590690123434", "+594694201234",
                   "+596696123456"):
        assert OVERSEAS_MASK.fullmatch(mask_mobile(number)), number
    for address in ("seb.nguyen@orange.fr", "Jean.Dupont@GMAIL.com", "l@laposte.net"):
        assert EMAIL_SHAPE.fullmatch(mask_email(address)), address


def test_a_real_account_without_an_address_is_offered_its_number_only(recovery):
    """T.MARTIN40 in the demo: a number, no address. « Par mail, un lien à f•••@h•••.com »
    was offered too, and the parent who chose it waited for a mail that never came."""
    AccountFactory(identifier="t.martin40", phone="+262692123456", phone_verified=True,
                   email="")
    assert _offered(recovery, "t.martin40") == ["Par SMS, un code au 0692 •• •• 56"]


def test_an_address_not_validated_is_not_offered(recovery):
    AccountFactory(identifier="t.martin41", phone="+33612345678", phone_verified=True,
                   email="t.martin@free.fr", email_verified=False)
    assert _offered(recovery, "t.martin41") == ["Par SMS, un code au 06 •• •• •• 78"]


def test_a_real_account_with_both_is_offered_both(recovery, guardian):
    assert _offered(recovery, "s.nguyen21") == ["Par SMS, un code au 06 •• •• •• 78",
                                                "Par mail, un lien à s•••@o•••.fr"]


def test_a_channel_not_offered_cannot_be_posted(recovery):
    """A forged « sms » for an account offered its address only: the form's error, nothing
    made or sent, the flow still at « channel »."""
    AccountFactory(identifier="m.girard31", phone="", email="m.girard@free.fr",
                   email_verified=True)
    recovery.start("m.girard31")
    page = recovery.page(recovery.choose("sms"))  # the channel page again, with the error
    assert "Choisissez de recevoir un code par SMS ou un lien par mail." in page
    assert "Par SMS" not in page
    flow = Flow.objects.get()
    assert flow.step == "channel" and flow.codes.count() == 0
    assert not sms.outbox and OutboundMessage.objects.count() == 0


def test_an_unknown_identifiers_decoy_is_the_same_at_every_attempt(
        django_capture_on_commit_callbacks):
    """Asked twice, in two browsers, typed two ways: the same choices, the same masks (a
    decoy that changed would tell itself)."""
    for wanted in ((True, False), (False, True), (True, True)):
        identifier = decoy_identifier(with_phone=wanted[0], with_email=wanted[1])
        seen = [_offered(Recovery(Client(), django_capture_on_commit_callbacks), typed)
                for typed in (identifier, f" {identifier.upper()}", identifier)]
        assert seen[0] == seen[1] == seen[2]
        assert len(seen[0]) == sum(wanted)
    assert decoy_contacts("p.personne10") == decoy_contacts("p.personne10")


def test_decoys_read_like_real_accounts_across_many_identifiers(settings):
    """Over many unknown identifiers: numbers only, addresses only and both; overseas
    numbers; addresses at other domains than « .com »; every mask in a real mask's shape
    (what the flow stores is what the channel page shows)."""
    settings.PASSWORD_RECOVERY_MAX_STARTS_PER_IP = 10_000
    kinds, heads, tlds = Counter(), Counter(), Counter()
    for n in range(400):
        flow, _secret = services.password_recovery_start(identifier=f"x.inconnu{n}",
                                                         profile=AccountKind.GUARDIAN)
        masks = RecoveryData.of(flow)
        masks.phone, masks.email = masks.phone_mask, masks.email_mask
        kinds[(bool(masks.phone), bool(masks.email))] += 1
        assert masks.phone or masks.email
        if masks.phone:
            assert METROPOLITAN_MASK.fullmatch(masks.phone) or OVERSEAS_MASK.fullmatch(
                masks.phone), masks.phone
            heads[masks.phone.split(" ")[0]] += 1
        if masks.email:
            assert EMAIL_SHAPE.fullmatch(masks.email), masks.email
            tlds[masks.email.rsplit(".", 1)[1]] += 1
    assert kinds[(True, False)] and kinds[(False, True)] and kinds[(True, True)]
    assert kinds[(True, False)] > kinds[(True, True)] > kinds[(False, True)]
    assert heads["06"] and heads["07"] and sum(heads[h] for h in OVERSEAS) >= 10
    assert tlds["fr"] > tlds["com"] // 2 and tlds["net"]
    # A pupil's page offers the e-mail only: its decoy is always an address.
    assert all(channel_masks(f"x.inconnu{n}", sms_offered=False).email
               and not channel_masks(f"x.inconnu{n}", sms_offered=False).phone
               for n in range(50))


@pytest.mark.parametrize(("with_phone", "with_email"), [(True, False), (False, True)])
def test_one_channel_accounts_and_decoys_read_the_same_pages(
        django_capture_on_commit_callbacks, with_phone, with_email):
    """An account with a number only (an address only) and an unknown identifier whose decoy
    is a number only (an address only): the same channel page and the same next page."""
    AccountFactory(identifier="t.martin40",
                   phone="+33612345678" if with_phone else "", phone_verified=with_phone,
                   email="t.martin@orange.fr" if with_email else "", email_verified=with_email)
    channel = "sms" if with_phone else "email"
    pages = []
    for identifier in ("t.martin40", decoy_identifier(with_phone=with_phone,
                                                      with_email=with_email)):
        recovery = Recovery(Client(), django_capture_on_commit_callbacks)
        recovery.start(identifier)
        pages.append((normalized(recovery.get("channel").content.decode()),
                      normalized(recovery.page(recovery.choose(channel)))))
    assert pages[0] == pages[1]
    assert OutboundMessage.objects.count() == 1  # the account's message only


def test_a_pupil_without_an_address_and_an_unknown_pupil_get_one_decoy_address(
        pupil_without_email, django_capture_on_commit_callbacks):
    for identifier in (pupil_without_email.identifier, "l.personne99"):
        recovery = Recovery(Client(), django_capture_on_commit_callbacks, profile="eleve")
        [offered] = _offered(recovery, identifier)
        assert EMAIL_SHAPE.fullmatch(offered.removeprefix("Par mail, un lien à "))
    assert pupil_without_email.kind == AccountKind.PUPIL
