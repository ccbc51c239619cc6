"""The classroom game without a browser: budgets revised mid-run, the rules, a round, the
leaderboard, the debrief, and the database (restarts, resets, exports, refusals, corrupt files)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_crmsim

from crmsim.config.fields import ScenarioError
from crmsim.engine.model import CRMModel
from crmsim.report import game_store
from crmsim.report.game import (
    MONTHS_PER_ROUND,
    REPORTS,
    GameError,
    GameSettings,
    RoundResult,
    TeamDecision,
    debrief,
    game_scenario,
    leaderboard,
    play_market,
    play_round,
    team_results,
)
from crmsim.report.game_store import (
    FINISHED,
    PLAYING,
    SET_ASIDE,
    GameStore,
    GameStoreError,
)

SMALL = GameSettings(customers=1_000, rounds=2, seed=7)
"""A small game: 1,000 people, two rounds."""

STATUS_QUO = TeamDecision({"mass": 0.48, "lookalike": 0.32, "retention_offers": 0.1})
LOOKALIKE = TeamDecision({"lookalike": 0.7, "retention_offers": 0.3})


# ------------------------------------------------------------------ budgets revised mid-run
def _market(months: int = 24) -> CRMModel:
    return CRMModel(game_scenario("baseline", months), rng=5, customers=1_000)


def test_revising_budgets_to_what_they_are_changes_nothing() -> None:
    same = game_scenario("baseline", 24)
    plain = CRMModel(same.with_changes({"acquisition.budget_per_month_per_1000_people": 400}),
                     rng=5, customers=1_000).run(24)  # fmt: skip
    revised = _market()
    revised.revise({"acquisition.budget_per_month_per_1000_people": 400})
    revised.run(12)
    revised.revise({"acquisition.channels.mass.budget_share": 0.6})  # its share already
    revised.run(12)
    pd.testing.assert_frame_equal(plain.monthly_series(), revised.monthly_series())
    assert revised.scenario.params.acquisition.budget_per_month_per_1000_people == 400


def test_a_revised_budget_holds_from_the_next_month_on() -> None:
    model = _market()
    model.revise(
        {
            "acquisition.budget_per_month_per_1000_people": 400,
            "strategies.churn_reduction.budget_per_month_per_1000_people": 30,
        }
    )
    model.run(12)
    model.revise(
        {
            "acquisition.budget_per_month_per_1000_people": 0,
            "strategies.churn_reduction.budget_per_month_per_1000_people": 120,
            "strategies.win_back.budget_per_month_per_1000_people": 20,
        }
    )
    model.run(12)
    series = model.monthly_series()
    first, second = series.iloc[:12], series.iloc[12:]
    assert (first["acquisition_cost"] == 400).all() and (second["acquisition_cost"] == 0).all()
    # Offers cost 5 each: at most the budget a month, and more of them once it rises.
    assert first["churn_reduction_spend"].max() <= 30
    assert second["churn_reduction_spend"].max() <= 120
    assert second["churn_reduction_spend"].sum() > first["churn_reduction_spend"].sum()
    assert first["win_back_spend"].sum() == 0 and second["win_back_spend"].max() <= 20
    assert second["win_back_spend"].sum() > 0


def test_only_budgets_can_be_revised_and_values_are_checked() -> None:
    model = _market()
    for path in (
        "firm.price_index",
        "acquisition.channels.tv.budget_share",
        "strategies.loyalty_program.budget_per_month_per_1000_people",
        "strategies.churn_reduction.flag_share",
    ):
        with pytest.raises(ValueError, match="cannot change in a running market; only these"):
            model.revise({path: 0.5})
    with pytest.raises(ScenarioError, match="budget shares add up to 1.3"):
        model.revise({"acquisition.channels.mass.budget_share": 0.9})
    with pytest.raises(ScenarioError, match="budget_per_month_per_1000_people"):
        model.revise({"acquisition.budget_per_month_per_1000_people": -1})
    # A refused revision leaves the market as it was.
    assert model.scenario.params.acquisition.budget_per_month_per_1000_people == 0


# ------------------------------------------------------------------ the rules
@pytest.mark.parametrize(
    ("decision", "control", "message"),
    [
        (
            TeamDecision({"mass": 1.5}),
            "mass",
            "mass channel: share must be a share in [0, 1]; got 1.5",
        ),
        (TeamDecision({"win_back": -0.1}), "win_back", "Win-back programme: share must be"),
        (TeamDecision({"mass": "lots"}), "mass", "got str 'lots'"),
        (TeamDecision({"tv": 0.2}), "tv", "No lever 'tv'; the levers are mass, lookalike"),
        (
            TeamDecision({"mass": 0.6, "lookalike": 0.3, "retention_offers": 0.2}),
            "total",
            "The shares add up to 1.1: they may add up to at most 1",
        ),
        (TeamDecision({}, ("gossip",)), "reports", "No report 'gossip'; the reports are channel"),
        (TeamDecision({}, ("value", "value")), "reports", "A report is bought twice"),
    ],
)
def test_a_bad_decision_gets_one_message_at_the_control_at_fault(
    decision: TeamDecision, control: str, message: str
) -> None:
    problems = decision.problems(SMALL)
    assert list(problems) == [control]
    assert message in problems[control]
    with pytest.raises(GameError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        decision.check(SMALL)
    assert error.value.control == control


def test_a_decision_may_leave_budget_unspent_and_maps_onto_the_market() -> None:
    assert not TeamDecision({"mass": 0.5}).problems(SMALL)
    assert not TeamDecision({"mass": 0.1, "lookalike": 0.2, "retention_offers": 0.7}).problems(
        SMALL
    )  # adds up to 1 in floating point, give or take
    changes = LOOKALIKE.changes(SMALL)
    assert changes["acquisition.budget_per_month_per_1000_people"] == pytest.approx(350)
    assert changes["acquisition.channels.lookalike.budget_share"] == 1.0
    assert changes["acquisition.channels.mass.budget_share"] == 0.0
    assert changes["strategies.churn_reduction.budget_per_month_per_1000_people"] == 150
    assert changes["strategies.win_back.budget_per_month_per_1000_people"] == 0


def test_settings_problems_name_the_setting() -> None:
    problems = GameSettings(customers=10, rounds=0, scenario="mass_acquisition").problems()
    assert set(problems) == {"customers", "rounds", "scenario"}
    assert "People in the market must be a whole number in [100, 50_000]" in problems["customers"]
    assert "Rounds must be" in problems["rounds"]
    assert "runs acquisition_mix" in problems["scenario"]
    assert "must be one of" in GameSettings(scenario="nowhere").problems()["scenario"]
    with pytest.raises(GameError, match="People in the market") as error:
        GameSettings(customers=10).check()
    assert error.value.control == "settings"
    assert not SMALL.problems()
    assert GameSettings.from_dict(SMALL.to_dict()) == SMALL


# ------------------------------------------------------------------ a round
@pytest.fixture(scope="module")
def rounds() -> dict[str, list[RoundResult]]:
    """Three teams' two rounds; the lookalike team buys the channel report in round 1."""
    with_report = TeamDecision(dict(LOOKALIKE.shares), ("channel",))
    plans = {
        "Status quo": [STATUS_QUO, STATUS_QUO],
        "Lookalike": [with_report, LOOKALIKE],
        "Idle": [TeamDecision(), TeamDecision()],
    }
    return {
        team: [play_round(SMALL, team, plan[:k]) for k in (1, 2)] for team, plan in plans.items()
    }


