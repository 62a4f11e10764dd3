"""Twilio's status callback and the demo page of sent messages."""

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services

logger = logging.getLogger(__name__)


def _twilio_signature_valid(request) -> bool:
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    # The URL Twilio called is the one we gave it, built from SITE_URL: behind proxies the
    # request's own host and scheme may differ from it.
    url = settings.SITE_URL.rstrip("/") + request.get_full_path()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature)


@csrf_exempt  # Twilio cannot hold a CSRF token: its HMAC signature authenticates the call.
@require_POST
def twilio_status(request):
    if not _twilio_signature_valid(request):
        logger.warning("Twilio status callback refused: bad or missing signature")
        return HttpResponseForbidden()
    changed = services.message_provider_status_record(
        provider_message_id=request.POST.get("MessageSid", "")[:100],
        provider_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    logger.info("Twilio status callback %s: %s", request.POST.get("MessageStatus", "")[:30],
                "recorded" if changed else "nothing to change")
    # Same answer whether the sid is ours or not, changed or not.
    return HttpResponse(status=200)


@never_cache
@require_GET
def demo_outbox(request):
    if not settings.DEBUG:
        raise Http404
    return render(request, "notifications/demo_outbox.html", {
        "page_title": _("Messages envoyés (démonstration)"),
        "messages_sent": selectors.outbox_demo_latest(limit=50),
        "sms_backend": settings.SMS_BACKEND,
    })
