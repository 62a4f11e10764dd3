"""Site-wide template context.

django-dsfr's own context processor reads a DsfrConfig row on every request; our page frame
(templates/base.html) is fixed and written in the template, so it is not installed.
"""

from django.conf import settings


def site(request):
    return {
        "ASSISTANCE_PHONE": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "ASSISTANCE_URL": settings.EDUCONNECT_ASSISTANCE_URL,
    }