def test_the_same_decisions_give_the_same_results(rounds: dict[str, list[RoundResult]]) -> None:
    again = play_round(SMALL, "Status quo", [STATUS_QUO, STATUS_QUO])
    assert again == rounds["Status quo"][1]
    # Another team with the same decisions meets the same market: only the name differs.
    twin = play_round(SMALL, "Twin", [STATUS_QUO])
    assert twin.to_dict() == {**rounds["Status quo"][0].to_dict(), "team": "Twin"}
    # A result survives its trip through JSON.
    result = rounds["Lookalike"][0]
    assert RoundResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_a_round_continues_the_market_where_it_stood() -> None:
    # Round 2's decision does not change round 1's months: the replay is the same market.
    first, _ = play_market(SMALL, [STATUS_QUO, STATUS_QUO])
    other, spent = play_market(SMALL, [STATUS_QUO, TeamDecision()])
    assert spent == {"mass": 0.0, "lookalike": 0.0}
    one = first.monthly_series()
    two = other.monthly_series()
    pd.testing.assert_frame_equal(one.iloc[:MONTHS_PER_ROUND], two.iloc[:MONTHS_PER_ROUND])
    assert (two["acquisition_cost"].iloc[MONTHS_PER_ROUND:] == 0).all()
    assert not one.iloc[MONTHS_PER_ROUND:].equals(two.iloc[MONTHS_PER_ROUND:])


