"""The form of « Dissocier FranceConnect » in « Mon compte »."""

from accounts.my_account.forms import CurrentPasswordForm


class UnlinkForm(CurrentPasswordForm):
    """The account's password, when it has one (an account born from FranceConnect may
    have none yet: nothing to type then)."""

    def __init__(self, *args, needs_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_password:
            del self.fields["password"]
