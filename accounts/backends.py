"""Sign-in by identifier, in any case, with the same cost whether the account exists or not."""

from django.contrib.auth.backends import ModelBackend

from .models import Account


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, identifier=None, password=None, **kwargs):
        if identifier is None:
            identifier = kwargs.get(Account.USERNAME_FIELD)
        if identifier is None or password is None:
            return None
        try:
            account = Account.objects.get_by_natural_key(identifier)
        except Account.DoesNotExist:
            # Hash anyway, so that an unknown identifier costs what a wrong password costs.
            Account().set_password(password)
            return None
        if account.check_password(password) and self.user_can_authenticate(account):
            return account
        return None
