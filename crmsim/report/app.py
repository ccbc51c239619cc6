"""The strategy lab as a web page: compare strategies with confidence intervals, no Python.

Served by ``crmsim app`` (or ``make app``) on 127.0.0.1, and shown inside
JupyterLab by displaying :func:`Page`. Built on Solara, the library Mesa's own
visualisation uses. The page only lays out what ``crmsim.report.lab`` does
(the controls, the checks, the run, the reading), so every part of it is
tested without a browser as well as in one (``tests/test_app_browser.py``).

The student picks a base scenario and one to four strategies, sets each
strategy's parameters (the controls come from the parameters the strategy
declares, with their units and meaning), chooses the size of the study, and
presses **Run**: nothing runs while the controls move. A run shows its
progress and can be cancelled; a second click while it runs is refused with a
note. The results (lifetime CLV, retention, value of the customer base and
profit, each with its 95% interval, and the paired differences from the
base) come with a sentence per strategy in plain words, two figures, and
downloads: the numbers as CSV, the figures as PNG and each option as a
scenario file that ``crmsim run`` (and this page) read back.

The app's other pages: *Watch one market* (``crmsim.report.live``) and the
classroom game, *Classroom game* for the teams and *Instructor*
(``crmsim.report.game_pages``).
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib.pyplot as plt
import solara
import solara.lab
from matplotlib.figure import Figure

from crmsim.config.fields import ScenarioError
from crmsim.report.game_pages import GamePage, InstructorPage
from crmsim.report.lab import (
    COMPETITOR,
    FIRM,
    MOST_OPTIONS,
    Control,
    LabResult,
    LabSetup,
    LabWorkers,
    Option,
    RunCancelledError,
    run_lab,
    shipped_bases,
    strategy_controls,
    strategy_registry,
)
from crmsim.report.live import LivePage
from crmsim.report.study_figures import plot_comparison, plot_paired_differences

# The page's state. Module-level reactive variables are kept apart for each browser
# tab (each has its own kernel), so two students never share a set-up.
base = solara.reactive("baseline")
chosen: solara.Reactive[list[tuple[str, str]]] = solara.reactive([])
"""The options ticked, as (player, strategy), in the order ticked."""
settings: solara.Reactive[dict[tuple[str, str], dict[str, Any]]] = solara.reactive({})
"""Parameters the user set, per option."""
customers = solara.reactive(5_000)
months = solara.reactive(60)
replications = solara.reactive(10)
seed = solara.reactive(2026)
progress = solara.reactive(0.0)
notice = solara.reactive("")
pasted = solara.reactive("")


def current_setup() -> LabSetup:
    """The set-up the controls show now."""
    loaded = _loaded_base.value
    return LabSetup(
        base=loaded if loaded is not None and base.value == _LOADED else base.value,
        options=tuple(
            Option(name, player, dict(settings.value.get((player, name), {})))
            for player, name in chosen.value
        ),
        customers=customers.value,
        months=months.value,
        replications=replications.value,
        seed=seed.value,
    )


_LOADED = "(loaded file)"
_loaded_base: solara.Reactive[Any] = solara.reactive(None)


CANCELLED = (
    "Run cancelled: no result is shown. The runs it finished are remembered, so the next "
    "Run starts from them."
)
"""What the page says of a cancelled run."""

WORKERS = LabWorkers()
"""Worker processes kept warm between Run clicks, shared by the server's pages."""


@solara.lab.task
def run_task(setup: LabSetup) -> LabResult:
    """Run the set-up in the background, telling the page how far it has got."""
    progress.set(0.0)

    def tell(done: int, total: int) -> None:
        progress.set(100.0 * done / total)

    done = run_lab(
        setup, progress=tell, cancelled=lambda: not run_task.is_current(), workers=WORKERS
    )
    notice.set("")
    return done


def press_run() -> None:
    """Run, unless a run is going or the set-up has problems (shown by the controls)."""
    if run_task.pending:
        notice.set("A run is going: wait for it to finish, or cancel it first.")
        return
    setup = current_setup()
    if setup.problems():
        notice.set("Fix the settings marked in red before running.")
        return
    notice.set("")
    run_task(setup)


