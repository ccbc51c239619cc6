"""Customers split by channel, cohort, rung and programme membership, run by run and in studies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crmsim import CRMModel, economics, study
from crmsim.measures import SEGMENT_DIMENSIONS, SEGMENT_MEASURES


@pytest.fixture(scope="module")
def model() -> CRMModel:
    return CRMModel("baseline", rng=11, customers=3_000).run(30)


@pytest.mark.parametrize("by", list(SEGMENT_DIMENSIONS))
def test_segments_add_up_to_every_customer_and_their_mean_values(model: CRMModel, by: str) -> None:
    customers = model.customer_frame()
    table = economics.segment_tables(model)[by]
    assert table["customers"].sum() == len(customers) == model.summary()["customers_ever"]
    assert table["customer_share"].sum() == pytest.approx(1.0, abs=1e-12)
    # An identity: the share-weighted mean of the segments' means is the overall mean.
    weights = table["customer_share"].to_numpy()
    means = np.nan_to_num(table["mean_realised_value"].to_numpy())
    assert (weights * means).sum() == pytest.approx(customers["realised_clv"].mean(), rel=1e-12)
    # Per person in the market by the end of the run (its entrants so far included).
    people = model.summary()["market_size"]
    assert people == model.customers.people == 3_000 + round(0.005 * 3_000 * 30)
    per_person = table["realised_value_per_person"].sum()
    assert per_person == pytest.approx(customers["realised_clv"].sum() / people)
    means = np.nan_to_num(table["mean_lifetime_clv"].to_numpy())
    assert (weights * means).sum() == pytest.approx(customers["lifetime_clv"].mean(), rel=1e-12)
    per_person = table["lifetime_clv_per_person"].sum()
    assert per_person == pytest.approx(customers["lifetime_clv"].sum() / people)


def test_the_initial_base_is_a_channel_and_a_cohort_of_its_own(model: CRMModel) -> None:
    tables = economics.segment_tables(model)
    initial = int((model.customer_frame()["source"] == "initial_base").sum())
    assert initial > 0
    assert tables["channel"].loc["initial_base", "customers"] == initial
    assert tables["cohort"].loc["initial_base", "customers"] == initial
    assert list(tables["cohort"].index) == ["year 1", "year 2", "year 3", "initial_base"]


def test_an_unknown_split_names_the_allowed_ones() -> None:
    with pytest.raises(study.StudyError, match="did you mean channel.*allowed: channel, cohort"):
        study.segment_frame([], "chanel")


@pytest.fixture(scope="module")
def comparison() -> study.Comparison:
    return study.compare(
        ["baseline", "lookalike_acquisition"], replications=6, months=30, customers=3_000
    )


def test_intervals_contain_the_mean_and_narrow_with_replications(comparison) -> None:
    table = comparison.by("channel")
    assert set(table["measure"]) == {m.name for m in SEGMENT_MEASURES}
    defined = table.dropna(subset=["ci_low"])
    assert (defined["ci_low"] <= defined["mean"]).all()
    assert (defined["mean"] <= defined["ci_high"]).all()
    fewer = study.compare(["baseline"], replications=3, months=30, customers=3_000).by("channel")

    def width(t: Any) -> float:
        return (t["ci_high"] - t["ci_low"]).where(t["measure"] == "mean_realised_value").sum()

    # t(0.975, 2) * s / sqrt(3) against t(0.975, 5) * s / sqrt(6): about 3.5 times wider.
    base = table[table["scenario"] == "baseline"]
    assert width(fewer) > width(base)


def test_the_lookalike_scenario_shows_in_its_channel(comparison) -> None:
    table = comparison.by("channel").set_index(["scenario", "segment", "measure"])
    row = table.loc[("lookalike_acquisition", "lookalike", "customers")]
    # Most of the budget moves to look-alikes from month 12: more of them, fewer mass.
    assert row["difference_ci_low"] > 0
    mass = table.loc[("lookalike_acquisition", "mass", "customers")]
    assert mass["difference_ci_high"] < 0
    base = table.loc[("lookalike_acquisition", "initial_base", "customers")]
    assert base["difference"] == 0


def test_stored_runs_keep_their_segments_and_old_ones_are_recomputed(tmp_path: Path) -> None:
    first = study.compare(["baseline"], replications=2, months=6, customers=300, out=tmp_path)
    files = sorted((tmp_path / "runs").glob("*.json"))
    old = json.loads(files[0].read_text())
    del old["segments"]  # a run stored by a crmsim without segment tables
    files[0].write_text(json.dumps(old))
    again = study.compare(["baseline"], replications=2, months=6, customers=300, out=tmp_path)
    for by in SEGMENT_DIMENSIONS:
        assert again.by(by).equals(first.by(by))
    assert "segments" in json.loads(files[0].read_text())


def test_compare_by_channel_prints_and_writes_the_split(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from crmsim.cli import main

    args = ["compare", "baseline", "--replications", "2", "--months", "6", "--customers", "300"]
    assert main([*args, "--by", "channel", "--workers", "1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "initial_base: realised value" in printed
    assert "initial_base: lifetime CLV" in printed
    assert all(len(line) <= 100 for line in printed.splitlines())
    assert (tmp_path / "by_channel.csv").is_file()
    assert (tmp_path / "by_channel.png").stat().st_size > 0
    assert "by_channel.png" in printed
    assert main([*args, "--by", "chanel", "--out", str(tmp_path / "other")]) == 2
    assert "invalid choice: 'chanel' (choose from 'channel', 'cohort'" in capsys.readouterr().err
