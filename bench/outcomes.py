"""Outcomes lab: the default playbook vs a Xero-style e-mail sequence vs no reminders on
one seeded population, each run through the real planner rule (chalicelib/lab).

`python -m bench outcomes` (2,000 debtors) or `--full` (20,000). RECOUP_LAB_SEED sets the
seed (default 2026). Assumptions and sources: chalicelib/lab/population.py."""
from __future__ import annotations

import os
import time
from datetime import date

START = date(2026, 1, 5)


def run(full: bool = False) -> None:
    from chalicelib.dunning.planner import CALL_TASK_MIN_MINOR, FINAL_NOTICE_MIN_MINOR
    from chalicelib.lab import playbooks, population, simulator

    size = 20000 if full else 2000
    seed = int(os.environ.get("RECOUP_LAB_SEED", "2026"))
    t0 = time.perf_counter()
    people = population.population(size, seed, START)
    results = {pb.name: simulator.run(people, pb, seed)
               for pb in playbooks.standard(FINAL_NOTICE_MIN_MINOR, CALL_TASK_MIN_MINOR)}
    print(f"outcomes_debtors: {size} debtors")
    for name, f in results.items():
        p = f"outcomes_{name}"
        print(f"{p}_dso_days: {f.dso_days:.1f} days")
        print(f"{p}_days_beyond_terms: {f.dbt_days:.1f} days")
        print(f"{p}_mean_days_late: {f.mean_days_late:.1f} days")
        print(f"{p}_on_time_ratio: {f.on_time_ratio:.3f} ratio")
        for n, share in f.collected.items():
            print(f"{p}_collected_{n}d_ratio: {share:.3f} ratio")
        print(f"{p}_touches_per_debtor: {f.touches_per_debtor:.2f} touches")
        for ch, v in f.by_channel.items():
            print(f"{p}_{ch}_touches_per_debtor: {v:.2f} touches")
        print(f"{p}_calls_per_debtor: {f.calls_per_debtor:.2f} calls")
    base = results["baseline"]
    for name in ("default", "sms_first"):
        f = results[name]
        tag = "" if name == "default" else f"_{name}"
        print(f"outcomes{tag}_dso_reduction_vs_baseline: {1 - f.dso_days / base.dso_days:.3f} "
              "fraction")
        print(f"outcomes{tag}_dbt_reduction_vs_baseline: {1 - f.dbt_days / base.dbt_days:.3f} "
              "fraction")
    floor = simulator.dso_floor(people)
    print(f"outcomes_dso_floor_days: {floor:.1f} days")
    print(f"outcomes_max_dso_reduction_vs_baseline: {1 - floor / base.dso_days:.3f} fraction")
    # Calibration: one reminder before due moves ~8 points to on time (NBER w17020 range).
    uplift = results["default"].on_time_ratio - results["none"].on_time_ratio
    print(f"outcomes_calibration_predue_uplift: {uplift:.3f} ratio")
    print(f"outcomes_seconds: {time.perf_counter() - t0:.1f} s")