def test_a_round_reports_what_each_lever_spent(rounds: dict[str, list[RoundResult]]) -> None:
    budget = SMALL.budget_per_round  # 6,000 a year at 1,000 people
    status = rounds["Status quo"][1]
    # Channels spend their whole share while suspects last; offers spend at most theirs.
    assert status.spend["mass"] == pytest.approx(0.48 * budget)
    assert status.spend["lookalike"] == pytest.approx(0.32 * budget)
    assert 0 < status.spend["retention_offers"] <= 0.1 * budget + 1e-6
    assert status.spend["win_back"] == 0
    idle = rounds["Idle"][1]
    assert not any(idle.spend.values())
    assert idle.acquired < status.acquired
    assert set(status.cohorts) == {"year 1", "year 2", "initial_base"}
    assert status.cohorts["initial_base"]["customers"] == 200  # 20% of 1,000 at month 0
    table = team_results(SMALL, rounds["Status quo"])
    assert list(table.index) == [1, 2]
    assert table.loc[2, "Acquisition: mass channel: spent (currency)"] == status.spend["mass"]


def test_a_report_shows_segment_data_and_costs_its_price(
    rounds: dict[str, list[RoundResult]],
) -> None:
    bought, plain = rounds["Lookalike"][0], play_round(SMALL, "Plain", [LOOKALIKE])
    price = SMALL.report_price  # 2,000 at 1,000 people
    assert bought.report_cost == price and plain.report_cost == 0
    assert plain.profit - bought.profit == pytest.approx(price)
    discount = (1 + CRMModel(SMALL.market(), rng=1, customers=1_000).monthly_discount_rate) ** -12
    assert plain.value_of_customer_base - bought.value_of_customer_base == pytest.approx(
        price * discount
    )
    assert bought.customer_equity == plain.customer_equity  # a report changes no customer
    # The report: the team's customers by channel, only for the team that bought it.
    assert list(plain.reports) == [] and list(bought.reports) == ["channel"]
    table = bought.report_table("channel")
    assert "lookalike" in table.index and "initial_base" in table.index
    assert "Mean lifetime CLV (currency per customer)" in table.columns
    assert (
        table["Customers ever (customers)"].sum()
        == bought.cohorts["initial_base"]["customers"] + bought.cohorts["year 1"]["customers"]
    )
    # Its price is charged again in round 2's score (discounted), not round 2's profit.
    second = rounds["Lookalike"][1]
    assert second.report_cost == 0 and not second.reports


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_can_be_bought(name: str) -> None:
    result = play_round(SMALL, "Buyer", [TeamDecision({"mass": 0.5}, (name,))])
    table = result.report_table(name)
    assert len(table) >= 2 and not table.empty


