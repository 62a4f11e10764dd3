"""What a kind of flow is: its stages, in order, and its lifetimes. Declarations only.

A business app declares each of its multi-step paths once, as a list of stages a newcomer can
read top to bottom (see activation/flows.py and docs/flows.md):

    SMS_ACTIVATION = register(FlowKind(
        name="sms_activation", label=_("Auto-inscription par SMS"),
        title=_("Activation du compte"), home_url_name="activation:flow",
        stages=(Stage("identity", "activation:start", _("Je confirme mon identité")),
                Stage("code", "activation:code", _("Je saisis le code de sécurité")), …),
        idle_setting="ACTIVATION_FLOW_IDLE_SECONDS", …))

The idea comes from django-allauth's login stages (an ordered list of named stages, each
with its own URL) and from les-emplois' WizardView `steps_config` (step name → URL name, the
flow's kind checked on every request). The running flows themselves are rows of
core.models.Flow; the engine that moves them is core.flows.

This module imports no model, so that core.models can read labels from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext


@dataclass(frozen=True)
class Stage:
    """One step of a flow: its name (stored on the row), the URL name of its page, and the
    French label shown in the DSFR stepper and the page title.

    `finished_elsewhere`: the notice shown when this step is posted from a page left open
    after the flow was completed elsewhere (another tab, Back), instead of the general one
    (core.flows.finished_elsewhere_message). A step that takes a password declares it: the
    password typed in that page was not saved, the one chosen elsewhere is the account's,
    and the person reads how to sign in or change it. Empty: the general notice."""

    name: str
    url_name: str
    label: str
    finished_elsewhere: str = ""


@dataclass(frozen=True)
class FlowKind:
    """A kind of flow. Lifetimes and retention are read from settings at each use (seconds,
    seconds, days), so that a test or an operator's change applies at once.

    - `home_url_name`: the flow's own page (takes `flow_id`), where every URL sends a flow
      that is not open at that URL's stage; it shows the ended and expired states.
    - `not_found_template`: the page an unknown id, another browser's flow or an ended
      session gets, with status 404 (one answer for all three).
    """

    name: str
    label: str
    title: str
    stages: tuple[Stage, ...]
    home_url_name: str
    idle_setting: str
    max_age_setting: str
    retention_setting: str
    not_found_template: str

    def __post_init__(self):
        names = [stage.name for stage in self.stages]
        if not names or len(set(names)) != len(names) or not all(names):
            raise ValueError(f"Flow kind {self.name!r}: stage names must be unique and given")
        if len(self.name) > 40 or any(len(name) > 40 for name in names):
            raise ValueError(f"Flow kind {self.name!r}: names are at most 40 characters")

    # --- Stages --------------------------------------------------------------------------

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ValueError(f"Flow kind {self.name!r} has no stage {name!r}")

    def position(self, name: str) -> int:
        """1-based rank of the stage: « Étape 2 sur 5 »."""
        return [stage.name for stage in self.stages].index(self.stage(name).name) + 1

    @property
    def total(self) -> int:
        return len(self.stages)

    def next_stage(self, name: str) -> Stage | None:
        position = self.position(name)
        return self.stages[position] if position < self.total else None

    def stepper(self, name: str) -> dict:
        """The arguments of django-dsfr's {% dsfr_stepper %} for this stage."""
        following = self.next_stage(name)
        return {
            "step": self.position(name),
            "step_title": self.stage(name).label,
            "next_step_title": following.label if following else "",
            "total_steps": self.total,
        }

    def page_title(self, name: str, *, error: bool = False) -> str:
        """« Étape 2 sur 5 : Je saisis le code de sécurité — Activation du compte », prefixed
        with « Erreur : » when the page shows errors (RGAA 8.6: the title says so)."""
        title = gettext("Étape %(position)s sur %(total)s : %(label)s — %(title)s") % {
            "position": self.position(name), "total": self.total,
            "label": self.stage(name).label, "title": self.title,
        }
        return gettext("Erreur : %(title)s") % {"title": title} if error else title

    # --- Lifetimes -----------------------------------------------------------------------

    @property
    def idle_seconds(self) -> int:
        return int(getattr(settings, self.idle_setting))

    @property
    def max_age_seconds(self) -> int:
        return int(getattr(settings, self.max_age_setting))

    @property
    def retention_days(self) -> int:
        return int(getattr(settings, self.retention_setting))


_KINDS: dict[str, FlowKind] = {}


def register(kind: FlowKind) -> FlowKind:
    """Make `kind` known to the engine (labels, purge); returns it, for a module constant.
    Registering the same name twice with a different declaration is a programming error."""
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"Another flow kind is already registered as {kind.name!r}")
    _KINDS[kind.name] = kind
    return kind


def kind_named(name: str) -> FlowKind | None:
    return _KINDS.get(name)


def registered_kinds() -> list[FlowKind]:
    return list(_KINDS.values())
