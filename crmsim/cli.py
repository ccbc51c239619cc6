"""The ``crmsim`` command: run, compare and list scenarios, and benchmark the engine.

Examples::

    crmsim list
    crmsim run baseline --seed 7 --months 60 --out out/baseline
    crmsim compare scenarios/baseline.yaml scenarios/loyalty_program.yaml --replications 20
    crmsim sweep sweeps/reward_rate.yaml --workers 2
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
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crmsim.config.fields import Record, ScenarioError, describe
from crmsim.config.scenario import load_scenario, shipped_scenarios_dir
from crmsim.config.schema import SCHEMA
from crmsim.experiment import StudyError

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
    except StudyError as error:
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
    parser.add_argument("--months", type=_positive_int, help="months to simulate")
    parser.add_argument("--customers", type=_positive_int, help="people in the market")
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
    scenario = load_scenario(args.scenario)
    out = args.out or Path("out") / scenario.name
    _check_writable(out)
    from crmsim import plots
    from crmsim.model import CRMModel

    model = CRMModel(scenario, rng=args.seed, customers=args.customers)
    model.run(args.months, progress=not args.no_progress)
    summary = model.summary()
    series = model.monthly_series()
    customers = model.customer_frame()
    figure = plots.plot_run_dashboard(
        series, customers["realised_clv"].to_numpy(), title=f"{scenario.name} (seed {args.seed})"
    )
    with _atomic_folder(out) as folder:
        series.to_csv(folder / "monthly.csv", index=False)
        customers.to_csv(folder / "customers.csv", index=False)
        (folder / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
        (folder / "scenario.yaml").write_text(scenario.to_yaml())
        figure.savefig(folder / "figure.png", dpi=110)
    _print_run(summary)
    print(f"\nwrote monthly.csv, customers.csv, summary.json, scenario.yaml, figure.png to {out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    scenarios = [load_scenario(s) for s in args.scenarios]
    _check_writable(args.out)
    from crmsim import plots
    from crmsim.experiment import compare

    result = compare(
        scenarios,
        replications=args.replications,
        seed=args.seed,
        months=args.months,
        customers=args.customers,
        progress=not args.no_progress,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    figure = plots.plot_comparison(result)
    with _atomic_folder(args.out) as folder:
        result.table.to_csv(folder / "comparison.csv", index=False)
        result.runs.to_csv(folder / "runs.csv", index=False)
        result.monthly.to_csv(folder / "monthly.csv", index=False)
        result.differences.to_csv(folder / "differences.csv", index=False)
        figure.savefig(folder / "comparison.png", dpi=110)
        plots.plot_paired_differences(result).savefig(folder / "differences.png", dpi=110)
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
    from crmsim.experiment import load_sweep

    spec = load_sweep(args.file)
    out = args.out or Path("out") / spec.name
    _check_writable(out)
    from crmsim import plots
    from crmsim.experiment import sweep

    result = sweep(
        spec,
        replications=args.replications,
        workers=args.workers,
        scheduler=args.scheduler,
        out=out,
        progress=not args.no_progress,
    )
    from crmsim.experiment import write_frame_atomically

    write_frame_atomically(result.monthly, out / "monthly.csv")
    figures = {"sweep.png": plots.plot_sweep(result)}
    if len(result.parameters) == 2:
        figures["heatmap.png"] = plots.plot_sweep_heatmap(result)
    for name, figure in figures.items():
        _save_figure_atomically(figure, out / name)
    print(f"{len(result.runs)} runs ({spec.name}); mean [95% CI] by scenario and parameters:\n")
    print(_sweep_text(result))
    names = ", ".join(["runs.csv (one row per run)", "summary.csv", "monthly.csv", *figures])
    print(f"\nwrote {names} to {out}")
    return 0


def _save_figure_atomically(figure: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def _sensitivity(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    if not 0 < args.step < 0.5:
        raise ScenarioError(f"--step must be between 0 and 0.5; got {args.step}")
    _check_writable(args.out)
    from crmsim import plots
    from crmsim.experiment import sensitivity

    frame = sensitivity(
        scenario,
        replications=args.replications,
        seed=args.seed,
        step=args.step,
        months=args.months,
        customers=args.customers,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress,
    )
    figure = plots.plot_tornado(frame)
    with _atomic_folder(args.out) as folder:
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


def _print_run(summary: dict[str, Any]) -> None:
    rows = [
        ("scenario", summary["scenario"]),
        ("seed", summary["seed"]),
        ("months", summary["months"]),
        ("customers ever", summary["customers_ever"]),
        ("active customers at the end", summary["active_customers"]),
        ("mean realised CLV", f"{summary['mean_clv']:,.2f}"),
        ("customer equity", f"{summary['customer_equity']:,.0f}"),
        ("retention rate per month", f"{summary['retention_rate']:.4f}"),
        ("churn rate per month", f"{summary['churn_rate']:.4f}"),
        ("profit share of the top 20%", f"{summary['pareto_share_top20']:.2f}"),
        ("cost per acquisition", f"{summary['cost_per_acquisition']:,.2f}"),
        ("cost per retained customer-year", f"{summary['cost_per_retained_customer_year']:,.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    reasons = ", ".join(f"{k} {v}" for k, v in summary["defections_by_reason"].items())
    print(f"{'defections by reason':<{width}}  {reasons}")


def _table_text(frame: Any) -> str:
    labels = {
        "mean_clv": "mean CLV",
        "customer_equity": "customer equity",
        "retention_rate": "retention/month",
        "churn_rate": "churn/month",
        "active_customers": "active at end",
        "total_profit_pv": "discounted profit",
        "value_of_customer_base": "value of the base",
        "pareto_share_top20": "top-20% profit share",
    }
    return frame.rename(columns=labels).to_string()


def _differences_text(differences: Any) -> str:
    cells = differences.assign(
        text=lambda t: t.apply(
            lambda r: f"{r['difference']:+.4g} [{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]", axis=1
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
            lambda r: f"{r['mean']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]", axis=1
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


class _atomic_folder:  # noqa: N801 - used as a context manager like a function
    """Write files into a temporary folder, then move them into ``out`` together.

    Files already in ``out`` that the run does not write are kept; files it
    writes are replaced only once everything was written.
    """

    def __init__(self, out: Path) -> None:
        self.out = out

    def __enter__(self) -> Path:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}-", dir=self.out.parent))
        return self.tmp

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None:
                self.out.mkdir(parents=True, exist_ok=True)
                for file in self.tmp.iterdir():
                    os.replace(file, self.out / file.name)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


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


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _nonnegative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= {lowest}; got {text!r}"
        ) from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {lowest}; got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
