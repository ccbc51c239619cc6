"""The ``crmsim`` command: run, compare and list scenarios, and benchmark the engine.

Examples::

    crmsim list
    crmsim list loyalty_program
    crmsim run baseline --seed 7 --months 60 --out out/baseline
    crmsim compare baseline loyalty_program --replications 20
    crmsim sweep reward_rate --workers 2
    crmsim sensitivity baseline --replications 20
    crmsim calibrate orders.csv --out out/my-customers
    crmsim bench --quick

Every scenario is validated before anything runs; a problem is reported with
the file, the field path and what is allowed, and the command exits with
status 2 without writing anything. So is an output folder that cannot take
the results: one that cannot be written, or that holds other results (unless
``--force``). Ctrl-C stops a command with one line saying what was kept and
how to resume (status 130).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shlex
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from crmsim import __version__, study
from crmsim.calibrate.reading import CalibrationError
from crmsim.config.fields import (
    Field,
    Record,
    ScenarioError,
    check_value,
    describe,
    did_you_mean,
    unknown_key,
)
from crmsim.config.scenario import (
    load_scenario,
    parse_assignment,
    shipped_scenarios_dir,
    shipped_sweeps_dir,
)
from crmsim.config.schema import SCHEMA
from crmsim.measures import (
    SEGMENT_DIMENSIONS,
    STUDY_MEASURES,
    format_interval,
    run_measure,
    segment_measure,
)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""Exit statuses: a failure while writing (a full disk), bad usage, Ctrl-C (128 + SIGINT)."""

WIDTH = 100
"""Columns every table and listing fits in."""

RUN_FILES = ("monthly.csv", "customers.csv", "summary.json", "scenario.yaml", "figure.png")
COMPARE_FILES = (
    "comparison.csv",
    "runs.csv",
    "monthly.csv",
    "differences.csv",
    "comparison.png",
    "differences.png",
    *(f"by_{split}.{kind}" for split in SEGMENT_DIMENSIONS for kind in ("csv", "png")),
)
SWEEP_FILES = ("runs.csv", "summary.csv", "monthly.csv", "sweep.png", "heatmap.png")
SENSITIVITY_FILES = ("sensitivity.csv", "tornado.png")
"""What each command writes into its output folder (studies also keep ``runs/``)."""

OUT_HINT = "give --out a new or empty folder, or add --force to write there anyway"

