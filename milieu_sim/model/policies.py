"""Unit policies: named presets of the policy levers, policy files, and policy hooks.

A policy is a set of overrides of the parameter schema (:mod:`milieu_sim.model.params`)
plus, optionally, Python hooks for behaviour that parameters cannot express.
Presets change only parameters of the schema, so every value a preset uses is
checked against the schema's ranges when this module is imported.

A policy file is TOML::

    name = "my_unit"              # optional; defaults to the file name
    base = "therapeutic_milieu"   # optional preset to start from
    description = "..."           # optional
    [parameters]
    punishment_rate = 0.1

A :class:`Policy` subclass can override :meth:`Policy.before_hour`,
:meth:`Policy.after_hour` and :meth:`Policy.on_admission` to act on the model.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from milieu_sim.errors import MilieuInputError, PolicyError
from milieu_sim.model.params import SCHEMA, check_values, suggest

if TYPE_CHECKING:
    from milieu_sim.model.agents import Client
    from milieu_sim.model.model import MilieuModel
    from milieu_sim.model.schedule import Phase

#: The Safewards trial's interventions that are levers of the schema (Bowers et al. 2015); the tenth, talk
#: down, is the staff's de-escalation skill.
SAFEWARDS_INTERVENTIONS: tuple[str, ...] = (
    "clear_mutual_expectations",
    "soft_words",
    "positive_words",
    "bad_news_mitigation",
    "know_each_other",
    "mutual_help_meeting",
    "calm_down_methods",
    "reassurance",
    "discharge_messages",
)
#: Fidelity of each intervention in the safewards preset: an assumption.  The trial's implementation was
#: partial (Bowers et al. 2015 measured fidelity and uptake short of full on the intervention wards).
SAFEWARDS_FIDELITY = 0.7

# Each preset is described in docs/ODD.md ("Policies").  usual_care is the schema's defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "usual_care": {},
    "therapeutic_milieu": {
        "structure": 0.85,
        "reinforcement_rate": 0.5,
        "token_rewards": 0.0,
        "punishment_rate": 0.05,
        "limit_setting_rate": 0.2,
        "request_denial_rate": 0.1,
        "peer_feedback": True,
        "staff_feedback_rate": 0.3,
        "de_escalation_skill": 0.75,
        "de_escalation_first": 0.95,
        "isolation_threshold": 5,
        "prn_threshold": 0.85,
        "custodial_care": 0.1,
        "autonomy_support": 0.8,
        "senior_induction": True,
        "staff_model_quality": 0.85,
        "staff_engagement": 0.85,
    },
    "restrictive": {
        "structure": 0.7,
        "reinforcement_rate": 0.1,
        "punishment_rate": 0.6,
        "limit_setting_rate": 0.7,
        "request_denial_rate": 0.6,
        "staff_feedback_rate": 0.1,
        "de_escalation_skill": 0.35,
        "de_escalation_first": 0.4,
        "isolation_threshold": 3,
        "prn_threshold": 0.55,
        "custodial_care": 0.5,
        "autonomy_support": 0.1,
        "staff_model_quality": 0.6,
        "staff_engagement": 0.35,
    },
    "custodial": {
        "structure": 0.3,
        "reinforcement_rate": 0.05,
        "punishment_rate": 0.2,
        "limit_setting_rate": 0.3,
        "request_denial_rate": 0.4,
        "staff_feedback_rate": 0.05,
        "de_escalation_skill": 0.45,
        "de_escalation_first": 0.6,
        "prn_threshold": 0.6,
        "custodial_care": 0.9,
        "autonomy_support": 0.05,
        "staff_model_quality": 0.55,
        "staff_engagement": 0.35,
    },
    "token_economy": {
        "structure": 0.8,
        "reinforcement_rate": 0.6,
        "token_rewards": 0.9,
        "punishment_rate": 0.15,
        "limit_setting_rate": 0.35,
        "request_denial_rate": 0.25,
        "staff_feedback_rate": 0.2,
        "de_escalation_skill": 0.55,
        "de_escalation_first": 0.75,
        "custodial_care": 0.3,
        "autonomy_support": 0.3,
    },
    # usual care plus the ten interventions of the Safewards trial (Bowers et al. 2015), each at fidelity
    # SAFEWARDS_FIDELITY; talk down is training in de-escalation: the staff's mean skill moves that share of
    # the way from usual care's 0.5 to the therapeutic milieu's trained 0.75; the interventions (reassurance,
    # know each other, bad news mitigation) put staff among the patients: staff_engagement moves the same share
    # of the way from usual care's 0.5 to the therapeutic milieu's 0.85 (about 0.7).  Separate from
    # therapeutic_milieu: no other lever moves.
    "safewards": {
        **dict.fromkeys(SAFEWARDS_INTERVENTIONS, SAFEWARDS_FIDELITY),
        "de_escalation_skill": 0.5 + SAFEWARDS_FIDELITY * (0.75 - 0.5),
    },
}

for _name, _values in PRESETS.items():  # presets must obey the schema like any user input
    check_values(_values, where=f"policy preset '{_name}': ")

POLICY_LEVERS: tuple[str, ...] = tuple(p.name for p in SCHEMA.values() if p.group == "policy")


@dataclass
class Policy:
    """A unit policy: parameter overrides plus optional hooks.

    Subclass and override the hooks for behaviour that parameters cannot
    express; pass the instance as ``MilieuModel(policy=...)``.  ``phases`` are
    phases of the policy's own (:class:`milieu_sim.model.schedule.Phase` records
    with ``after`` or ``before``) that join the hour's schedule while the policy
    is in force (see docs/architecture.md).
    """

    name: str = "usual_care"
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    #: Phases of the policy's own; a subclass sets them as a class attribute.
    phases: ClassVar[tuple[Phase, ...]] = ()

    def __post_init__(self) -> None:
        self.parameters = check_values(self.parameters, where=f"policy '{self.name}': ")
        if "policy" in self.parameters or "setting" in self.parameters:
            raise PolicyError(f"policy '{self.name}': a policy cannot set 'policy' or 'setting'")

    # --- hooks ---------------------------------------------------------------
    def before_hour(self, model: MilieuModel) -> None:
        """Called at the start of every hour, before any process runs."""

    def after_hour(self, model: MilieuModel) -> None:
        """Called at the end of every hour, after the hour's records are taken."""

    def on_admission(self, model: MilieuModel, client: Client) -> None:
        """Called when a client is admitted (after their state is set)."""

    @property
    def quiet(self) -> bool:
        """Whether the hourly hooks do nothing (neither is overridden, on the class or the instance): the model may
        then run hours with no Python in them as one compiled call (:mod:`milieu_sim.model.hours`)."""
        return all(
            getattr(type(self), hook) is getattr(Policy, hook) and hook not in vars(self)
            for hook in ("before_hour", "after_hour")
        )


