"""A small documented search for readmission_chance (issue 13): the acute_followup arm, seeds 0 .. SEEDS-1.

    PYTHONPATH=. python docs/calibration/acute_readmission/search.py VALUES SEEDS OUT.csv
    (e.g. 0.12,0.14,0.16,0.18,0.2,0.25 10 grid.csv)

Every run is made by ``run_arm`` and scored by ``score`` (milieu_sim.analysis.validation), as ``validate`` does;
only the calibration pattern ``readmission_30d`` is measured (``readmission_90d`` is left for validation).
"""

import sys
import time

import pandas as pd

from milieu_sim.analysis.validation import EXPERIMENTS, run_arm, score, select_patterns


def main(values: list[float], n_seeds: int, out: str) -> None:
    pattern = select_patterns(keys=["readmission_30d"])
    rows = []
    for value in values:
        started = time.time()
        runs = {"acute_followup": run_arm(EXPERIMENTS["acute_followup"], range(n_seeds), {"readmission_chance": value})}
        row = score(pattern, runs).iloc[0]
        arm = runs["acute_followup"]
        rows.append({
            "readmission_chance": value, "readmission_30d": row["simulated"], "ci_low": row["ci_low"],
            "ci_high": row["ci_high"], "pooled_30d": arm["readmitted_30d"].sum() / arm["followed_30d"].sum(),
            "seconds": time.time() - started,
        })  # fmt: skip
        print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(out, index=False)


if __name__ == "__main__":
    main([float(v) for v in sys.argv[1].split(",")], int(sys.argv[2]), sys.argv[3])
