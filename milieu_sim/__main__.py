"""``python -m milieu_sim ARGS`` is ``milieu-sim ARGS``."""

import sys

from milieu_sim.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