EPILOG = """\
examples:
  crmsim list                                    shipped scenarios, one line each
  crmsim list loyalty_program                    one scenario (or sweep) in full
  crmsim run baseline --seed 7                   one run, written to out/baseline
  crmsim compare baseline loyalty_program --replications 20
  crmsim sweep reward_rate --workers 2           a shipped sweep (rerun to resume)
  crmsim sensitivity baseline
  crmsim calibrate orders.csv --out out/mine     fit your customers, write a scenario
  crmsim COMMAND --help                          the options of a command

output folders: a command writes into a new or empty folder, or into the folder
of the same study, which it resumes (finished runs are kept under runs/); it
refuses a folder holding other results unless --force is given.

exit status: 0 done, 1 a failure while writing (a full disk, say),
2 bad usage (nothing is written), 130 interrupted (finished runs are kept).
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crmsim`` command (and of ``python -m crmsim``).

    Args:
        argv: The arguments after the command's name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 a failure while writing, 2 bad usage,
        130 interrupted. Bad usage never raises (argparse's exit is returned).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the help, the version or the error
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    with _messages_on_stderr(), _interrupt_once():
        try:
            return args.handler(args)
        except (ScenarioError, study.StudyError, CalibrationError) as error:
            print(f"crmsim: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(_interrupted(args, argv), file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # The reader (e.g. `head`) stopped reading: not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except OSError as error:
            # The output folder was checked before anything ran, so this is the
            # disk filling up (or the folder vanishing) while results are written.
            where = f"{error.filename}: " if error.filename else ""
            print(
                f"crmsim: error: {where}{error.strerror or error}; no file was left "
                f"half-written{_kept(args, argv)}",
                file=sys.stderr,
            )
            return EXIT_FAILURE


def _interrupted(args: argparse.Namespace, argv: Sequence[str]) -> str:
    """The one line Ctrl-C prints: what was kept and how to go on."""
    folder = getattr(args, "output", None)
    if folder is None or not folder.claimed:
        return "crmsim: interrupted; nothing was written"
    if not folder.keys:
        return f"crmsim: interrupted; nothing was written to {folder} (a run keeps nothing)"
    return f"crmsim: interrupted{_kept(args, argv)}"


def _kept(args: argparse.Namespace, argv: Sequence[str]) -> str:
    """'; 7 of 16 runs are kept in out/x/runs; to resume, run again: crmsim ...', or ''."""
    folder = getattr(args, "output", None)
    if folder is None or not folder.claimed or not folder.keys:
        return ""
    return (
        f"; {folder.stored()} of {len(folder.keys)} runs are kept in {folder.path / 'runs'}; "
        f"to resume, run again: {shlex.join(['crmsim', *argv])}"
    )


@contextmanager
def _interrupt_once() -> Iterator[None]:
    """Ctrl-C stops the command once: a second one does not break off the first one's clean-up
    (stopping the workers, removing temporary files)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _messages_on_stderr() -> Iterator[None]:
    """Show what the library reports (a damaged stored run, say) as 'crmsim: ...' lines."""
    logger = logging.getLogger("crmsim")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("crmsim: %(message)s"))
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _Parser(argparse.ArgumentParser):
    """An argument parser that suggests the option meant by a misspelled one.

    Args:
        passes_unknown: Hand unknown arguments on (in ``passed``) instead of refusing them.
    """

    def __init__(self, *args: Any, passes_unknown: bool = False, **kwargs: Any) -> None:
        self.passes_unknown = passes_unknown
        self.option_names: list[str] = []
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """Add an argument, remembering its option names for suggestions."""
        action = super().add_argument(*args, **kwargs)
        self.option_names.extend(s for s in action.option_strings if s.startswith("--"))
        return action

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse; unknown arguments are an error naming the closest option (or are passed on)."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and self.passes_unknown:
            namespace.passed = extras
            return namespace, []
        if extras:
            options = [e.split("=", 1)[0] for e in extras if e.startswith("--")]
            hints = "".join(did_you_mean(o, self.option_names) for o in options)
            self.error(f"unrecognized arguments: {' '.join(extras)}{hints}")
        return namespace, extras


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crmsim",
        description=_paragraph(
            "A customer relationship management simulation lab: run what-if "
            "scenarios and compare customer lifetime value and retention."
        ),
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"crmsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="simulate one scenario and write its results",
        description=_paragraph(
            "Simulate one scenario once and write monthly.csv, customers.csv, "
            "summary.json, scenario.yaml and figure.png."
        ),
        epilog="examples:\n  crmsim run baseline\n  crmsim run baseline --seed 7 --months 60 "
        "--customers 20000 --out out/baseline-7\n  crmsim run my_scenario.yaml --force",
    )
    run.add_argument("scenario", type=_scenario_argument, help=SCENARIO_HELP)
    _size_options(run)
    run.add_argument(
        "--seed", type=_nonnegative_int, default=2026, help="seed of the run (default: %(default)s)"
    )
    run.add_argument(
        "--transactions",
        action="store_true",
        help="also write transactions.csv, every purchase of the run (customer_id, date, "
        "amount; month 0 starts on 2000-01-01), which crmsim calibrate reads (default: off)",
    )
    _output_options(run, "out/<scenario name>")
    run.set_defaults(handler=_run)

    compare = commands.add_parser(
        "compare",
        help="run scenarios several times and compare them with 95%% CIs",
        description=_paragraph(
            "Run each scenario several times with common random numbers (replication "
            "k of every scenario uses the same seed) and report means with 95% confidence "
            "intervals and paired differences from the reference scenario."
        ),
        epilog="examples:\n  crmsim compare baseline loyalty_program --replications 20\n"
        "  crmsim compare baseline win_back churn_reduction --reference churn_reduction\n"
        "  crmsim compare a.yaml b.yaml --workers 2 --out out/a-or-b\n"
        "  crmsim compare baseline lookalike_acquisition --by channel",
    )
    compare.add_argument(
        "scenarios", nargs="+", metavar="SCENARIO", type=_scenario_argument, help=SCENARIO_HELP
    )
    compare.add_argument(
        "--reference",
        metavar="NAME",
        help="scenario the others are compared with, replication by replication "
        "(default: the first given)",
    )
    compare.add_argument(
        "--replications",
        type=_replications,
        default=10,
        help="runs per scenario; 1 gives no confidence interval (default: %(default)s)",
    )
    compare.add_argument(
        "--seed", type=_nonnegative_int, default=2026, help="experiment seed (default: %(default)s)"
    )
    compare.add_argument(
        "--by",
        choices=list(SEGMENT_DIMENSIONS),
        help="also split every segment measure by acquisition channel, cohort (year of "
        "first purchase), rung or programme membership, with 95%% CIs and paired "
        "differences, written to by_<split>.csv and drawn in by_<split>.png, e.g. --by "
        "channel (default: no split)",
    )
    _size_options(compare)
    _executor_options(compare)
    _output_options(compare, "out/<first>-vs-<second>...", resumable=True)
    compare.set_defaults(handler=_compare)

    sweep = commands.add_parser(
        "sweep",
        help="run a scenario x parameter grid x replications study (resumable)",
        description=_paragraph(
            "Run a study declared in a sweep file: scenarios x a grid of parameter "
            f"values x replications. Shipped sweeps: {_names(shipped_sweeps_dir())} "
            f"(in {shipped_sweeps_dir()}; its README.md describes the format)."
        ),
        epilog="examples:\n  crmsim sweep reward_rate --workers 2\n"
        "  crmsim sweep my_sweep.yaml --replications 20 --out out/my_sweep\n"
        "  crmsim sweep reward_rate --scheduler tcp://10.0.0.5:8786",
    )
    sweep.add_argument(
        "file",
        type=_sweep_argument,
        help="sweep file (YAML: scenarios, parameters, replications...) or the name of a "
        "shipped sweep (required)",
    )
    sweep.add_argument(
        "--replications",
        type=_replications,
        help="runs per scenario and grid point (default: the sweep file's)",
    )
    _executor_options(sweep)
    _output_options(sweep, "out/<sweep name>", resumable=True)
    sweep.set_defaults(handler=_sweep)

    sensitivity = commands.add_parser(
        "sensitivity",
        help="elasticities of customer value to retention, margin and acquisition cost",
        description=_paragraph(
            "Move retention, margin and acquisition cost by a step each and measure "
            "how much the value of the customer base moves, replication by replication."
        ),
        epilog="examples:\n  crmsim sensitivity baseline\n"
        "  crmsim sensitivity loyalty_program --replications 40 --step 0.02",
    )
    sensitivity.add_argument("scenario", type=_scenario_argument, help=SCENARIO_HELP)
    sensitivity.add_argument(
        "--replications",
        type=_replications,
        default=20,
        help="runs per lever; 1 gives no confidence interval (default: %(default)s)",
    )
    sensitivity.add_argument(
        "--seed", type=_nonnegative_int, default=2026, help="experiment seed (default: %(default)s)"
    )
    sensitivity.add_argument(
        "--step",
        type=_step,
        default=0.01,
        help="relative size of each lever's move, between 0 and 0.5 (default: %(default)s = 1%%)",
    )
    _size_options(sensitivity)
    _executor_options(sensitivity)
    _output_options(sensitivity, "out/<scenario name>-sensitivity", resumable=True)
    sensitivity.set_defaults(handler=_sensitivity)

    listing = commands.add_parser(
        "list",
        help="list the shipped scenarios and sweeps, settings and strategies",
        description=_paragraph(
            "List the shipped scenarios (one line each), or describe some in full."
        ),
        epilog="examples:\n  crmsim list\n  crmsim list --full\n"
        "  crmsim list loyalty_program reward_rate\n  crmsim list --schema",
    )
    listing.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="shipped scenarios or sweeps (or scenario files) to describe in full "
        "(default: one line per shipped scenario)",
    )
    listing.add_argument(
        "--full",
        action="store_true",
        help="every shipped scenario with its whole description (default: its first sentence)",
    )
    listing.add_argument(
        "--sweeps", action="store_true", help="list the shipped sweeps (default: off)"
    )
    listing.add_argument(
        "--schema",
        action="store_true",
        help="print every scenario setting with its default (default: off)",
    )
    listing.add_argument(
        "--strategies",
        action="store_true",
        help="print the strategies with their parameters (default: off)",
    )
    listing.set_defaults(handler=_list)

    calibrate = commands.add_parser(
        "calibrate",
        help="fit customer-base models on a firm's records and write a scenario of them",
        description=_paragraph(
            "Fit BG/NBD and Gamma-Gamma on a transaction log (one row per purchase: "
            "customer, date, amount), or the shifted-beta-geometric model on contractual "
            "records (--contractual), check the fit on a holdout period, and write the "
            "estimates, the holdout figures, a report and scenario.yaml, a scenario whose "
            "customers follow the estimates, ready for crmsim run and crmsim compare."
        ),
        epilog="examples:\n  crmsim calibrate orders.csv --out out/my-customers\n"
        "  crmsim calibrate orders.csv --customer-col client --date-col day --amount-col "
        "total --freq W --calibration-end 2024-06-30\n"
        "  crmsim calibrate cohorts.csv --contractual --freq Y --out out/retention",
    )
    calibrate.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="CSV file (UTF-8, header row): transactions, or with --contractual survivors "
        "(period, alive[, cohort]) or relationships (customer_id, start, end) (required)",
    )
    calibrate.add_argument(
        "--contractual",
        action="store_true",
        help="the file holds contractual records; fit the sBG (default: a transaction log)",
    )
    calibrate.add_argument(
        "--customer-col",
        default="customer_id",
        help="column of the customer id (default: %(default)s)",
    )
    calibrate.add_argument(
        "--date-col", default="date", help="column of the purchase date (default: %(default)s)"
    )
    calibrate.add_argument(
        "--amount-col", default="amount", help="column of the amount spent (default: %(default)s)"
    )
    calibrate.add_argument(
        "--freq",
        choices=["D", "W", "M", "Y"],
        help="time unit of the fit: days, weeks, months (365.25/12 days) or, for "
        "contractual records, years (default: W for transactions, M for contractual)",
    )
    calibrate.add_argument(
        "--calibration-end",
        metavar="END",
        help="last day of the calibration period (e.g. 1997-09-30), or with --contractual "
        "the last period fitted (default: the middle of the data)",
    )
    calibrate.add_argument(
        "--name", default="calibrated", help="name of the written scenario (default: %(default)s)"
    )
    _output_options(calibrate, "out/<file name>-calibration")
    calibrate.set_defaults(handler=_calibrate)

    bench = commands.add_parser(
        "bench",
        passes_unknown=True,
        help="measure speed and memory (--experiments: replications on local processes; "
        "options: crmsim bench -- --help)",
        description=_paragraph(
            "Measure the engine's speed and memory (a checkout of crmsim only)."
        ),
        epilog="examples:\n  crmsim bench --quick\n  crmsim bench --experiments\n"
        "  crmsim bench -- --help",
    )
    bench.add_argument(
        "bench_args",
        nargs=argparse.REMAINDER,
        help="options of the benchmark, passed on (default: none: the full benchmark)",
    )
    bench.set_defaults(handler=_bench)

    app = commands.add_parser(
        "app",
        help="serve the strategy lab, a web page to compare strategies (no Python needed)",
        description=_paragraph(
            "Serve the strategy lab on this computer (127.0.0.1) and print its address: "
            "choose strategies, set them, press Run, read the results with their "
            "confidence intervals. Its pages also watch one market month by month, and "
            "play the classroom game (/game for the teams, /instructor for the "
            "instructor), whose state is kept in a database file (--game-db), so a "
            "restart loses nothing. Stop it with Ctrl-C. Needs the app extra: "
            "pip install 'crmsim[app]'."
        ),
        epilog="examples:\n  crmsim app\n  crmsim app --port 8800\n"
        "  crmsim app --game-db ~/class/monday.sqlite\n"
        "  crmsim app --host 0.0.0.0 --game-db ~/class/monday.sqlite   (a class on the network)",
    )
    app.add_argument(
        "--port",
        type=_port,
        default=8765,
        help="port to serve on, 1024-65535, or 0 for any free port (default: 8765)",
    )
    app.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to serve on (default: 127.0.0.1, this computer only); 0.0.0.0 serves "
        "every network this computer is on, so that a class can reach the classroom game: "
        "the pages have no login, so anyone who reaches them can play any team",
    )
    app.add_argument(
        "--game-db",
        type=_game_db,
        default=None,
        metavar="PATH",
        help="the classroom game's database, an SQLite file, created if it does not exist "
        "(default: $CRMSIM_GAME_DB, else crmsim-game.sqlite in the working directory)",
    )
    app.set_defaults(handler=_app)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if port != 0 and not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1024 to 65535, or 0 for any free port; got {text!r}"
        )
    return port


