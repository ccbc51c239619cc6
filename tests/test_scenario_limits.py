"""Hostile scenario files, class by class: each gives one clear message, quickly.

Each message names the file, the field (or the line) and what is allowed; the
limits are those of ``crmsim.config.reading`` and ``crmsim.config.schema``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from crmsim.config import reading
from crmsim.config.fields import LARGEST, Field, ScenarioError, check_value, shown
from crmsim.config.scenario import (
    Scenario,
    load_scenario,
    parse_assignment,
    shipped_scenarios_dir,
)
from crmsim.config.schema import (
    MAX_CHANNELS,
    MAX_CUSTOMERS,
    MAX_FOLLOWED,
    MAX_MONTHS,
    MAX_PEOPLE,
    SCHEMA,
)

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, content: str | bytes, name: str = "what_if.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def error_of(tmp_path: Path, content: str | bytes, name: str = "what_if.yaml") -> str:
    path = write(tmp_path, content, name)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "Traceback" not in message
    return message


# --------------------------------------------------------------------------- numbers
def test_a_whole_number_too_large_for_a_float_is_refused_with_its_size(tmp_path: Path) -> None:
    setting = "acquisition.budget_per_month_per_1000_people"
    message = error_of(tmp_path, f"acquisition:\n  {setting.split('.')[1]}: 1" + "0" * 400 + "\n")
    assert f"{setting}: must be a number >= 0, at most 1_000_000_000" in message
    assert "got a whole number of 401 digits" in message
    # Under the setting's old name too: what it became, and what is wrong with the value.
    message = error_of(tmp_path, "acquisition:\n  budget_per_month: 1" + "0" * 400 + "\n")
    assert f"acquisition.budget_per_month is now {setting}" in message
    assert "must be a number >= 0, at most 1_000_000_000" in message
    assert "got a whole number of 401 digits" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firm:\n  gross_margin: 1" + "0" * 400, "firm.gross_margin: must be a share in [0, 1]"),
        (
            "firm:\n  cost_to_serve_per_month: 1e10\n",
            "firm.cost_to_serve_per_month: must be a number >= 0, at most",
        ),
        ("firm:\n  service_quality: -1e308\n", "firm.service_quality: must be a number, at most"),
        (
            "firm:\n  cost_to_serve_per_month: .inf\n",
            "firm.cost_to_serve_per_month: must be a number >= 0, at most",
        ),
        ("firm:\n  cost_to_serve_per_month: 1e-300\n", "0 or at least 1e-09 in size; got 1e-300"),
        (
            "customers:\n  order_value_spread: 1e308\n",
            "order_value_spread: must be a number in [0, 5]",
        ),
        (
            "competitor:\n  value_focus: 10000\n",
            "competitor.value_focus: must be a number in [0, 10]",
        ),
        (
            "acquisition:\n  channels:\n    tv: {lookalike_strength: 1000}\n",
            "acquisition.channels.tv.lookalike_strength: must be a number in [0, 10]",
        ),
        (
            "customers:\n  background_reason_mix: {price: 1e308}\n",
            "customers.background_reason_mix: price must be a number >= 0, at most",
        ),
        (
            "ladder:\n  referrals_per_month: [0, 0, 0, 1e20, 0]\n",
            "ladder.referrals_per_month: must be a list of 5 numbers; item 1e+20 must be a "
            "number in [0, 10]",
        ),
        ("customers:\n  purchase_rate_r: 1e6\n", "customers.purchase_rate_r: must be a number in"),
        (
            "customers:\n  purchase_rate_alpha: 1e-6\n",
            "purchase_rate_alpha: must be a number >= 0.001",
        ),
        (
            "strategies:\n  win_back:\n    contact_every_months: 1e20\n",
            "strategies.win_back.contact_every_months: must be a whole number >= 1, at most",
        ),
    ],
)
def test_numbers_the_engine_cannot_hold_are_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in error_of(tmp_path, text)


def test_seeds_take_any_size_but_settings_do_not() -> None:
    assert check_value(Field("seed", 0), 10**400) is None
    assert check_value(Field("count", 0), 10**400) is not None
    assert check_value(Field("number", 0), LARGEST) is None
    assert check_value(Field("number", 0), -LARGEST) is None


def test_the_bounds_of_each_row_are_in_the_generated_reference() -> None:
    reference = (shipped_scenarios_dir() / "README.md").read_text(encoding="utf-8")
    assert "| `months` | a whole number in [1, 1200] |" in reference
    assert "| `customers` | a whole number in [1, 10_000_000] |" in reference
    assert "| `value_focus` | a number in [0, 10] |" in reference
    assert "record (at most 100)" in reference
    assert "at most 1,000,000,000 in size" in reference


# --------------------------------------------------------------------------- sizes
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "simulation: {months: 40000}\n",
            f"simulation.months: must be a whole number in [1, {MAX_MONTHS}]",
        ),
        ("simulation: {months: 10000000000}\n", "simulation.months: must be a whole number in"),
        (
            "simulation: {customers: 10000001}\n",
            "simulation.customers: must be a whole number in [1, 10_000_000]",
        ),
        (
            "simulation: {follow_customers: 1001}\n",
            f"follow_customers: must be a whole number in [0, {MAX_FOLLOWED}]",
        ),
    ],
)
def test_sizes_the_engine_cannot_hold_are_refused_before_anything_runs(
    tmp_path: Path, text: str, expected: str
) -> None:
    started = time.perf_counter()
    assert expected in error_of(tmp_path, text)
    assert time.perf_counter() - started < 2


def test_the_largest_sizes_are_valid() -> None:
    scenario = Scenario(
        {
            "simulation": {
                "months": MAX_MONTHS,
                "customers": MAX_CUSTOMERS,
                "follow_customers": MAX_FOLLOWED,
            },
            "market": {"entry_rate_per_month": 0.0},
        }
    )
    assert scenario.params.simulation.months == MAX_MONTHS
    # A renewing market keeps a row for everyone who will enter it: at most MAX_PEOPLE.
    rate = (MAX_PEOPLE / MAX_CUSTOMERS - 1) / MAX_MONTHS
    largest = {"simulation.months": MAX_MONTHS, "simulation.customers": MAX_CUSTOMERS}
    assert Scenario({}).with_changes({**largest, "market.entry_rate_per_month": rate})
    with pytest.raises(ScenarioError) as caught:
        Scenario({}).with_changes({**largest, "market.entry_rate_per_month": 0.005})
    assert (
        "market.entry_rate_per_month: 0.005 a month of 10,000,000 people over 1,200 months "
        "brings the market to 70,000,000 people; allowed: at most 20_000_000"
    ) in str(caught.value)


def test_more_than_100_channels_are_refused(tmp_path: Path) -> None:
    channels = "".join(f"    c{i}: {{budget_share: 0.001}}\n" for i in range(MAX_CHANNELS + 1))
    message = error_of(tmp_path, "acquisition:\n  channels:\n" + channels)
    assert f"acquisition.channels: 101 channels; allowed: at most {MAX_CHANNELS}" in message
    channels = "".join(f"    c{i}: {{budget_share: 0.001}}\n" for i in range(MAX_CHANNELS))
    assert (
        len(load_scenario(write(tmp_path, "acquisition:\n  channels:\n" + channels)).channels())
        == 100
    )


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    message = error_of(tmp_path, "description: " + "a" * reading.MAX_FILE_BYTES)
    assert "larger than 1_000_000 bytes; allowed: at most 1_000_000" in message


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("description: café\n".encode("latin-1"), "line 1: byte 0xe9 is not UTF-8 text"),
        ("firm:\n  gross_margin: 0.3\n".encode("utf-16"), "the scenario file is UTF-16 text"),
        (b"firm:\n  gross_margin: 0.3\n\x80\x81\xfe", "line 3: byte 0x80 is not UTF-8 text"),
        (b"firm: \x00\n", "not valid YAML at line 1: character #x0000 is not allowed"),
    ],
)
def test_files_that_are_not_utf8_text_are_refused(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    assert expected in error_of(tmp_path, content)


def test_a_byte_order_mark_of_utf8_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufefffirm:\n  gross_margin: 0.3\n".encode())
    assert load_scenario(path).params.firm.gross_margin == 0.3


@pytest.mark.parametrize("depth", [21, 5_000, 200_000])
def test_deep_nesting_is_refused_without_recursing(tmp_path: Path, depth: int) -> None:
    message = error_of(tmp_path, "firm: " + "[" * depth + "]" * depth + "\n")
    assert "line 1: mappings and lists nested more than 20 deep; allowed: at most 20" in message


# --------------------------------------------------------------------------- aliases and echoes
def _laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    started = time.perf_counter()
    message = error_of(tmp_path, _laughs())
    assert time.perf_counter() - started < 1
    assert "more than 100_000 values (each alias counting as the value it stands for)" in message
    assert len(message) < 500


def test_aliases_are_counted_and_may_not_contain_themselves(tmp_path: Path) -> None:
    many = "x: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(reading.MAX_ALIASES + 1))
    assert "more than 100 aliases (*name); allowed: at most 100" in error_of(tmp_path, many)
    assert "alias *a stands for a value that contains it" in error_of(tmp_path, "a: &a [*a]\n")


def test_aliases_and_merge_keys_of_a_real_file_still_work(tmp_path: Path) -> None:
    text = (
        "acquisition:\n  channels:\n"
        "    mass: &paid {budget_share: 0.3, cost_per_contact: 2.0}\n"
        "    radio:\n      <<: *paid\n      cost_per_contact: 3.0\n"
    )
    channels = load_scenario(write(tmp_path, text)).channels()
    assert channels["radio"]["budget_share"] == 0.3 and channels["radio"]["cost_per_contact"] == 3.0


def test_many_unknown_keys_give_a_short_message_with_a_count(tmp_path: Path) -> None:
    text = "firm:\n" + "".join(f"  colour_{i}: 1\n" for i in range(40_000))
    message = error_of(tmp_path, text)
    assert "firm.colour_0: unknown setting" in message
    assert (
        "firm: 39_997 more unknown settings (colour_3, colour_4, colour_5 and 39_994 more)"
        in message
    )
    assert len(message) < 3_000


def test_a_long_value_is_echoed_short(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, "ladder:\n  churn_multiplier: [" + ", ".join(["1"] * 90_000) + "]\n"
    )
    assert "ladder.churn_multiplier: must be a list of 5 numbers" in message
    assert len(message) < 500
    assert shown("x" * 1_000_000).count("x") < 100
    assert shown(10**5000) == "a whole number of 5001 digits"


def test_many_problems_are_counted_after_the_first_twenty(tmp_path: Path) -> None:
    text = "acquisition:\n  channels:\n" + "".join(
        f"    c{i}: {{budget_share: 2}}\n" for i in range(60)
    )
    message = error_of(tmp_path, text)
    assert message.count("must be a share") == 20
    assert "... and 40 more problems" in message


# --------------------------------------------------------------------------- keys and sections
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firm:\n  1: 0.3\n", "firm: setting names must be text; got 1"),
        ("null: 1\n", "section names must be text; got null"),
        ("strategies:\n  true: {}\n", "strategies: strategy names must be text; got true"),
        (
            "acquisition:\n  channels:\n    2: {}\n",
            "acquisition.channels: channel names must be text",
        ),
        ("customers:\n  background_reason_mix: {1: 0.5, null: 1}\n", "unknown reason(s) 1, null"),
    ],
)
def test_keys_that_are_not_text_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, "firm:\n  gross_margin: 0.3\nmarket: {}\nfirm:\n  gross_margin: 0.4\n"
    )
    assert "line 4: key 'firm' is given twice in one mapping (lines 1 and 4)" in message
    message = error_of(tmp_path, "firm: {gross_margin: 0.3, gross_margin: 0.4}\n")
    assert "key 'gross_margin' is given twice in one mapping (twice on line 1)" in message


@pytest.mark.parametrize("empty", ["0", "false", "''", "[]"])
def test_a_section_written_as_0_false_or_nothing_is_refused(tmp_path: Path, empty: str) -> None:
    assert "firm: must be a mapping of settings; got" in error_of(tmp_path, f"firm: {empty}\n")
    message = error_of(tmp_path, f"strategies: {empty}\n")
    assert "strategies: must map strategy names to their parameters" in message


def test_a_section_with_nothing_after_it_is_still_empty(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "firm:\nstrategies:\n"))
    assert scenario.data["firm"] == Scenario({}).data["firm"]
    assert scenario.strategies() == {}


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 101, "tab\there", "nul\x00"])
def test_a_name_must_make_one_folder_name(name: str) -> None:
    with pytest.raises(ScenarioError, match="name: must be text of 1 to 100 printable characters"):
        Scenario({"name": name})
    assert Scenario({"name": "fire bottom 15% (v2)"}).name == "fire bottom 15% (v2)"


# --------------------------------------------------------------------------- numbers people write
def test_scientific_notation_is_a_number(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            "simulation:\n  customers: 2e4\n"
            "acquisition:\n  budget_per_month_per_1000_people: 7.5E+1\n"
            "firm:\n  cost_to_serve_per_month: 25e-1\n",
        )
    )
    assert scenario.params.simulation.customers == 20_000
    assert isinstance(scenario.params.simulation.customers, int)
    assert scenario.params.acquisition.budget_per_month_per_1000_people == 75.0
    assert scenario.params.firm.cost_to_serve_per_month == 2.5
    assert (
        load_scenario(write(tmp_path, "description: 1e4 customers\n")).description
        == "1e4 customers"
    )


def test_impossible_dates_and_long_numbers_are_refused(tmp_path: Path) -> None:
    assert "line 1: cannot read '2024-02-30'" in error_of(tmp_path, "description: 2024-02-30\n")
    message = error_of(tmp_path, "firm:\n  price_index: 1" + "0" * reading.MAX_NUMBER_CHARACTERS)
    assert "line 2: a number written with 1_001 characters; allowed: at most 1_000" in message


# --------------------------------------------------------------------------- extends
def test_a_scenario_extends_a_shipped_one(tmp_path: Path) -> None:
    child = load_scenario(write(tmp_path, "extends: loyalty_program\nfirm: {gross_margin: 0.4}\n"))
    parent = load_scenario("loyalty_program")
    assert child.name == "what_if" and child.description == ""
    assert child.params.firm.gross_margin == 0.4
    assert child.strategies() == parent.strategies()


def test_a_scenario_extends_a_file_beside_it_mapping_by_mapping(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write(
        tmp_path,
        "name: base\nfirm: {gross_margin: 0.3, price_index: 1.1}\n"
        "market: {technology_shock_month: 24}\n"
        "strategies:\n  loyalty_program: {reward_rate: 0.05, start_month: 6}\n",
        "base/common.yaml",
    )
    text = (
        "extends: base/common.yaml\nfirm: {gross_margin: 0.4}\n"
        "market: {technology_shock_month: null}\n"
        "strategies:\n  loyalty_program: {reward_rate: 0.02}\n"
    )
    scenario = load_scenario(write(tmp_path, text, "child.yaml"))
    assert scenario.name == "child"
    assert scenario.params.firm.gross_margin == 0.4 and scenario.params.firm.price_index == 1.1
    assert scenario.params.market.technology_shock_month is None
    assert scenario.data["strategies"]["loyalty_program"]["reward_rate"] == 0.02
    assert scenario.data["strategies"]["loyalty_program"]["start_month"] == 6


def test_the_merged_scenario_is_validated_as_one(tmp_path: Path) -> None:
    write(tmp_path, "acquisition:\n  channels:\n    a: {budget_share: 0.7}\n", "parent.yaml")
    message = error_of(
        tmp_path, "extends: parent.yaml\nacquisition:\n  channels:\n    b: {budget_share: 0.6}\n"
    )
    assert "budget shares add up to 1.3; allowed: at most 1" in message


def test_circles_and_missing_parents_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    message = error_of(tmp_path, "extends: a.yaml\n", "a.yaml")
    assert "extends: scenarios extend each other in a circle" in message
    assert "allowed: a chain that ends in a scenario extending none" in message
    assert "extend each other in a circle" in error_of(
        tmp_path, "extends: self.yaml\n", "self.yaml"
    )
    message = error_of(tmp_path, "extends: missing.yaml\n")
    assert f"extends: {tmp_path / 'missing.yaml'}: no such scenario file" in message
    message = error_of(tmp_path, "extends: basline\n")
    assert "extends: basline: no such shipped scenario; shipped scenarios: baseline" in message
    assert "extends: must be the name of a shipped scenario" in error_of(tmp_path, "extends: [1]\n")


def test_a_broken_parent_names_both_files(tmp_path: Path) -> None:
    parent = write(tmp_path, "firm: [\n", "parent.yaml")
    message = error_of(tmp_path, "extends: parent.yaml\n")
    assert f"what_if.yaml: extends: {parent}: not valid YAML at line 2" in message


def test_only_a_file_extends() -> None:
    with pytest.raises(ScenarioError, match="extends: only a scenario file extends another"):
        Scenario({"extends": "baseline"})


# --------------------------------------------------------------------------- changes
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firm.gross_margin=0.3", ("firm.gross_margin", 0.3)),
        ("simulation.months = 24", ("simulation.months", 24)),
        (
            "acquisition.budget_per_month_per_1000_people=1e3",
            ("acquisition.budget_per_month_per_1000_people", 1_000.0),
        ),
        ("market.technology_shock_month=null", ("market.technology_shock_month", None)),
        ("ladder.churn_multiplier=[1, 1, 1, 1, 1]", ("ladder.churn_multiplier", [1, 1, 1, 1, 1])),
        ("description=a=b", ("description", "a=b")),
    ],
)
def test_a_change_is_a_dotted_path_and_a_yaml_value(text: str, expected: tuple) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["firm.gross_margin", "=0.3", "firm..gross_margin=1", " =1"])
def test_a_change_that_is_not_path_equals_value_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape("a change is written section.setting=value")):
        parse_assignment(text)


def test_a_change_whose_value_is_not_yaml_says_so() -> None:
    with pytest.raises(ScenarioError, match=re.escape("firm.gross_margin='[1,': not valid YAML")):
        parse_assignment("firm.gross_margin=[1,")
    with pytest.raises(ScenarioError, match="nested more than 20 deep"):
        parse_assignment("firm.gross_margin=" + "[" * 50 + "]" * 50)


def test_changes_are_validated_like_the_file() -> None:
    changed = load_scenario("baseline", changes=dict([parse_assignment("simulation.months=24")]))
    assert changed.params.simulation.months == 24 and changed.name == "baseline"
    with pytest.raises(
        ScenarioError, match=r"firm.gross_margn: unknown setting \(did you mean gross_margin\?\)"
    ):
        load_scenario("baseline", changes={"firm.gross_margn": 0.3})
    with pytest.raises(
        ScenarioError, match=r"simulation.months: must be a whole number in \[1, 1200\]"
    ):
        load_scenario("baseline", changes={"simulation.months": 40_000})
    with pytest.raises(ScenarioError, match="simulation.months.x: months is not a section"):
        load_scenario("baseline", changes={"simulation.months.x": 1})


# ---------------------------------------------------------------------- the limits written down
def test_the_readme_states_the_limits_of_the_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    limits = readme[readme.index("## Limits") :]
    limits = limits[: limits.index("\n## ", 1)] if "\n## " in limits[1:] else limits
    for value in (
        f"{MAX_MONTHS:,}",
        f"{MAX_CUSTOMERS:,}",
        f"{MAX_PEOPLE:,}",
        f"{MAX_CHANNELS:,}",
        f"{MAX_FOLLOWED:,}",
        f"{reading.MAX_FILE_BYTES:,}",
        f"{reading.MAX_DEPTH}",
        f"{reading.MAX_ALIASES}",
        f"{reading.MAX_VALUES:,}",
        f"{LARGEST:,.0f}",
    ):
        assert value in limits, value
    assert SCHEMA["simulation"]["months"].maximum == MAX_MONTHS
