"""The classroom game's two pages in ``crmsim app``: *Classroom game* for the teams and
*Instructor* for the instructor.

The pages only lay out what ``crmsim.report.game`` (the rules, a round, the
leaderboard, the debrief) and ``crmsim.report.game_store`` (the database) do.
The database is the file ``crmsim app --game-db PATH`` names (``$CRMSIM_GAME_DB``;
default ``crmsim-game.sqlite`` in the working directory). Everything a page
shows is read from it when the page redraws, so a team sees the instructor's
reveal when it presses **Refresh**, and a server restart loses nothing.

A refused request (a share above 1, a team name taken, a decision for a round
already played, a click at the wrong time, a corrupt or missing database) gets
its message next to the control at fault; nothing is raised into the page or
the server's log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import solara
import solara.lab

from crmsim.report.game import (
    GAME_FIELDS,
    GAME_LABELS,
    REPORTS,
    GameError,
    GameSettings,
    RoundResult,
    TeamDecision,
    debrief,
    leaderboard,
    team_results,
)
from crmsim.report.game_store import (
    DECIDING,
    FINISHED,
    Decided,
    Game,
    GameStore,
    GameStoreError,
    game_db_path,
)

# One store per database file for the whole server (each action opens its own connection).
_stores: dict[Path, GameStore] = {}
_stores_lock = threading.Lock()


def open_store() -> GameStore:
    """The game database of this server (``game_db_path``), opened once.

    Raises:
        GameStoreError: It cannot be used; the message says why and what to do.
    """
    path = game_db_path().expanduser().resolve()
    with _stores_lock:
        if path not in _stores:
            _stores[path] = GameStore(path)
        return _stores[path]


# The page's state, kept apart for each browser tab (each has its own kernel).
refreshed = solara.reactive(0)
"""Bumped to read the database again."""
team = solara.reactive("")
"""The team this tab plays for ("" until it joins or continues)."""
team_input = solara.reactive("")
edits: solara.Reactive[dict[tuple[str, int], dict[str, Any]]] = solara.reactive({})
"""The decision being edited, by (team, round): lever -> share, and ``"reports"``."""
team_messages: solara.Reactive[dict[str, str]] = solara.reactive({})
"""Messages of the team page, by control."""
team_notice = solara.reactive("")
setting_values: solara.Reactive[dict[str, Any]] = solara.reactive({})
"""The instructor's settings, as typed (the defaults for the others)."""
instructor_messages: solara.Reactive[dict[str, str]] = solara.reactive({})
instructor_notice = solara.reactive("")
reveal_progress = solara.reactive(0.0)
confirm_reset = solara.reactive(False)


def _attempt(
    action: Callable[[], str],
    messages: solara.Reactive[dict[str, str]],
    notice: solara.Reactive[str],
) -> None:
    """Do ``action``; its message (a success) goes to ``notice``, a refusal next to its
    control in ``messages``. Nothing is raised into the page."""
    try:
        done = action()
    except GameError as error:
        messages.set({error.control: str(error)})
        notice.set("")
    except GameStoreError as error:
        messages.set({"store": str(error)})
        notice.set("")
    else:
        messages.set({})
        notice.set(done)
    refreshed.set(refreshed.value + 1)


def _refresh() -> None:
    """Read the database again; the messages of earlier clicks go."""
    for messages in (team_messages, instructor_messages):
        messages.set({})
    for notice in (team_notice, instructor_notice):
        notice.set("")
    refreshed.set(refreshed.value + 1)


def _problem(messages: dict[str, str], control: str) -> None:
    if control in messages:
        solara.Error(messages[control], classes=["game-problem"])