def _host(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an IP address of this computer: 127.0.0.1 (this computer only) or "
            f"0.0.0.0 (every network it is on); got {text!r}"
        ) from None


def _game_db(text: str) -> Path:
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; name a file in it")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder of {text!r} ({path.parent}) does not exist; create it or name a file "
            "in an existing folder"
        )
    return path


def _app(args: argparse.Namespace) -> int:
    import importlib.util
    import ipaddress
    import subprocess

    from crmsim.report.game_store import GAME_DB_ENV, game_db_path

    if importlib.util.find_spec("solara") is None:
        print(
            "crmsim: error: the strategy lab needs Solara, which is not installed: "
            "pip install 'crmsim[app]' (or make app in a checkout)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    game_db = args.game_db or game_db_path().expanduser().resolve()
    print(f"crmsim: serving the strategy lab at http://{args.host}:{args.port} (Ctrl-C stops it)")
    if not ipaddress.ip_address(args.host).is_loopback:
        print(
            "crmsim: the pages are open to every computer that reaches this address, with no "
            "login: anyone there can play any team of the classroom game, or reset it",
            file=sys.stderr,
        )
    print(f"crmsim: the classroom game keeps its state in {game_db}")
    command = [
        sys.executable, "-m", "solara", "run", "crmsim.report.app",
        "--host", args.host, "--port", str(args.port),
        "--production", "--no-open", "--log-level", "warning",
        "--no-check-version",  # no call to PyPI; the app extra pins Solara
    ]  # fmt: skip
    try:
        # Solara warns on every page served over plain http away from "localhost" that
        # its cookie falls back to SameSite=lax: expected here, and noise in the log.
        quiet = "ignore::UserWarning:solara.server.starlette"
        warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))
        environment = {**os.environ, GAME_DB_ENV: str(game_db), "PYTHONWARNINGS": warnings}
        return subprocess.call(command, env=environment)
    except KeyboardInterrupt:
        return 130


