"""Site-wide template context.

django-dsfr's own context processor reads a DsfrConfig row on every request; our header and
footer are fixed, so a constant object saves that query on every page.
"""

from types import SimpleNamespace

from django.conf import settings

SITE_CONFIG = SimpleNamespace(
    site_title="ÉduConnect",
    site_tagline="Un compte unique pour les services numériques des écoles et des établissements",
    header_brand_html="Ministère<br>de l'Éducation<br>nationale",
    footer_brand_html="Ministère<br>de l'Éducation<br>nationale",
    footer_brand="Ministère de l'Éducation nationale",
    footer_description=(
        "ÉduConnect est un service proposé par le ministère en charge de l'Éducation nationale."
    ),
    beta_tag=False,
    mourning=False,
    notice_title="",
    notice_description="",
    operator_logo_file=None,
    operator_logo_alt="",
)


def site(request):
    return {
        "SITE_CONFIG": SITE_CONFIG,
        "ASSISTANCE_PHONE": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "ASSISTANCE_URL": settings.EDUCONNECT_ASSISTANCE_URL,
        "skiplinks": [
            {"link": "#content", "label": "Contenu"},
            {"link": "#footer", "label": "Pied de page"},
        ],
    }
