"""The command line: one module per command group (:data:`milieu_sim.cli.main.COMMAND_GROUPS`), shared
helpers in :mod:`milieu_sim.cli.common`.  Library code never imports this package."""

import sys

if sys.version_info < (3, 12):  # noqa: UP036 - one line instead of a traceback from a newer Python's syntax
    print(
        f"milieu-sim: error: Python >= 3.12 is needed; this is Python {sys.version_info[0]}.{sys.version_info[1]}",
        file=sys.stderr,
    )
    sys.exit(2)
