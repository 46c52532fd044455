"""The one parameter schema of milieu-sim.

Every parameter of the model is declared here once, with its type, default,
allowed range, unit, one-line meaning and (where one exists) the published
source of its default.  The model, the command line, policy files and the
browser app's controls are all built from :data:`SCHEMA`; nothing else writes a
default down.

Resolution order of a run's parameters (later wins)::

    schema defaults  <  setting  <  policy preset / policy file  <  user keywords

Settings (:data:`SETTINGS`) describe *where* the care happens (acute ward,
residential therapeutic community, day programme); policies
(:mod:`milieu_sim.model.policies`) describe *how* the unit is run.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from milieu_sim.errors import ParameterError

# Short keys for the sources in ../shared/literature.md, written out in docs/ODD.md.
BOWERS_2015 = "Bowers et al. 2015 (Safewards RCT)"
DICKENS = "Dickens, Tabvuma & Frost (Safewards NSW base rates)"
AIHW = "AIHW 2013-14 (seclusion duration)"
DOOGAN_2017 = "Doogan & Warren 2017 (peer > staff feedback)"
WARREN_2013 = "Warren et al. 2013; Warren, Doogan & Doherty 2021 (affirmation response ~8 weeks)"
PAPADOPOULOS = "Papadopoulos et al. 2012 (limit-setting antecedent of aggression)"
DICKERSON = "Dickerson et al. 2005; Glowacki et al. 2016 (token economies: little transfer)"
DE_LEON = "De Leon et al. 2000 (senior induction)"
DARKE = "Darke, Campbell & Popple (TC dropout)"
CALIBRATED = "calibrated to published patterns by the earlier point fit (docs/validation.md, docs/calibration/)"
AFTERCARE_FOLLOW_UP = (
    "SAMHSA/Mathematica: 28% of inpatient psychiatric discharges had follow-up care within 7 days, 50% within "
    "30 days (a weekly chance of about 0.16-0.28)"
)
#: A parameter fitted for the residential community only (its setting override); the default others use is not.
CALIBRATED_IN_COMMUNITY = (
    "calibrated to published patterns for residential_tc only, by the earlier point fit, as that setting's "
    "override (docs/validation.md); this default, used by the other settings, is not fitted"
)
ASSUMED = "modelling assumption (docs/ODD.md)"
POLICY = "policy lever"


def _plausible(kind: str, low: float, high: float) -> str:
    """A source of the kind ``kind`` with the range thought plausible, as :func:`plausible_range` reads it back."""
    return f"{kind}; plausible {low:g}-{high:g}"


#: A parameter the ABC-SMC calibration fitted: its default is the posterior's median.
POSTERIOR_MEDIAN = (
    "calibrated by ABC-SMC to the fitted patterns of every setting at once: the posterior's median "
    "(docs/calibration/posterior; --posterior N draws from the posterior instead)"
)
POSTERIOR_MEDIAN_IN_COMMUNITY = (
    "calibrated by ABC-SMC for residential_tc only, as that setting's override: the posterior's median there "
    "(docs/calibration/posterior); this default, used by the other settings, is not fitted"
)
SCREENED_OUT = (
    "fixed at its documented value: screened as not influential on the fitted patterns (docs/calibration/screening)"
)
FIXED_INFLUENTIAL = (
    "fixed at its documented value: influential in the screening but not fitted (the calibration fits the most "
    "influential only; its uncertainty is not in the posterior; docs/calibration/screening)"
)


def assumed(low: float, high: float) -> str:
    """The source of a default that no study gives: a modelling assumption, with the range thought plausible."""
    return _plausible("assumed (no source)", low, high)


def calibrated(low: float, high: float) -> str:
    """A parameter fitted to published patterns by the earlier point fit; its plausible range was the search's."""
    return _plausible(CALIBRATED, low, high)


def calibrated_in_community(low: float, high: float) -> str:
    """A parameter fitted for the residential community only (its setting override) by the earlier point fit."""
    return _plausible(CALIBRATED_IN_COMMUNITY, low, high)


def posterior_median(low: float, high: float) -> str:
    """A parameter fitted by the ABC-SMC calibration; its plausible range is the calibration's prior."""
    return _plausible(POSTERIOR_MEDIAN, low, high)


def posterior_median_in_community(low: float, high: float) -> str:
    """A parameter fitted by the ABC-SMC calibration for the residential community only (its setting override)."""
    return _plausible(POSTERIOR_MEDIAN_IN_COMMUNITY, low, high)


def screened_out(low: float, high: float) -> str:
    """A former free parameter the Morris screening found not influential on the fitted patterns."""
    return _plausible(SCREENED_OUT, low, high)


def fixed_influential(low: float, high: float) -> str:
    """A former free parameter the screening found influential but the calibration did not fit."""
    return _plausible(FIXED_INFLUENTIAL, low, high)


_PLAUSIBLE = re.compile(r"plausible (-?[0-9.e+-]+?)-(-?[0-9.e+]+)")


def plausible_range(param: Param) -> tuple[float, float] | None:
    """The range a parameter's source states as plausible (every source built by :func:`_plausible`), or None.

    It is the range Morris screening varies the parameter over and the calibration's uniform prior."""
    match = _PLAUSIBLE.search(param.source)
    return (float(match.group(1)), float(match.group(2))) if match else None


@dataclass(frozen=True, slots=True)
class Param:
    """One model parameter: its type, default, allowed values and meaning."""

    name: str
    kind: type  # int, float, bool or str
    default: Any
    meaning: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    source: str = ASSUMED
    group: str = "behaviour"

    def allowed(self) -> str:
        """Describe the allowed values in words, for error messages and tables."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "a string"
        kind = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{kind} >= {self.low:g}"
        return kind

    def check(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParameterError."""
        label = f"{where}parameter '{self.name}'"
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ParameterError(f"{label} = {value!r} is not allowed; allowed: {self.allowed()}")
        if self.kind is str:
            if not isinstance(value, str):
                raise ParameterError(f"{label} = {value!r} is not allowed; allowed: {self.allowed()}")
            if self.choices is not None and value not in self.choices:
                raise ParameterError(f"{label} = {value!r} is not allowed; allowed: {self.allowed()}")
            return value
        converted = _to_number(value, self.kind)
        if converted is None:
            raise ParameterError(f"{label} = {value!r} is not allowed; allowed: {self.allowed()}")
        if (self.low is not None and converted < self.low) or (self.high is not None and converted > self.high):
            raise ParameterError(f"{label} = {value!r} is out of range; allowed: {self.allowed()}")
        return converted


def _to_number(value: Any, kind: type) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value) if kind is float else int(value)
        except ValueError:
            return None
    if kind is int:
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:  # numpy integers
            import numpy as np

            if isinstance(value, np.integer):
                return int(value)
        except ImportError:  # pragma: no cover
            pass
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(result):  # NaN, inf
        return None
    return result


def _p(name, kind, default, meaning, unit="", low=None, high=None, choices=None, source=ASSUMED, group="behaviour"):
    return Param(name, kind, default, meaning, unit, low, high, choices, source, group)


SETTING_NAMES = ("acute_ward", "residential_tc", "day_program", "outpatient_group")

