"""Who arrives: a setting's case mix, and the profile each admission draws from it (docs/ODD.md 6.22).

A case mix is data: a TOML file with one table per diagnosis group (:data:`~milieu_sim.model.state.DIAGNOSES`)
giving the group's share of admissions, the shares of its clients who are detained, have a history of violence
and a history of self-harm, the shift of its mean symptom severity and skill from the setting's
``admission_symptoms`` / ``admission_skill``, and its mean support outside.  Each setting has its own file under
``milieu_sim/data/casemix/`` (``<setting>.toml``); the parameter ``case_mix`` is ``"default"`` (that file) or the
path of a user's own file in the same format (docs/user_guide.md, "Your service's case mix").  A bad file is
refused in one line naming the file, the key, the value and what is allowed, when the model is built.

The k-th admission's profile comes from uniforms of the generator keyed by k (``flow.admission_draws``: common
random numbers, so the same seed admits the same people under every policy)::

    diagnosis d: the group whose cumulative share first exceeds u_d
    detained      <=>  u_det < detained_d          violence history  <=>  u_vio < violence_history_d
    self-harm history  <=>  u_sh < self_harm_history_d
    support = clip(support_d + admission_spread * z_sup, 0.01, 0.99)

and ``processes.flow.admit_client`` adds the group's shifts to the setting's admission means of symptoms and
skills.  What reads each trait is listed in docs/ODD.md 6.22.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from milieu_sim.errors import ParameterError
from milieu_sim.model.kernels import kernel
from milieu_sim.model.state import DIAGNOSES

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

#: The keys of each diagnosis group's table, with their allowed range.
GROUP_KEYS: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0),
    "detained": (0.0, 1.0),
    "violence_history": (0.0, 1.0),
    "self_harm_history": (0.0, 1.0),
    "symptoms": (-1.0, 1.0),
    "skills": (-1.0, 1.0),
    "support": (0.0, 1.0),
}
#: Optional top-level keys (documentation only).
META_KEYS = ("description", "sources")
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CaseMix:
    """A case mix: one array per key of :data:`GROUP_KEYS`, indexed by diagnosis code."""

    source: str
    share: np.ndarray
    detained: np.ndarray
    violence_history: np.ndarray
    self_harm_history: np.ndarray
    symptoms: np.ndarray
    skills: np.ndarray
    support: np.ndarray

    @property
    def cumulative(self) -> np.ndarray:
        return np.cumsum(self.share)

    @cached_property
    def table(self) -> np.ndarray:
        """The mix as one array for compiled code, worked out once: the rows of :data:`TABLE_ROWS`, one column per
        diagnosis group (an admission draws its profile from it: :func:`traits_of`)."""
        return np.ascontiguousarray(
            np.vstack([self.cumulative, *(getattr(self, name) for name in TABLE_ROWS[1:])]), dtype=np.float64
        )


#: The rows of :attr:`CaseMix.table`: the cumulative shares, then the group keys.
TABLE_ROWS = ("cumulative", *GROUP_KEYS)
_CUMULATIVE, _SHARE, _DETAINED, _VIOLENCE, _SELF_HARM = (TABLE_ROWS.index(key) for key in
                                                          ("cumulative", "share", "detained", "violence_history",
                                                           "self_harm_history"))  # fmt: skip
_SUPPORT = TABLE_ROWS.index("support")


def default_file(setting: str) -> str:
    """The package's case-mix file name of a setting."""
    return f"{setting}.toml"


