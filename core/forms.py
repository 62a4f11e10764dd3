"""The base of every form of the site: django-dsfr's, plus the links RGAA asks for.

Forms subclass `EduConnectForm` (django-dsfr's `DsfrBaseForm`) and render each field with
`{{ form.field.as_field_group }}`, through django-dsfr's field snippets. FORM_RENDERER is
Django's `TemplatesSetting`: form templates are found like every other template, so the
project's `templates/dsfr/form_field_snippets/` replaces django-dsfr's snippets of the same
name. Ours give the hint and the messages the ids Django's `aria-describedby` points at
(`<id>_helptext`, `<id>_error`); django-dsfr's point it at the error only, and drop the hint.

A non-field error can be about what was typed in every field (« Identifiant ou mot de passe
incorrect. »): a form says so in `non_field_errors_concern_fields()`, and each of its inputs
is then marked invalid and described by the error summary's message (see
templates/components/error_summary.html, which carries NON_FIELD_ERRORS_ID).
"""

from dsfr.forms import DsfrBaseForm, DsfrBoundField

# Ids of the error summary and of its element holding the non-field errors.
ERROR_SUMMARY_ID = "error-summary"
NON_FIELD_ERRORS_ID = "error-summary-message"


class EduConnectBoundField(DsfrBoundField):
    @property
    def group_class(self) -> str:
        """The DSFR class of the field's wrapper (django-dsfr sets it on some widgets)."""
        return getattr(self.field.widget, "group_class", "fr-input-group")

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if not self.is_hidden and self.form.non_field_errors_concern_fields():
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(
                filter(None, [NON_FIELD_ERRORS_ID, attrs.get("aria-describedby")])
            )
        return attrs


class EduConnectForm(DsfrBaseForm):
    bound_field_class = EduConnectBoundField

    def non_field_errors_concern_fields(self) -> bool:
        """Whether the non-field errors are about the values of the fields (so each input is
        invalid and described by them); a form whose refusal is about something else (too
        many attempts) leaves the inputs alone."""
        return False