def press_cancel() -> None:
    """Stop the run going (no result is shown; the runs it finished are remembered)."""
    if run_task.pending:
        run_task.cancel()
        notice.set(CANCELLED)


def load_pasted() -> None:
    """Take the pasted scenario file as the base (a saved option, say)."""
    try:
        setup = LabSetup.from_yaml(pasted.value, source="the pasted scenario")
    except ScenarioError as error:
        notice.set(str(error))
        return
    loaded = setup.base_scenario()
    _loaded_base.set(loaded)
    base.set(_LOADED)
    notice.set(
        f"Loaded {loaded.name} as the base scenario: "
        "the strategies you tick are tried on top of it."
    )


def _toggle(player: str, name: str, on: bool) -> None:
    key = (player, name)
    now = [k for k in chosen.value if k != key]
    chosen.set([*now, key] if on else now)


def _set_parameter(player: str, name: str, parameter: str, value: Any) -> None:
    current = {key: dict(values) for key, values in settings.value.items()}
    current.setdefault((player, name), {})[parameter] = value
    settings.set(current)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


@solara.component
def ParameterControl(player: str, name: str, control: Control) -> None:
    """One parameter of a chosen strategy, labelled with its unit, its meaning below."""
    value = settings.value.get((player, name), {}).get(control.name, control.default)
    label = f"{control.label} ({control.unit})" if control.unit else control.label

    def set_value(new: Any) -> None:
        _set_parameter(player, name, control.name, new)

    if control.kind == "bool":
        solara.Checkbox(label=label, value=bool(value), on_value=set_value)
    elif control.kind == "choice":
        solara.Select(label=label, values=list(control.choices), value=value, on_value=set_value)
    elif control.kind in ("ladder", "reasons"):
        solara.Text(f"{label}: {value} (set it in a scenario file)")
    elif control.whole:
        solara.InputInt(label=label, value=value, on_value=set_value, optional=control.nullable)
    else:
        solara.InputFloat(label=label, value=value, on_value=set_value, optional=control.nullable)
    solara.Text(
        control.help,
        style={"font-size": "0.8em", "color": "#555", "margin": "-18px 0 14px 0"},
    )


@solara.component
def StrategyPicker() -> None:
    """A tick box per strategy, with the course concept it embodies."""
    for player in (FIRM, COMPETITOR):
        solara.Markdown("**The firm's strategies**" if player == FIRM else "**The competitor's**")
        for name, strategy in strategy_registry(player).items():
            ticked = (player, name) in chosen.value
            solara.Checkbox(
                label=f"{name}: {strategy.concept}",
                value=ticked,
                on_value=lambda on, p=player, n=name: _toggle(p, n, on),
            )


@solara.component
def OptionsPanel(problems: dict[str, str]) -> None:
    """The chosen strategies' parameters, each option's problem (if any) above them."""
    for number, (player, name) in enumerate(chosen.value, start=1):
        who = "the competitor's " if player == COMPETITOR else ""
        with solara.Card(f"Option {number}: {who}{name}", classes=["lab-option"]):
            problem = problems.get(f"option {number}")
            if problem:
                solara.Error(problem, classes=["lab-problem"])
            with solara.Details(summary="Parameters", expand=number == len(chosen.value)):
                for control in strategy_controls(name, player):
                    ParameterControl(player, name, control)


@solara.component
def StudyControls(problems: dict[str, str]) -> None:
    """Base scenario and size of the study, each with its problem next to it."""
    bases = shipped_bases() + ([_LOADED] if _loaded_base.value is not None else [])
    solara.Select(label="Base scenario", values=bases, value=base)
    solara.InputInt(label="People in the market", value=customers)
    solara.InputInt(label="Months simulated", value=months)
    solara.InputInt(label="Replications (runs of each option)", value=replications)
    solara.InputInt(label="Seed (the same seed gives the same numbers)", value=seed)
    for key in ("base", "customers", "months", "replications", "options"):
        if key in problems:
            solara.Error(problems[key], classes=["lab-problem"])


