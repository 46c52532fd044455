"""The model's Mesa DataCollector, without Mesa's per-value deep copy for the hourly counts.

Mesa's :class:`mesa.DataCollector` deep-copies every reported value each time it
collects, so that a mutable value (a list, a dict) cannot change after it was
recorded.  The model's own reporters are attribute names holding plain numbers
(``census``, ``mean_agitation``, the climate scales ...), which are immutable:
:class:`HourlyCollector` appends them as they are and is otherwise Mesa's own
collector (``get_model_vars_dataframe`` and the rest).  A collector with agent
reporters, agent-type reporters or callable model reporters collects exactly as
Mesa's does.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import mesa

#: Values that cannot change after they are recorded, so need no copy.
IMMUTABLE = (int, float, str, bool, type(None))


class HourlyCollector(mesa.DataCollector):
    """Mesa's DataCollector; model reporters given as attribute names are recorded without a deep copy."""

    def collect(self, model: Any) -> None:
        """Record the model reporters' values of this step (see the module docstring)."""
        if self.agent_reporters or self.agenttype_reporters or not self._by_name():
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        for var, reporter in self.model_reporters.items():
            value = getattr(model, reporter, None)
            self.model_vars[var].append(value if isinstance(value, IMMUTABLE) else deepcopy(value))

    def _by_name(self) -> bool:
        reporters = tuple(self.model_reporters.values())
        cached = self.__dict__.get("_by_name_cache")
        if cached is None or cached[0] != reporters:
            cached = self._by_name_cache = (reporters, all(isinstance(reporter, str) for reporter in reporters))
        return cached[1]
