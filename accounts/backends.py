"""Sign-in by identifier, in any case, with the same cost whether the account exists or not."""

from django.contrib.auth.backends import ModelBackend

from .hashers import dummy_verify
from .models import Account


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, identifier=None, password=None, **kwargs):
        """The account whose identifier (any case, invisible characters ignored: see
        AccountManager.get_by_natural_key) and password match, and that may sign in;
        else None. One indexed lookup by identifier, and the Argon2 work of one password
        check (accounts.hashers) whether the account exists or not."""
        if identifier is None:
            identifier = kwargs.get(Account.USERNAME_FIELD)
        if identifier is None or password is None:
            return None
        try:
            account = Account.objects.get_by_natural_key(identifier)
        except Account.DoesNotExist:
            # Verify anyway, so that an unknown identifier costs what a wrong password costs
            # (one or two Argon2 computations, depending on the typed password only).
            dummy_verify(password)
            return None
        if account.check_password(password) and self.user_can_authenticate(account):
            return account
        return None
