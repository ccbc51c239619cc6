"""The classroom game's database: games, teams, decisions and results in one SQLite file.

A server restart loses nothing: every join, decision and result is written to
the file when it happens, in a transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``),
so a step is either all there or not there at all. A revealed round is written
in one transaction (every team's result and the round's number together);
a crash while the round is being played leaves the round closed and nothing of
its results, and revealing it again plays it again (the same decisions give
the same results). Several pages may act at once: SQLite serialises the
writers, and each step checks, inside its transaction, that the game is still
where the page saw it (a second reveal of the same round is refused).

The file holds text only (JSON of :class:`~crmsim.report.game.GameSettings`,
:class:`~crmsim.report.game.TeamDecision` and
:class:`~crmsim.report.game.RoundResult`), readable with any SQLite tool, and
a schema version in its ``meta`` table (:data:`SCHEMA_VERSION`). A file that is
not such a database (corrupt, another program's, a newer version's) is never
written to: :class:`GameStoreError` says what it is and what to do. A game is
exported as JSON (everything) or CSV (a row per team and round).

A game moves through phases: ``deciding`` (the open round takes decisions;
teams join before the first round is revealed), ``playing`` (the instructor
revealed the round: it is being played, decisions are closed), then
``deciding`` again or ``finished`` after the last round. Resetting sets the
game aside (kept in the file, exportable) so that a new one can start.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmsim.report.game import (
    MAX_TEAM_NAME,
    GameError,
    GameSettings,
    RoundResult,
    TeamDecision,
    leaderboard,
    play_round,
)

SCHEMA_VERSION = 1
"""Version of the tables this module writes; a file of a newer version is refused."""

FORMAT = "crmsim-game"
"""What the ``meta`` table says the file is."""

GAME_DB_ENV = "CRMSIM_GAME_DB"
"""Environment variable naming the game database of ``crmsim app`` (``--game-db``)."""

DEFAULT_GAME_DB = "crmsim-game.sqlite"
"""The game database when none is named: this file in the working directory."""

LOCK_TIMEOUT_S = 15.0
"""Seconds a step waits for another page's write to finish before giving up."""