@solara.component
def Results(done: LabResult) -> None:
    """The reading, the downloads, the table with intervals, the paired differences, figures."""
    comparison_figure, differences_figure = solara.use_memo(
        lambda: _figures(done), dependencies=[id(done)]
    )
    solara.Markdown("### What the strategies do")
    for sentence in done.reading():
        solara.Markdown(f"- {sentence}", style={"font-size": "1.05em"})
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.FileDownload(done.csv(), "strategy_lab_results.csv", "Results (CSV)")
        solara.FileDownload(
            lambda: _png(comparison_figure), "strategy_lab_comparison.png", "Figure (PNG)"
        )
        solara.FileDownload(
            lambda: _png(differences_figure), "strategy_lab_differences.png", "Differences (PNG)"
        )
        for number, option in enumerate(done.setup.options, start=1):
            solara.FileDownload(
                done.setup.option_yaml(number),
                f"{option.name}.yaml",
                f"Scenario: {option.name} (YAML)",
            )
    solara.Markdown("### Each option, mean over the runs [95% confidence interval]")
    solara.HTML(unsafe_innerHTML=_html(done.table()), classes=["lab-table"])
    solara.Markdown(
        f"### Difference from the base ({done.base_name}), paired run by run [95% interval]"
    )
    solara.HTML(unsafe_innerHTML=_html(done.differences()), classes=["lab-differences"])
    solara.FigureMatplotlib(comparison_figure, format="png")
    solara.FigureMatplotlib(differences_figure, format="png")


def _figures(done: LabResult) -> tuple[Figure, Figure]:
    """The comparison and its paired differences, drawn once per result."""
    figures = plot_comparison(done.comparison), plot_paired_differences(done.comparison)
    for figure in figures:
        plt.close(figure)  # drawn into the page and the downloads only
    return figures


def _html(table: Any) -> str:
    return table.to_html(border=0)


@solara.component
def Page() -> None:
    """The strategy lab page."""
    solara.Title("crmsim strategy lab")
    setup = current_setup()
    problems = setup.problems()
    with solara.Sidebar():
        solara.Markdown("## The study")
        StudyControls(problems)
        solara.Markdown(f"## Strategies (one to {MOST_OPTIONS})")
        StrategyPicker()
        solara.Markdown("## Load a scenario file")
        solara.InputTextArea(
            "Paste a scenario file (YAML) here", value=pasted, continuous_update=True
        )
        solara.Button("Load the pasted scenario", on_click=load_pasted, outlined=True)
    solara.Markdown(
        "# The strategy lab\n"
        "Choose strategies on the left, set them below, and press **Run**. Each "
        "strategy is the base scenario with that one strategy switched on; every "
        "option meets the same customers and the same luck (common random numbers), "
        "so the differences from the base are paired."
    )
    with solara.Columns([2, 3]):
        with solara.Column():
            OptionsPanel(problems)
        with solara.Column():
            with solara.Row():
                solara.Button("Run", on_click=press_run, color="primary", classes=["lab-run"])
                solara.Button("Cancel", on_click=press_cancel, disabled=not run_task.pending)
            if notice.value:
                solara.Info(notice.value, classes=["lab-notice"])
            if run_task.pending:
                solara.Text(
                    f"Running: {progress.value:.0f}% of the runs done", classes=["lab-progress"]
                )
                solara.ProgressLinear(progress.value)
            elif run_task.error:
                error = run_task.exception
                if isinstance(error, RunCancelledError):
                    solara.Info(CANCELLED)
                else:
                    solara.Error(f"The run stopped: {error}", classes=["lab-problem"])
            elif run_task.finished and run_task.value is not None:
                Results(run_task.value)


routes = [
    solara.Route(path="/", component=Page, label="Compare strategies"),
    solara.Route(path="live", component=LivePage, label="Watch one market"),
    solara.Route(path="game", component=GamePage, label="Classroom game"),
    solara.Route(path="instructor", component=InstructorPage, label="Instructor"),
]
"""The pages of ``crmsim app``: Solara shows them as tabs."""
