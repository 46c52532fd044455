"""The app's sidebar controls, generated from the parameter schema, and the wards built from them.

The sidebar's model controls come from :data:`milieu_sim.model.params.SCHEMA`
(:func:`model_params`); they take effect on *Reset*, as in every Mesa app.  A
control left at its schema default does not override the setting or the policy
preset (which usually set their own values); :func:`levers_table` lists the
values in force.  The mid-run switch is a :class:`ScheduledSwitch` policy hook:
it runs the starting preset until the chosen day, then calls ``model.set_policy``.
:class:`AppWard` is the model built from the controls; :class:`Comparison` is two of
them with the same seed under two policies (the page of two wards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from milieu_sim.analysis.story import StateTrace, trace_model
from milieu_sim.errors import ParameterError
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.params import SCHEMA, SETTING_NAMES, setting_defaults
from milieu_sim.model.policies import POLICY_LEVERS, PRESETS, Policy, resolve_policy

# --- the controls, generated from the schema ----------------------------------------------------------
WARD_CONTROLS = ("setting", "policy", "staff_early", "staff_late", "staff_night")
LEVER_CONTROLS = (
    "reinforcement_rate",
    "punishment_rate",
    "peer_feedback",
    "de_escalation_skill",
    "isolation_threshold",
)
CONTROLS = WARD_CONTROLS + LEVER_CONTROLS
POLICY_DECIDES = "as the setting and policy set it"
BOOL_CHOICES = {POLICY_DECIDES: None, "on": True, "off": False}
SLIDER_STEPS = 100  # float sliders move in 1/100 of the schema range
SLIDER_WIDE = 50  # integer ranges wider than this get a teaching range (see _int_range)
SLIDER_SPAN = 4  # ... from the schema minimum to SLIDER_SPAN x the largest setting default
DEFAULT_SEED = 0
NO_SWITCH = "no switch"
SWITCH_DAY = 30  # the teaching example: restrictive -> therapeutic milieu on day 30
WARM_START_DAYS = 112  # the app opens on a ward that has run sixteen weeks (its start-up has died out)
WARM_START_MAX = 364


def _label(name: str) -> str:
    """A control's label: the parameter's name in words, with its unit (the meaning is shown under the clock)."""
    param = SCHEMA[name]
    unit = f" ({param.unit})" if param.unit and param.unit not in ("0-1", "probability") else ""
    return f"{name.replace('_', ' ').capitalize()}{unit}"


def _int_range(name: str) -> tuple[int, int]:
    """Slider range of an integer parameter: the schema's, narrowed for very wide ranges.

    A slider from 1 to 1000 staff cannot be used in class; wide ranges end at
    ``SLIDER_SPAN`` times the largest default among the settings (the CLI and
    config files still accept the whole schema range).
    """
    param = SCHEMA[name]
    low, high = int(param.low), int(param.high)
    if high - low <= SLIDER_WIDE:
        return low, high
    largest = max(int(setting_defaults(s)[name]) for s in SETTING_NAMES)
    return low, min(high, max(low + 1, SLIDER_SPAN * largest))


def user_param(name: str) -> dict[str, Any]:
    """The Mesa user-parameter dict of one schema parameter (default, range and label from SCHEMA)."""
    param = SCHEMA[name]
    label = _label(name)
    if name == "policy":  # a preset name or a file path in the schema; the app offers the presets
        return {"type": "Select", "value": param.default, "values": list(PRESETS), "label": label}
    if param.choices is not None:
        return {"type": "Select", "value": param.default, "values": list(param.choices), "label": label}
    if param.kind is bool:
        return {"type": "Select", "value": POLICY_DECIDES, "values": list(BOOL_CHOICES), "label": label}
    if param.kind is int:
        low, high = _int_range(name)
        return {"type": "SliderInt", "value": param.default, "min": low, "max": high, "step": 1, "label": label}
    if param.kind is float:
        step = (param.high - param.low) / SLIDER_STEPS
        return {
            "type": "SliderFloat",
            "value": param.default,
            "min": param.low,
            "max": param.high,
            "step": step,
            "label": label,
        }
    raise TypeError(f"no control for parameter {name!r} of kind {param.kind.__name__}")


def model_params() -> dict[str, Any]:
    """The sidebar's model controls: the schema parameters in CONTROLS, the seed and the scheduled switch."""
    params: dict[str, Any] = {
        "seed": {"type": "InputText", "value": str(DEFAULT_SEED), "label": "Seed (same seed = same clients arriving)"},
    }
    params.update({name: user_param(name) for name in CONTROLS})
    params["warm_start_days"] = {
        "type": "SliderInt",
        "value": WARM_START_DAYS,
        "min": 0,
        "max": WARM_START_MAX,
        "step": 7,
        "label": "Warm start (days run before the clock)",
    }
    last_day = max(int(setting_defaults(s)["days"]) for s in SETTING_NAMES)
    params["switch_to"] = {
        "type": "Select",
        "value": NO_SWITCH,
        "values": [NO_SWITCH, *PRESETS],
        "label": "Teaching scenario: switch to this policy mid-run",
    }
    params["switch_day"] = {
        "type": "SliderInt",
        "value": SWITCH_DAY,
        "min": 1,
        "max": last_day,
        "step": 1,
        "label": "... on this day",
    }
    return params


# --- the model as the app runs it ------------------------------------------------------------------
@dataclass
class ScheduledSwitch(Policy):
    """A policy hook: run this preset until ``switch_day``, then switch the unit to ``switch_to``."""

    switch_to: str = "therapeutic_milieu"
    switch_day: int = SWITCH_DAY

    def before_hour(self, model: MilieuModel) -> None:
        if model.hour.day >= self.switch_day:
            model.set_policy(self.switch_to)