def test_the_leaderboard_ranks_by_the_value_of_the_customer_base(
    rounds: dict[str, list[RoundResult]],
) -> None:
    finals = [r[1] for r in rounds.values()]
    board = leaderboard(finals)
    scores = board.iloc[:, 2]
    assert list(scores) == sorted((r.value_of_customer_base for r in finals), reverse=True)
    assert list(board["Rank"]) == [1, 2, 3]
    assert board.columns[2] == "Value of the customer base, net of reports (currency)"
    assert board.iloc[-1]["Team"] == "Idle"  # spending nothing loses the base
    tie = leaderboard([rounds["Idle"][1], play_round(SMALL, "Also idle", [TeamDecision()] * 2)])
    assert list(tie["Rank"]) == [1, 1] and list(tie["Team"]) == ["Also idle", "Idle"]


def test_the_debrief_says_what_drove_the_ranking(rounds: dict[str, list[RoundResult]]) -> None:
    decisions = {
        "Status quo": [STATUS_QUO, STATUS_QUO],
        "Lookalike": [TeamDecision(dict(LOOKALIKE.shares), ("channel",)), LOOKALIKE],
        "Idle": [TeamDecision(), TeamDecision()],
    }
    results = [r for team in rounds.values() for r in team]
    done = debrief(SMALL, results, decisions)
    assert list(done.ranking["Team"]) == list(leaderboard([r[1] for r in rounds.values()])["Team"])
    idle = done.ranking.set_index("Team").loc["Idle"]
    assert idle["Customers acquired"] == sum(r.acquired for r in rounds["Idle"])
    lookalike = done.ranking.set_index("Team").loc["Lookalike"]
    assert lookalike["Reports bought (currency)"] == SMALL.report_price
    shares = done.heterogeneity.set_index("Team").iloc[:, 0]
    assert ((shares > 20) & (shares <= 100)).all()  # the top 20% hold more than 20%
    early = done.early_late.loc["Status quo"]
    assert early["Acquired in round 1"] == rounds["Status quo"][1].cohorts["year 1"]["customers"]
    channel = done.reports.loc[REPORTS["channel"].label]
    assert channel["Teams that bought it"] == 1
    assert channel["Their mean score (currency)"] == rounds["Lookalike"][1].value_of_customer_base
    assert channel["Spent on it (currency)"] == SMALL.report_price
    text = " ".join(done.sentences)
    assert "leads with a customer base worth" in text and "top 20%" in text
    assert "Customers by acquisition channel: 1 team(s) bought it" in text
    assert "comparison, not proof" in text


# ------------------------------------------------------------------ the database
@pytest.fixture
def store(tmp_path: Path) -> GameStore:
    return GameStore(tmp_path / "game.sqlite")


def _play_one_round(store: GameStore) -> int:
    game = store.start_game(SMALL)
    store.join(game.id, "Red")
    store.join(game.id, "Blue")
    store.submit(game.id, "Red", 1, LOOKALIKE)
    store.reveal_round(game.id, 1)
    return game.id


def test_a_restart_loses_nothing(store: GameStore, tmp_path: Path) -> None:
    game_id = _play_one_round(store)
    again = GameStore(tmp_path / "game.sqlite")  # a new server on the same file
    game = again.current_game()
    assert game is not None and game.id == game_id and game.settings == SMALL
    assert game.rounds_played == 1 and game.open_round == 2
    assert again.teams(game_id) == ["Red", "Blue"]
    decided = again.decisions(game_id)
    assert decided["Red"][1].decision == LOOKALIKE and not decided["Red"][1].defaulted
    # Blue did not decide: it spent nothing in round 1, marked as such.
    assert decided["Blue"][1].decision == TeamDecision() and decided["Blue"][1].defaulted
    results = again.results(game_id)
    assert [r.team for r in results] == ["Red", "Blue"]
    assert results[0] == play_round(SMALL, "Red", [LOOKALIKE])
    # Round 2: a team that does not decide keeps its last decision, without reports.
    again.submit(game_id, "Blue", 2, STATUS_QUO)
    again.reveal_round(game_id, 2)
    assert again.decisions(game_id)["Red"][2].decision == LOOKALIKE
    assert store.current_game().phase == FINISHED