# fmt: off
_PARAMS: tuple[Param, ...] = (
    _p("setting", str, "acute_ward",
       "kind of unit: acute ward, residential therapeutic community, day programme or outpatient group",
       choices=SETTING_NAMES,
       group="ward"),
    _p("policy", str, "usual_care", "unit policy: a preset name or the path of a policy TOML file", group="ward"),
    _p("ward_map", str, "default",
       "floor plan: 'default' (20 beds), 'community' (30 beds), 'residential' (30 beds, no seclusion room), "
       "'outpatient' (a group room, no beds), 'auto' (sized to n_clients) or a text map's path",
       group="ward"),
    _p("n_clients", int, 20, "beds in use: clients on the unit when it is full", "clients", 1, 5000, group="ward"),
    _p("staff_early", int, 5, "nursing staff on the early shift (07-15)", "staff", 1, 1000, group="ward"),
    _p("staff_late", int, 4, "nursing staff on the late shift (15-23)", "staff", 1, 1000, group="ward"),
    _p("staff_night", int, 2, "nursing staff on the night shift (23-07)", "staff", 1, 1000, group="ward"),
    _p("days", int, 60, "simulated days after which the model stops running", "days", 1, 36500, group="run"),
    _p("warm_start_days", int, 0,
       "days the ward runs before its clock starts; their records are dropped, so day 0 finds a ward already running",
       "days", 0, 3650, group="run"),
    _p("admission_delay_hours", float, 12.0,
       "mean hours a free bed stays empty before the next admission", "hours", 0.0, 2000.0, group="flow"),
    _p("admission_symptoms", float, 0.6,
       "mean symptom severity at admission (acuity)", "0-1", 0.0, 1.0,
       source=fixed_influential(0.4, 0.8), group="flow"),
    _p("admission_skill", float, 0.35,
       "mean treatment-goal skill at admission", "0-1", 0.0, 1.0, source=fixed_influential(0.2, 0.5), group="flow"),
    _p("admission_self_control", float, 0.5201,
       "mean self-control at admission", "0-1", 0.0, 1.0, source=posterior_median(0.3, 0.6), group="flow"),
    _p("admission_trust", float, 0.5, "mean trust in staff and community at admission", "0-1", 0.0, 1.0, group="flow"),
    _p("admission_independence", float, 0.6, "mean independence at admission", "0-1", 0.0, 1.0, group="flow"),
    _p("admission_spread", float, 0.12,
       "standard deviation of each admission state around its mean", "0-1", 0.0, 0.5, group="flow"),
    _p("skill_goal", float, 0.55,
       "the service's skill standard: a skill below it is a plan goal, its target at most this", "0-1", 0.0, 1.0,
       source=screened_out(0.4, 0.7), group="flow"),
    _p("discharge_symptoms", float, 0.4,
       "the psychiatrist's symptom target in each plan (discharge needs symptoms at or below it)", "0-1", 0.0, 1.0,
       source=fixed_influential(0.25, 0.55),
       group="flow"),
    _p("min_stay_days", float, 3.0, "shortest stay before a planned discharge", "days", 0.0, 3650.0, group="flow"),
    _p("max_stay_days", float, 60.0, "stay after which a client is transferred on", "days", 1.0, 3650.0, group="flow"),
    _p("dropout_per_day", float, 0.004,
       "baseline daily hazard of leaving treatment early", "1/day", 0.0, 1.0,
       source=posterior_median_in_community(0.001, 0.02),
       group="flow"),
    _p("dropout_early_factor", float, 1.0,
       "extra dropout hazard in the first days, as a multiple of the baseline", "x", 0.0, 100.0,
       source=posterior_median_in_community(0, 15), group="flow"),
    _p("dropout_early_days", float, 7.0, "time constant of the early-dropout excess", "days", 0.1, 365.0, group="flow"),
    _p("dropout_trust_effect", float, 3.0,
       "how strongly low trust and high agitation raise the dropout hazard", "log-hazard", 0.0, 20.0,
       source=posterior_median_in_community(0, 8), group="flow"),
    _p("senior_days", float, 30.0,
       "days in treatment before a client can become a senior peer", "days", 0.0, 3650.0, group="flow"),
    _p("graduation_days", float, 14.0,
       "days a senior serves (a community's re-entry phase, carrying its norms) before graduating on the plan "
       "(discharge_rule plan_goals)", "days", 0.0, 3650.0, source=assumed(7, 60), group="flow"),
    _p("structure", float, 0.6,
       "how reliably the routine's structured activities run and are attended", "0-1", 0.0, 1.0, source=POLICY,
       group="policy"),
    _p("reinforcement_rate", float, 0.25,
       "chance staff reinforce an observed prosocial act", "probability", 0.0, 1.0, source=POLICY, group="policy"),
    _p("token_rewards", float, 0.0,
       "share of reinforcement given as tokens or privileges (external rewards)", "0-1", 0.0, 1.0, source=POLICY,
       group="policy"),
    _p("punishment_rate", float, 0.3,
       "chance staff punish or restrict after an observed transgression", "probability", 0.0, 1.0, source=POLICY,
       group="policy"),
    _p("limit_setting_rate", float, 0.4,
       "chance staff set a limit on an observed transgression", "probability", 0.0, 1.0, source=POLICY, group="policy"),
    _p("request_denial_rate", float, 0.3,
       "share of clients' requests that staff deny", "probability", 0.0, 1.0, source=POLICY, group="policy"),
    _p("peer_feedback", bool, False,
       "whether the community practises peer feedback (affirmations, pull-ups)", source=POLICY, group="policy"),
    _p("staff_feedback_rate", float, 0.15,
       "chance staff give verbal feedback on an observed act", "probability", 0.0, 1.0, source=POLICY, group="policy"),
    _p("de_escalation_skill", float, 0.5,
       "mean staff skill at verbal de-escalation", "0-1", 0.0, 1.0, source=POLICY, group="policy"),
    _p("de_escalation_first", float, 0.7,
       "chance staff try talking down before any containment", "probability", 0.0, 1.0, source=POLICY, group="policy"),
    _p("isolation_threshold", int, 4,
       "incident severity (1-5) from which a failed de-escalation ends in seclusion", "severity", 1, 6, source=POLICY,
       group="policy"),
    _p("seclusion_hours", float, 6.0, "mean duration of a seclusion", "hours", 1.0, 72.0, source=AIHW, group="policy"),
    _p("prn_threshold", float, 0.6,
       "agitation at which staff offer as-needed (PRN) medication unprompted", "0-1", 0.0, 1.01, source=POLICY,
       group="policy"),
    _p("custodial_care", float, 0.3,
       "share of daily-living tasks staff do for clients", "0-1", 0.0, 1.0, source=POLICY, group="policy"),
    _p("autonomy_support", float, 0.3,
       "how much clients are given responsibility and choices", "0-1", 0.0, 1.0, source=POLICY, group="policy"),
    _p("senior_induction", bool, False,
       "new clients are inducted by a senior peer buddy", source=DE_LEON, group="policy"),
    _p("staff_model_quality", float, 0.75,
       "mean quality of staff as role models", "0-1", 0.0, 1.0, source=POLICY, group="policy"),
    _p("staff_observe_radius", int, 4,
       "how far (cells) a staff member notices what clients do", "cells", 0, 50, source=POLICY, group="policy"),
    _p("interaction_radius", int, 2, "how far (cells) two people can interact", "cells", 1, 20),
    _p("interaction_rate", float, 0.6,
       "chance an awake client interacts with someone in an hour", "probability", 0.0, 1.0,
       source=screened_out(0.3, 0.9)),
    _p("conflict_rate", float, 0.792,
       "scale of the chance that an interaction turns conflictual", "probability", 0.0, 1.0, source=calibrated(0.1, 1)),
    _p("prosocial_rate", float, 0.35,
       "scale of the hourly chance of a prosocial act", "probability", 0.0, 1.0, source=fixed_influential(0.15, 0.55)),
    _p("transgression_rate", float, 0.2,
       "scale of the hourly chance of a minor transgression", "probability", 0.0, 1.0,
       source=fixed_influential(0.1, 0.35)),
    _p("request_rate", float, 0.15,
       "hourly chance an awake client asks staff for something, at independence 0.5 (x 2 independence)",
       "probability", 0.0, 1.0),
    _p("modeling_rate", float, 0.01,
       "learning rate of social learning by modeling", "per encounter", 0.0, 1.0,
       source=fixed_influential(0.005, 0.02)),
    _p("staff_prestige", float, 1.0, "prestige of staff as models", "weight", 0.0, 10.0),
    _p("peer_prestige", float, 0.5, "prestige of an ordinary peer as a model", "weight", 0.0, 10.0),
    _p("senior_prestige", float, 1.2, "prestige of a senior peer as a model", "weight", 0.0, 10.0),
    _p("peer_feedback_rate", float, 0.3,
       "chance a peer who sees an act gives feedback (when peer_feedback is on)", "probability", 0.0, 1.0,
       source=screened_out(0.15, 0.5)),
    _p("peer_feedback_weight", float, 1.0,
       "effect of one piece of peer feedback", "weight", 0.0, 10.0, source=DOOGAN_2017),
    _p("staff_feedback_weight", float, 0.5,
       "effect of one piece of staff feedback (below the peer weight)", "weight", 0.0, 10.0, source=DOOGAN_2017),
    _p("feedback_learning", float, 0.02,
       "skill or self-control gain from one unit of feedback", "per feedback", 0.0, 1.0,
       source=fixed_influential(0.01, 0.04)),
    _p("affirmation_memory_days", float, 56.0,
       "how long receiving affirmations keeps raising one's sending", "days", 0.1, 3650.0, source=WARREN_2013),
    _p("correction_memory_days", float, 14.0,
       "how long receiving corrections keeps raising one's sending", "days", 0.1, 3650.0, source=WARREN_2013),
    _p("affirmation_sending_boost", float, 0.15,
       "rise in sending per affirmation remembered", "x", 0.0, 10.0, source=WARREN_2013),
    _p("correction_sending_boost", float, 0.05,
       "rise in sending per correction remembered (weaker)", "x", 0.0, 10.0, source=WARREN_2013),
    _p("reinforcement_learning", float, 0.02,
       "skill gain from one reinforcement", "per event", 0.0, 1.0, source=screened_out(0.01, 0.04)),
    _p("punishment_suppression", float, 0.5,
       "how much a punishment suppresses transgressions right after", "0-1", 0.0, 1.0),
    _p("punishment_trust_loss", float, 0.04, "trust lost per punishment or restriction", "0-1", 0.0, 1.0),
    _p("resentment_gain", float, 0.08, "resentment added by punishment, seclusion or restraint", "0-1", 0.0, 1.0),
    _p("resentment_days", float, 3.0, "time constant over which resentment fades", "days", 0.01, 365.0),
    _p("limit_setting_agitation", float, 0.15,
       "agitation added by a limit or denied request (more if punitive, less with trust)", "0-1", 0.0, 1.0,
       source=PAPADOPOULOS),
    _p("conflict_agitation", float, 0.08,
       "agitation added to both parties by a conflictual interaction", "0-1", 0.0, 1.0,
       source=fixed_influential(0.04, 0.15)),
    _p("agitation_decay", float, 0.12,
       "share of agitation above baseline that fades each hour", "1/hour", 0.0, 1.0,
       source=fixed_influential(0.06, 0.2)),
    _p("agitation_noise", float, 0.0609, "hourly random fluctuation of agitation", "0-1", 0.0, 1.0,
       source=calibrated(0.02, 0.12)),
    _p("incident_rate", float, 0.07371,
       "hourly chance of an incident when agitation equals self-control", "probability", 0.0, 1.0,
       source=posterior_median(0.01, 0.15)),
    _p("incident_steepness", float, 8.84,
       "how sharply the incident chance rises with agitation beyond control", "1/unit", 0.1, 100.0,
       source=calibrated(2, 12)),
    _p("prn_offer_rate", float, 0.748,
       "hourly chance a nurse offers PRN to an observed client above prn_threshold", "probability", 0.0, 1.0,
       source=calibrated(0.1, 1)),
    _p("violence_weight", float, 0.01375,
       "weight of physical aggression among incident kinds at zero excess (the other weight_* sum to 0.95)",
       "weight", 0.0, 1.0,
       source=posterior_median(0.002, 0.06)),
    _p("de_escalation_calm", float, 0.6, "share of agitation removed by a successful de-escalation", "0-1", 0.0, 1.0),
    _p("containment_trust_loss", float, 0.03035, "trust lost per containment (times its coerciveness)", "0-1", 0.0, 1.0,
       source=posterior_median(0.015, 0.045)),
    _p("special_observation_hours", float, 16.0,
       "how long special observation lasts once started", "hours", 1.0, 240.0),
    _p("therapy_learning", float, 0.015,
       "hourly skill gain in a therapy group (times structure and trust)", "1/hour", 0.0, 1.0,
       source=calibrated_in_community(0.001, 0.02)),
    _p("self_control_learning", float, 0.004,
       "hourly gain of self-control in structured activity", "1/hour", 0.0, 1.0, source=screened_out(0.002, 0.008)),
    _p("trust_recovery", float, 0.002, "hourly pull of trust back towards its baseline", "1/hour", 0.0, 1.0),
    _p("institutionalisation", float, 0.002,
       "hourly loss of independence under full custodial care", "1/hour", 0.0, 1.0),
    _p("independence_gain", float, 0.002,
       "hourly gain of independence under full autonomy support", "1/hour", 0.0, 1.0),
    _p("symptom_recovery", float, 0.03,
       "daily share of symptom severity that treatment resolves", "1/day", 0.0, 1.0,
       source=fixed_influential(0.015, 0.05)),
    # --- numbers inside the rules (issue 10): each an assumption with the range thought plausible --------------
    # routine and movement
    _p("wander_rate", float, 0.3,
       "hourly chance a client not in a meal or activity (or a staff member outside structured activities) steps "
       "to a neighbouring cell", "probability", 0.0, 1.0, source=assumed(0.1, 0.6)),
    _p("free_time_day_room", float, 0.55,
       "weight of the day room among free-time places (weights are normalised over the zones the map has)",
       "weight", 0.0, 1.0, source=assumed(0.3, 0.8)),
    _p("free_time_corridor", float, 0.15, "weight of the corridor among free-time places", "weight", 0.0, 1.0,
       source=assumed(0.05, 0.3)),
    _p("free_time_quiet_room", float, 0.10, "weight of the quiet room among free-time places", "weight", 0.0, 1.0,
       source=assumed(0.0, 0.2)),
    _p("free_time_bed", float, 0.20, "weight of one's own bed among free-time places", "weight", 0.0, 1.0,
       source=assumed(0.1, 0.4)),
    _p("attendance_base", float, 0.6,
       "chance of attending a structured activity at zero trust, before the structure factor", "probability",
       0.0, 1.0, source=assumed(0.3, 0.8)),
    _p("attendance_trust", float, 0.4,
       "rise of that chance from zero to full trust (attendance_base + attendance_trust should not exceed 1)",
       "probability", 0.0, 1.0, source=assumed(0.2, 0.6)),
    _p("night_station_share", float, 0.5,
       "chance a night-shift staff member takes the nurses' station rather than the corridor", "probability",
       0.0, 1.0, source=assumed(0.3, 0.7)),
    # conflict: targets, witnesses, ward climate, observation levels (issue 11)
    # targets and witnesses (processes/escalation.py)
    _p("witness_radius", int, 4, "how far (cells, in the same zone) an awake client sees an incident", "cells",
       0, 50, source=assumed(2, 8)),
    _p("witness_agitation", float, 0.03,
       "agitation a witness gains from an incident of severity 5 (times severity / 5): contagion", "0-1",
       0.0, 1.0, source=assumed(0.02, 0.15)),
    _p("witness_fear", float, 0.05,
       "fear a witness gains from an incident of severity 5 (times severity / 5 and 1 - fear)", "0-1", 0.0, 1.0,
       source=assumed(0.02, 0.15)),
    _p("victim_agitation", float, 0.08, "agitation a client gains from being the target of an incident", "0-1",
       0.0, 1.0, source=assumed(0.05, 0.2)),
    _p("victim_fear", float, 0.3, "fear a client gains from being the target of an incident (times 1 - fear)",
       "0-1", 0.0, 1.0, source=assumed(0.1, 0.5)),
    _p("victim_trust_loss", float, 0.05, "share of trust a client loses by being the target of an incident",
       "share", 0.0, 1.0, source=assumed(0.02, 0.1)),
    _p("reassurance_relief", float, 0.5,
       "share of a witness's fear and agitation from an incident that staff's talk afterwards takes away",
       "share", 0.0, 1.0, source=assumed(0.3, 0.8)),
    _p("fear_days", float, 1.0, "time constant over which a client's fear fades", "days", 0.01, 365.0,
       source=assumed(0.5, 7.0)),
    _p("fear_agitation", float, 0.1, "rise of a client's agitation baseline per unit of fear", "0-1", 0.0, 1.0,
       source=assumed(0.05, 0.3)),
    # calm-down methods (processes/escalation.py)
    _p("calm_down_success", float, 0.5,
       "chance that calm-down methods offered before PRN settle the client without medication", "probability",
       0.0, 1.0, source=assumed(0.3, 0.7)),
    _p("calm_down_agitation_kept", float, 0.7, "share of agitation left after calm-down methods that work",
       "share", 0.0, 1.0, source=assumed(0.5, 0.9)),
    # ward climate (processes/climate.py; EssenCES scales, Schalast et al. 2008)
    _p("climate_baseline", float, 0.6,
       "level each climate scale starts at and relaxes to when nothing happens; the climate's behavioural "
       "effects are centred on it", "0-1", 0.0, 1.0, source=assumed(0.4, 0.8)),
    _p("climate_days", float, 3.0, "time constant over which each climate scale relaxes to its baseline", "days",
       0.01, 365.0, source=assumed(1.0, 14.0)),
    _p("safety_incident_loss", float, 0.05,
       "share of experienced safety lost per incident of severity 5 seen by the whole community (scaled by "
       "severity / 5 and (1 + witnesses) / census)", "share", 0.0, 1.0, source=assumed(0.01, 0.15)),
    _p("cohesion_group_gain", float, 0.01,
       "hourly rise of cohesion (times 1 - cohesion) when every client attends a structured activity", "1/hour",
       0.0, 1.0, source=assumed(0.002, 0.03)),
    _p("cohesion_encounter_gain", float, 0.01,
       "rise of cohesion (times 1 - cohesion) per peaceful peer encounter per client present", "per encounter",
       0.0, 1.0, source=assumed(0.002, 0.03)),
    _p("cohesion_affirmation_gain", float, 0.03,
       "rise of cohesion (times 1 - cohesion) per affirmation received per client present", "per affirmation",
       0.0, 1.0, source=assumed(0.01, 0.1)),
    _p("cohesion_conflict_loss", float, 0.05,
       "share of cohesion lost per peer conflict or incident against a client, per client present", "share",
       0.0, 1.0, source=assumed(0.01, 0.2)),
    _p("hold_staff_gain", float, 0.02,
       "rise of therapeutic hold (times 1 - hold) per peaceful staff-client encounter per client present",
       "per encounter", 0.0, 1.0, source=assumed(0.005, 0.05)),
    _p("hold_coercion_loss", float, 0.05,
       "share of therapeutic hold lost per unit of coerciveness of containment (or incident against staff) per "
       "client present", "share", 0.0, 1.0, source=assumed(0.01, 0.2)),
    _p("hold_handover_gain", float, 0.05,
       "rise of therapeutic hold (times 1 - hold) at a shift handover under full positive_words", "share",
       0.0, 1.0, source=assumed(0.01, 0.1)),
    _p("meeting_cohesion_gain", float, 0.1,
       "rise of cohesion (times 1 - cohesion and the share of clients attending) from a mutual help meeting",
       "share", 0.0, 1.0, source=assumed(0.03, 0.2)),
    _p("know_each_other_effect", float, 1.0,
       "relative rise of the trust and cohesion a peaceful encounter builds under full know_each_other", "x",
       0.0, 10.0, source=assumed(0.5, 2.0)),
    _p("unsafe_ward_agitation", float, 0.03,
       "rise of every client's agitation baseline per unit of experienced safety below 1", "0-1", 0.0, 1.0,
       source=assumed(0.0, 0.1)),
    _p("hold_learning_effect", float, 0.5,
       "relative change of self-control and skill learning per unit of therapeutic hold above its baseline", "x",
       0.0, 5.0, source=assumed(0.0, 1.0)),
    _p("hold_attendance_effect", float, 0.5,
       "relative change of the chance of attending a structured activity per unit of therapeutic hold above "
       "its baseline", "x", 0.0, 5.0, source=assumed(0.0, 1.0)),
    _p("cohesion_feedback_effect", float, 0.5,
       "relative change of a peer's chance of giving feedback per unit of cohesion above its baseline", "x",
       0.0, 5.0, source=assumed(0.0, 1.0)),
    _p("cohesion_dropout_effect", float, 1.0,
       "fall of the log dropout hazard per unit of cohesion above its baseline", "log-hazard", 0.0, 10.0,
       source=assumed(0.0, 3.0), group="flow"),
    # observation levels (processes/observation.py)
    _p("risk_memory_days", float, 2.003,
       "time constant over which a client's own incidents stop counting towards their risk", "days", 0.01, 365.0,
       source=posterior_median(0.5, 4)),
    _p("observation_incident_weight", float, 0.2, "risk added per recent incident (decaying count)", "per incident",
       0.0, 10.0, source=assumed(0.1, 0.5)),
    _p("observation_self_harm_weight", float, 1.0,
       "risk added per recent self-harm or absconding (decaying count)", "per incident", 0.0, 10.0,
       source=assumed(0.5, 1.5)),
    _p("observation_intermittent_risk", float, 0.775, "risk from which a client is on intermittent observation",
       "risk", 0.0, 100.0, source=calibrated(0.4, 0.95)),
    _p("observation_within_sight_risk", float, 1.0,
       "risk from which a client is kept within sight of a staff member assigned to them", "risk", 0.0, 100.0,
       source=assumed(0.8, 1.5)),
    _p("observation_arms_length_risk", float, 2.0,
       "risk from which a client is kept within arm's length of a staff member assigned to them", "risk",
       0.0, 100.0, source=assumed(1.5, 3.0)),
    # Safewards interventions acting on these mechanisms (policy levers: 0 = usual care; Bowers et al. 2015)
    _p("reassurance", float, 0.0,
       "Safewards: after an incident staff talk with the clients who saw it (chance per answered incident)",
       "probability", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("calm_down_methods", float, 0.0,
       "Safewards: before PRN, staff offer calm-down methods (chance they are offered)", "probability",
       0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("positive_words", float, 0.0,
       "Safewards: staff say something positive about each patient at handover, raising therapeutic hold "
       "(fidelity 0-1)", "0-1", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("know_each_other", float, 0.0,
       "Safewards: staff and patients share interests, so encounters build more trust and cohesion (fidelity 0-1)",
       "0-1", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("mutual_help_meeting", float, 0.0,
       "Safewards: a daily patients' meeting of mutual help at the ward round hour (chance it is held)",
       "probability", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    # interaction
    _p("buddy_meeting_chance", float, 0.5,
       "hourly chance a client in orientation meets their senior buddy (under senior_induction)", "probability",
       0.0, 1.0, source=assumed(0.2, 0.8)),
    _p("conflict_trust_loss", float, 0.01, "share of trust each party of a conflictual encounter loses", "share",
       0.0, 1.0, source=assumed(0.005, 0.05)),
    _p("encounter_social_gain", float, 0.002,
       "social-skill practice of a peaceful encounter (times 1 - social skill)", "per encounter", 0.0, 1.0,
       source=assumed(0.0005, 0.01)),
    _p("encounter_trust_gain", float, 0.002, "trust built by a peaceful encounter (times 1 - trust)",
       "per encounter", 0.0, 1.0, source=assumed(0.0005, 0.01)),
    # staff response
    _p("punitive_agitation", float, 1.0,
       "extra agitation of a punishment, as a multiple of a limit's (a punishment adds 1 + this times as much)",
       "x", 0.0, 10.0, source=assumed(0.5, 2.0)),
    _p("external_share_rate", float, 0.1,
       "how far one reinforcement moves the share of skill kept up by external rewards towards its kind "
       "(1 token, 0 praise)", "per event", 0.0, 1.0, source=assumed(0.05, 0.3)),
    _p("denied_request_trust_loss", float, 0.005, "trust lost when a request is denied", "0-1", 0.0, 1.0,
       source=assumed(0.001, 0.02)),
    _p("granted_request_trust_gain", float, 0.005, "trust built by a granted request (times 1 - trust)",
       "per request", 0.0, 1.0, source=assumed(0.001, 0.02)),
    _p("granted_request_independence_gain", float, 0.002,
       "independence built by a granted request (times 1 - independence)", "per request", 0.0, 1.0,
       source=assumed(0.0005, 0.01)),
    # escalation and de-escalation
    _p("incident_sleep_factor", float, 0.3, "incident chance while asleep, as a share of the waking chance", "x",
       0.0, 1.0, source=assumed(0.1, 0.6)),
    _p("severity_excess_effect", float, 2.0,
       "how strongly agitation beyond self-control shifts incidents towards severe kinds", "1/unit", 0.0, 20.0,
       source=assumed(1.0, 4.0)),
    _p("weight_refusing_rules", float, 0.32, "weight of refusing rules among incident kinds at zero excess",
       "weight", 0.0, 1.0, source=assumed(0.16, 0.48)),
    _p("weight_verbal_aggression", float, 0.40, "weight of verbal aggression among incident kinds at zero excess",
       "weight", 0.0, 1.0, source=assumed(0.2, 0.6)),
    _p("weight_absconding", float, 0.07, "weight of absconding among incident kinds at zero excess", "weight",
       0.0, 1.0, source=assumed(0.035, 0.105)),
    _p("weight_aggression_objects", float, 0.09,
       "weight of aggression against objects among incident kinds at zero excess", "weight", 0.0, 1.0,
       source=assumed(0.045, 0.135)),
    _p("weight_self_harm", float, 0.07, "weight of self-harm among incident kinds at zero excess", "weight",
       0.0, 1.0, source=assumed(0.035, 0.105)),
    _p("unanswered_agitation_kept", float, 0.8,
       "share of agitation left after an incident nobody answers (some discharges)", "share", 0.0, 1.0,
       source=assumed(0.6, 1.0)),
    _p("nearest_responder_severity", int, 3,
       "incident severity (1-5) from which the nearest on-duty staff member answers an unobserved incident",
       "severity", 1, 6, source=assumed(2, 4)),
    _p("de_escalation_severity_penalty", float, 0.15,
       "fall in the chance of successful de-escalation per step of incident severity", "per step", 0.0, 0.25,
       source=assumed(0.05, 0.2)),
    _p("de_escalation_trust_gain", float, 0.02, "trust built by a successful de-escalation (times 1 - trust)",
       "per event", 0.0, 1.0, source=assumed(0.005, 0.05)),
    _p("coerciveness_prn", float, 0.3,
       "coerciveness of PRN medication (scales the trust and resentment cost of a containment)", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.5)),
    _p("coerciveness_special_observation", float, 0.3, "coerciveness of special observation", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.5)),
    _p("coerciveness_time_out", float, 0.4, "coerciveness of a time-out", "0-1", 0.0, 1.0,
       source=assumed(0.2, 0.6)),
    _p("coerciveness_seclusion", float, 1.0, "coerciveness of seclusion", "0-1", 0.0, 1.0,
       source=assumed(0.7, 1.0)),
    _p("coerciveness_restraint", float, 1.0, "coerciveness of restraint", "0-1", 0.0, 1.0,
       source=assumed(0.7, 1.0)),
    _p("prn_agitation_kept", float, 0.4, "share of agitation left after PRN medication", "share", 0.0, 1.0,
       source=assumed(0.2, 0.7)),
    _p("prn_independence_loss", float, 0.005, "independence lost per dose of PRN medication", "0-1", 0.0, 1.0,
       source=assumed(0.0, 0.02)),
    _p("time_out_hours", int, 2, "length of a time-out in the quiet room", "hours", 1, 48, source=assumed(1, 4)),
    _p("time_out_agitation_kept", float, 0.7, "share of agitation left after a time-out starts", "share", 0.0, 1.0,
       source=assumed(0.5, 0.9)),
    _p("restraint_agitation_kept", float, 0.5, "share of agitation left after restraint", "share", 0.0, 1.0,
       source=assumed(0.3, 0.8)),
    _p("antecedent_window_hours", int, 2,
       "hours a limit, denied request, peer conflict or punishment counts as what preceded an incident", "hours",
       0, 48, source=assumed(1, 4)),
    # temporary isolation
    _p("release_agitation", float, 0.5, "agitation below which a secluded client is released at the planned end",
       "0-1", 0.0, 1.0, source=assumed(0.3, 0.6)),
    _p("release_resentment_share", float, 0.5,
       "resentment added at release from seclusion, as a share of resentment_gain", "x", 0.0, 10.0,
       source=assumed(0.25, 1.0)),
    _p("seclusion_independence_loss", float, 0.02, "independence lost at release from seclusion", "0-1", 0.0, 1.0,
       source=assumed(0.0, 0.05)),
    # recovery
    _p("agitation_baseline", float, 0.1264, "agitation a symptom-free client relaxes towards", "0-1", 0.0, 1.0,
       source=posterior_median(0.05, 0.2)),
    _p("agitation_symptom_baseline", float, 0.25, "rise of the agitation baseline per unit of symptoms", "0-1",
       0.0, 1.0, source=assumed(0.1, 0.4)),
    _p("sleep_calming_factor", float, 2.0, "how much faster agitation relaxes in sleep (times agitation_decay)",
       "x", 0.0, 10.0, source=assumed(1.0, 3.0)),
    _p("resentment_agitation", float, 0.02, "hourly agitation added per unit of resentment", "1/hour", 0.0, 1.0,
       source=assumed(0.005, 0.05)),
    _p("agitation_symptom_push", float, 0.0005, "hourly rise of symptoms per unit of agitation", "1/hour",
       0.0, 0.1, source=assumed(0.0, 0.002)),
    _p("suppression_hours", float, 12.0,
       "time constant over which a punishment's suppression of transgressions fades", "hours", 0.1, 720.0,
       source=assumed(4.0, 48.0)),
    # admission, discharge and dropout
    _p("staff_spread", float, 0.1,
       "standard deviation of each staff member's de-escalation skill and role-model quality around the "
       "policy's mean", "0-1", 0.0, 0.5, source=assumed(0.05, 0.2), group="flow"),
    _p("nurse_share", float, 0.5, "share of each shift who are nurses (rounded up; the rest support workers)",
       "share", 0.0, 1.0, source=assumed(0.3, 0.7), group="flow"),
    _p("orientation_days", float, 7.0, "days in orientation before the primary phase", "days", 0.0, 3650.0,
       source=assumed(3.0, 14.0), group="flow"),
    _p("senior_skill", float, 0.5, "mean skill a primary-phase client needs to become a senior peer", "0-1",
       0.0, 1.0, source=assumed(0.4, 0.6), group="flow"),
    _p("admission_agitation", float, 0.2, "mean agitation at admission of a symptom-free client", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.3), group="flow"),
    _p("admission_agitation_symptoms", float, 0.3, "rise of mean admission agitation per unit of symptoms", "0-1",
       0.0, 1.0, source=assumed(0.1, 0.5), group="flow"),
    _p("initial_stay_days", float, 14.0,
       "the initial cohort has spent U(0, min(this, max_stay_days)) days in treatment when the run starts",
       "days", 0.0, 3650.0, source=assumed(7.0, 30.0), group="flow"),
    # flashpoints, settings, Safewards interventions (issue 11)
    # flashpoints (processes/flashpoints.py; Bowers 2014, Safewards model)
    _p("queue_service_rate", float, 10.0,
       "clients one staff member serves per hour at a meal or a nurse at a medication round", "clients/hour",
       0.1, 100.0, source=assumed(5.0, 20.0)),
    _p("queue_flashpoint_rate", float, 0.5,
       "hazard of a waiting flashpoint per hour of expected wait in a meal or medication queue", "1/hour",
       0.0, 10.0, source=assumed(0.2, 1.0)),
    _p("crowding_agitation", float, 0.08,
       "agitation added by a crowding-and-waiting flashpoint (times 1 - trust / 2)", "0-1", 0.0, 1.0,
       source=assumed(0.03, 0.15)),
    _p("turnover_flashpoint_chance", float, 0.1,
       "chance an awake client is unsettled by one turnover event of the hour (an admission, a discharge, a "
       "handover of shifts)", "per event", 0.0, 1.0, source=assumed(0.03, 0.2)),
    _p("turnover_agitation", float, 0.08,
       "agitation added by a turnover flashpoint (times 1 - trust / 2)", "0-1", 0.0, 1.0,
       source=assumed(0.03, 0.15)),
    _p("bad_news_rate", float, 0.01,
       "hourly chance an awake client receives bad news from outside (visit, call, leave refused, legal decision)",
       "1/hour", 0.0, 1.0, source=assumed(0.003, 0.03)),
    _p("bad_news_agitation", float, 0.2,
       "agitation added by bad news (times 1 - trust / 2)", "0-1", 0.0, 1.0, source=assumed(0.1, 0.3)),
    # what the Safewards interventions do at full fidelity (each scaled by its lever)
    _p("expectations_effect", float, 0.5,
       "share of observed transgressions settled by pointing to agreed expectations (no limit, no punishment) "
       "under full clear_mutual_expectations", "share", 0.0, 1.0, source=assumed(0.2, 0.7)),
    _p("soft_words_effect", float, 0.5,
       "share of a limit's or denied request's agitation and trust loss that soft words take away at full "
       "fidelity", "share", 0.0, 1.0, source=assumed(0.2, 0.7)),
    _p("bad_news_mitigated_kept", float, 0.4,
       "share of bad news's agitation left when staff have anticipated it and talk it through", "share",
       0.0, 1.0, source=assumed(0.2, 0.7)),
    _p("discharge_message_calm", float, 0.2,
       "share of admission agitation that discharge messages take away at full fidelity", "share", 0.0, 1.0,
       source=assumed(0.05, 0.3)),
    _p("discharge_message_trust", float, 0.1,
       "rise of admission trust (times 1 - trust) from discharge messages at full fidelity", "share", 0.0, 1.0,
       source=assumed(0.03, 0.2)),
    # Safewards interventions as policy levers (0 = usual care; Bowers et al. 2015)
    _p("clear_mutual_expectations", float, 0.0,
       "Safewards: mutually agreed ward expectations, so fewer observed transgressions become rule disputes "
       "(fidelity 0-1)", "0-1", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("soft_words", float, 0.0,
       "Safewards: limits and denied requests delivered softly, with less agitation and trust loss (fidelity 0-1)",
       "0-1", 0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("bad_news_mitigation", float, 0.0,
       "Safewards: staff anticipate bad news and talk it through (chance it is mitigated)", "probability",
       0.0, 1.0, source=BOWERS_2015, group="policy"),
    _p("discharge_messages", float, 0.0,
       "Safewards: messages of hope from discharged patients, calming new admissions (fidelity 0-1)", "0-1",
       0.0, 1.0, source=BOWERS_2015, group="policy"),
    # what the unit has: a residential community by default has no PRN and no restraint (nor a seclusion room)
    _p("prn_available", bool, True,
       "whether staff may give as-needed (PRN) medication as containment", source=POLICY, group="policy"),
    _p("restraint_available", bool, True,
       "whether staff may restrain a client", source=POLICY, group="policy"),
    # the day programme's home (processes/home.py)
    _p("home_stress_rate", float, 0.02,
       "hourly chance of a stressor at home (day programme, away hours awake)", "1/hour", 0.0, 1.0,
       source=assumed(0.005, 0.05)),
    _p("home_stress_agitation", float, 0.15,
       "agitation added by a stressor at home (times 1 - trust / 2)", "0-1", 0.0, 1.0, source=assumed(0.05, 0.3)),
    _p("home_support_rate", float, 0.05,
       "hourly chance of support at home (family, friends, services) in awake away hours", "1/hour", 0.0, 1.0,
       source=assumed(0.01, 0.1)),
    _p("home_support_calm", float, 0.3,
       "share of agitation that support at home takes away", "share", 0.0, 1.0, source=assumed(0.1, 0.5)),
    # --- issue 12: the therapeutic mechanisms -------------------------------------------------------------------
    # reinforcement, punishment and what transgressions cost (processes/staff_response.py, consequences.py)
    _p("token_incentive_gain", float, 0.2,
       "rise of a client's expectation of reward per token received (x (1 - incentive))", "per token", 0.0, 1.0,
       source=assumed(0.05, 0.4)),
    _p("praise_incentive_gain", float, 0.05,
       "rise of a client's expectation of reward per praise received (x (1 - incentive))", "per praise", 0.0, 1.0,
       source=assumed(0.01, 0.1)),
    _p("incentive_days", float, 7.0,
       "time constant over which the expectation of reward fades when rewards stop (extinction; waking hours "
       "count, 24 of them a day)", "days", 0.1, 365.0, source=assumed(2, 21)),
    _p("incentive_effect", float, 1.0,
       "rise in the chance of a prosocial act at full expectation of reward (x incentive)", "x", 0.0, 5.0,
       source=assumed(0.3, 1.5)),
    _p("transgression_harm", float, 0.05,
       "agitation an unaddressed transgression adds to its target (x (1 - trust / 2))", "0-1", 0.0, 1.0,
       source=assumed(0.02, 0.15)),
    _p("transgression_trust_loss", float, 0.05,
       "share of its target's trust an unaddressed transgression costs", "0-1", 0.0, 1.0, source=assumed(0.01, 0.15)),
    _p("addressed_harm_share", float, 0.5,
       "share of a transgression's harm to its target left when staff or peers answer it on the spot", "0-1",
       0.0, 1.0, source=assumed(0.2, 0.8)),
    _p("punishment_deterrence", float, 0.4,
       "suppression of transgressions in those who saw a punishment, as a share of the punished one's", "0-1",
       0.0, 1.0, source=assumed(0.2, 0.6)),
    _p("punishment_initiative_loss", float, 0.05,
       "share of the punished client's independence (initiative) a punishment costs", "0-1", 0.0, 1.0,
       source=assumed(0.01, 0.15)),
    _p("empathy_restraint", float, 0.5,
       "how much full empathy on both sides lowers the chance that a peer encounter turns conflictual", "0-1",
       0.0, 1.0, source=assumed(0.2, 0.8)),
    # (end of reinforcement and punishment)
    # community norms and community meetings (processes/norms.py, feedback.py)
    _p("norm_baseline", float, 0.5,
       "strength of the community's norms at the start, and the level it relaxes to without carriers", "0-1",
       0.0, 1.0, source=assumed(0.3, 0.7)),
    _p("norm_days", float, 7.0,
       "time constant with which the norm relaxes to norm_baseline", "days", 0.1, 3650.0,
       source=assumed(3.0, 28.0)),
    _p("norm_senior_gain", float, 0.004,
       "hourly gain of the norm towards 1 on a ward of seniors only (times the senior share)", "per hour",
       0.0, 1.0, source=assumed(0.001, 0.01)),
    _p("norm_erosion", float, 0.1,
       "share of the norm lost per unaddressed transgression per client present", "per transgression",
       0.0, 10.0, source=assumed(0.02, 0.3)),
    _p("norm_turnover_loss", float, 1.0,
       "share of the norm lost per admission per client present (1: a newcomer dilutes it by one head)",
       "per admission", 0.0, 5.0, source=assumed(0.5, 1.0)),
    _p("norm_addressed_gain", float, 0.1,
       "gain of the norm towards 1 per addressed transgression per client present", "per transgression",
       0.0, 10.0, source=assumed(0.02, 0.3)),
    _p("norm_transgression_effect", float, 1.0,
       "relative change of every client's chance of a transgression per unit of norm below its baseline", "x",
       0.0, 5.0, source=assumed(0.0, 2.0)),
    _p("meeting_feedback_gain", float, 0.02,
       "gain of one public confrontation or affirmation in a community meeting (default: one peer feedback's)",
       "per feedback", 0.0, 1.0,
       source=assumed(0.01, 0.1)),
    _p("meeting_norm_gain", float, 0.05,
       "gain of the norm towards 1 from a community meeting everyone attends", "per meeting", 0.0, 1.0,
       source=assumed(0.01, 0.2)),
    _p("orientation_sending_factor", float, 0.5,
       "factor on a newcomer's (orientation phase) chance of giving peer feedback", "x", 0.0, 1.0,
       source=assumed(0.25, 1.0)),
    _p("senior_sending_factor", float, 1.5,
       "factor on a senior's chance of giving peer feedback", "x", 1.0, 5.0, source=assumed(1.0, 2.5)),
    # (end of community norms)
    # personal responsibility, insight and empathy (processes/initiative.py, insight.py)
    _p("self_care_rate", float, 0.1,
       "chance per waking hour that a fully independent client outside a structured activity practises a "
       "daily-living task unprompted (times independence and 1 - custodial care)", "probability", 0.0, 1.0,
       source=assumed(0.02, 0.3)),
    _p("self_care_learning", float, 0.004,
       "daily-living skill gained by one unprompted practice (times 1 - skill)", "per practice", 0.0, 1.0,
       source=assumed(0.001, 0.02)),
    _p("self_care_independence_gain", float, 0.02,
       "independence gained by one unprompted practice (times 1 - independence)", "per practice", 0.0, 1.0,
       source=assumed(0.005, 0.05)),
    _p("idle_erosion", float, 0.001,
       "independence lost in an idle waking hour (no activity, no encounter, no act, no practice; times "
       "independence; after Wing & Brown 1970)", "1/hour", 0.0, 1.0, source=assumed(0.0005, 0.01)),
    _p("struggles_gain", float, 1.0,
       "how strongly the hour's incident exposure per client adds to the community's struggles (times 1 - S)",
       "per exposure", 0.0, 10.0, source=assumed(0.3, 3.0)),
    _p("struggles_days", float, 3.0,
       "time constant with which the community's struggles fade when not talked through", "days", 0.1, 365.0,
       source=assumed(1.0, 14.0)),
    _p("talk_through_share", float, 0.3,
       "share of the community's struggles a well-led group or community meeting talks through", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.6)),
    _p("insight_learning", float, 0.02,
       "hourly insight gained in a group or community meeting (times facilitation, trust, struggles, 1 - insight)",
       "1/hour", 0.0, 1.0, source=assumed(0.002, 0.03)),
    _p("insight_floor", float, 0.2,
       "what a group discusses when the community has no fresh struggles, on the struggles' scale", "0-1", 0.0,
       1.0, source=assumed(0.05, 0.5)),
    _p("witness_insight", float, 0.005,
       "insight gained by witnessing an incident of severity 5 (times severity / 5 and 1 - insight)", "per incident",
       0.0, 1.0, source=assumed(0.001, 0.02)),
    _p("insight_control", float, 0.3,
       "share of the gap to full self-control that full insight closes when the client is provoked", "0-1", 0.0,
       1.0, source=assumed(0.1, 0.6)),
    _p("empathy_learning", float, 0.02,
       "hourly empathy gained in a group or community meeting (times facilitation, struggles, 1 - empathy)",
       "1/hour", 0.0, 1.0, source=assumed(0.002, 0.03)),
    _p("helping_empathy_gain", float, 0.02,
       "empathy gained by sending a peer feedback (times 1 - empathy)", "per feedback", 0.0, 1.0,
       source=assumed(0.005, 0.05)),
    # (end of personal responsibility, insight and empathy)
    # staff as facilitators and preventers (processes/facilitation.py, prevention.py)
    _p("staff_engagement", float, 0.5,
       "share of staff time spent with clients on the floor rather than in the office (nurses' station)", "0-1",
       0.0, 1.0, source=POLICY, group="policy"),
    _p("attendance_initiative", float, 1.0,
       "how much independence raises attending structured activities: factor max(0, 1 + a (I - 0.5))", "1/unit",
       0.0, 2.0, source=assumed(0.5, 1.5)),
    _p("unfacilitated_share", float, 0.3,
       "share of a structured activity's learning that happens with nobody leading it", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.5)),
    _p("peer_facilitation", float, 0.5,
       "how well a senior resident leads a group with no staff member there, relative to their mean skill", "0-1",
       0.0, 1.0, source=assumed(0.3, 0.8)),
    _p("early_warning_agitation", float, 0.45,
       "agitation from which a staff member on the floor checks in with a client", "0-1", 0.0, 1.01,
       source=assumed(0.35, 0.55)),
    _p("check_in_calm", float, 0.3,
       "share of agitation removed by a successful check-in (talking it through)", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.5)),
    _p("check_in_trust_gain", float, 0.02,
       "trust built by a successful check-in (times 1 - trust)", "0-1", 0.0, 1.0, source=assumed(0.005, 0.05)),
    _p("staff_presence_buffer", float, 0.3,
       "share of a crowding or bad-news flashpoint's agitation taken off by a staff member on the floor in the "
       "client's zone (explaining the wait, talking the news through)", "0-1", 0.0, 1.0,
       source=assumed(0.1, 0.5)),
    # (end of staff as facilitators and preventers)
    # --- issue 13, life after discharge: follow-up and readmission (processes/aftercare.py) ----------------------
    _p("followup_days", int, 365,
       "days each discharged client is followed in the community model (readmission counted within them)", "days",
       0, 3650, source=assumed(90, 365), group="flow"),
    _p("followup_stress_rate", float, 0.05029,
       "daily chance of a stressor outside (conflict, money, housing, substances, loss)", "1/day", 0.0, 1.0,
       source=posterior_median(0.02, 0.1), group="flow"),
    _p("followup_stress_symptoms", float, 0.1765,
       "rise of symptoms from one stressor outside with no buffer (times 1 - buffer)", "0-1", 0.0, 1.0,
       source=posterior_median(0.1, 0.3), group="flow"),
    _p("transition_stress", float, 3.0,
       "extra stressors just after discharge, as a multiple of the daily rate, fading over transition_days", "x",
       0.0, 20.0, source=assumed(1.0, 5.0), group="flow"),
    _p("transition_days", float, 14.0,
       "time constant over which the extra stressors of the first weeks after discharge fade", "days", 0.1, 365.0,
       source=assumed(7.0, 30.0), group="flow"),
    _p("followup_support_buffer", float, 0.5,
       "share of a stressor's impact that full support outside absorbs", "share", 0.0, 1.0,
       source=assumed(0.2, 0.8), group="flow"),
    _p("followup_skill_buffer", float, 0.5,
       "share of a stressor's impact that full coping skill absorbs", "share", 0.0, 1.0,
       source=assumed(0.2, 0.8), group="flow"),
    _p("followup_recovery", float, 0.08,
       "daily relief of symptoms outside per unit of buffer (Y -= this x buffer x Y)", "1/day", 0.0, 1.0,
       source=assumed(0.04, 0.15), group="flow"),
    _p("aftercare_attendance", float, 0.2,
       "chance per week that a discharged client is in aftercare (outpatient follow-up) that week", "per week",
       0.0, 1.0, source=AFTERCARE_FOLLOW_UP, group="flow"),
    _p("aftercare_buffer", float, 0.3,
       "share of the remaining stress impact that a week in aftercare absorbs (relapse caught early)", "share",
       0.0, 1.0, source=assumed(0.1, 0.5), group="flow"),
    _p("aftercare_practice", float, 0.2,
       "added daily chance of using each skill in a week in aftercare", "probability", 0.0, 1.0,
       source=assumed(0.1, 0.4), group="flow"),
    _p("practice_chance", float, 0.3,
       "daily chance of using a skill outside for a client with no independence or insight", "probability",
       0.0, 1.0, source=assumed(0.1, 0.5), group="flow"),
    _p("practice_independence", float, 0.4,
       "added daily chance of using a skill outside per unit of independence", "probability", 0.0, 1.0,
       source=assumed(0.2, 0.6), group="flow"),
    _p("practice_insight", float, 0.2,
       "added daily chance of using a skill outside per unit of insight", "probability", 0.0, 1.0,
       source=assumed(0.0, 0.4), group="flow"),
    _p("skill_disuse_days", float, 90.0,
       "time constant of the fading of a self-kept skill over the days it is not used", "days", 1.0, 3650.0,
       source=assumed(30.0, 180.0), group="flow"),
    _p("token_fade_days", float, 21.0,
       "time constant of the fading of the token-kept part of a skill once no tokens are given (outside)", "days",
       1.0, 3650.0, source=DICKERSON + "; " + assumed(7.0, 60.0), group="flow"),
    _p("relapse_symptoms", float, 0.6,
       "symptom severity outside at and above which a client has relapsed (and may be readmitted)", "0-1",
       0.0, 1.0, source=assumed(0.5, 0.75), group="flow"),
    _p("readmission_chance", float, 0.2575,
       "daily chance that a relapsed client outside is referred back to the unit", "1/day", 0.0, 1.0,
       source=posterior_median(0.02, 0.5), group="flow"),
    # (end of life after discharge)
    # --- issue 13, who arrives, the treatment plan and discharge on the plan (casemix.py, planning.py, flow.py) ---
    _p("case_mix", str, "default",
       "who is admitted: 'default' (the setting's case-mix file, milieu_sim/data/casemix/) or the path of a case-mix "
       "TOML file (docs/user_guide.md, 'Your service's case mix')", group="ward"),
    _p("detained_trust", float, 0.1,
       "trust a detained client lacks at admission compared with a voluntary one", "0-1", 0.0, 1.0,
       source=assumed(0.05, 0.2), group="flow"),
    _p("detained_absconding_factor", float, 2.0,
       "factor on the weight of absconding among a detained client's incidents", "x", 1.0, 10.0,
       source=assumed(1.5, 3.0), group="flow"),
    _p("violence_history_factor", float, 2.0,
       "factor on the weight of physical aggression among incidents of a client with a history of violence "
       "(past violence predicts inpatient violence: Grassi et al. 2001)", "x", 1.0, 10.0, source=assumed(1.5, 3.0),
       group="flow"),
    _p("self_harm_history_factor", float, 2.0,
       "factor on the weight of self-harm among incidents of a client with a history of self-harm (Stewart et al. "
       "2012)", "x", 1.0, 10.0, source=assumed(1.5, 4.0), group="flow"),
    _p("discharge_rule", str, "symptoms_and_risk",
       "what a completed discharge needs: the plan's symptom and risk targets (an acute ward) or every goal of the "
       "plan (graduation, in a community or programme)", choices=("symptoms_and_risk", "plan_goals"), group="flow"),
    _p("waiting_referrals", int, 1,
       "referrals waiting for a bed at each ward round while the unit is full (bed pressure): up to this many of "
       "the readiest clients are discharged sooner", "clients", 0, 100, source=assumed(0, 3), group="flow"),
    _p("bed_pressure_relax", float, 0.1,
       "how far above the plan's symptom target a client may be discharged under bed pressure", "0-1", 0.0, 1.0,
       source=assumed(0.05, 0.2), group="flow"),
    _p("plan_skill_gain", float, 0.2,
       "gain over the admission level that the team sets as a goal skill's target (at most skill_goal)", "0-1",
       0.0, 1.0, source=assumed(0.1, 0.3), group="flow"),
    _p("plan_min_gain", float, 0.05,
       "the least gain a stalled skill target may be lowered to", "0-1", 0.0, 1.0, source=assumed(0.02, 0.1),
       group="flow"),
    _p("plan_stall_gain", float, 0.01,
       "progress (skill rise, symptom fall) over a week's review period below which a goal counts as stalled",
       "0-1", 0.0, 1.0, source=assumed(0.005, 0.03), group="flow"),
    _p("plan_target_step", float, 0.05,
       "how much a review lowers a target that stalled despite one-to-one sessions", "0-1", 0.0, 1.0,
       source=assumed(0.02, 0.1), group="flow"),
    _p("plan_risk_target", int, 1,
       "the nurse's risk target: at most this many incidents in the last 7 days", "incidents", 0, 100,
       source=assumed(0, 2), group="flow"),
    _p("plan_group_symptoms", float, 0.6,
       "symptom level at or below which the team puts structured groups in a client's plan", "0-1", 0.0, 1.0,
       source=assumed(0.5, 0.7), group="flow"),
    _p("plan_group_attendance", float, 0.3,
       "extra readiness to attend structured activities of a client whose plan has groups", "share", 0.0, 2.0,
       source=assumed(0.1, 0.5), group="flow"),
    _p("one_to_one_learning", float, 0.01,
       "skill learning rate of a one-to-one session on the plan's focus skill (weekdays)", "per session", 0.0, 1.0,
       source=assumed(0.005, 0.03), group="flow"),
    _p("medication_review_effect", float, 0.1,
       "share of symptoms a week under medication review takes away", "share", 0.0, 1.0, source=assumed(0.05, 0.2),
       group="flow"),
    _p("leave_symptoms", float, 0.5,
       "symptom level at or below which the occupational therapist grants leave (with the risk target met)", "0-1",
       0.0, 1.0, source=assumed(0.4, 0.6), group="flow"),
    _p("leave_independence", float, 0.02,
       "independence a day of leave builds: I += this * (1 - I)", "per day", 0.0, 1.0, source=assumed(0.01, 0.05),
       group="flow"),
    _p("support_target", float, 0.5,
       "support outside below which the social worker sets a support goal and discharge planning", "0-1", 0.0, 1.0,
       source=assumed(0.4, 0.7), group="flow"),
    _p("social_work_gain", float, 0.1,
       "support outside a week of discharge planning builds while below support_target: V += this * (1 - V)",
       "share", 0.0, 1.0, source=assumed(0.05, 0.2), group="flow"),
    # (end of who arrives, the treatment plan and discharge on the plan)
    # --- issue 13, the outpatient group setting (processes/home.py, flow.py; data/routines/outpatient_group.toml) ---
    _p("stay_limit_exit", str, "transfer",
       "what reaching max_stay_days means: a transfer on (a ward's stay limit) or the course completed (an outpatient "
       "course of sessions)", choices=("transfer", "completed"), group="flow"),
    # (end of the outpatient group setting)
)
# fmt: on

SCHEMA: dict[str, Param] = {p.name: p for p in _PARAMS}

# Where the care happens.  Each setting overrides some schema defaults.
SETTINGS: dict[str, dict[str, Any]] = {
    "acute_ward": {},
    "residential_tc": {
        "ward_map": "residential",  # the community's floor plan without a seclusion room
        "n_clients": 30,
        "staff_early": 4,
        "staff_late": 3,
        "staff_night": 1,
        "days": 180,
        "admission_delay_hours": 72.0,
        "admission_symptoms": 0.35,
        "skill_goal": 0.7,
        "discharge_symptoms": 0.4,
        "min_stay_days": 28.0,
        "max_stay_days": 365.0,
        # the community's own dropout: the posterior's medians (docs/calibration/posterior); dropout_early_days
        # and therapy_learning from the earlier point fit of this setting (docs/calibration/residential_tc)
        "dropout_per_day": 0.01505,
        "dropout_early_factor": 1.726,
        "dropout_early_days": 5.0,
        "dropout_trust_effect": 3.095,
        "therapy_learning": 0.0148,
        "peer_feedback": True,
        "senior_days": 45.0,
        # a community, not a hospital: no seclusion room on its floor plan, no PRN, no restraint (issue 11);
        # add them back with ward_map='community' and prn_available / restraint_available = true
        "prn_available": False,
        "restraint_available": False,
        "discharge_rule": "plan_goals",  # graduation when the plan's goals are met (issue 13)
        "waiting_referrals": 0,  # a waiting list, not a queue for a bed that discharges anyone sooner
    },
    "day_program": {
        "ward_map": "community",
        "n_clients": 25,
        "staff_early": 4,
        "staff_late": 1,
        "staff_night": 1,
        "days": 120,
        "admission_delay_hours": 48.0,
        "admission_symptoms": 0.4,
        "min_stay_days": 14.0,
        "max_stay_days": 180.0,
        "dropout_per_day": 0.006,
        "dropout_early_factor": 3.0,
        "discharge_rule": "plan_goals",  # issue 13
        "waiting_referrals": 0,
    },
    # clients live at home and meet weekly (data/routines/outpatient_group.toml; docs/ODD.md, "Settings")
    "outpatient_group": {
        "ward_map": "outpatient",  # a clinic: group room, waiting area, office, interview room; no beds
        "n_clients": 10,  # members of the group (8-12)
        "staff_early": 1,
        "staff_late": 2,  # the group's shift: a facilitator in the group room, a colleague in the office
        "staff_night": 1,
        "days": 180,
        "admission_delay_hours": 168.0,  # a free place is filled by a referral about a week later
        "admission_symptoms": 0.35,
        "min_stay_days": 28.0,
        "max_stay_days": 84.0,  # the course: 12 weekly sessions
        # about a fifth of courses end in dropout (Swift & Greenberg 2012: 19.7%, group and individual alike)
        "dropout_per_day": 0.0018,
        "dropout_early_factor": 2.0,
        "dropout_early_days": 14.0,  # the first two sessions
        "discharge_rule": "plan_goals",  # completion when the plan's goals are met ...
        "stay_limit_exit": "completed",  # ... or when the course of max_stay_days ends
        "waiting_referrals": 0,  # a waiting list: nobody leaves the group sooner for a newcomer
        # a clinic, not a hospital: no seclusion room on its plan, no PRN, no restraint
        "prn_available": False,
        "restraint_available": False,
    },
}

# The routine file of each setting (package data under data/routines/).
SETTING_ROUTINE = {
    "acute_ward": "acute_ward.toml",
    "residential_tc": "residential_tc.toml",
    "day_program": "day_program.toml",
    "outpatient_group": "outpatient_group.toml",
}


def suggest(name: str, options) -> str:
    """A 'did you mean' hint for an unknown name, or an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_names(values: Mapping[str, Any], where: str = "") -> None:
    """Raise ParameterError for the first name in ``values`` that the schema does not know."""
    for name in values:
        if name not in SCHEMA:
            raise ParameterError(
                f"{where}unknown parameter '{name}'{suggest(name, SCHEMA)}; see 'milieu-sim params' for the list"
            )


def check_values(values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Check names, types and ranges; return the values converted to their schema types."""
    check_names(values, where)
    return {name: SCHEMA[name].check(value, where) for name, value in values.items()}


#: Pairs of parameters where the first may not exceed the second (impossible combinations).
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (("min_stay_days", "max_stay_days"),)


def check_combinations(values: Mapping[str, Any], where: str = "") -> None:
    """Refuse impossible combinations of (merged) parameter values, in one line naming both parameters."""
    for low, high in ORDERED_PAIRS:
        if low in values and high in values and values[low] > values[high]:
            raise ParameterError(
                f"{where}parameter '{low}' = {values[low]!r} is more than '{high}' = {values[high]!r}; "
                f"allowed: {low} <= {high}"
            )


def defaults() -> dict[str, Any]:
    """The schema defaults, as a fresh dict."""
    return {name: p.default for name, p in SCHEMA.items()}


def setting_defaults(setting: str) -> dict[str, Any]:
    """Schema defaults with a setting's overrides applied."""
    SCHEMA["setting"].check(setting)
    values = defaults()
    values.update(SETTINGS[setting])
    values["setting"] = setting
    return values


class RunParameters(dict):
    """A run's resolved parameters (``model.p``): a dict that counts its changes in ``version``, so that compiled
    code's parameter records (:mod:`milieu_sim.model.compiled_hour`) are rebuilt only after a value changes."""

    version = 0

    def _changed(self) -> None:
        self.version += 1

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def __ior__(self, other: Any) -> RunParameters:
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value

    def pop(self, *args: Any) -> Any:
        value = super().pop(*args)
        self._changed()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()


def schema_table():
    """The schema as a pandas DataFrame (one row per parameter)."""
    import pandas as pd

    rows = [
        {
            "name": p.name,
            "group": p.group,
            "type": p.kind.__name__,
            "default": p.default,
            "allowed": p.allowed(),
            "unit": p.unit,
            "meaning": p.meaning,
            "source": p.source,
        }
        for p in SCHEMA.values()
    ]
    return pd.DataFrame(rows)
