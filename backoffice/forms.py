"""Forms of the back-office's own pages (sign-in, helpdesk). Admin forms are in the admin.py
modules."""

import re

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.password_policy import STAFF_HELP_TEXT
from backoffice import services
from backoffice.selectors import QUERY_MAX_LENGTH
from core.forms import BidiControlValidator, EduConnectForm

# Staff forms fill in other people's data or one-time codes: browsers must not autofill.
NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}


class PasswordStepForm(EduConnectForm):
    identifier = forms.CharField(
        label=_("Identifiant"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
                   "autofocus": True}
        ),
        error_messages={"required": _("Saisissez votre identifiant.")},
    )
    # Rendered by components/password_field.html (DSFR's password component).
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(
            attrs={"class": "fr-password__input fr-input", "autocomplete": "current-password"}
        ),
        error_messages={"required": _("Saisissez votre mot de passe.")},
    )


class CodeStepForm(EduConnectForm):
    code = forms.CharField(
        label=_("Code à 6 chiffres"),
        help_text=_("Le code affiché en ce moment par votre application d'authentification."),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                   "size": 8}
        ),
        error_messages={
            "required": _(
                "Saisissez le code à 6 chiffres affiché par votre application d'authentification."
            ),
        },
    )

    def clean_code(self):
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError(
                _("Le code comporte 6 chiffres, par exemple 123456."), code="format"
            )
        return code


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher un compte"),
        max_length=QUERY_MAX_LENGTH,
        help_text=_(
            "Un seul critère : identifiant (p.nom12), nom de famille ou une partie du nom "
            "(suivi ou précédé du prénom si besoin), numéro de téléphone portable, adresse "
            "mail, INE de l'élève ou UAI de l'établissement. Un nom trouve les responsables "
            "et aussi les élèves de ce nom, avec leurs responsables : utile quand le parent "
            "ne porte pas le nom de son enfant. Les majuscules, les accents et les espaces "
            "sont ignorés."
        ),
        widget=forms.TextInput(attrs={**NO_AUTOFILL, "type": "search", "size": 40}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif"),
        min_length=5,
        max_length=500,
        validators=[BidiControlValidator(_("Motif"))],
        help_text=_("Obligatoire. Il est conservé au journal du compte avec votre identifiant."),
        widget=forms.Textarea(attrs={**NO_AUTOFILL, "rows": 2, "cols": 60}),
        error_messages={
            "required": _(
                "Motif : saisissez la raison de cette action (par exemple « appel du parent, "
                "identité vérifiée »)."
            ),
            "min_length": _("Motif : saisissez au moins 5 caractères."),
            "max_length": _("Motif : saisissez au plus 500 caractères."),
        },
    )

    def clean_reason(self):
        return " ".join(self.cleaned_data["reason"].split())


class StaffPasswordChangeForm(PasswordChangeForm):
    """« Modifier le mot de passe » of the back-office (/gestion/password_change/): the staff
    policy (accounts.password_policy), and the change goes through
    backoffice.services.staff_password_change (journaled)."""

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.fields["new_password1"].help_text = STAFF_HELP_TEXT
        for name in ("old_password", "new_password1", "new_password2"):
            self.fields[name].error_messages["required"] = {
                "old_password": _("Ancien mot de passe : saisissez votre mot de passe actuel."),
                "new_password1": _("Nouveau mot de passe : saisissez-le."),
                "new_password2": _("Confirmation : saisissez une deuxième fois le nouveau mot "
                                   "de passe."),
            }[name]

    def clean(self):
        """The staff policy (backoffice.services.staff_password_validate: every failing rule
        at once), then « déjà celui de votre compte » (the current password again, refused as
        for families) on « Nouveau mot de passe », the mismatch on « Confirmation ». Not Django's
        SetPasswordForm.clean, which ties the policy's errors to the confirmation
        (`new_password2`): the input, its aria-describedby and the errors would then name the
        wrong field. Returns cleaned_data."""
        self.validate_passwords("new_password1", "new_password2")
        password = self.cleaned_data.get("new_password1")
        if password:
            try:
                services.staff_password_validate(password, account=self.user)
                services.staff_password_not_current_validate(password, account=self.user)
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return self.cleaned_data

    def save(self, commit=True):
        account = services.staff_password_change(
            account=self.user, password=self.cleaned_data["new_password1"], request=self.request
        )
        # The session keeps a hash of the new password (update_session_auth_hash).
        self.user.password = account.password
        return self.user


class CloseForm(ReasonForm):
    """Closing an account cannot be undone: the agent confirms it (issue 16 §5)."""

    confirm = forms.BooleanField(
        label=_("Je confirme la fermeture de ce compte : elle ne s'annule pas."),
        error_messages={"required": _(
            "Confirmation : cochez la case pour confirmer la fermeture du compte.")},
    )


class ReleaseForm(CloseForm):
    """« Fermer le compte » of an account that also covers another academy's records: only
    the agent's academy's records are released (backoffice.services.account_close), which
    cannot be undone either; the agent confirms that."""

    confirm = forms.BooleanField(
        label=_("Je confirme la libération des fiches de mon académie : elle ne s'annule pas."),
        error_messages={"required": _(
            "Confirmation : cochez la case pour confirmer la libération des fiches.")},
    )