def preset(name: str) -> Policy:
    """The named preset as a :class:`Policy`."""
    if name not in PRESETS:
        raise PolicyError(
            f"parameter 'policy' = {name!r} is not a preset or a .toml file{suggest(name, PRESETS)}; "
            f"allowed: one of {', '.join(PRESETS)}, or the path of a policy .toml file"
        )
    return Policy(name=name, parameters=dict(PRESETS[name]))


def load_policy_file(path: str | Path) -> Policy:
    """Read a policy TOML file (a preset plus overrides)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"parameter 'policy' = '{path}': no such policy file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file '{path}': not valid TOML: {exc}") from None
    known = {"name", "base", "description", "parameters"}
    for key in data:
        if key not in known:
            raise PolicyError(
                f"policy file '{path}': unknown key '{key}'{suggest(key, known)}; allowed: {', '.join(sorted(known))}"
            )
    base = data.get("base", "usual_care")
    if not isinstance(base, str) or base not in PRESETS:
        raise PolicyError(
            f"policy file '{path}': key 'base' = {base!r} is not a preset{suggest(str(base), PRESETS)}; "
            f"allowed: one of {', '.join(PRESETS)}"
        )
    overrides = data.get("parameters", {})
    if not isinstance(overrides, dict):
        raise PolicyError(f"policy file '{path}': [parameters] must be a table of name = value")
    values = dict(PRESETS[base])
    try:
        values.update(check_values(overrides, where=f"policy file '{path}': "))
    except MilieuInputError as exc:
        raise PolicyError(str(exc)) from None
    return Policy(
        name=str(data.get("name", path.stem)),
        parameters=values,
        description=str(data.get("description", "")),
    )


def resolve_policy(policy: str | Policy | Path) -> Policy:
    """A Policy from a preset name, a TOML path or a Policy object."""
    if isinstance(policy, Policy):
        return policy
    text = str(policy)
    if text.endswith(".toml") or isinstance(policy, Path):
        return load_policy_file(text)
    return preset(text)


def presets_table():
    """Each preset's lever values side by side (rows: levers, columns: presets)."""
    import pandas as pd

    columns = {}
    for name in PRESETS:
        values = {lever: SCHEMA[lever].default for lever in POLICY_LEVERS}
        values.update(PRESETS[name])
        columns[name] = values
    return pd.DataFrame(columns).rename_axis("lever")
