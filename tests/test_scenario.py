"""Scenario files: defaults, validation messages, safe loading, shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import crmsim
from crmsim.config.fields import Field, Record, ScenarioError, check_value
from crmsim.config.scenario import (
    Scenario,
    load_scenario,
    resolve_sweep_path,
    shipped_scenarios_dir,
    shipped_sweeps_dir,
)
from crmsim.config.schema import SCHEMA

SHIPPED = sorted(shipped_scenarios_dir().glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "what_if.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    return str(caught.value)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_are_valid_and_named_after_their_file(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.description.strip(), "every shipped scenario explains itself"


def test_required_scenarios_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"baseline", "loyalty_program", "fire_marginal_customers"} <= names


def test_an_empty_scenario_takes_every_default(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, ""))
    for section, fields in SCHEMA.items():
        for key, spec in fields.items():
            if isinstance(spec, Record):
                assert scenario.data[section][key] == spec.default
            else:
                assert scenario.data[section][key] == spec.default, f"{section}.{key}"
    assert scenario.data["strategies"] == {}


def test_baseline_is_the_defaults() -> None:
    assert load_scenario("baseline").data | {"name": "", "description": ""} == Scenario({}).data | {
        "name": "",
        "description": "",
    }


def test_strategy_defaults_are_filled_in() -> None:
    scenario = Scenario({"strategies": {"loyalty_program": {"reward_rate": 0.05}}})
    params = scenario.data["strategies"]["loyalty_program"]
    assert params["reward_rate"] == 0.05
    assert params["start_month"] == 0 and params["churn_reduction"] == 0.4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firm:\n  colour: blue\n", "firm.colour: unknown setting"),
        ("frim:\n  gross_margin: 0.3\n", "frim: unknown section (did you mean firm?)"),
        ("firm:\n  gross_margn: 0.3\n", "did you mean gross_margin?"),
        ("firm:\n  gross_margin: high\n", "firm.gross_margin: must be a share in [0, 1]; got str"),
        (
            "competitor:\n  reach_per_month: 1.5\n",
            "competitor.reach_per_month: must be a probability",
        ),
        ("competitor:\n  reach_per_month: -0.1\n", "in [0, 1]; got -0.1"),
        (
            "firm:\n  cost_to_serve_per_month: -1\n",
            "cost_to_serve_per_month: must be a number >= 0",
        ),
        ("simulation:\n  months: 12.5\n", "simulation.months: must be a whole number in [1, 1200]"),
        ("simulation:\n  months: true\n", "simulation.months: must be a whole number"),
        ("customers:\n  behaviour: retail\n", "must be one of contractual, non_contractual"),
        ("ladder:\n  churn_multiplier: [1, 1]\n", "must be a list of 5 numbers"),
        (
            "customers:\n  background_reason_mix: {weather: 1}\n",
            "unknown reason(s) weather",
        ),
        ("acquisition:\n  channels:\n    tv: {budget_shar: 1}\n", "channels.tv.budget_shar"),
        (
            "acquisition:\n  channels:\n    a: {budget_share: 0.7}\n    b: {budget_share: 0.6}\n",
            "budget shares add up to 1.3; allowed: at most 1",
        ),
        (
            "customers:\n  behaviour: non_contractual\nfirm:\n  margin_timing: end\n",
            "firm.margin_timing: 'end' contradicts customers.behaviour: non_contractual",
        ),
        (
            "market:\n  expectation_start: 0.8\n  expectation_ceiling: 0.6\n",
            "market.expectation_ceiling (0.6) must be above market.expectation_start (0.8)",
        ),
        (
            "market:\n  technology_shock_month: 24\n  technology_shock_rate_per_month: 0\n",
            "market.technology_shock_month (24) is set but "
            "market.technology_shock_rate_per_month is 0",
        ),
        ("strategies:\n  win_everyone: {}\n", "strategies.win_everyone: unknown strategy"),
        (
            "strategies:\n  loyalty_program:\n    reward_rate: 2\n",
            "strategies.loyalty_program.reward_rate: must be a share in [0, 1]",
        ),
        (
            "strategies:\n  loyalty_program:\n    start_month: 10\n    end_month: 5\n",
            "end_month (5) must come after start_month (10)",
        ),
        ("strategies: [loyalty_program]\n", "strategies: must map strategy names"),
        ("- 1\n- 2\n", "a scenario must be a mapping"),
        ("firm: [1,\n", "not valid YAML at line 2"),
    ],
)
def test_invalid_scenarios_name_file_field_and_what_is_allowed(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = error_of(tmp_path, text)
    assert expected in message
    assert "what_if.yaml" in message


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    message = error_of(tmp_path, "firm:\n  gross_margin: 2\n  price_index: -1\n")
    assert "firm.gross_margin" in message and "firm.price_index" in message


def test_yaml_cannot_carry_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'x: !!python/object/apply:os.system ["touch {marker}"]\n'
    message = error_of(tmp_path, text)
    assert "not valid YAML" in message
    assert not marker.exists()


def test_missing_file_lists_shipped_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file.*baseline"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario("no_such_shipped_scenario")


def test_shipped_scenarios_load_by_name() -> None:
    assert (
        load_scenario("loyalty_program").data["strategies"]["loyalty_program"]["start_month"] == 12
    )


def test_shipped_files_are_package_data() -> None:
    package = Path(crmsim.__file__).resolve().parent
    assert shipped_scenarios_dir().resolve() == package / "scenarios"
    assert shipped_sweeps_dir().resolve() == package / "sweeps"
    assert (shipped_scenarios_dir() / "README.md").is_file()


def test_a_folder_named_like_a_shipped_scenario_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baseline").mkdir()  # e.g. the output of `crmsim run baseline --out baseline`
    assert load_scenario("baseline").source == str(shipped_scenarios_dir() / "baseline.yaml")


def test_shipped_sweeps_resolve_by_name_and_files_by_path(tmp_path: Path) -> None:
    assert resolve_sweep_path("reward_rate") == shipped_sweeps_dir() / "reward_rate.yaml"
    own = tmp_path / "study.yaml"
    own.write_text("scenarios: [baseline]\n")
    assert resolve_sweep_path(own) == own
    with pytest.raises(ScenarioError, match="no such sweep file or shipped sweep.*reward_rate"):
        resolve_sweep_path("no_such_sweep")
    with pytest.raises(ScenarioError, match="missing.yaml: no such sweep file.*loyalty_design"):
        resolve_sweep_path(tmp_path / "missing.yaml")


def test_with_changes_validates_and_keeps_the_original() -> None:
    base = load_scenario("baseline")
    changed = base.with_changes({"firm.gross_margin": 0.5, "simulation.months": 24})
    assert changed.params.firm.gross_margin == 0.5 and changed.params.simulation.months == 24
    assert base.params.firm.gross_margin == SCHEMA["firm"]["gross_margin"].default
    with pytest.raises(ScenarioError, match="firm.gross_margin"):
        base.with_changes({"firm.gross_margin": 3})


def test_full_scenario_round_trips_through_yaml(tmp_path: Path) -> None:
    scenario = load_scenario("loyalty_program")
    again = load_scenario(write(tmp_path, scenario.to_yaml(), "loyalty_program.yaml"))
    assert again.data == scenario.data


def test_check_value_kinds() -> None:
    assert check_value(Field("probability", 0.1), 0.0) is None
    assert check_value(Field("probability", 0.1), 1.0) is None
    assert check_value(Field("probability", 0.1), 1.01) is not None
    assert check_value(Field("probability", 0.1), float("nan")) is not None
    assert check_value(Field("count", 1), 3) is None
    assert check_value(Field("count", 1), -1) is not None
    assert check_value(Field("month", None, nullable=True), None) is None
    assert check_value(Field("month", 0), None) is not None


def test_schema_defaults_are_themselves_valid() -> None:
    for section, fields in SCHEMA.items():
        for key, spec in fields.items():
            if isinstance(spec, Field):
                assert check_value(spec, spec.default) is None, f"{section}.{key}"


def test_scenario_readme_documents_every_setting() -> None:
    readme = (shipped_scenarios_dir() / "README.md").read_text()
    for section, fields in SCHEMA.items():
        for key in fields:
            assert f"`{key}`" in readme, f"{section}.{key} missing from scenarios/README.md"


def test_yaml_safe_dump_of_defaults_is_plain() -> None:
    text = Scenario({}).to_yaml()
    assert "!!python" not in text
    assert yaml.safe_load(text)["firm"]["gross_margin"] == SCHEMA["firm"]["gross_margin"].default


def test_scenario_readme_reference_is_generated_from_the_schema() -> None:
    from crmsim.config.docs import schema_markdown, strategies_markdown

    readme = (shipped_scenarios_dir() / "README.md").read_text()
    assert schema_markdown() in readme, "regenerate the reference with `make docs`"
    assert strategies_markdown() in readme, "regenerate the reference with `make docs`"
    for path in SHIPPED:
        assert f"| `{path.name}` |" in readme, f"{path.name} missing: run `make docs`"


def test_a_scenario_is_read_only_and_changes_make_a_copy() -> None:
    import copy
    import pickle

    scenario = load_scenario("loyalty_program")
    with pytest.raises(AttributeError, match="with_changes"):
        scenario.params.firm.gross_margin = 0.9
    with pytest.raises(TypeError, match="with_changes"):
        scenario.data["firm"]["gross_margin"] = 0.9
    with pytest.raises(TypeError, match="read-only"):
        scenario.data["ladder"]["churn_multiplier"].append(1.0)
    with pytest.raises(AttributeError, match="read-only"):
        scenario.name = "other"
    changed = scenario.with_changes({"firm.gross_margin": 0.5})
    assert (changed.params.firm.gross_margin, scenario.params.firm.gross_margin) == (0.5, 0.35)
    mutable = copy.deepcopy(scenario.data)
    mutable["firm"]["gross_margin"] = 0.9  # a deep copy is plain data to change
    assert scenario.params.firm.gross_margin == 0.35
    again = pickle.loads(pickle.dumps(scenario.data))
    assert again == scenario.data and Scenario(again).to_yaml() == scenario.to_yaml()
