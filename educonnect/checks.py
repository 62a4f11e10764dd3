"""Deployment checks: `manage.py check --deploy` fails on settings unfit for production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_not_the_demo_one(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        return [
            Error(
                "DJANGO_SECRET_KEY is the embedded demo key.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="educonnect.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def shared_counters_in_production(app_configs, **kwargs):
    if not settings.REDIS_URL:
        return [
            Error(
                "REDIS_URL is not set: attempt counters and sessions would not be shared "
                "between web nodes.",
                hint="Set REDIS_URL to the production Redis.",
                id="educonnect.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def shared_rate_limits_in_production(app_configs, **kwargs):
    """Rate-limit windows kept in one process's memory would multiply every limit by the
    number of web processes, and reset at each restart."""
    if settings.RATELIMIT_STORAGE_URL.startswith(("memory://", "memory:")):
        return [
            Error(
                "RATELIMIT_STORAGE_URL keeps the rate limits in each process's memory: they "
                "would not be shared between web processes.",
                hint="Leave RATELIMIT_STORAGE_URL empty to use REDIS_URL, or set it to a "
                "redis:// URL.",
                id="educonnect.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def saml_idp_keys_in_production(app_configs, **kwargs):
    """The development key pair of the SAML IdP is generated on the machine: services would
    trust a key nobody manages."""
    if not (settings.SAML_IDP_KEY and settings.SAML_IDP_CERT):
        return [
            Error(
                "SAML_IDP_KEY and SAML_IDP_CERT are not set: the SAML IdP signs with a "
                "development key pair.",
                hint="Set SAML_IDP_KEY and SAML_IDP_CERT to the IdP's PEM files (or PEM text).",
                id="educonnect.E010",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def oidc_provider_keys_in_production(app_configs, **kwargs):
    """The OpenID Connect provider signs with a key of the environment, derives pairwise
    identifiers from a secret of its own, and names one issuer (docs/oidc.md)."""
    errors = []
    if settings.OIDC_SIGNING_KEY_IS_DEVELOPMENT:
        errors.append(Error(
            "OIDC_RSA_PRIVATE_KEY is not set: ID tokens are signed with the development key "
            "made in var/.",
            hint="Set OIDC_RSA_PRIVATE_KEY to an RSA private key (PEM text or file path), the "
            "same on every web node.",
            id="educonnect.E013",
        ))
    if settings.OIDC_PAIRWISE_SECRET == settings.INSECURE_DEFAULT_OIDC_PAIRWISE_SECRET:
        errors.append(Error(
            "OIDC_PAIRWISE_SECRET is the embedded demo value.",
            hint="Set OIDC_PAIRWISE_SECRET to a long random value, and never change it.",
            id="educonnect.E014",
        ))
    if not settings.OIDC_ISSUER:
        errors.append(Error(
            "OIDC_ISSUER is not set: the issuer would be read from each request's host.",
            hint="Set OIDC_ISSUER to the portal's public URL (https://…, no trailing slash).",
            id="educonnect.E015",
        ))
    return errors


@register(Tags.security, deploy=True)
def totp_seed_key_in_production(app_configs, **kwargs):
    """Staff TOTP seeds are encrypted with a key of the environment, not one derived from
    the signing key (backoffice/totp_keys.py)."""
    if not settings.OTP_TOTP_ENCRYPTION_KEY:
        return [Error(
            "OTP_TOTP_ENCRYPTION_KEY is not set: staff TOTP seeds are encrypted with a key "
            "derived from DJANGO_SECRET_KEY.",
            hint="Set OTP_TOTP_ENCRYPTION_KEY to a long random value, the same on every node.",
            id="educonnect.E016",
        )]
    if len(settings.OTP_TOTP_ENCRYPTION_KEY) < 32:
        return [Error("OTP_TOTP_ENCRYPTION_KEY is shorter than 32 characters.",
                      hint="Use a long random value (e.g. 43 characters of base64).",
                      id="educonnect.E017")]
    return []
