"""The strategy lab without a browser: controls, checks, the run, the reading, files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import run_crmsim

from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import load_scenario
from crmsim.report.lab import (
    LAB_MEASURES,
    MOST_OPTIONS,
    LabSetup,
    LabWorkers,
    Option,
    RunCancelledError,
    run_lab,
    shipped_bases,
    strategy_controls,
)
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY
from crmsim.study.compare import compare
from crmsim.study.store import RunMemory

SMALL = {"customers": 1_500, "months": 24, "replications": 3, "seed": 11}


def test_every_parameter_of_every_strategy_has_a_control_with_its_unit_and_meaning() -> None:
    for player, registry in (("firm", REGISTRY), ("competitor", COMPETITOR_REGISTRY)):
        for name, strategy in registry.items():
            controls = strategy_controls(name, player)
            assert [c.name for c in controls] == list(strategy.parameters)
            for control in controls:
                assert control.label and control.help, (name, control.name)
                if control.kind in ("probability", "share"):
                    assert (control.minimum, control.maximum) == (0.0, 1.0)
    reward = {c.name: c for c in strategy_controls("loyalty_program")}["reward_rate"]
    assert reward.label == "Reward rate" and reward.unit == "share of member spend"
    with pytest.raises(KeyError, match="choose one of"):
        strategy_controls("no_such_strategy")


def test_problems_name_the_control_at_fault_and_what_is_allowed() -> None:
    setup = LabSetup(
        options=(
            Option("loyalty_program", params={"reward_rate": 2}),
            Option("win_back", params={"start_month": 10, "end_month": 5}),
            Option("no_such_strategy"),
            Option("win_back"),
        ),
        customers=0,
        replications=0,
    )
    problems = setup.problems()
    assert set(problems) == {
        "customers",
        "replications",
        "option 1",
        "option 2",
        "option 3",
        "option 4",
    }
    assert "Reward rate" in problems["option 1"] and "[0, 1]" in problems["option 1"]
    assert "end_month (5) must come after start_month (10)" == problems["option 2"]
    assert "choose one of" in problems["option 3"]
    assert "from 2" in problems["replications"]
    # The fourth option repeats the second's strategy.
    assert "chosen twice" in problems["option 4"]
    duplicate = LabSetup(options=(Option("win_back"), Option("win_back"))).problems()
    assert "chosen twice" in duplicate["option 2"]
    assert "0 chosen" in LabSetup().problems()["options"]
    too_many = tuple(Option(name) for name in list(REGISTRY)[: MOST_OPTIONS + 1])
    assert "one to 4" in LabSetup(options=too_many).problems()["options"]
    unknown = LabSetup(base="no_such_scenario", options=(Option("win_back"),))
    assert "baseline" in unknown.problems()["base"]
    with pytest.raises(ScenarioError, match="Reward rate"):
        setup.scenarios()


def test_each_option_is_the_base_with_one_strategy_on() -> None:
    setup = LabSetup(
        options=(
            Option("loyalty_program", params={"reward_rate": 0.05}),
            Option("poaching_offers", player="competitor"),
        ),
        **SMALL,
    )
    base, loyalty, poaching = setup.scenarios()
    assert base.name == "baseline" and not base.strategies()
    assert loyalty.strategies()["loyalty_program"]["reward_rate"] == 0.05
    assert poaching.name == "competitor_poaching_offers"
    assert list(poaching.strategies("competitor_strategies")) == ["poaching_offers"]
    # A base that runs the strategy already keeps its settings where the user set none.
    on_top = LabSetup(base="loyalty_program", options=(Option("loyalty_program", params={}),))
    shipped = load_scenario("loyalty_program").strategies()["loyalty_program"]
    assert on_top.scenarios()[1].strategies()["loyalty_program"] == shipped


def test_the_run_is_the_comparison_of_the_study_layer_with_progress() -> None:
    setup = LabSetup(options=(Option("win_back"),), **SMALL)
    told: list[tuple[int, int]] = []
    result = run_lab(setup, progress=lambda done, total: told.append((done, total)))
    assert told[-1] == (6, 6) and [d for d, _ in told] == list(range(1, 7))
    same = compare(setup.scenarios(), replications=3, seed=11, months=24, customers=1_500)
    pd.testing.assert_frame_equal(result.comparison.table, same.table)
    table = result.table()
    assert list(table.index) == ["baseline", "win_back"]
    assert len(table.columns) == len(LAB_MEASURES)
    assert all("[" in cell for cell in table.to_numpy().ravel())
    differences = result.differences()
    assert list(differences.index) == ["win_back"]
    numbers = result.numbers()
    row = numbers[(numbers.option == "win_back") & (numbers.measure == "value_of_customer_base")]
    paired = same.differences.set_index(["scenario", "measure"]).loc[
        ("win_back", "value_of_customer_base")
    ]
    assert row["difference"].item() == pytest.approx(paired["difference"])
    assert pd.read_csv(__import__("io").StringIO(result.csv())).shape == numbers.shape


def test_cancelling_stops_the_study_and_keeps_nothing() -> None:
    setup = LabSetup(options=(Option("win_back"),), **SMALL)
    told: list[int] = []
    with pytest.raises(RunCancelledError, match="after 2 of 6 runs"):
        run_lab(setup, progress=lambda done, _: told.append(done), cancelled=lambda: len(told) >= 2)
    assert told == [1, 2]


def test_warm_workers_give_the_same_numbers_and_start_afresh_after_a_cancel() -> None:
    setup = LabSetup(options=(Option("win_back"),), **SMALL)
    alone = run_lab(setup)
    workers = LabWorkers(2)
    try:
        warm = run_lab(setup, workers=workers)
        pd.testing.assert_frame_equal(warm.comparison.table, alone.comparison.table)
        pool = workers.start()
        # Other seeds: runs the workers have not made yet (made runs are remembered).
        other = dataclasses.replace(setup, seed=12)
        assert run_lab(other, workers=workers).numbers().equals(run_lab(other).numbers())
        assert workers.start() is pool  # kept warm between runs
        told: list[int] = []
        with pytest.raises(RunCancelledError):
            run_lab(
                dataclasses.replace(setup, seed=13),
                workers=workers,
                progress=lambda done, _: told.append(done),
                cancelled=lambda: len(told) >= 1,
            )
        assert not workers.busy.locked()
        assert workers.start() is not pool  # the cancelled run's workers were stopped
        # While another run holds the workers, a run goes on in its own process.
        with workers.busy:
            assert run_lab(setup, workers=workers).numbers().equals(warm.numbers())
    finally:
        workers.stop()


def test_a_second_click_runs_only_what_changed_and_gives_the_same_numbers() -> None:
    first = LabSetup(options=(Option("win_back"),), **SMALL)
    workers = LabWorkers(1)  # in this process: the memory is the page's, whatever the workers
    done = run_lab(first, workers=workers)
    assert len(workers.remembered) == 6 and not workers.remembered.loaded
    told: list[tuple[int, int]] = []
    again = run_lab(first, workers=workers, progress=lambda *n: told.append(n))
    assert told == []  # nothing to run: every run is remembered
    pd.testing.assert_frame_equal(again.comparison.table, done.comparison.table)
    changed = LabSetup(options=(Option("win_back", params={"cost_per_offer": 4.0}),), **SMALL)
    told.clear()
    result = run_lab(changed, workers=workers, progress=lambda *n: told.append(n))
    assert [done for done, _ in told] == [4, 5, 6]  # the base's three runs came back at once
    alone = run_lab(changed)
    pd.testing.assert_frame_equal(result.comparison.table, alone.comparison.table)
    # A cancelled click keeps the runs it finished for the next one.
    wider = LabSetup(options=(Option("loyalty_program"),), **SMALL)
    told.clear()
    with pytest.raises(RunCancelledError):
        run_lab(
            wider,
            workers=workers,
            progress=lambda *n: told.append(n),
            cancelled=lambda: len(told) >= 1,
        )
    assert told == [(4, 6)]
    told.clear()
    run_lab(wider, workers=workers, progress=lambda *n: told.append(n))
    assert [done for done, _ in told] == [5, 6]


def test_the_memory_of_runs_forgets_the_oldest_and_hands_out_copies() -> None:
    memory = RunMemory(most=2)
    for key in ("a", "b", "c"):
        memory.save({"key": key, "measures": {"x": 1.0}})
    assert len(memory) == 2 and memory.load("a") is None
    run = memory.load("b")
    run["measures"]["x"] = 99.0
    assert memory.load("b")["measures"]["x"] == 1.0
    assert memory.loaded == {"b"}
    with pytest.raises(ValueError, match="at least 1"):
        RunMemory(most=0)


def test_the_reading_follows_the_interval_of_the_change() -> None:
    setup = LabSetup(options=(Option("loyalty_program"), Option("win_back")), **SMALL)
    result = run_lab(setup)
    reading = result.reading()
    assert len(reading) == 2
    differences = result.comparison.differences.set_index(["scenario", "measure"])
    for option, sentence in zip(setup.options, reading, strict=True):
        row = differences.loc[(option.name, "value_of_customer_base")]
        assert sentence.startswith(f"{option.name}: ")
        if row["ci_low"] > 0:
            assert "raises the value of the customer base by" in sentence
        elif row["ci_high"] < 0:
            assert "lowers the value of the customer base by" in sentence
        else:
            assert "does not clearly change" in sentence
        if "by" in sentence and "clearly" not in sentence:
            base = result.comparison.table.set_index(["scenario", "measure"]).loc[
                ("baseline", "value_of_customer_base"), "mean"
            ]
            percent = f"{abs(100 * row['difference'] / base):.0f}%"
            assert percent in sentence


def test_an_option_saved_as_a_scenario_file_loads_back_as_the_base() -> None:
    setup = LabSetup(
        base="price_rise", options=(Option("loyalty_program", params={"reward_rate": 0.05}),)
    )
    saved = setup.scenarios()[1]
    loaded = LabSetup.from_yaml(setup.option_yaml(1), options=(Option("win_back"),), **SMALL)
    assert loaded.base_scenario().data == saved.data
    # Strategies tried on top of it keep the saved ones on.
    on_top = loaded.scenarios()[1]
    assert list(on_top.strategies()) == ["price_change", "loyalty_program", "win_back"]
    assert on_top.strategies()["loyalty_program"]["reward_rate"] == 0.05
    assert not loaded.problems()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "not a YAML file"),
        ("- just\n- a list\n", "not a scenario"),
        ("name: x\nfirm:\n  gross_margin: 7\n", "gross_margin"),
        ("name: x\nfirm:\n  no_such_setting: 1\n", "no_such_setting"),
    ],
)
def test_a_file_that_is_not_a_lab_scenario_gets_one_message(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        LabSetup.from_yaml(text)


def test_the_bases_are_the_shipped_scenarios() -> None:
    bases = shipped_bases()
    assert "baseline" in bases and bases == sorted(bases)
    assert np.all([load_scenario(name).name == name for name in bases[:3]])


def test_the_app_command_refuses_a_port_it_cannot_serve_on() -> None:
    done = run_crmsim("app", "--port", "80")
    assert done.returncode == 2
    assert "from 1024 to 65535, or 0 for any free port; got '80'" in done.stderr


def test_the_live_market_runs_month_by_month_and_stops_at_its_last() -> None:
    from crmsim.engine.model import CRMModel
    from crmsim.report.live import LiveMarket, month_numbers

    live = LiveMarket("baseline", customers=1_500, rng="7", months=5)
    assert month_numbers(live.market) == {}
    for _ in range(7):
        live.step()
    assert live.market.month == 5 and not live.running
    # The same market as a run of the same scenario and seed.
    run = CRMModel(live.market.scenario, rng=7, customers=1_500).run(5)
    pd.testing.assert_frame_equal(live.market.monthly_series(), run.monthly_series())
    numbers = month_numbers(live.market)
    assert numbers["Months run"] == "5"
    assert any(label.startswith("Customer equity") for label in numbers)
    with pytest.raises(ValueError, match="whole number"):
        LiveMarket(rng="forty-two")
