"""The site's own pages, linked from the footer of every page (templates/base.html): what a
State site must publish (accessibility statement, legal notice, personal data, cookies, site
map) and the help pages (the FAQ of the official help document, the assistance contacts, the
help to choose a password).

Static text in templates/pages/, except where a page states a fact the product's settings
decide: the personal-data page reads the retention settings (flows, links, sessions, codes
in the outbox) and the cookies page the cookies' real names and lifetimes, so that the pages
say what the running product does, not what it did when they were written.
"""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.limits import DEVICE_COOKIE_NAME
from accounts.middleware import SIGNED_IN_MARKER_COOKIE
from accounts.password_policy import MAX_LENGTH, RULES, STRONG_LENGTH
from core.flowkinds import registered_kinds
from services_portal.page_cache import MAX_SECONDS as MY_SERVICES_KEPT_SECONDS

# The project's own audit of RGAA 4.1 (issue 13), criterion by criterion: (criterion, title,
# status, what was seen). Status: "C" conforme, "NC" non conforme, "NA" non applicable. The
# statement's rate is computed from this list (conforming criteria over applicable ones), so
# changing a status changes the published rate. How it was checked: axe-core in Chromium on
# every page listed in tests/browser/test_rgaa.py (360 px and 1280 px, error states), the
# keyboard-only browser tests of activation, sign-in, recovery and « Mon compte », and a
# reading of the templates.
AUDIT_DATE = "2026-11-30"
AUDIT: tuple[tuple[str, object, str, object], ...] = (
    ("1.1", gettext_lazy("Image porteuse d'information : alternative textuelle"), "C",
     gettext_lazy("Les logos et pictogrammes du DSFR sont des textes ou des icônes décoratives.")),
    ("1.2", gettext_lazy("Image de décoration ignorée"), "C", ""),
    ("3.2", gettext_lazy("Contraste du texte"), "C",
     gettext_lazy("Couleurs du DSFR ; vérifié par axe sur chaque page.")),
    ("3.3", gettext_lazy("Contraste des composants d'interface"), "C", ""),
    ("4.1", gettext_lazy("Média temporel : transcription ou audiodescription"), "NA",
     gettext_lazy("Aucune vidéo ni aucun son sur le site.")),
    ("5.6", gettext_lazy("Tableau de données : en-têtes identifiés"), "C",
     gettext_lazy("Espace de gestion : chaque colonne a un en-tête nommé, y compris la "
                  "première et la dernière colonne des tableaux modifiables d'une fiche.")),
    ("6.1", gettext_lazy("Lien explicite"), "C", ""),
    ("7.1", gettext_lazy("Script compatible avec les technologies d'assistance"), "C",
     gettext_lazy("Affichage du mot de passe, menu : composants du DSFR.")),
    ("7.3", gettext_lazy("Script contrôlable au clavier"), "C", ""),
    ("7.5", gettext_lazy("Messages de statut restitués"), "C",
     gettext_lazy("Erreurs en role=alert, confirmations et niveau du mot de passe en "
                  "role=status.")),
    ("8.3", gettext_lazy("Langue par défaut"), "C", ""),
    ("8.5", gettext_lazy("Titre de page"), "C", ""),
    ("8.6", gettext_lazy("Titre de page pertinent"), "C",
     gettext_lazy("Le titre commence par « Erreur » quand le formulaire est refusé.")),
    ("9.1", gettext_lazy("Titres hiérarchisés"), "C", ""),
    ("9.3", gettext_lazy("Listes structurées"), "C", ""),
    ("10.7", gettext_lazy("Focus visible"), "C", ""),
    ("10.11", gettext_lazy("Contenu lisible sans défilement horizontal à 320 px"), "C",
     gettext_lazy("Espace de gestion : un tableau large défile dans sa propre zone, nommée et "
                  "atteignable au clavier ; la page elle-même ne défile pas horizontalement.")),
    ("11.1", gettext_lazy("Champ de formulaire étiqueté"), "C",
     gettext_lazy("Espace de gestion : les listes de choix avec recherche (autocomplétion) "
                  "portent le nom de leur champ.")),
    ("11.2", gettext_lazy("Étiquette pertinente"), "C", ""),
    ("11.5", gettext_lazy("Champs de même nature regroupés"), "C",
     gettext_lazy("Jour, mois et année d'une date de naissance dans un groupe.")),
    ("11.10", gettext_lazy("Contrôle de saisie pertinent"), "C",
     gettext_lazy("Chaque erreur est liée à son champ ; le focus va au récapitulatif des "
                  "erreurs.")),
    ("11.11", gettext_lazy("Suggestion de correction"), "C", ""),
    ("11.13", gettext_lazy("Finalité d'un champ (autocomplete)"), "C", ""),
    ("12.6", gettext_lazy("Zones de regroupement (en-tête, contenu, pied de page)"), "C", ""),
    ("12.7", gettext_lazy("Lien d'évitement vers le contenu"), "C", ""),
    ("12.8", gettext_lazy("Ordre de tabulation cohérent"), "C", ""),
    ("13.1", gettext_lazy("Limite de temps contrôlable"), "C",
     gettext_lazy("La session et les démarches en cours préviennent deux minutes avant "
                  "d'expirer et peuvent être prolongées ; la page du code de sécurité reçu "
                  "par SMS prévient deux minutes avant que le code expire et propose d'en "
                  "recevoir un nouveau, puis indique qu'il a expiré, avec la même "
                  "proposition.")),
    ("13.2", gettext_lazy("Ouverture de nouvelle fenêtre signalée"), "C", ""),
    ("13.3", gettext_lazy("Document bureautique accessible"), "NA", ""),
    ("13.8", gettext_lazy("Contenu en mouvement contrôlable"), "NA", ""),
)