def test_requests_at_the_wrong_time_are_refused_with_the_control(store: GameStore) -> None:
    game = store.start_game(SMALL)

    def refused(action, control: str, message: str) -> None:  # noqa: ANN001
        with pytest.raises(GameError, match=message) as error:
            action()
        assert error.value.control == control

    refused(lambda: store.reveal_round(game.id, 1), "round", "No team has joined yet")
    store.join(game.id, "Red")
    refused(lambda: store.join(game.id, " red "), "team", "The name 'Red' is taken")
    refused(lambda: store.join(game.id, "   "), "team", "Give your team a name")
    refused(lambda: store.join(game.id, "x" * 41), "team", "at most 40 characters")
    refused(lambda: store.submit(game.id, "Green", 1, STATUS_QUO), "team", "no team 'Green'")
    refused(lambda: store.submit(game.id, "Red", 2, STATUS_QUO), "round", "Round 2 is not open")
    refused(
        lambda: store.submit(game.id, "Red", 1, TeamDecision({"mass": 2})), "mass", "share must"
    )
    refused(lambda: store.start_game(SMALL), "game", "A game is going on")
    assert store.submit(game.id, "Red", 1, STATUS_QUO) is False
    assert store.submit(game.id, "RED", 1, LOOKALIKE) is True  # changed before the reveal
    assert store.decisions(game.id)["Red"][1].decision == LOOKALIKE
    store.reveal_round(game.id, 1)
    refused(lambda: store.submit(game.id, "Red", 1, STATUS_QUO), "round", "Round 1 has been played")
    refused(lambda: store.reveal_round(game.id, 1), "round", "Round 1 has been played")
    refused(lambda: store.join(game.id, "Late"), "team", "Teams join before the first round")
    store.reveal_round(game.id, 2)
    refused(lambda: store.submit(game.id, "Red", 2, STATUS_QUO), "round", "The game is over")