def parse_seed(raw: Any) -> int:
    """The seed typed into the app, as a non-negative integer (one-line error otherwise)."""
    text = str(raw).strip()
    if not text.isdigit():
        raise ParameterError(f"parameter 'seed' = {raw!r} is not allowed; allowed: a non-negative integer")
    return int(text)


def overrides(controls: dict[str, Any]) -> dict[str, Any]:
    """The control values that override the setting and policy (those moved away from the schema default)."""
    chosen = {}
    for name, value in controls.items():
        param = SCHEMA[name]
        if param.kind is bool:
            value = BOOL_CHOICES.get(value, value)
            if value is None:
                continue
        elif value == param.default:
            continue
        chosen[name] = param.check(value)
    return chosen


def preset_name(name: Any, parameter: str = "policy") -> str:
    """A policy preset's name; anything else (a file path, say) is refused: the app opens no files."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ParameterError(
            f"parameter '{parameter}' = {name!r} is not allowed; allowed: one of {', '.join(PRESETS)} "
            "(the app opens no files)"
        )
    return name


class AppWard(MilieuModel):
    """MilieuModel built from the app's controls, remembering when its policy changed.

    It also keeps every present client's state hour by hour (``trace``, a
    :class:`~milieu_sim.analysis.story.StateTrace`), which the page of one client's
    stay draws; the saved tables keep states only at admission and exit.
    """

    def __init__(
        self,
        setting: str = SCHEMA["setting"].default,
        policy: str | Policy = SCHEMA["policy"].default,
        seed: Any = DEFAULT_SEED,
        switch_to: str = NO_SWITCH,
        switch_day: int = SWITCH_DAY,
        scenario: Any = None,
        **controls: Any,
    ) -> None:
        # Mesa's Reset button passes a fresh (empty) mesa Scenario; the seed control decides the random numbers.
        del scenario
        self.policy_log: list[tuple[int, str]] = []  # (step, policy name) at the start and at every switch
        self.trace = StateTrace()
        if not isinstance(policy, Policy):
            policy = preset_name(policy)
        if switch_to != NO_SWITCH:
            preset_name(switch_to, "switch_to")
            start = resolve_policy(policy)
            resolve_policy(switch_to)  # a bad name fails now, not on the day of the switch
            policy = ScheduledSwitch(
                name=start.name, parameters=dict(start.parameters), switch_to=switch_to, switch_day=int(switch_day)
            )
        super().__init__(setting=setting, policy=policy, rng=parse_seed(seed), **overrides(controls))
        self.policy_log.append((0, self.policy.name))

    @property
    def hours_run(self) -> int:
        """Hours on the clock the user sees (the warm-up's hours are not counted)."""
        return self.steps - self.clock_start

    def step(self) -> None:
        super().step()
        trace_model(self, self.trace)

    def set_policy(self, policy: str | Policy) -> None:
        if not isinstance(policy, Policy):
            policy = preset_name(policy)
        super().set_policy(policy)
        self.policy_log.append((self.hours_run, self.policy.name))


def make_model(**values: Any) -> AppWard:
    """The model the page starts with: the controls' defaults (as after pressing Reset untouched)."""
    defaults = {name: spec["value"] for name, spec in model_params().items()}
    defaults.update(values)
    return AppWard(**defaults)


def levers_table(model: MilieuModel) -> str:
    """The sidebar's parameters with the values in force and their meaning (from SCHEMA), as HTML."""
    rows = []
    for name in CONTROLS[2:]:
        value = model.p[name]
        shown = ("on" if value else "off") if isinstance(value, bool) else f"{value:g}"
        rows.append(
            f"<tr><td style='white-space:nowrap;padding-right:8px'>{_label(name)}</td>"
            f"<td style='padding-right:8px'><b>{shown}</b></td><td>{SCHEMA[name].meaning}</td></tr>"
        )
    return (
        '<div class="levers" style="font-size:12px"><b>In force</b> (sidebar controls left at their default follow '
        "the setting and the policy; changes apply on Reset)"
        f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>'
    )


@dataclass(eq=False)  # compared by identity, so that a new Comparison always redraws the page
class Comparison:
    """Two wards with the same seed and controls under two policies."""

    models: dict[str, AppWard] = field(default_factory=dict)

    @classmethod
    def start(cls, base: AppWard, policies: tuple[str, str]) -> Comparison:
        user = {k: v for k, v in base.user_parameters.items() if k not in POLICY_LEVERS}
        models = {
            p: AppWard(setting=base.setting, policy=preset_name(p), seed=base.seed, **_as_controls(user))
            for p in dict.fromkeys(policies)
        }
        return cls(models)

    @classmethod
    def of_wards(cls, base: AppWard, wards: tuple[dict[str, Any], ...]) -> Comparison:
        """Two wards as a lesson names them (a label, a policy preset and controls each), with the base's
        setting, seed and warm start."""
        models = {}
        for ward in wards:
            values = dict(ward)
            label = str(values.pop("label", values.get("policy", SCHEMA["policy"].default)))
            values.pop("seed", None)  # the two wards share the base's seed: the same clients arrive
            values.setdefault("warm_start_days", base.p["warm_start_days"])
            values = {k: ("on" if v else "off") if isinstance(v, bool) else v for k, v in values.items()}
            models[label] = AppWard(setting=values.pop("setting", base.setting), seed=base.seed, **values)
        return cls(models)


def _as_controls(user: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in user.items():
        if SCHEMA[name].kind is bool:
            value = "on" if value else "off"
        out[name] = value
    return out