def _html(table: pd.DataFrame, classes: str = "", index: bool = True) -> None:
    def number(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 100 or value.is_integer() else f"{value:,.2f}"

    solara.HTML(
        unsafe_innerHTML=table.to_html(border=0, float_format=number, na_rep="-", index=index),
        classes=[c for c in ("game-table", classes) if c],
    )


@solara.component
def StoreProblem(error: GameStoreError) -> None:
    """A database the game cannot use, and what to do."""
    solara.Error(str(error), classes=["game-problem", "game-store-problem"])


@solara.component
def Leaderboard(results: list[RoundResult]) -> None:
    """The latest round's leaderboard."""
    if not results:
        return
    latest = max(r.round for r in results)
    solara.Markdown(f"### Leaderboard after round {latest}")
    solara.Markdown(
        "Ranked by the value of the customer base: the discounted profit so far (every spend, "
        "reports included, taken off) plus the customer equity, the value still to come from "
        "the customers, discounted to the start."
    )
    _html(leaderboard([r for r in results if r.round == latest]), "game-leaderboard", index=False)


@solara.component
def DebriefView(
    game: Game, decided: dict[str, dict[int, Decided]], results: list[RoundResult]
) -> None:
    """What drove the ranking (after the last round)."""
    done = debrief(
        game.settings,
        results,
        {t: [d.decision for _, d in sorted(rounds.items())] for t, rounds in decided.items()},
    )
    solara.Markdown("## Debrief: what drove the ranking")
    for sentence in done.sentences:
        solara.Text(sentence, classes=["game-finding"])
    solara.Markdown("### Where the money went")
    _html(done.ranking.set_index("Rank"), "game-debrief")
    solara.Markdown("### Heterogeneity: a few customers carry most of the value")
    _html(done.heterogeneity.set_index("Team"))
    solara.Markdown("### Early against late customers")
    _html(done.early_late)
    solara.Markdown("### Which reports paid")
    _html(done.reports)


# ------------------------------------------------------------------ the team page
def _edited(
    game: Game, name: str, stored: dict[int, Decided]
) -> tuple[dict[str, float], list[str]]:
    """The decision the controls show: the team's edits, over its stored decision for the
    open round (or its last one), over nothing spent."""
    round_ = game.open_round or game.rounds_played
    base = stored.get(round_) or stored.get(round_ - 1)
    shares = {lever.name: 0.0 for lever in game.settings.levers()}
    reports: list[str] = []
    if base is not None:
        shares.update({k: float(v) for k, v in base.decision.shares.items()})
        reports = list(base.decision.reports) if round_ in stored else []
    changed = edits.value.get((name, round_), {})
    shares.update({k: v for k, v in changed.items() if k != "reports"})
    return shares, list(changed.get("reports", reports))


def _edit(name: str, round_: int, key: str, value: Any) -> None:
    current = {k: dict(v) for k, v in edits.value.items()}
    current.setdefault((name, round_), {})[key] = value
    edits.set(current)
    team_messages.set({})  # the messages of the last click are about the decision before
    team_notice.set("")


def _join(game: Game) -> str:
    name = open_store().join(game.id, team_input.value)
    team.set(name)
    return f"Team {name} joined the game."


def _continue(game: Game) -> str:
    if not (team_input.value or "").strip():
        raise GameError("Type your team's name, then press Continue.", "team")
    store = open_store()
    found = store.team(game.id, team_input.value)
    if found is None:
        raise GameError(
            f"There is no team {team_input.value.strip()!r} in this game; press Join to join "
            "as a new team.",
            "team",
        )
    team.set(found)
    return f"Welcome back, team {found}."


def _submit(game: Game, shares: dict[str, float], reports: list[str]) -> str:
    round_ = game.open_round
    if round_ is None:
        raise GameError(game.status(), "round")
    decision = TeamDecision({k: v for k, v in shares.items() if v}, tuple(reports))
    replaced = open_store().submit(game.id, team.value, round_, decision)
    edits.set({k: v for k, v in edits.value.items() if k != (team.value, round_)})
    what = "changed" if replaced else "is in"
    return (
        f"Your decision for round {round_} {what}. You may change it until the instructor "
        "reveals the round."
    )


@solara.component
def DecisionForm(game: Game, stored: dict[int, Decided]) -> None:
    """A lever per row with its share of the budget, the reports on sale, and Submit."""
    settings = game.settings
    name = team.value
    round_ = game.open_round or 0
    shares, reports = _edited(game, name, stored)
    decision = TeamDecision(shares, tuple(reports))
    problems = decision.problems(settings)  # shown as the controls change
    budget = settings.budget_per_round
    with solara.Card(f"Your decision for round {round_}", classes=["game-decision"]):
        solara.Markdown(
            f"Split this year's budget of **{budget:,.0f}** (a share of 1 is all of it); money "
            "you do not give to a lever is not spent. A share is the most a lever may spend."
        )
        for lever in settings.levers():
            with solara.Column(gap="0px"):  # a message here leaves the other controls alone
                solara.InputFloat(
                    label=f"{lever.label} (share of the budget)",
                    value=shares[lever.name],
                    on_value=lambda v, k=lever.name: _edit(name, round_, k, v),
                )
                solara.Text(
                    f"{lever.help} Up to {shares[lever.name] * budget:,.0f} this year.",
                    style={"font-size": "0.8em", "color": "#555"},
                )
                _problem(problems, lever.name)
        total = sum(shares.values())
        with solara.Column(gap="0px"):
            solara.Text(
                f"Given: {total:.2f} of the budget ({total * budget:,.0f} of {budget:,.0f}).",
                classes=["game-total"],
            )
            _problem(problems, "total")
        solara.Markdown(
            f"**CRM reports** ({settings.report_price:,.0f} each, taken off this round's "
            "profit; you see them with the round's results)"
        )
        for report in REPORTS.values():
            solara.Checkbox(
                label=f"{report.label}: {report.help}",
                value=report.name in reports,
                on_value=lambda on, n=report.name: _edit(
                    name, round_, "reports", [r for r in reports if r != n] + ([n] if on else [])
                ),
            )
        _problem(problems, "reports")
        if round_ in stored:
            solara.Text(
                f"Your decision for round {round_} is stored ({stored[round_].submitted_at} UTC).",
                classes=["game-stored"],
            )
        if edits.value.get((name, round_)):
            solara.Text("You have changes not submitted yet: press Submit to keep them.")
        solara.Button(
            f"Submit the decision for round {round_}",
            on_click=lambda: _attempt(
                lambda: _submit(game, shares, reports), team_messages, team_notice
            ),
            color="primary",
            classes=["game-submit"],
        )
        for control, message in team_messages.value.items():  # what the last click met
            if control not in ("team", "store"):
                solara.Error(message, classes=["game-problem"])
        if team_notice.value:
            solara.Success(team_notice.value, classes=["game-notice"])


@solara.component
def TeamResults(game: Game, results: list[RoundResult]) -> None:
    """The team's rounds and the reports it bought."""
    if not results:
        return
    solara.Markdown("### Your results")
    _html(team_results(game.settings, results), "game-results")
    for result in sorted(results, key=lambda r: r.round):
        for name in result.reports:
            with solara.Details(
                summary=f"Round {result.round}: {REPORTS[name].label} (your CRM report)",
                expand=result.round == max(r.round for r in results),
            ):
                _html(result.report_table(name), "game-report")


@solara.component
def JoinForm(game: Game) -> None:
    """Join as a new team, or continue as one (after a restart, or on another computer)."""
    solara.InputText("Team name", value=team_input, continuous_update=True)
    with solara.Row():
        solara.Button(
            "Join the game",
            on_click=lambda: _attempt(lambda: _join(game), team_messages, team_notice),
            color="primary",
            classes=["game-join"],
        )
        solara.Button(
            "Continue as this team",
            on_click=lambda: _attempt(lambda: _continue(game), team_messages, team_notice),
            outlined=True,
        )
    _problem(team_messages.value, "team")
    _problem(team_messages.value, "game")


@solara.component
def GamePage() -> None:
    """The teams' page: join, decide each round, see the results, the leaderboard, the
    debrief."""
    solara.Title("crmsim classroom game")
    refreshed.get()  # redraw when asked to
    solara.Markdown(
        "# The classroom game\n"
        "Every team runs the same market (the same people, the same luck) for a few yearly "
        "rounds. Each round, split your budget between acquisition channels, retention offers "
        "and the win-back programme, and buy CRM reports if you think they pay. The "
        "instructor reveals each round; the leaderboard ranks the teams by the value of "
        "their customer base."
    )
    with solara.Row():
        solara.Button("Refresh", on_click=_refresh, classes=["game-refresh"], outlined=True)
    _problem(team_messages.value, "store")
    try:
        store = open_store()
        game = store.current_game()
        if game is None:
            solara.Info(
                "No game is going on: the instructor starts one on the Instructor page.",
                classes=["game-status"],
            )
            return
        solara.Info(game.status(), classes=["game-status"])
        solara.Text(game.settings.describe(), classes=["game-settings"])
        decided = store.decisions(game.id)
        # A team of an earlier game (one started since) joins this one afresh.
        name = team.value if team.value in decided else ""
        if not name:
            JoinForm(game)
            return
        with solara.Row():
            solara.Text(f"You are team {name}.", classes=["game-team"])
            solara.Button("Change team", on_click=lambda: team.set(""), text=True)
        results = store.results(game.id)
        if game.phase == DECIDING:
            DecisionForm(game, decided[name])
        else:
            _problem(team_messages.value, "round")
        TeamResults(game, [r for r in results if r.team == name])
        Leaderboard(results)
        if game.phase == FINISHED:
            DebriefView(game, decided, results)
    except GameStoreError as error:
        StoreProblem(error)


# ------------------------------------------------------------------ the instructor page
def _settings() -> GameSettings:
    values = {name: spec.default for name, spec in GAME_FIELDS.items()}
    values.update(setting_values.value)
    return GameSettings(**values)


def _set_setting(name: str, value: Any) -> None:
    setting_values.set({**setting_values.value, name: value})


def _start() -> str:
    settings = _settings()
    game = open_store().start_game(settings)
    return (
        f"Game {game.id} started: {settings.rounds} rounds on {settings.scenario} with "
        f"{settings.customers:,} people. Teams join on the Classroom game page."
    )


def _reset() -> str:
    if not confirm_reset.value:
        raise GameError("Tick the box first: resetting sets the game aside.", "reset")
    game = open_store().reset_game()
    confirm_reset.set(False)
    return f"Game {game.id} was set aside (it stays in the database). Start another below."


@solara.lab.task
def reveal_task(game_id: int, round_: int) -> str:
    """Play the round for every team in the background, telling the page how far it got."""
    reveal_progress.set(0.0)

    def tell(done: int, total: int) -> None:
        reveal_progress.set(100.0 * done / total)

    try:
        results = open_store().reveal_round(game_id, round_, progress=tell)
    except (GameError, GameStoreError) as error:
        instructor_messages.set({"round": str(error)})
        return ""
    finally:
        refreshed.set(refreshed.value + 1)
    instructor_messages.set({})
    return f"Round {round_} is revealed: {len(results)} team(s) played."


def _reveal(game: Game) -> None:
    if reveal_task.pending:
        instructor_messages.set({"round": "A round is being revealed: wait for it to finish."})
        return
    if game.open_round is None:
        instructor_messages.set({"round": game.status()})
        return
    instructor_messages.set({})
    reveal_task(game.id, game.open_round)


@solara.component
def SettingsForm() -> None:
    """The settings of a new game, each with its problem next to it, and Start."""
    settings = _settings()
    problems = {**settings.problems(), **instructor_messages.value}
    solara.Markdown("## Start a game")
    for name, spec in GAME_FIELDS.items():
        label = GAME_LABELS[name] + (f" ({spec.unit})" if spec.unit else "")
        value = getattr(settings, name)

        def set_value(new: Any, name: str = name) -> None:
            _set_setting(name, new)

        # Each control in a column of its own, so that a message appearing or going away
        # next to one control does not redraw the others (and lose what is being typed).
        with solara.Column(gap="0px"):
            if spec.kind == "choice":
                solara.Select(
                    label=label, values=list(spec.choices), value=value, on_value=set_value
                )
            elif spec.kind in ("positive_count", "seed"):
                solara.InputInt(label=label, value=value, on_value=set_value)
            else:
                solara.InputFloat(label=label, value=value, on_value=set_value)
            solara.Text(spec.doc, style={"font-size": "0.8em", "color": "#555"})
            _problem(problems, name)
    if not settings.problems():
        solara.Text(f"This game: {settings.describe()}", classes=["game-settings"])
    solara.Button(
        "Start the game",
        on_click=lambda: _attempt(_start, instructor_messages, instructor_notice),
        color="primary",
        classes=["game-start"],
        disabled=bool(settings.problems()),
    )
    _problem(problems, "settings")
    _problem(problems, "game")


def _export(game_id: int, kind: str) -> str:
    """The game exported as ``kind`` (``json`` or ``csv``), or what went wrong."""
    try:
        store = open_store()
        return store.export_json(game_id) if kind == "json" else store.export_csv(game_id)
    except (GameError, GameStoreError) as error:
        return f"The export failed: {error}\n"


def _decided(rounds: dict[int, Decided], open_round: int | None) -> str:
    if open_round is None:
        return "-"
    if open_round in rounds and not rounds[open_round].defaulted:
        return "yes"
    if open_round == 1:
        return "not yet (a team that does not decide spends nothing)"
    return "not yet (a team that does not decide keeps its last decision, without reports)"


@solara.component
def GameControls(
    game: Game, decided: dict[str, dict[int, Decided]], results: list[RoundResult]
) -> None:
    """Teams and their decisions, Reveal, the leaderboard, exports, Reset."""
    open_round = game.open_round
    rows = [
        {
            "Team": name,
            f"Decided for round {open_round}": _decided(rounds, open_round),
        }
        for name, rounds in decided.items()
    ]
    solara.Markdown(f"### Teams ({len(rows)})")
    if rows:
        _html(pd.DataFrame(rows).set_index("Team"), "game-teams")
    else:
        solara.Text("No team has joined yet.")
    if open_round is not None:
        solara.Button(
            f"Reveal round {open_round}",
            on_click=lambda: _reveal(game),
            color="primary",
            classes=["game-reveal"],
        )
    if reveal_task.pending:
        solara.Text(f"Playing the round: {reveal_progress.value:.0f}% of the teams done")
        solara.ProgressLinear(reveal_progress.value)
    elif reveal_task.error:
        solara.Error(f"The reveal stopped: {reveal_task.exception}", classes=["game-problem"])
    elif reveal_task.finished and reveal_task.value:
        solara.Success(reveal_task.value, classes=["game-notice"])
    _problem(instructor_messages.value, "round")
    Leaderboard(results)
    solara.Markdown("### Export")
    with solara.Row():
        solara.FileDownload(
            lambda: _export(game.id, "json"), f"crmsim-game-{game.id}.json", "Game (JSON)"
        )
        solara.FileDownload(
            lambda: _export(game.id, "csv"), f"crmsim-game-{game.id}.csv", "Rounds (CSV)"
        )
    solara.Markdown("### Reset")
    solara.Checkbox(
        label="Set this game aside (it stays in the database and can still be exported)",
        value=confirm_reset,
    )
    solara.Button(
        "Reset",
        on_click=lambda: _attempt(_reset, instructor_messages, instructor_notice),
        outlined=True,
        classes=["game-reset"],
    )
    _problem(instructor_messages.value, "reset")
    if game.phase == FINISHED:
        DebriefView(game, decided, results)


@solara.component
def InstructorPage() -> None:
    """The instructor's page: start, reveal, export and reset a game; the debrief."""
    solara.Title("crmsim classroom game: instructor")
    refreshed.get()
    solara.Markdown("# The classroom game: instructor")
    with solara.Row():
        solara.Button("Refresh", on_click=_refresh, classes=["game-refresh"], outlined=True)
    solara.Text(f"Game database: {game_db_path()}")
    _problem(instructor_messages.value, "store")
    if instructor_notice.value:
        solara.Success(instructor_notice.value, classes=["game-notice"])
    try:
        store = open_store()
        game = store.current_game()
        if game is None:
            SettingsForm()
            return
        solara.Info(f"Game {game.id}: {game.status()}", classes=["game-status"])
        solara.Text(game.settings.describe(), classes=["game-settings"])
        GameControls(game, store.decisions(game.id), store.results(game.id))
    except GameStoreError as error:
        StoreProblem(error)
