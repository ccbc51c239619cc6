"""Behaviour fingerprints of the shipped scenarios: one seeded run of each, hashed.

A refactoring that keeps behaviour keeps every fingerprint: the same scenario and
seed give the same monthly series, headline measures and customer table, to the
last bit. A change of behaviour on purpose regenerates the file and says why in
its commit::

    python tests/fingerprint.py --update

Each entry keeps a few headline numbers beside the hashes, so a mismatch shows
how far the results moved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from crmsim import CRMModel, load_scenario

GOLDEN = Path(__file__).resolve().parent / "golden" / "fingerprints.json"
SEED = 20261202
CUSTOMERS = 3_000
MONTHS = 48
HEADLINES = (
    "mean_lifetime_clv",
    "mean_realised_value",
    "customer_equity",
    "total_profit_pv",
    "retention_rate",
    "customers_ever",
)


def shipped_scenario_names() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    from crmsim.config.scenario import shipped_scenarios_dir

    return sorted(p.stem for p in shipped_scenarios_dir().glob("*.yaml"))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float | np.floating):
        value = float(value)
        return "nan" if math.isnan(value) else value.hex()
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _digest(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(name: str) -> dict[str, Any]:
    """Run one shipped scenario (seeded, small) and hash what it produced."""
    model = CRMModel(load_scenario(name), rng=SEED, customers=CUSTOMERS).run(MONTHS)
    series = model.monthly_series()
    monthly = {column: series[column].tolist() for column in series.columns}
    summary = model.summary()
    frame = model.customer_frame()
    customers = {column: frame[column].tolist() for column in frame.columns}
    return {
        "monthly": _digest(monthly),
        "summary": _digest(summary),
        "customers": _digest(customers),
        **{key: summary[key] for key in HEADLINES},
    }


def all_fingerprints() -> dict[str, dict[str, Any]]:
    """The fingerprint of every shipped scenario."""
    return {name: fingerprint(name) for name in shipped_scenario_names()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the golden file")
    args = parser.parse_args()
    found = all_fingerprints()
    if args.update:
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {GOLDEN}")
        return
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for name, print_ in found.items():
        same = golden.get(name) == print_
        print(f"{'same' if same else 'DIFFERENT'}  {name}")


if __name__ == "__main__":
    main()