DECIDING, PLAYING, FINISHED, SET_ASIDE = "deciding", "playing", "finished", "set_aside"

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE games (
    id INTEGER PRIMARY KEY,
    settings TEXT NOT NULL,
    rounds_played INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL
        CHECK (phase IN ('{DECIDING}', '{PLAYING}', '{FINISHED}', '{SET_ASIDE}')),
    started_at TEXT NOT NULL,
    set_aside_at TEXT
);
CREATE TABLE teams (
    game_id INTEGER NOT NULL REFERENCES games (id),
    name TEXT NOT NULL COLLATE NOCASE,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (game_id, name)
);
CREATE TABLE decisions (
    game_id INTEGER NOT NULL,
    team TEXT NOT NULL COLLATE NOCASE,
    round INTEGER NOT NULL CHECK (round >= 1),
    decision TEXT NOT NULL,
    defaulted INTEGER NOT NULL DEFAULT 0,
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (game_id, team, round),
    FOREIGN KEY (game_id, team) REFERENCES teams (game_id, name)
);
CREATE TABLE results (
    game_id INTEGER NOT NULL,
    team TEXT NOT NULL COLLATE NOCASE,
    round INTEGER NOT NULL CHECK (round >= 1),
    result TEXT NOT NULL,
    PRIMARY KEY (game_id, team, round),
    FOREIGN KEY (game_id, team) REFERENCES teams (game_id, name)
);
"""


class GameStoreError(Exception):
    """The game database cannot be used: the message says which file, why, and what to do."""


def game_db_path() -> Path:
    """The game database ``crmsim app`` uses: ``$CRMSIM_GAME_DB``, else
    :data:`DEFAULT_GAME_DB` in the working directory."""
    named = os.environ.get(GAME_DB_ENV)
    return Path(named) if named else Path.cwd() / DEFAULT_GAME_DB


@dataclass(frozen=True)
class Game:
    """A game as the database holds it.

    Attributes:
        id: Its number in the file.
        settings: What the instructor set.
        rounds_played: Rounds revealed so far.
        phase: ``deciding``, ``playing``, ``finished`` or ``set_aside``.
        started_at: When it started (UTC, ISO 8601).
    """

    id: int
    settings: GameSettings
    rounds_played: int
    phase: str
    started_at: str

    @property
    def open_round(self) -> int | None:
        """The round that takes decisions (or is being played); None when the game is over."""
        if self.phase in (FINISHED, SET_ASIDE):
            return None
        return self.rounds_played + 1

    def status(self) -> str:
        """Where the game stands, in words."""
        rounds = self.settings.rounds
        if self.phase == FINISHED:
            return f"The game is over: all {rounds} rounds are played."
        if self.phase == SET_ASIDE:
            return "This game was set aside."
        if self.phase == PLAYING:
            return (
                f"Round {self.open_round} of {rounds} is being played: decisions for it are closed."
            )
        joining = (
            " Teams may join until the first round is revealed." if self.rounds_played == 0 else ""
        )
        return f"Round {self.open_round} of {rounds} is open for decisions.{joining}"


@dataclass(frozen=True)
class Decided:
    """A team's decision for a round, as stored.

    Attributes:
        decision: The decision.
        defaulted: Whether the game made it for a team that had not decided when the round
            was revealed (its previous decision without reports; nothing spent in round 1).
        submitted_at: When it was stored (UTC, ISO 8601).
    """

    decision: TeamDecision
    defaulted: bool
    submitted_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def team_name_problem(name: str) -> str | None:
    """What is wrong with a team name, or None (1 to MAX_TEAM_NAME printable characters)."""
    if not isinstance(name, str) or not name.strip():
        return "Give your team a name"
    if len(name.strip()) > MAX_TEAM_NAME:
        return (
            f"A team name has at most {MAX_TEAM_NAME} characters; this one has {len(name.strip())}"
        )
    if not name.strip().isprintable():
        return "A team name may hold letters, digits, spaces and punctuation only"
    return None


class GameStore:
    """The game database in one SQLite file (see the module docstring).

    Args:
        path: The file; created (with its tables) when it does not exist yet.

    Raises:
        GameStoreError: The folder does not exist, the path is a folder, or the file is
            not a game database this version can read (it is left untouched).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        if self.path.is_dir():
            raise GameStoreError(
                f"The game database {self.path} is a folder; name a file, e.g. "
                f"{self.path / DEFAULT_GAME_DB}"
            )
        if not self.path.parent.is_dir():
            raise GameStoreError(
                f"Cannot keep the game in {self.path}: the folder {self.path.parent} does not exist"
            )
        self._create = not self.path.exists()
        with self._transaction() as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if not tables:
                # Statement by statement: executescript would commit the transaction first.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", FORMAT), ("version", str(SCHEMA_VERSION))],
                )
            else:
                self._check_format(db, tables)
        self._create = False

    # ------------------------------------------------------------------ the file
    def _check_format(self, db: sqlite3.Connection, tables: set[str]) -> None:
        meta = dict(db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
        if meta.get("format") != FORMAT:
            raise GameStoreError(
                f"{self.path} is an SQLite database, but not a crmsim game's (its tables: "
                f"{', '.join(sorted(tables))}). Nothing was written to it: serve the app with "
                "--game-db naming another file."
            )
        version = meta.get("version", "")
        if not version.isdigit() or int(version) > SCHEMA_VERSION:
            raise GameStoreError(
                f"{self.path} was written by another version of crmsim (game database version "
                f"{version!r}; this one reads version {SCHEMA_VERSION}). Nothing was written to "
                "it: use that version, or serve the app with --game-db naming another file."
            )

    def _unreadable(self, error: sqlite3.Error) -> GameStoreError:
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return GameStoreError(
                f"The game database {self.path} is busy (another page is writing to it); try "
                "again in a moment."
            )
        return GameStoreError(
            f"The game database {self.path} cannot be read: {error}. It is corrupt or not a "
            "game database; nothing was written to it. Move it aside (keep it: the games in it "
            "may be recoverable) and serve the app again to start a new one, or serve it with "
            "--game-db naming another file."
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection (a page's thread uses its own): committed
        when the block ends, rolled back when it raises."""
        if not self._create and not self.path.exists():
            raise GameStoreError(
                f"The game database {self.path} is missing: it was moved or deleted while the "
                "app was running. Put it back, or serve the app again to start a new one."
            )
        mode = "rwc" if self._create else "rw"
        try:
            db = sqlite3.connect(
                f"{self.path.as_uri()}?mode={mode}",
                uri=True,
                timeout=LOCK_TIMEOUT_S,
                isolation_level=None,
            )
        except sqlite3.Error as error:
            raise self._unreadable(error) from None
        try:
            try:
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise self._unreadable(error) from None
        finally:
            db.close()

    # ------------------------------------------------------------------ reading
    def current_game(self) -> Game | None:
        """The game being played (or just finished), or None when there is none."""
        with self._transaction() as db:
            return self._current(db)

    def _current(self, db: sqlite3.Connection) -> Game | None:
        row = db.execute(
            "SELECT id, settings, rounds_played, phase, started_at FROM games "
            "WHERE phase != ? ORDER BY id DESC LIMIT 1",
            (SET_ASIDE,),
        ).fetchone()
        return None if row is None else self._game(row)

    def game(self, game_id: int) -> Game:
        """Game ``game_id`` (one set aside too).

        Raises:
            GameError: No such game.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, settings, rounds_played, phase, started_at FROM games WHERE id = ?",
                (game_id,),
            ).fetchone()
        if row is None:
            raise GameError(f"There is no game {game_id} in {self.path}", "game")
        return self._game(row)

    def _game(self, row: tuple[Any, ...]) -> Game:
        game_id, settings, rounds_played, phase, started_at = row
        return Game(
            game_id, GameSettings.from_dict(self._json(settings)), rounds_played, phase, started_at
        )

    def _json(self, text: str) -> Any:
        try:
            return json.loads(text)
        except (TypeError, ValueError) as error:
            raise GameStoreError(
                f"The game database {self.path} holds a record it cannot read ({error}); it "
                "was changed by something other than crmsim. Export what you can and start "
                "another file."
            ) from None

    def teams(self, game_id: int) -> list[str]:
        """The teams of a game, in the order they joined."""
        with self._transaction() as db:
            return [
                row[0]
                for row in db.execute(
                    "SELECT name FROM teams WHERE game_id = ? ORDER BY rowid", (game_id,)
                )
            ]

    def team(self, game_id: int, name: str) -> str | None:
        """The team of that name (as it was written when it joined; case does not matter),
        or None."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT name FROM teams WHERE game_id = ? AND name = ?", (game_id, name.strip())
            ).fetchone()
        return None if row is None else row[0]

    def decisions(self, game_id: int) -> dict[str, dict[int, Decided]]:
        """Every decision of a game: by team, then by round."""
        with self._transaction() as db:
            return self._decisions(db, game_id)

    def _decisions(self, db: sqlite3.Connection, game_id: int) -> dict[str, dict[int, Decided]]:
        found: dict[str, dict[int, Decided]] = {
            name: {}
            for (name,) in db.execute(
                "SELECT name FROM teams WHERE game_id = ? ORDER BY rowid", (game_id,)
            )
        }
        canonical = {name.casefold(): name for name in found}
        for team, round_, decision, defaulted, submitted_at in db.execute(
            "SELECT team, round, decision, defaulted, submitted_at FROM decisions "
            "WHERE game_id = ? ORDER BY round",
            (game_id,),
        ):
            found[canonical[team.casefold()]][round_] = Decided(
                TeamDecision.from_dict(self._json(decision)), bool(defaulted), submitted_at
            )
        return found

    def results(self, game_id: int, round_: int | None = None) -> list[RoundResult]:
        """The results of a game (of one round), by round, then in the order teams joined."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT r.result FROM results r JOIN teams t "
                "ON t.game_id = r.game_id AND t.name = r.team "
                "WHERE r.game_id = ? AND (? IS NULL OR r.round = ?) ORDER BY r.round, t.rowid",
                (game_id, round_, round_),
            ).fetchall()
        return [RoundResult.from_dict(self._json(text)) for (text,) in rows]

    # ------------------------------------------------------------------ the instructor
    def start_game(self, settings: GameSettings) -> Game:
        """Start a game with ``settings``.

        Raises:
            GameError: Settings with problems (control ``"settings"``), or a game is going
                on (control ``"game"``): reset it first.
        """
        settings.check()
        with self._transaction() as db:
            current = self._current(db)
            if current is not None:
                raise GameError(
                    f"A game is going on (started {current.started_at}; {current.status()}) "
                    "Export it if you want to keep it, then press Reset to set it aside "
                    "before starting another.",
                    "game",
                )
            cursor = db.execute(
                "INSERT INTO games (settings, phase, started_at) VALUES (?, ?, ?)",
                (json.dumps(settings.to_dict()), DECIDING, _now()),
            )
            return self._game(
                db.execute(
                    "SELECT id, settings, rounds_played, phase, started_at FROM games WHERE id = ?",
                    (cursor.lastrowid,),
                ).fetchone()
            )

    def reset_game(self) -> Game:
        """Set the current game aside (it stays in the file and can be exported), so that
        another can start; returns it.

        Raises:
            GameError: There is no game to reset.
        """
        with self._transaction() as db:
            current = self._current(db)
            if current is None:
                raise GameError("There is no game to reset.", "game")
            db.execute(
                "UPDATE games SET phase = ?, set_aside_at = ? WHERE id = ?",
                (SET_ASIDE, _now(), current.id),
            )
            return current

    def reveal_round(
        self,
        game_id: int,
        round_: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[RoundResult]:
        """Play round ``round_`` for every team and store the results, all at once.

        The round closes first (a team without a decision for it gets its previous one
        without reports, or nothing spent in round 1, marked ``defaulted``); then every
        team's market is played (:func:`~crmsim.report.game.play_round`); then the results
        and the round's number are written in one transaction.

        Args:
            game_id: The game.
            round_: The round the page showed as open (a guard against revealing twice).
            progress: Told (teams played, teams in all) after each team.

        Raises:
            GameError: Not this game's open round, no team yet, or the game was reset or
                revealed by another page meanwhile (nothing of this reveal is kept).
        """
        with self._transaction() as db:
            game = self._current(db)
            self._check_open(game, game_id, round_, revealing=True)
            decisions = self._decisions(db, game_id)
            if not decisions:
                raise GameError("No team has joined yet: nothing to play.", "round")
            for team, rounds in decisions.items():
                if round_ not in rounds:
                    previous = rounds.get(round_ - 1)
                    kept = (
                        TeamDecision(dict(previous.decision.shares)) if previous else TeamDecision()
                    )
                    db.execute(
                        "INSERT INTO decisions (game_id, team, round, decision, defaulted, "
                        "submitted_at) VALUES (?, ?, ?, ?, 1, ?)",
                        (game_id, team, round_, json.dumps(kept.to_dict()), _now()),
                    )
                    rounds[round_] = Decided(kept, True, _now())
            db.execute("UPDATE games SET phase = ? WHERE id = ?", (PLAYING, game_id))
        assert game is not None
        results = []
        for done, (team, rounds) in enumerate(decisions.items(), start=1):
            played = [rounds[r].decision for r in range(1, round_ + 1)]
            results.append(play_round(game.settings, team, played))
            if progress is not None:
                progress(done, len(decisions))
        with self._transaction() as db:
            now = self._current(db)
            if (
                now is None
                or now.id != game_id
                or now.phase != PLAYING
                or now.rounds_played != round_ - 1
            ):
                raise GameError(
                    f"Round {round_} was revealed by another page, or the game was reset, while "
                    "it was being played; nothing of this reveal was kept.",
                    "round",
                )
            db.executemany(
                "INSERT INTO results (game_id, team, round, result) VALUES (?, ?, ?, ?)",
                [(game_id, r.team, round_, json.dumps(r.to_dict())) for r in results],
            )
            finished = round_ >= game.settings.rounds
            db.execute(
                "UPDATE games SET rounds_played = ?, phase = ? WHERE id = ?",
                (round_, FINISHED if finished else DECIDING, game_id),
            )
        return results

    # ------------------------------------------------------------------ the teams
    def join(self, game_id: int, name: str) -> str:
        """Team ``name`` joins the game; returns the name as stored (trimmed).

        Raises:
            GameError: A bad or taken name (control ``"team"``), or too late to join
                (control ``"game"``).
        """
        problem = team_name_problem(name)
        if problem:
            raise GameError(problem, "team")
        name = name.strip()
        with self._transaction() as db:
            game = self._current(db)
            if game is None or game.id != game_id:
                raise GameError("This game is no longer going on; reload the page.", "game")
            if game.rounds_played > 0 or game.phase != DECIDING:
                raise GameError(
                    "Teams join before the first round is revealed; this game is past that "
                    f"({game.status()}) Ask the instructor to start a new game to play.",
                    "team",
                )
            taken = db.execute(
                "SELECT name FROM teams WHERE game_id = ? AND name = ?", (game_id, name)
            ).fetchone()
            if taken is not None:
                raise GameError(
                    f"The name {taken[0]!r} is taken in this game: choose another, or press "
                    "Continue if you are that team.",
                    "team",
                )
            db.execute(
                "INSERT INTO teams (game_id, name, joined_at) VALUES (?, ?, ?)",
                (game_id, name, _now()),
            )
        return name

    def submit(self, game_id: int, team: str, round_: int, decision: TeamDecision) -> bool:
        """Store a team's decision for the open round; returns True when it replaced the
        team's earlier decision for that round.

        Raises:
            GameError: A decision with problems (control: the lever, ``"total"`` or
                ``"reports"``), an unknown team (``"team"``), or not the open round
                (``"round"``): played already, not open yet, being played, or the game
                is over.
        """
        with self._transaction() as db:
            game = self._current(db)
            self._check_open(game, game_id, round_, revealing=False)
            assert game is not None
            decision.check(game.settings)
            known = db.execute(
                "SELECT name FROM teams WHERE game_id = ? AND name = ?", (game_id, team)
            ).fetchone()
            if known is None:
                raise GameError(f"There is no team {team!r} in this game; join first.", "team")
            replaced = db.execute(
                "DELETE FROM decisions WHERE game_id = ? AND team = ? AND round = ?",
                (game_id, team, round_),
            ).rowcount
            db.execute(
                "INSERT INTO decisions (game_id, team, round, decision, submitted_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (game_id, known[0], round_, json.dumps(decision.to_dict()), _now()),
            )
        return bool(replaced)

    @staticmethod
    def _check_open(game: Game | None, game_id: int, round_: int, revealing: bool) -> None:
        if game is None or game.id != game_id:
            raise GameError("This game is no longer going on; reload the page.", "game")
        if game.phase == FINISHED:
            raise GameError(
                f"The game is over: all {game.settings.rounds} rounds are played.", "round"
            )
        if round_ <= game.rounds_played:
            raise GameError(
                f"Round {round_} has been played: it takes no more "
                f"{'reveals' if revealing else 'decisions'}. The open round is "
                f"{game.open_round}.",
                "round",
            )
        if round_ > game.rounds_played + 1:
            raise GameError(
                f"Round {round_} is not open yet; the open round is {game.open_round}.", "round"
            )
        if game.phase == PLAYING and not revealing:
            raise GameError(
                f"Round {round_} is being played: decisions for it are closed.", "round"
            )

    # ------------------------------------------------------------------ export
    def export_json(self, game_id: int) -> str:
        """Everything about a game as JSON: settings, teams, decisions, results."""
        game = self.game(game_id)
        with self._transaction() as db:
            teams = [
                {"name": name, "joined_at": joined}
                for name, joined in db.execute(
                    "SELECT name, joined_at FROM teams WHERE game_id = ? ORDER BY rowid",
                    (game_id,),
                )
            ]
            decisions = self._decisions(db, game_id)
        return json.dumps(
            {
                "format": FORMAT,
                "version": SCHEMA_VERSION,
                "game": {
                    "id": game.id,
                    "settings": game.settings.to_dict(),
                    "rounds_played": game.rounds_played,
                    "phase": game.phase,
                    "started_at": game.started_at,
                },
                "teams": teams,
                "decisions": [
                    {
                        "team": team,
                        "round": round_,
                        **stored.decision.to_dict(),
                        "defaulted": stored.defaulted,
                        "submitted_at": stored.submitted_at,
                    }
                    for team, rounds in decisions.items()
                    for round_, stored in rounds.items()
                ],
                "results": [r.to_dict() for r in self.results(game_id)],
            },
            indent=1,
        )

    def export_csv(self, game_id: int) -> str:
        """A game as CSV: a row per team and round played, the decision (each lever's share,
        the reports bought) beside the result (each lever's spend, the score, its rank)."""
        game = self.game(game_id)
        levers = [lever.name for lever in game.settings.levers()]
        decisions = self.decisions(game_id)
        results = self.results(game_id)
        ranks: dict[tuple[int, str], int] = {}
        for round_ in sorted({r.round for r in results}):
            board = leaderboard([r for r in results if r.round == round_])
            ranks.update(
                {(round_, t): int(k) for k, t in zip(board["Rank"], board["Team"], strict=True)}
            )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "game",
                "team",
                "round",
                *(f"share_{name}" for name in levers),
                "reports",
                "defaulted",
                *(f"spend_{name}" for name in levers),
                "report_cost",
                "profit",
                "acquired",
                "active_customers",
                "monthly_retention",
                "customer_equity",
                "value_of_customer_base",
                "rank",
            ]
        )
        for r in results:
            stored = decisions[r.team][r.round]
            writer.writerow(
                [
                    game_id,
                    r.team,
                    r.round,
                    *(stored.decision.share(name) for name in levers),
                    ";".join(stored.decision.reports),
                    int(stored.defaulted),
                    *(round(r.spend.get(name, 0.0), 2) for name in levers),
                    round(r.report_cost, 2),
                    round(r.profit, 2),
                    r.acquired,
                    r.active_customers,
                    round(r.monthly_retention, 6),
                    round(r.customer_equity, 2),
                    round(r.value_of_customer_base, 2),
                    ranks[(r.round, r.team)],
                ]
            )
        return out.getvalue()
