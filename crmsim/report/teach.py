"""Exercises that check the student: predict first, run, then check with hints.

A lesson's exercise asks the student to commit to a prediction before the run
(a choice among options, a number, or a ranking), then checks it against what
the run shows. :func:`check` prints one line, ✓ or ✗, with the next hint when
the answer is wrong, and never raises: a wrong answer, a missing prediction or
an answer of the wrong kind is feedback, not a traceback.

Example, in a lesson::

    guess = Prediction.choice(
        "Which lever raises the value of the customer base most?",
        ["more acquisition budget", "less churn", "a higher margin"],
        hints=["Look at the elasticities of the tornado figure.",
               "Retention compounds: each retained customer keeps paying."],
    )
    guess  # shows the widget; the student picks an answer
    ...    # the run
    check(guess, answer="less churn")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

RIGHT = "✓"
WRONG = "✗"


@dataclass
class Prediction:
    """A student's prediction, recorded before the run.

    Build one with :meth:`choice`, :meth:`number` or :meth:`ranking`; in a notebook it
    shows as a widget, and ``value`` is what the student has entered so far (None
    until then). ``record`` sets it from code.

    Attributes:
        question: What the student is asked.
        kind: ``"choice"``, ``"number"`` or ``"ranking"``.
        options: The options (choice) or the items to rank (ranking).
        tolerance: How far a number may be from the answer, as a share of it (number).
        unit: The unit of a number, shown with it.
        hints: Hints from the gentlest to the most telling, one more per wrong check.
        value: The student's prediction, or None.
    """

    question: str
    kind: str
    options: tuple[str, ...] = ()
    tolerance: float = 0.1
    unit: str = ""
    hints: tuple[str, ...] = ()
    value: Any = None
    wrong_checks: int = field(default=0, repr=False)
    _widget: widgets.Widget | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- building
    @classmethod
    def choice(cls, question: str, options: Sequence[str], hints: Sequence[str] = ()) -> Prediction:
        """One answer among ``options``."""
        if len(options) < 2:
            raise ValueError("a choice needs at least two options")
        return cls(question, "choice", tuple(map(str, options)), hints=tuple(hints))

    @classmethod
    def number(
        cls, question: str, unit: str = "", tolerance: float = 0.1, hints: Sequence[str] = ()
    ) -> Prediction:
        """A number, right when within ``tolerance`` (a share, 0.1 = 10%) of the answer."""
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"tolerance must be a share >= 0, got {tolerance!r}")
        return cls(question, "number", tolerance=tolerance, unit=unit, hints=tuple(hints))

    @classmethod
    def ranking(cls, question: str, items: Sequence[str], hints: Sequence[str] = ()) -> Prediction:
        """An order of ``items``, first the largest (or whatever the question asks)."""
        if len(set(items)) != len(items) or len(items) < 2:
            raise ValueError("a ranking needs at least two different items")
        return cls(question, "ranking", tuple(map(str, items)), hints=tuple(hints))

    def record(self, value: Any) -> None:
        """Set the prediction from code (the widget does it for a student)."""
        self.value = value

    # ------------------------------------------------------------------ showing
    @property
    def widget(self) -> widgets.Widget:
        """The widget a student answers with (built once)."""
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _build(self) -> widgets.Widget:
        label = widgets.HTML(f"<b>Your prediction.</b> {self.question}")
        if self.kind == "choice":
            entry = widgets.RadioButtons(options=list(self.options), value=None)
            entry.observe(lambda change: self.record(change["new"]), names="value")
            return widgets.VBox([label, entry])
        if self.kind == "number":
            entry = widgets.Text(placeholder=f"a number{f' ({self.unit})' if self.unit else ''}")
            entry.observe(lambda change: self.record(change["new"]), names="value")
            return widgets.VBox([label, entry])
        boxes = [
            widgets.Dropdown(options=["", *self.options], description=f"{k + 1}.")
            for k in range(len(self.options))
        ]

        def update(_change: Any) -> None:
            picked = [box.value for box in boxes]
            self.record(picked if all(picked) else None)

        for box in boxes:
            box.observe(update, names="value")
        return widgets.VBox([label, *boxes])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found.

    In a notebook a verdict left as the last line of a cell shows its message once:
    not at all when :func:`check` has printed it already, so a lesson can end a cell
    with ``check(...)`` and the student reads one line, not a ``Verdict(...)`` repr.

    Attributes:
        passed: Whether the prediction was right.
        message: The line printed for the student.
        printed: Whether :func:`check` printed the message.
    """

    passed: bool
    message: str
    printed: bool = False

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        if not self.printed:
            print(self.message)


def check(prediction: Prediction | Any, answer: Any, *, quiet: bool = False) -> Verdict:
    """Check a prediction against the answer the run gave; print ✓ or ✗ and a hint.

    Never raises for the student's input: no prediction yet, a text where a number
    was expected, a ranking with an item missing all give a line saying what to do.

    Args:
        prediction: A :class:`Prediction` (or a plain value, compared as a choice).
        answer: The right answer: an option, a number, or the items in the right order.
        quiet: Return the verdict without printing it.

    Returns:
        The verdict (true when the prediction was right).
    """
    if not isinstance(prediction, Prediction):
        prediction = Prediction("", "choice", value=prediction)
    passed, why = _judge(prediction, answer)
    if passed:
        message = f"{RIGHT} Right. {why}".rstrip()
    else:
        hint = _next_hint(prediction) if why != _NO_ANSWER else ""
        message = f"{WRONG} {why}" + (f" Hint: {hint}" if hint else "")
    if not quiet:
        print(message)
    return Verdict(passed, message, printed=not quiet)


_NO_ANSWER = "No prediction yet: answer above first, then run this cell again."


def _judge(prediction: Prediction, answer: Any) -> tuple[bool, str]:
    value = prediction.value
    empty = isinstance(value, str | list | tuple) and not (
        value.strip() if isinstance(value, str) else value
    )
    if value is None or empty:
        return False, _NO_ANSWER
    if prediction.kind == "number":
        try:
            guess = float(str(value).replace(",", "").strip())
        except ValueError:
            return False, f"{value!r} is not a number: write digits, e.g. 12.5."
        if not math.isfinite(guess):
            return False, f"{value!r} is not a finite number."
        target = float(answer)
        allowed = prediction.tolerance * abs(target)
        unit = f" {prediction.unit}" if prediction.unit else ""
        shown = f"The run gave {target:,.4g}{unit}"
        if abs(guess - target) <= allowed:
            return True, f"{shown}; you said {guess:,.4g}."
        side = "high" if guess > target else "low"
        return False, f"Your {guess:,.4g}{unit} is too {side}: {shown}."
    if prediction.kind == "ranking":
        order = [str(item) for item in value]
        if sorted(order) != sorted(prediction.options):
            return False, f"Rank every item once: {', '.join(prediction.options)}."
        expected = [str(item) for item in answer]
        if order == expected:
            return True, f"The order is {' > '.join(expected)}."
        wrong = sum(a != b for a, b in zip(order, expected, strict=True))
        return False, f"{wrong} of {len(order)} places are off."
    if str(value) == str(answer):
        return True, f"It is {answer}."
    return False, f"Not {value}."


def _next_hint(prediction: Prediction) -> str:
    """The next hint, one more each time the check finds the prediction wrong."""
    if not prediction.hints:
        return ""
    hint = prediction.hints[min(prediction.wrong_checks, len(prediction.hints) - 1)]
    prediction.wrong_checks += 1
    return hint