SCENARIO_HELP = "scenario file, or the name of a shipped scenario (crmsim list; required)"


def _paragraph(text: str) -> str:
    """A description wrapped for the help (which keeps the line breaks of the examples)."""
    return textwrap.fill(text, 79)


def _size_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--months", type=_months, help="months to simulate (default: the scenario's)"
    )
    parser.add_argument(
        "--customers",
        type=_customers,
        help="people in the market (default: the scenario's)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.SETTING=VALUE",
        help="change a setting of the scenario(s), e.g. --set firm.gross_margin=0.3 "
        "(repeatable; the value is read as YAML; default: none)",
    )


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="local worker processes (default: one per core; 1 = no extra processes)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a Dask scheduler (tcp://host:port) to run on a cluster "
        "(default: none, run on this machine)",
    )


def _output_options(parser: argparse.ArgumentParser, default: str, resumable: bool = False) -> None:
    again = "; rerun the same command to resume" if resumable else ""
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder, new or empty or this study's own (default: {default}){again}",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds other results: files of the same names are "
        "replaced, other files are kept"
        + (", stored runs of other studies are removed" if resumable else "")
        + " (default: refuse such a folder)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (default: a bar when the output is a terminal, none in pipes "
        "and logs)",
    )


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, changes=_changes(args))
    files = (*RUN_FILES, "transactions.csv") if args.transactions else RUN_FILES
    folder = args.output = _output_folder(args, _default_out(scenario.name), files)
    folder.claim()
    from crmsim import report
    from crmsim.engine.model import CRMModel

    model = CRMModel(
        study.scenario_for_months(scenario, args.months),
        rng=args.seed,
        customers=args.customers,
        log_purchases=args.transactions,
    )
    model.run(args.months, progress=_progress(args))
    if args.transactions:
        from crmsim.calibrate.simulated import transaction_log

        log = transaction_log(model)
    summary = model.summary()
    series = model.monthly_series()
    customers = model.customer_frame()
    figure = report.plot_run_dashboard(
        series, customers["realised_clv"].to_numpy(), title=f"{scenario.name} (seed {args.seed})"
    )
    with study.atomic_folder(folder.path) as tmp:
        series.to_csv(tmp / "monthly.csv", index=False)
        customers.to_csv(tmp / "customers.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
        (tmp / "scenario.yaml").write_text(scenario.to_yaml())
        _save(figure, tmp / "figure.png")
        if args.transactions:
            log.to_csv(tmp / "transactions.csv", index=False, date_format="%Y-%m-%d")
    _print_run(summary)
    _print_wrapped(f"\nwrote {', '.join(files)} to {folder}", 2)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from crmsim import calibrate

    source = str(args.file)
    default = _default_out(args.file.stem, "calibration")
    folder = study.OutputFolder(
        args.out or default,
        calibrate.writing.COHORT_FILES if args.contractual else calibrate.writing.TRANSACTION_FILES,
        force=args.force,
        hint=OUT_HINT,
    )
    if args.contractual:
        records = calibrate.read_cohort_file(args.file)
        freq = args.freq or "M"
        if "start" in records:
            records = calibrate.survivors_from_relationships(records, freq)
        end = None
        if args.calibration_end is not None:
            try:
                end = int(args.calibration_end)
            except ValueError:
                raise calibrate.CalibrationError(
                    f"--calibration-end {args.calibration_end}: with --contractual it is the "
                    "last period the fit uses, a whole number such as 7"
                ) from None
        fit: Any = calibrate.fit_cohorts(records, end, freq, source=source)
    else:
        if args.freq == "Y":
            raise calibrate.CalibrationError(
                "--freq Y is for contractual records; a transaction log takes D, W or M"
            )
        log = calibrate.read_transactions(
            args.file, args.customer_col, args.date_col, args.amount_col,
            progress=_progress(args),
        )  # fmt: skip
        fit = calibrate.fit_transactions(log, args.calibration_end, args.freq or "W", source=source)
    args.output = folder
    written = calibrate.write_calibration(fit, folder, name=args.name)
    print(fit.summary())
    _print_wrapped(f"\nwrote {', '.join(written)} to {folder}", 2)
    _print_wrapped(f"next: crmsim run {folder.path / 'scenario.yaml'}", 2)
    return 0


def _compare(args: argparse.Namespace) -> int:
    scenarios = [load_scenario(s, changes=_changes(args)) for s in args.scenarios]
    names = [s.name for s in scenarios]
    reference = _reference(args.reference, args.scenarios, names)
    default = _default_out(*names, joiner="-vs-")
    folder = args.output = _output_folder(args, default, COMPARE_FILES)
    from crmsim import report

    result = study.compare(scenarios, out=folder, reference=reference, **_study_options(args))
    with study.atomic_folder(folder.path) as tmp:
        result.table.to_csv(tmp / "comparison.csv", index=False)
        result.runs.to_csv(tmp / "runs.csv", index=False)
        result.monthly.to_csv(tmp / "monthly.csv", index=False)
        result.differences.to_csv(tmp / "differences.csv", index=False)
        _save(report.plot_comparison(result), tmp / "comparison.png")
        _save(report.plot_paired_differences(result), tmp / "differences.png")
        if args.by:
            split = result.by(args.by)
            split.to_csv(tmp / f"by_{args.by}.csv", index=False)
            _save(report.plot_segment_comparison(result, args.by), tmp / f"by_{args.by}.png")
    print(
        f"{_runs_done(folder)}; {args.replications} replications per scenario, seed {args.seed}, "
        "mean [95% confidence interval]:\n"
    )
    print(_fit(_comparison_table(result.table, names)))
    if not result.differences.empty:
        print(
            f"\npaired differences from {result.differences['reference'].iloc[0]} "
            "(same seeds, replication by replication), mean [95% CI]:\n"
        )
        others = [n for n in names if n != result.differences["reference"].iloc[0]]
        print(_fit(_differences_table(result.differences, others)))
    written = [f for f in COMPARE_FILES if not f.startswith("by_")]
    if args.by:
        print(f"\nby {SEGMENT_DIMENSIONS[args.by].lower()}, mean [95% CI]:\n")
        print(_fit(_segment_text(split, names)))
        written += [f"by_{args.by}.csv", f"by_{args.by}.png"]
    _print_wrapped(f"\nwrote {', '.join(written)} to {folder}", 2)
    return 0


def _interval_texts(table: Any, measure_of: Callable[[str], Any]) -> list[str]:
    """'mean [low, high]' of each row of a confidence table, in its measure's shown unit."""
    return [
        measure_of(m).format_interval(mean, low, high)
        for m, mean, low, high in zip(
            table["measure"], table["mean"], table["ci_low"], table["ci_high"], strict=True
        )
    ]


def _segment_text(table: Any, scenarios: Sequence[str]) -> Any:
    """One row per segment and measure, one column per scenario: 'mean [low, high]'."""
    cells = table.assign(
        text=_interval_texts(table, segment_measure),
        row=[
            f"{s}: {segment_measure(m).header}"
            for s, m in zip(table["segment"], table["measure"], strict=True)
        ],
    )
    wide = cells.pivot_table(
        index="row", columns="scenario", values="text", aggfunc="first", sort=False
    )
    return wide[list(scenarios)].rename_axis(index=None, columns=None)


def _sweep(args: argparse.Namespace) -> int:
    try:
        spec = study.load_sweep(args.file)
    except study.StudyError:
        if _is_scenario(args.file):
            raise study.StudyError(_not_a_sweep(args.file)) from None
        raise
    folder = args.output = _output_folder(args, _default_out(spec.name), SWEEP_FILES)
    from crmsim import report

    result = study.sweep(spec, out=folder, **_study_options(args))
    figures = {"sweep.png": report.plot_sweep(result)}
    if len(result.parameters) == 2:
        figures["heatmap.png"] = report.plot_sweep_heatmap(result)
    with study.atomic_folder(folder.path) as tmp:
        for name, figure in figures.items():
            _save(figure, tmp / name)
    print(f"{_runs_done(folder, spec.name)}; mean [95% CI] by scenario and parameters:\n")
    print(_sweep_text(result))
    names = ", ".join(["runs.csv (one row per run)", "summary.csv", "monthly.csv", *figures])
    _print_wrapped(f"\nwrote {names} to {folder}", 2)
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, changes=_changes(args))
    default = _default_out(scenario.name, "sensitivity")
    folder = args.output = _output_folder(args, default, SENSITIVITY_FILES)
    from crmsim import report

    frame = study.sensitivity(scenario, step=args.step, out=folder, **_study_options(args))
    with study.atomic_folder(folder.path) as tmp:
        frame.to_csv(tmp / "sensitivity.csv", index=False)
        _save(report.plot_tornado(frame), tmp / "tornado.png")
    print(
        f"{_runs_done(folder)}; elasticity of the value of the customer base ({scenario.name}, "
        f"{args.replications} paired replications), mean [95% CI]:\n"
    )
    width = max(len(label) for label in frame["label"])
    for row in frame.itertuples():
        interval = format_interval(row.elasticity, row.ci_low, row.ci_high, signed=True)
        print(f"  {row.label:<{width}}  {interval}")
    _print_wrapped(f"\nwrote {', '.join(SENSITIVITY_FILES)} to {folder}", 2)
    return 0


