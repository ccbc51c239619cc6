"""Writing a calibration: tables, figures, the report and the scenario, all or nothing."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import yaml

from crmsim.calibrate.contractual import CohortFit
from crmsim.calibrate.reading import CalibrationError
from crmsim.calibrate.transactions import TransactionFit
from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.study import OutputFolder, atomic_folder

TRANSACTION_FILES = (
    "report.txt",
    "parameters.csv",
    "rfm.csv",
    "holdout.csv",
    "tracking.csv",
    "conditional.csv",
    "tracking.png",
    "per_period.png",
    "conditional.png",
    "scenario.yaml",
)
COHORT_FILES = ("report.txt", "parameters.csv", "survival.csv", "holdout.csv", "survival.png",
                "scenario.yaml")  # fmt: skip
"""What a calibration writes into its folder."""


def scenario_text(fit: TransactionFit | CohortFit, name: str) -> str:
    """The scenario's YAML text, checked against the scenario schema."""
    settings = fit.scenario_settings(name)
    try:
        Scenario(settings, source="calibrated scenario")
    except ScenarioError as error:  # an estimate beyond what the lab can simulate
        raise CalibrationError(
            f"the calibrated scenario is not one the lab can run: {error}"
        ) from None
    return yaml.safe_dump(settings, sort_keys=False, width=88, allow_unicode=True)


def write_calibration(
    fit: TransactionFit | CohortFit,
    out: str | Path | OutputFolder,
    name: str = "calibrated",
    force: bool = False,
) -> list[str]:
    """Write the calibration into ``out``: every file appears together, or none does.

    Args:
        fit: A transaction or cohort fit.
        out: The output folder (new or empty, unless ``force``), or a checked
            :class:`crmsim.study.OutputFolder`.
        name: The written scenario's name.
        force: Write into a folder that holds other files (same names are replaced).

    Returns:
        The names of the files written.

    Raises:
        CalibrationError: The scenario breaks the schema, or does not load back.
        crmsim.study.OutputError: The folder holds other results (without ``force``).
    """
    transactional = isinstance(fit, TransactionFit)
    names = TRANSACTION_FILES if transactional else COHORT_FILES
    folder = out if isinstance(out, OutputFolder) else OutputFolder(out, names, force=force)
    text = scenario_text(fit, name)
    folder.claim()
    figures = fit.figures()
    try:
        with atomic_folder(folder.path) as tmp:
            (tmp / "report.txt").write_text(fit.summary() + "\n", encoding="utf-8")
            fit.parameters().to_csv(tmp / "parameters.csv", index=False)
            fit.holdout().to_csv(tmp / "holdout.csv", index=False)
            if transactional:
                fit.rfm.to_csv(tmp / "rfm.csv")
                fit.tracking().to_csv(tmp / "tracking.csv", index=False)
                fit.conditional_expectations().to_csv(tmp / "conditional.csv", index=False)
            else:
                fit.survival().to_csv(tmp / "survival.csv", index=False)
            for file, figure in figures.items():
                figure.savefig(tmp / file, dpi=110)
            (tmp / "scenario.yaml").write_text(text, encoding="utf-8")
            try:
                load_scenario(tmp / "scenario.yaml")
            except ScenarioError as error:
                raise CalibrationError(
                    f"the written scenario does not load back: {error}"
                ) from None
    finally:
        for figure in figures.values():
            plt.close(figure)
    return list(names)