def audit_rate() -> int:
    """Conforming criteria over applicable ones, in percent (rounded down)."""
    applicable = [row for row in AUDIT if row[2] != "NA"]
    conforming = [row for row in applicable if row[2] == "C"]
    return len(conforming) * 100 // len(applicable)


def _page(request, template: str, title: str, **context):
    return render(request, f"pages/{template}.html", {"page_title": title, **context})


def _days(seconds: int) -> int:
    return max(1, round(seconds / 86400))


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


@require_GET
def accessibility(request):
    """« Déclaration d'accessibilité » (RGAA 4.1; the model statement of the DINUM)."""
    rows = [{"criterion": c, "title": t, "status": st, "note": n} for c, t, st, n in AUDIT]
    return _page(
        request, "accessibility", _("Déclaration d'accessibilité"),
        rate=audit_rate(), audit_date=AUDIT_DATE,
        non_conformities=[row for row in rows if row["status"] == "NC"],
        rows=rows,
    )


@require_GET
def legal_notice(request):
    return _page(request, "legal_notice", _("Mentions légales"))


@require_GET
def personal_data(request):
    """What is kept, why and how long, read from the settings that decide it. Shapes:
    `flows` is [{"label", "retention_days"}] per registered flow kind, the others ints in the
    unit their name says."""
    flows = sorted(
        ({"label": kind.label, "retention_days": kind.retention_days}
         for kind in registered_kinds()),
        key=lambda each: str(each["label"]),
    )
    return _page(
        request, "personal_data", _("Données personnelles"),
        flows=flows,
        link_token_retention_days=settings.LINK_TOKEN_RETENTION_DAYS,
        session_idle_minutes=_minutes(settings.SESSION_COOKIE_AGE),
        session_absolute_hours=max(1, round(settings.SESSION_ABSOLUTE_SECONDS / 3600)),
        device_cookie_days=_days(settings.LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS),
        secret_max_age_minutes=_minutes(settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS),
        my_services_kept_minutes=_minutes(MY_SERVICES_KEPT_SECONDS),
        letters_file_hours=max(1, round(settings.LETTERS_FILE_TTL_SECONDS / 3600)),
    )


@require_GET
def cookies(request):
    """The cookies the portal sets: all strictly necessary, none for audience or
    advertising, so no consent banner (CNIL, deliberation 2020-091, art. 82 of the loi
    Informatique et Libertés)."""
    return _page(
        request, "cookies", _("Gestion des cookies"),
        session_cookie=settings.SESSION_COOKIE_NAME,
        session_idle_minutes=_minutes(settings.SESSION_COOKIE_AGE),
        csrf_cookie=settings.CSRF_COOKIE_NAME,
        csrf_cookie_days=_days(settings.CSRF_COOKIE_AGE),
        device_cookie=DEVICE_COOKIE_NAME,
        device_cookie_days=_days(settings.LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS),
        signed_in_cookie=SIGNED_IN_MARKER_COOKIE,
        signed_in_cookie_hours=max(1, round(settings.SESSION_ABSOLUTE_SECONDS / 3600)),
    )


@require_GET
def site_map(request):
    return _page(request, "site_map", _("Plan du site"))


@require_GET
def help_page(request):
    """The FAQ of the official help document (« Assistance EDUCONNECT ») and the contacts."""
    return _page(request, "help", _("Aide et assistance"))


@require_GET
def password_help(request):
    """« Aide à la création de mot de passe sécurisé », linked next to every new password."""
    return _page(request, "password_help", _("Aide à la création de mot de passe sécurisé"),
                 rules=[rule.label for rule in RULES], strong_length=STRONG_LENGTH,
                 max_length=MAX_LENGTH)