def test_a_round_interrupted_while_played_keeps_nothing_and_plays_again(
    store: GameStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    game = store.start_game(SMALL)
    for team in ("Red", "Blue"):
        store.join(game.id, team)
    store.submit(game.id, "Red", 1, LOOKALIKE)
    calls = []

    def crash_on_second_team(settings, team, decisions):  # noqa: ANN001, ANN202
        calls.append(team)
        if len(calls) == 2:
            raise KeyboardInterrupt("the server stopped")
        return play_round(settings, team, decisions)

    monkeypatch.setattr(game_store, "play_round", crash_on_second_team)
    with pytest.raises(KeyboardInterrupt):
        store.reveal_round(game.id, 1)
    monkeypatch.undo()
    now = store.current_game()
    assert now.phase == PLAYING and now.rounds_played == 0
    assert store.results(game.id) == []  # nothing half-written
    with pytest.raises(GameError, match="being played: decisions for it are closed"):
        store.submit(game.id, "Red", 1, STATUS_QUO)
    results = store.reveal_round(game.id, 1)  # the instructor reveals again
    assert results[0] == play_round(SMALL, "Red", [LOOKALIKE])
    assert store.current_game().rounds_played == 1


def test_a_second_reveal_of_the_same_round_is_refused_and_keeps_nothing(
    store: GameStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    game = store.start_game(SMALL)
    store.join(game.id, "Red")
    other = GameStore(tmp_path / "game.sqlite")  # another page, its own connection
    raced = []

    def reveal_meanwhile(settings, team, decisions):  # noqa: ANN001, ANN202
        if not raced:
            raced.append(team)
            other.reveal_round(game.id, 1)  # the other page wins the race
        return play_round(settings, team, decisions)

    monkeypatch.setattr(game_store, "play_round", reveal_meanwhile)
    with pytest.raises(GameError, match="revealed by another page"):
        store.reveal_round(game.id, 1)
    assert [r.team for r in store.results(game.id)] == ["Red"]  # the other page's, once


def test_reset_sets_the_game_aside_and_export_keeps_everything(
    store: GameStore,
) -> None:
    with pytest.raises(GameError, match="no game to reset"):
        store.reset_game()
    game_id = _play_one_round(store)
    exported = json.loads(store.export_json(game_id))
    assert exported["format"] == "crmsim-game" and exported["game"]["settings"] == SMALL.to_dict()
    assert [t["name"] for t in exported["teams"]] == ["Red", "Blue"]
    assert {(d["team"], d["round"], d["defaulted"]) for d in exported["decisions"]} == {
        ("Red", 1, False),
        ("Blue", 1, True),
    }
    assert len(exported["results"]) == 2
    rows = list(csv.DictReader(io.StringIO(store.export_csv(game_id))))
    assert [(r["team"], r["round"]) for r in rows] == [("Red", "1"), ("Blue", "1")]
    red = rows[0]
    assert float(red["share_lookalike"]) == 0.7 and float(red["share_mass"]) == 0
    assert float(red["spend_lookalike"]) == pytest.approx(0.7 * SMALL.budget_per_round)
    assert {r["rank"] for r in rows} == {"1", "2"}
    store.reset_game()
    assert store.current_game() is None
    assert store.game(game_id).phase == SET_ASIDE
    assert json.loads(store.export_json(game_id))["results"] == exported["results"]
    fresh = store.start_game(GameSettings(customers=500, rounds=1))
    assert fresh.id != game_id and store.teams(fresh.id) == []
    with pytest.raises(GameError, match="set aside|no longer going on"):
        store.submit(game_id, "Red", 2, STATUS_QUO)


def test_a_corrupt_or_foreign_database_gets_one_clear_message_and_is_not_touched(
    tmp_path: Path,
) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"these bytes are not a database " * 100)
    before = corrupt.read_bytes()
    with pytest.raises(GameStoreError) as error:
        GameStore(corrupt)
    message = str(error.value)
    assert str(corrupt) in message and "cannot be read: file is not a database" in message
    assert "Move it aside" in message and "--game-db" in message
    assert corrupt.read_bytes() == before
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE sales (amount REAL)")
    with pytest.raises(GameStoreError, match="not a crmsim game's \\(its tables: sales\\)"):
        GameStore(foreign)
    newer = tmp_path / "newer.sqlite"
    GameStore(newer)
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(GameStoreError, match="another version of crmsim"):
        GameStore(newer)
    with pytest.raises(GameStoreError, match="the folder .* does not exist"):
        GameStore(tmp_path / "nowhere" / "game.sqlite")
    with pytest.raises(GameStoreError, match="is a folder"):
        GameStore(tmp_path)


def test_a_database_spoilt_or_removed_while_the_app_runs_gets_a_message(
    store: GameStore,
) -> None:
    game_id = _play_one_round(store)
    saved = store.path.read_bytes()
    store.path.write_bytes(b"\0" * len(saved))
    with pytest.raises(GameStoreError, match="cannot be read"):
        store.results(game_id)
    store.path.unlink()
    with pytest.raises(GameStoreError, match="is missing: it was moved or deleted"):
        store.current_game()
    assert not store.path.exists()  # no empty database made in its place
    store.path.write_bytes(saved)  # put back, the game goes on
    assert store.current_game().rounds_played == 1


def test_the_app_command_names_the_game_database() -> None:
    done = run_crmsim("app", "--game-db", "/no/such/folder/game.sqlite")
    assert done.returncode == 2
    assert "the folder of '/no/such/folder/game.sqlite' (/no/such/folder) does not exist" in (
        done.stderr
    )
    helped = run_crmsim("app", "--help")
    assert "--game-db PATH" in helped.stdout
    text = "".join(helped.stdout.split())  # the help wraps lines (at hyphens too)
    assert "else crmsim-game.sqlite in the working directory".replace(" ", "") in text


def test_the_app_command_serves_a_class_only_on_an_address_it_is_given() -> None:
    done = run_crmsim("app", "--host", "classroom")
    assert done.returncode == 2
    assert "--host: must be an IP address of this computer: 127.0.0.1" in done.stderr
    helped = run_crmsim("app", "--help")
    assert "default: 127.0.0.1, this computer only" in " ".join(helped.stdout.split())
