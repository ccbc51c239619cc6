"""Behaviour fingerprints of the shipped scenarios: one seeded run of each, hashed.

A refactoring that keeps behaviour keeps every fingerprint: the same scenario and
seed give the same monthly series, headline measures and customer table, to the
last bit. The same runs with ``firm.knowledge: oracle`` are kept apart
(``fingerprints_oracle.json``): they are the engine's results before the firm
estimated what it knows. A change of behaviour on purpose regenerates both files
and says why in its commit::

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
GOLDEN_ORACLE = GOLDEN.with_name("fingerprints_oracle.json")
"""The same runs with ``firm.knowledge: oracle`` (the firm reads the truth)."""
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


def fingerprint(name: str, knowledge: str | None = None) -> dict[str, Any]:
    """Run one shipped scenario (seeded, small) and hash what it produced.

    Args:
        name: The shipped scenario.
        knowledge: ``firm.knowledge`` to run with (None = the scenario's). With
            ``"oracle"`` the summary is hashed without its ``firm_knowledge`` entry,
            which says only that the firm read the truth, so the prints of the oracle
            are those of the engine before the firm estimated.
    """
    scenario = load_scenario(name)
    if knowledge is not None:
        scenario = scenario.with_changes({"firm.knowledge": knowledge})
    model = CRMModel(scenario, rng=SEED, customers=CUSTOMERS).run(MONTHS)
    series = model.monthly_series()
    monthly = {column: series[column].tolist() for column in series.columns}
    summary = model.summary()
    if knowledge == "oracle":
        # The firm reads the truth: its reckoning is the equity, and it says so.
        del summary["firm_knowledge"], summary["firm_customer_equity"]
    frame = model.customer_frame()
    customers = {column: frame[column].tolist() for column in frame.columns}
    return {
        "monthly": _digest(monthly),
        "summary": _digest(summary),
        "customers": _digest(customers),
        **{key: summary[key] for key in HEADLINES},
    }


def all_fingerprints(knowledge: str | None = None) -> dict[str, dict[str, Any]]:
    """The fingerprint of every shipped scenario (``knowledge``: see :func:`fingerprint`)."""
    return {name: fingerprint(name, knowledge) for name in shipped_scenario_names()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    args = parser.parse_args()
    for path, knowledge in ((GOLDEN, None), (GOLDEN_ORACLE, "oracle")):
        found = all_fingerprints(knowledge)
        if args.update:
            path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            print(f"wrote {path}")
            continue
        golden = json.loads(path.read_text(encoding="utf-8"))
        for name, print_ in found.items():
            same = golden.get(name) == print_
            print(f"{'same' if same else 'DIFFERENT'}  {name} ({knowledge or 'as shipped'})")


if __name__ == "__main__":
    main()
