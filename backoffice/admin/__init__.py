"""Admin classes of every business model, registered on the back-office site.

The business apps hold no admin module: their models are administered from here, through the
scoping mixins of backoffice.scoping, and their rules are enforced in their own services.
"""

from . import (  # noqa: F401  (registers the admins)
    accounts,
    flows,
    notifications,
    oidc,
    pupils,
    services,
)
