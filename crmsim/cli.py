"""The ``crmsim`` command: run, compare and list scenarios, and benchmark the engine.

Examples::

    crmsim list
    crmsim run baseline --seed 7 --months 60 --out out/baseline
    crmsim compare baseline loyalty_program --replications 20
    crmsim sweep reward_rate --workers 2
    crmsim sensitivity baseline --replications 20
    crmsim bench --quick

Every scenario is validated before anything runs; a problem is reported with
the file, the field path and what is allowed, and the command exits with
status 2 without writing anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crmsim import study
from crmsim.config.fields import Field, Record, ScenarioError, check_value, describe
from crmsim.config.scenario import load_scenario, parse_assignment, shipped_scenarios_dir
from crmsim.config.schema import SCHEMA
from crmsim.measures import format_interval, run_measure

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crmsim`` command; returns the exit status."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and getattr(args, "command", None) == "bench":
        args.bench_args = [*unknown, *args.bench_args]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except ScenarioError as error:
        print(f"crmsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except study.StudyError as error:
        print(f"crmsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as error:
        print(f"crmsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (e.g. `head`) stopped reading: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class OutputError(Exception):
    """The output folder cannot be written."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmsim",
        description="A customer relationship management simulation lab: run what-if "
        "scenarios and compare customer lifetime value and retention.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="simulate one scenario and write its results")
    run.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    _common_options(run)
    run.add_argument("--seed", type=_nonnegative_int, default=2026, help="seed (default 2026)")
    run.add_argument("--out", type=Path, help="output folder (default out/<scenario name>)")
    run.set_defaults(handler=_run)

    compare = commands.add_parser(
        "compare", help="run scenarios several times and compare them with 95%% CIs"
    )
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    _common_options(compare)
    compare.add_argument(
        "--replications", type=_positive_int, default=10, help="runs per scenario (default 10)"
    )
    compare.add_argument(
        "--seed", type=_nonnegative_int, default=2026, help="experiment seed (default 2026)"
    )
    _executor_options(compare)
    compare.add_argument("--out", type=Path, default=Path("out/compare"), help="output folder")
    compare.set_defaults(handler=_compare)

    sweep = commands.add_parser(
        "sweep", help="run a scenario x parameter grid x replications study (resumable)"
    )
    sweep.add_argument("file", help="sweep file (YAML): scenarios, parameters, replications...")
    sweep.add_argument("--replications", type=_positive_int, help="override the file's")
    _executor_options(sweep)
    sweep.add_argument(
        "--out", type=Path, help="output folder (default out/<sweep name>); rerun to resume"
    )
    sweep.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    sweep.set_defaults(handler=_sweep)

    sensitivity = commands.add_parser(
        "sensitivity",
        help="elasticities of customer value to retention, margin and acquisition cost",
    )
    sensitivity.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    _common_options(sensitivity)
    sensitivity.add_argument(
        "--replications", type=_positive_int, default=20, help="runs per lever (default 20)"
    )
    sensitivity.add_argument("--seed", type=_nonnegative_int, default=2026)
    sensitivity.add_argument(
        "--step", type=float, default=0.01, help="size of each lever move (default 0.01 = 1%%)"
    )
    _executor_options(sensitivity)
    sensitivity.add_argument("--out", type=Path, default=Path("out/sensitivity"))
    sensitivity.set_defaults(handler=_sensitivity)

    listing = commands.add_parser("list", help="list the shipped scenarios")
    listing.add_argument(
        "--schema", action="store_true", help="print every scenario setting with its default"
    )
    listing.add_argument(
        "--strategies", action="store_true", help="print the strategies with their parameters"
    )
    listing.set_defaults(handler=_list)

    bench = commands.add_parser(
        "bench",
        help="measure speed and memory (--experiments: replications on local processes; "
        "options: crmsim bench -- --help)",
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=_bench)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--months", type=_months, help="months to simulate")
    parser.add_argument("--customers", type=_customers, help="people in the market")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.SETTING=VALUE",
        help="change a setting of the scenario(s), e.g. --set firm.gross_margin=0.3 "
        "(repeatable; the value is read as YAML)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="local worker processes (default: all cores; 1 = no extra processes)",
    )
    parser.add_argument(
        "--scheduler", help="address of a Dask scheduler (tcp://host:port) to run on a cluster"
    )


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, changes=_changes(args))
    out = args.out or Path("out") / scenario.name
    _check_writable(out)
    from crmsim import report
    from crmsim.engine.model import CRMModel

    model = CRMModel(scenario, rng=args.seed, customers=args.customers)
    model.run(args.months, progress=not args.no_progress)
    summary = model.summary()
    series = model.monthly_series()
    customers = model.customer_frame()
    figure = report.plot_run_dashboard(
        series, customers["realised_clv"].to_numpy(), title=f"{scenario.name} (seed {args.seed})"
    )
    with study.atomic_folder(out) as folder:
        series.to_csv(folder / "monthly.csv", index=False)
        customers.to_csv(folder / "customers.csv", index=False)
        (folder / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
        (folder / "scenario.yaml").write_text(scenario.to_yaml())
        figure.savefig(folder / "figure.png", dpi=110)
    _print_run(summary)
    print(f"\nwrote monthly.csv, customers.csv, summary.json, scenario.yaml, figure.png to {out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    scenarios = [load_scenario(s, changes=_changes(args)) for s in args.scenarios]
    _check_writable(args.out)
    from crmsim import report

    result = study.compare(scenarios, **_study_options(args))
    figure = report.plot_comparison(result)
    with study.atomic_folder(args.out) as folder:
        result.table.to_csv(folder / "comparison.csv", index=False)
        result.runs.to_csv(folder / "runs.csv", index=False)
        result.monthly.to_csv(folder / "monthly.csv", index=False)
        result.differences.to_csv(folder / "differences.csv", index=False)
        figure.savefig(folder / "comparison.png", dpi=110)
        report.plot_paired_differences(result).savefig(folder / "differences.png", dpi=110)
    print(
        f"{args.replications} replications per scenario, seed {args.seed}, "
        "mean [95% confidence interval]:\n"
    )
    print(_table_text(result.wide()))
    if not result.differences.empty:
        print(
            f"\npaired differences from {result.differences['reference'].iloc[0]} "
            "(same seeds, replication by replication), mean [95% CI]:\n"
        )
        print(_differences_text(result.differences))
    print(
        "\nwrote comparison.csv, runs.csv, monthly.csv, differences.csv, comparison.png, "
        f"differences.png to {args.out}"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    spec = study.load_sweep(args.file)
    out = args.out or Path("out") / spec.name
    _check_writable(out)
    from crmsim import report

    result = study.sweep(spec, out=out, **_study_options(args))
    study.write_frame_atomically(out / "monthly.csv", result.monthly)
    figures = {"sweep.png": report.plot_sweep(result)}
    if len(result.parameters) == 2:
        figures["heatmap.png"] = report.plot_sweep_heatmap(result)
    for name, figure in figures.items():
        study.save_figure_atomically(out / name, figure)
    print(f"{len(result.runs)} runs ({spec.name}); mean [95% CI] by scenario and parameters:\n")
    print(_sweep_text(result))
    names = ", ".join(["runs.csv (one row per run)", "summary.csv", "monthly.csv", *figures])
    print(f"\nwrote {names} to {out}")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, changes=_changes(args))
    if not 0 < args.step < 0.5:
        raise ScenarioError(f"--step must be between 0 and 0.5; got {args.step}")
    _check_writable(args.out)
    from crmsim import report

    frame = study.sensitivity(scenario, step=args.step, **_study_options(args))
    figure = report.plot_tornado(frame)
    with study.atomic_folder(args.out) as folder:
        frame.to_csv(folder / "sensitivity.csv", index=False)
        figure.savefig(folder / "tornado.png", dpi=110)
    print(
        f"elasticity of the value of the customer base ({scenario.name}, "
        f"{args.replications} paired replications), mean [95% CI]:\n"
    )
    for row in frame.itertuples():
        print(f"  {row.label:<26} {row.elasticity:7.2f}  [{row.ci_low:.2f}, {row.ci_high:.2f}]")
    print(f"\nwrote sensitivity.csv, tornado.png to {args.out}")
    return 0


def _study_options(args: argparse.Namespace) -> dict[str, Any]:
    """The study options a command was given, as keyword arguments of crmsim.study.

    Each command defines the options that make sense for it (``sweep`` takes
    its seed and sizes from the sweep file), so only those present are passed.
    """
    names = ("replications", "seed", "months", "customers", "workers", "scheduler")
    options = {name: getattr(args, name) for name in names if hasattr(args, name)}
    options["progress"] = not args.no_progress
    return options


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` changes, by dotted path (a later one wins)."""
    return dict(parse_assignment(text) for text in args.set)


def _list(args: argparse.Namespace) -> int:
    if args.schema:
        for section, fields in SCHEMA.items():
            print(f"{section}:")
            for name, spec in fields.items():
                if isinstance(spec, Record):
                    print(f"  {name}: {spec.doc}")
                    for sub, sub_spec in spec.fields.items():
                        print(f"    <name>.{sub}: {describe(sub_spec)}")
                else:
                    print(f"  {name}: {describe(spec)}")
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
                print(f"{name}: {cls.concept}")
                for param, spec in cls.parameters.items():
                    print(f"  {param}: {describe(spec)}")
                print()
        return 0
    for file in sorted(shipped_scenarios_dir().glob("*.yaml")):
        try:
            scenario = load_scenario(file)
            text = " ".join(scenario.description.split())
            first = text.split(". ")[0].rstrip(".") + "."
            if len(first) > 90:
                first = first[:89].rsplit(" ", 1)[0].rstrip(",;:") + "..."
            print(f"{scenario.name:<28} {first}")
        except ScenarioError as error:
            print(f"{file.stem:<28} INVALID: {error}")
    return 0


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

    extra = [a for a in args.bench_args if a != "--"]
    if "--experiments" in extra:
        from benchmarks.experiments import main as experiments_main

        return experiments_main([a for a in extra if a != "--experiments"])
    return bench_main(extra)


RUN_HEADLINES: tuple[str, ...] = (
    "months",
    "customers_ever",
    "active_customers",
    "mean_clv",
    "customer_equity",
    "retention_rate",
    "churn_rate",
    "pareto_share_top20",
    "cost_per_acquisition",
    "cost_per_retained_customer_year",
)
"""The headline measures ``crmsim run`` prints, in order (labels and units: the registry)."""


def _print_run(summary: dict[str, Any]) -> None:
    rows = [("scenario", summary["scenario"]), ("seed", summary["seed"])]
    for name in RUN_HEADLINES:
        measure = run_measure(name)
        label = measure.label[0].lower() + measure.label[1:]
        rows.append((f"{label} ({measure.unit})", measure.format(summary[name])))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    reasons = ", ".join(f"{k} {v}" for k, v in summary["defections_by_reason"].items())
    print(f"{'defections by reason':<{width}}  {reasons}")


def _table_text(frame: Any) -> str:
    return frame.rename(columns=lambda name: run_measure(name).header).to_string()


def _differences_text(differences: Any) -> str:
    cells = differences.assign(
        text=lambda t: t.apply(
            lambda r: format_interval(r["difference"], r["ci_low"], r["ci_high"], signed=True),
            axis=1,
        )
    )
    wide = cells.pivot(index="scenario", columns="measure", values="text")
    columns = ["mean_clv", "customer_equity", "retention_rate", "churn_rate", "active_customers"]
    return wide[[c for c in columns if c in wide.columns]].to_string()


def _sweep_text(result: Any) -> str:
    table = result.table
    keep = table[table["measure"].isin(["mean_clv", "customer_equity", "retention_rate"])]
    cells = keep.assign(
        text=lambda t: t.apply(
            lambda r: format_interval(r["mean"], r["ci_low"], r["ci_high"]), axis=1
        )
    )
    return cells.pivot_table(
        index=["scenario", *result.parameters], columns="measure", values="text", aggfunc="first"
    ).to_string()


def _check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; give --out a folder path")
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise OutputError(f"{out}: cannot write here (no permission on {probe})")


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
_customers = _whole_number(SCHEMA["simulation"]["customers"])


if __name__ == "__main__":
    sys.exit(main())