def _read(case_mix: str, setting: str) -> tuple[str, str]:
    """(label, text) of the case-mix file the parameter names."""
    if case_mix == "default":
        name = default_file(setting)
        try:
            text = resources.files("milieu_sim.data.casemix").joinpath(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ParameterError(
                f"parameter 'case_mix' = 'default': setting '{setting}' has no case-mix file "
                f"(milieu_sim/data/casemix/{name}); allowed: a path to a case-mix TOML file"
            ) from None
        return f"milieu_sim/data/casemix/{name}", text
    path = Path(case_mix)
    if path.suffix.lower() != ".toml":
        raise ParameterError(
            f"parameter 'case_mix' = {case_mix!r} is not allowed; allowed: 'default' or the path of a .toml file"
        )
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as error:
        raise ParameterError(
            f"parameter 'case_mix' = {case_mix!r}: the file cannot be read ({error.strerror or error}); "
            "allowed: 'default' or the path of a readable .toml file"
        ) from None


@cache
def _parse(label: str, text: str) -> CaseMix:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(f"case-mix file '{label}' is not valid TOML ({error})") from None
    for key in data:
        if key not in DIAGNOSES and key not in META_KEYS:
            raise ParameterError(
                f"case-mix file '{label}': key '{key}' is not allowed; allowed: a table per diagnosis group "
                f"({', '.join(DIAGNOSES)}) and {', '.join(META_KEYS)}"
            )
    columns: dict[str, list[float]] = {key: [] for key in GROUP_KEYS}
    for group in DIAGNOSES:
        table = data.get(group)
        if not isinstance(table, dict):
            raise ParameterError(
                f"case-mix file '{label}': table [{group}] is missing; allowed: one table for each of "
                f"{', '.join(DIAGNOSES)} (share = 0 for a group the service does not see)"
            )
        for key in table:
            if key not in GROUP_KEYS:
                raise ParameterError(
                    f"case-mix file '{label}': key '{group}.{key}' is not allowed; allowed: {', '.join(GROUP_KEYS)}"
                )
        for key, (low, high) in GROUP_KEYS.items():
            if key not in table:
                raise ParameterError(f"case-mix file '{label}': key '{group}.{key}' is missing; allowed: a number "
                                     f"from {low:g} to {high:g}")  # fmt: skip
            value = table[key]
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            if number is None or not math.isfinite(number) or not low <= number <= high:
                raise ParameterError(
                    f"case-mix file '{label}': key '{group}.{key}' = {value!r} is not allowed; "
                    f"allowed: a number from {low:g} to {high:g}"
                )
            columns[key].append(float(number))
    total = sum(columns["share"])
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ParameterError(f"case-mix file '{label}': the shares sum to {total:g}; allowed: shares that sum to 1")
    return CaseMix(label, **{key: np.array(values) for key, values in columns.items()})


def load_case_mix(case_mix: str, setting: str) -> CaseMix:
    """The case mix the parameter ``case_mix`` names for a setting; ParameterError (one line) if it is bad."""
    label, text = _read(case_mix, setting)
    return _parse(label, text)


def case_mix_of(model: MilieuModel) -> CaseMix:
    """The model's case mix (loaded once per model, at its first admission)."""
    mix = getattr(model, "case_mix", None)
    if mix is None:
        mix = model.case_mix = load_case_mix(model.p["case_mix"], model.setting)
    return mix


def draw_traits(mix: CaseMix, u: np.ndarray, z_support: float, spread: float) -> tuple[int, bool, bool, bool, float]:
    """(diagnosis, detained, violence history, self-harm history, support) from four uniforms and a normal
    (:func:`traits_of`, the rule an admission runs in compiled code)."""
    diagnosis, detained, violent, self_harm, support = _traits(mix.table, np.asarray(u, dtype=np.float64),
                                                               float(z_support), float(spread))  # fmt: skip
    return int(diagnosis), bool(detained), bool(violent), bool(self_harm), float(support)


@kernel(inline=True)
def traits_of(table, u_diagnosis, u_detained, u_violence, u_self_harm, z_support, spread):
    """The profile drawn from a case mix's :attr:`~CaseMix.table`: (diagnosis, detained, violence history, self-harm
    history, support).  The diagnosis is the first group whose cumulative share exceeds ``u_diagnosis`` (NumPy's
    searchsorted, side "right"), or a rounding edge's previous non-empty group; support is clipped as NumPy's clip."""
    groups = table.shape[1]
    diagnosis = 0
    for g in range(groups):
        diagnosis += table[_CUMULATIVE, g] <= u_diagnosis
    diagnosis = min(diagnosis, groups - 1)
    while table[_SHARE, diagnosis] == 0.0:
        diagnosis -= 1
    support = table[_SUPPORT, diagnosis] + spread * z_support
    support = 0.01 if support < 0.01 else 0.99 if support > 0.99 else support
    return (
        diagnosis,
        u_detained < table[_DETAINED, diagnosis],
        u_violence < table[_VIOLENCE, diagnosis],
        u_self_harm < table[_SELF_HARM, diagnosis],
        support,
    )


@kernel
def _traits(table, u, z_support, spread):
    return traits_of(table, u[0], u[1], u[2], u[3], z_support, spread)


def profile_of(model: MilieuModel, slot: int) -> dict[str, Any]:
    """The profile of the client in a bed slot: diagnosis, legal status, risk histories, support outside.

    ``support`` is the present value (the social worker's plan may have raised it since admission).
    """
    c = model.clients
    return {
        "client_id": int(c.client_id[slot]),
        "diagnosis": DIAGNOSES[int(c.diagnosis[slot])],
        "legal_status": "detained" if c.detained[slot] else "voluntary",
        "violence_history": bool(c.violence_history[slot]),
        "self_harm_history": bool(c.self_harm_history[slot]),
        "support": float(c.support[slot]),
    }
