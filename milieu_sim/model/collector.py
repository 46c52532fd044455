"""The model's Mesa DataCollector, filled from the hourly records when something reads it.

Mesa's :class:`mesa.DataCollector` collects every hour: it reads each reporter
and deep-copies the value.  The model's own reporters are attribute names
(``census``, ``mean_agitation``, the climate scales ...) whose values the model
sets once an hour in ``MilieuModel._update_counts``, from the very row it adds
to the ``steps`` log (:class:`milieu_sim.model.records.StepLog`).  So
:class:`RecordsCollector` collects nothing in the hour: when anything reads it
(``model_vars``, ``get_model_vars_dataframe``, ``_collection_steps``), it first
copies the rows the log gained since the last read, as the values an hourly
collect would have appended (Python ``int`` for the counts, ``float`` for the
means and the climate, the model's ``time`` of each step).  Reading it after
every hour (Mesa's SolaraViz plots do) or once at the end gives the same frame
as Mesa's hourly collect.

It is otherwise Mesa's own collector (``get_model_vars_dataframe`` and the
rest).  A user who wants other data hourly (agent reporters, callables) sets
``model.datacollector = mesa.DataCollector(...)``: the model then calls its
``collect`` every hour, as Mesa's models do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from milieu_sim.model.records import STEP_COLUMNS

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

#: The model's reporters: attribute of the model -> the column of the ``steps`` log holding its hourly value.
MODEL_REPORTERS: dict[str, str] = {
    name: name
    for name in (
        "census",
        "n_isolated",
        "conflict_events",
        "containment_events",
        "mean_skill",
        "mean_agitation",
        "mean_trust",
        "climate_safety",
        "climate_cohesion",
        "climate_hold",
    )
}
#: The reporters that count (recorded as ``int``); the others are ``float``.
COUNTS = frozenset(("census", "n_isolated", "conflict_events", "containment_events"))
STEP = STEP_COLUMNS.index("step")


class RecordsCollector(mesa.DataCollector):
    """Mesa's DataCollector of the model's reporters, filled from the ``steps`` log when read (module docstring)."""

    def __init__(self, model: MilieuModel) -> None:
        self._model = None  # not yet: Mesa's __init__ below sets up the (empty) lists
        self._copied = 0  # rows of the steps log already in model_vars
        super().__init__(model_reporters=dict(MODEL_REPORTERS))
        self._model = model

    # Mesa's collector keeps these two as plain attributes; here reading either brings them up to date first.
    @property
    def model_vars(self) -> dict[str, list]:  # type: ignore[override]
        self._catch_up()
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._model_vars = value

    @property
    def _collection_steps(self) -> list[float]:
        self._catch_up()
        return self._steps

    @_collection_steps.setter
    def _collection_steps(self, value: list[float]) -> None:
        self._steps = value

    def collect(self, model: MilieuModel) -> None:
        """Nothing to do in the hour: the values are read from the model's records (see the module docstring)."""

    def _catch_up(self) -> None:
        model = self._model
        if model is None:
            return
        log = model.records.steps
        if log.rows == self._copied:
            return
        rows = log.array()[self._copied :]
        self._copied = log.rows
        for name, column in MODEL_REPORTERS.items():
            values = rows[:, STEP_COLUMNS.index(column)]
            self._model_vars[name].extend(values.astype(int).tolist() if name in COUNTS else values.tolist())
        # the model's time at each hour's collect: Mesa's clock, one unit per step
        self._steps.extend(rows[:, STEP].tolist())