def _save(figure: Any, path: Path) -> None:
    """Save a figure and let it go, so that a process running many commands keeps none."""
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=110)
    plt.close(figure)


def _study_options(args: argparse.Namespace) -> dict[str, Any]:
    """The study options a command was given, as keyword arguments of crmsim.study.

    Each command defines the options that make sense for it (``sweep`` takes
    its seed and sizes from the sweep file), so only those present are passed.
    """
    names = ("replications", "seed", "months", "customers", "workers", "scheduler")
    options = {name: getattr(args, name) for name in names if hasattr(args, name)}
    options["progress"] = _progress(args)
    return options


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal: in a pipe or a log they are lines of noise."""
    return not args.no_progress and sys.stderr.isatty()


def _output_folder(
    args: argparse.Namespace, default: Path, files: Sequence[str]
) -> study.OutputFolder:
    return study.OutputFolder(args.out or default, files, force=args.force, hint=OUT_HINT)


def _default_out(*names: str, joiner: str = "-") -> Path:
    """``out/<names joined>``, as a folder name any file system takes."""
    name = re.sub(r"[^\w.-]+", "_", joiner.join(names)).strip("._") or "results"
    if len(name) > 120:  # file systems stop at 255 bytes; keep names readable
        name = name[:110].rstrip("-_") + f"-and-{len(names)}"
    return Path("out") / name


def _runs_done(folder: study.OutputFolder, what: str = "") -> str:
    """'8 runs', or '8 runs of tiny (5 computed now, 3 stored before)' when resuming."""
    text = f"{len(folder.keys)} runs" + (f" of {what}" if what else "")
    if folder.stored_before:
        computed = len(folder.keys) - folder.stored_before
        text += f" ({computed} computed now, {folder.stored_before} stored before)"
    return text


def _reference(reference: str | None, given: Sequence[str], names: Sequence[str]) -> str | None:
    """The reference scenario's name: ``--reference`` as a name or as given on the command line."""
    if reference is None or reference in names:
        return reference
    if reference in given:
        return names[list(given).index(reference)]
    raise study.StudyError(unknown_key(f"--reference {reference}", "scenario", reference, names))


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` changes, by dotted path (a later one wins)."""
    return dict(parse_assignment(text) for text in getattr(args, "set", []))


def _list(args: argparse.Namespace) -> int:
    if args.schema:
        for section, fields in SCHEMA.items():
            print(f"{section}:")
            for name, spec in fields.items():
                if isinstance(spec, Record):
                    _print_wrapped(f"  {name}: {spec.doc}", 4)
                    for sub, sub_spec in spec.fields.items():
                        _print_wrapped(f"    <name>.{sub}: {_describe(sub_spec)}", 6)
                else:
                    _print_wrapped(f"  {name}: {_describe(spec)}", 4)
        return 0
    if args.strategies:
        from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY

        for title, registry in (
            ("Firm strategies (scenario section 'strategies')", REGISTRY),
            (
                "Competitor strategies (scenario section 'competitor_strategies')",
                COMPETITOR_REGISTRY,
            ),
        ):
            print(f"{title}:\n")
            for name, cls in sorted(registry.items()):
                _print_wrapped(f"{name}: {cls.concept}", 2)
                for param, spec in cls.parameters.items():
                    _print_wrapped(f"  {param}: {_describe(spec)}", 4)
                print()
        return 0
    if args.sweeps:
        for file in sorted(shipped_sweeps_dir().glob("*.yaml")):
            spec = study.load_sweep(file)
            _print_wrapped(f"{spec.name:<28} {_sweep_line(spec)}", 29)
        return 0
    if args.names:
        return _describe_named(args.names)
    for file in sorted(shipped_scenarios_dir().glob("*.yaml")):
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            _print_wrapped(f"{file.stem:<28} INVALID: {error}", 29)
            continue
        text = " ".join(scenario.description.split())
        if args.full:
            _print_wrapped(f"{scenario.name:<28} {text}", 29)
        else:
            first = text.split(". ")[0].rstrip(".") + "."
            shortened = textwrap.shorten(first, WIDTH - 29, placeholder="...")
            print(f"{scenario.name:<28} {shortened}")
    return 0


def _describe_named(names: Sequence[str]) -> int:
    """``crmsim list NAME...``: each scenario or sweep in full."""
    scenarios = [p.stem for p in sorted(shipped_scenarios_dir().glob("*.yaml"))]
    sweeps = [p.stem for p in sorted(shipped_sweeps_dir().glob("*.yaml"))]
    for number, name in enumerate(names):
        if number:
            print()
        if name in sweeps and name not in scenarios:
            spec = study.load_sweep(name)
            print(f"{spec.name} (sweep, {shipped_sweeps_dir() / (name + '.yaml')})")
            _print_wrapped(f"  {_sweep_line(spec)}", 2)
            continue
        if name not in scenarios and not Path(name).is_file():
            raise ScenarioError(unknown_key(name, "scenario or sweep", name, [*scenarios, *sweeps]))
        scenario = load_scenario(name)
        print(f"{scenario.name} (scenario, {scenario.source})")
        _print_wrapped("  " + " ".join(scenario.description.split()), 2)
        for section, who in (("strategies", "firm"), ("competitor_strategies", "competitor")):
            running = ", ".join(scenario.strategies(section)) or "none"
            _print_wrapped(f"  {who} strategies: {running}", 4)
    return 0


def _sweep_line(spec: study.SweepSpec) -> str:
    grid = "; ".join(f"{path}: {_yaml(values)}" for path, values in spec.parameters.items())
    scenarios = ", ".join(Path(s).stem for s in spec.scenarios)
    return f"{scenarios} x {grid}; {spec.replications} replications"


def _describe(spec: Field) -> str:
    # describe() writes the default as Python does (None, True); a listing shows
    # it as a scenario file spells it (null, true).
    return describe(replace(spec, default=_Yaml(spec.default)))


class _Yaml:
    """A value whose repr is how a scenario file writes it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return _yaml(self.value)


def _yaml(value: Any) -> str:
    # JSON is YAML's flow style: null, true, [0.1, 0.2], {"a": 1}.
    return json.dumps(value)


def _print_wrapped(text: str, indent: int) -> None:
    """Print ``text`` in lines of at most WIDTH columns (a word longer than that, a deep
    path say, stays whole); continuation lines are indented by ``indent``."""
    lines = [
        textwrap.fill(
            line,
            WIDTH,
            subsequent_indent=" " * indent,
            break_on_hyphens=False,
            break_long_words=False,
        )
        for line in text.split("\n")
    ]
    print("\n".join(lines))


def _bench(args: argparse.Namespace) -> int:
    # The benchmarks are not shipped with the package: they sit next to it in a
    # source checkout (an editable install included), where the repository root
    # may not be on sys.path when the `crmsim` script runs.
    root = Path(__file__).resolve().parents[1]
    if not (root / "benchmarks" / "run.py").is_file():
        print(
            "crmsim: error: the benchmarks are not part of the installed package; they live "
            "in the source repository: run `python -m benchmarks.run` (or `crmsim bench`) "
            "from a checkout of crmsim",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks.run import main as bench_main

    passed = [*getattr(args, "passed", []), *args.bench_args]
    extra = [a for a in passed if a != "--"]
    if "--experiments" in extra:
        from benchmarks.experiments import main as experiments_main

        return experiments_main([a for a in extra if a != "--experiments"])
    return bench_main(extra)


RUN_HEADLINES: tuple[str, ...] = (
    "months",
    "customers_ever",
    "active_customers",
    "mean_lifetime_clv",
    "mean_lifetime_clv_initial_base",
    "mean_realised_value",
    "value_of_customer_base",
    "customer_equity",
    "customer_equity_with_future_cohorts",
    "retention_rate",
    "churn_rate",
    "lifetime_pareto_share_top20",
    "cost_per_acquisition",
    "cost_per_retained_customer_year",
)
"""The headline measures ``crmsim run`` prints, in order (labels and units: the registry)."""


def _print_run(summary: dict[str, Any]) -> None:
    rows = [("scenario", str(summary["scenario"])), ("seed", str(summary["seed"]))]
    for name in RUN_HEADLINES:
        measure = run_measure(name)
        label = measure.label[0].lower() + measure.label[1:]
        rows.append((f"{label} ({measure.unit})", measure.format(summary[name])))
    reasons = ", ".join(f"{k} {v}" for k, v in summary["defections_by_reason"].items())
    rows.append(("defections by reason", reasons))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        _print_wrapped(f"{key:<{width}}  {value}", width + 2)
    knowledge = summary["firm_knowledge"]
    if knowledge.get("fits_on_prior"):
        _print_wrapped(
            f"\nthe firm valued its customers with its prior (not estimates) after "
            f"{knowledge['fits_on_prior']} of its {knowledge['fits']} fits: "
            f"{'; '.join(knowledge['prior_reasons'])}",
            2,
        )


def _row_label(name: str) -> str:
    measure = run_measure(name)
    return f"{measure.header} ({measure.unit})"


def _comparison_table(table: Any, scenarios: Sequence[str]) -> Any:
    """One row per measure, one column per scenario (in the order given): 'mean [low, high]'."""
    cells = table.assign(text=_interval_texts(table, run_measure))
    wide = cells.pivot(index="measure", columns="scenario", values="text")
    wide = wide.loc[[m for m in STUDY_MEASURES if m in wide.index], list(scenarios)]
    return wide.rename(index=_row_label).rename_axis(index=None, columns=None)


def _differences_table(differences: Any, scenarios: Sequence[str]) -> Any:
    """One row per measure, one column per compared scenario: 'difference [low, high]'."""
    cells = differences.assign(
        text=[
            run_measure(m).format_interval(d, low, high, signed=True)
            for m, d, low, high in zip(
                differences["measure"],
                differences["difference"],
                differences["ci_low"],
                differences["ci_high"],
                strict=True,
            )
        ]
    )
    wide = cells.pivot(index="measure", columns="scenario", values="text")
    wide = wide.loc[[m for m in STUDY_MEASURES if m in wide.index], list(scenarios)]
    return wide.rename(index=_row_label).rename_axis(index=None, columns=None)


SWEEP_MEASURES = ("mean_lifetime_clv", "value_of_customer_base", "retention_rate")
"""The measures ``crmsim sweep`` prints (summary.csv holds them all)."""


def _sweep_text(result: Any) -> str:
    """One row per scenario and grid point, in the sweep file's order; parameters by short name."""
    table = result.table
    short = _short_names(result.parameters)
    index = list(result.parameters)
    lines = []
    if table["scenario"].nunique() > 1:
        index = ["scenario", *index]
    else:
        lines.append(f"scenario: {table['scenario'].iloc[0]}")
    lines += [f"{s}: {p}" for p, s in short.items() if s != p]
    keep = table[table["measure"].isin(SWEEP_MEASURES)]
    keep = keep.assign(
        text=[
            run_measure(m).format_interval(mean, low, high)
            for m, mean, low, high in zip(
                keep["measure"], keep["mean"], keep["ci_low"], keep["ci_high"], strict=True
            )
        ]
    )
    wide = keep.pivot_table(
        index=index, columns="measure", values="text", aggfunc="first", sort=False
    )
    wide = wide[list(SWEEP_MEASURES)].rename(columns=lambda m: run_measure(m).header)
    wide.index.names = [short.get(n, n) for n in index]
    wide.columns.name = None
    return "\n".join([*lines, "", _fit(wide)]) if lines else _fit(wide)


def _short_names(paths: Sequence[str]) -> dict[str, str]:
    """Each dotted path by its last part, where that is unambiguous."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return {p: (s if last.count(s) == 1 else p) for p, s in zip(paths, last, strict=True)}


def _fit(frame: Any, width: int = WIDTH) -> str:
    """A table no wider than ``width``: columns that do not fit continue in blocks below,
    each with the row labels again."""
    columns = list(frame.columns)
    blocks = []
    start = 0
    while start < len(columns):
        end = start + 1
        while end < len(columns) and _text_width(frame.iloc[:, start : end + 1]) <= width:
            end += 1
        blocks.append(frame.iloc[:, start:end].to_string())
        start = end
    return "\n\n".join(blocks)


def _text_width(frame: Any) -> int:
    return max(len(line) for line in frame.to_string().splitlines())


def _scenario_argument(text: str) -> str:
    """argparse type of a scenario: a file, or a shipped name (a misspelt one gets a suggestion).

    The file is read and checked later, with the other scenarios; here only a
    name that is neither a file nor shipped is refused, so argparse reports it.
    """
    names = _names(shipped_scenarios_dir()).split(", ")
    if text in names or Path(text).is_file() or Path(text).suffix in (".yaml", ".yml"):
        return text
    sweeps = _names(shipped_sweeps_dir()).split(", ")
    if text in sweeps:
        raise argparse.ArgumentTypeError(
            f"{text} is a shipped sweep, not a scenario: run it with crmsim sweep {text}"
        )
    raise argparse.ArgumentTypeError(unknown_key(text, "scenario", text, names))


def _sweep_argument(text: str) -> str:
    """argparse type of a sweep: a file, or a shipped name; a scenario is pointed to the sweeps."""
    names = _names(shipped_sweeps_dir()).split(", ")
    if text in names or Path(text).is_file() or Path(text).suffix in (".yaml", ".yml"):
        return text
    if _is_scenario(text):
        raise argparse.ArgumentTypeError(_not_a_sweep(text))
    raise argparse.ArgumentTypeError(unknown_key(text, "sweep", text, names))


def _is_scenario(text: str) -> bool:
    try:
        load_scenario(text)
    except ScenarioError:
        return False
    return True


def _not_a_sweep(text: str) -> str:
    return (
        f"{text} is a scenario, not a sweep file: a sweep file names scenarios, the parameters "
        f"to vary and their values (see {shipped_sweeps_dir() / 'README.md'}); shipped sweeps: "
        f"{_names(shipped_sweeps_dir())}; to run the scenario itself: crmsim run {text}"
    )


def _names(folder: Path) -> str:
    return ", ".join(p.stem for p in sorted(folder.glob("*.yaml")))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _whole_number(kind: str | Field) -> Callable[[str], int]:
    """An argparse type for a whole-number option, checked as a setting of ``kind`` (or as
    that field)."""
    field = kind if isinstance(kind, Field) else Field(kind, None)

    def parse(text: str) -> int:
        try:
            value: Any = int(text)
        except ValueError:
            value = text
        problem = check_value(field, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


_positive_int = _whole_number("positive_count")
_nonnegative_int = _whole_number("seed")
_months = _whole_number(SCHEMA["simulation"]["months"])
_replications = _whole_number(study.REPLICATIONS)
_customers = _whole_number(SCHEMA["simulation"]["customers"])


def _step(text: str) -> float:
    """argparse type of ``--step``: a number strictly between 0 and 0.5."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 0.5; got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
