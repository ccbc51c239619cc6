"""Exercises check the student: a prediction first, then ✓ or ✗ with tiered hints, and never
a traceback for whatever the student entered."""

from __future__ import annotations

import numpy as np
import pytest

from crmsim.report import Prediction, check


def test_a_choice_is_right_or_wrong_with_the_next_hint_each_time(capsys) -> None:
    guess = Prediction.choice(
        "Which lever moves the value of the base most?",
        ["acquisition budget", "churn", "margin"],
        hints=["Look at the elasticities.", "Retention compounds."],
    )
    guess.record("margin")
    assert not check(guess, answer="churn")
    assert check(guess, answer="churn").message.endswith("Hint: Retention compounds.")
    # The hints run out at the most telling one.
    assert check(guess, answer="churn", quiet=True).message.endswith("Retention compounds.")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "✗ Not margin. Hint: Look at the elasticities."
    guess.record("churn")
    verdict = check(guess, answer="churn")
    assert verdict and verdict.message == "✓ Right. It is churn."


def test_no_prediction_yet_asks_for_one_and_spends_no_hint() -> None:
    guess = Prediction.number("How many?", hints=["first hint"])
    verdict = check(guess, answer=10, quiet=True)
    assert not verdict and "No prediction yet" in verdict.message
    guess.record("8")
    assert check(guess, answer=10, quiet=True).message.endswith("Hint: first hint")


@pytest.mark.parametrize(
    ("entered", "passed", "words"),
    [
        ("105", True, "you said 105"),
        ("1,090", False, "too high"),
        ("95.5", True, "you said 95.5"),
        ("80", False, "too low"),
        ("about a hundred", False, "is not a number"),
        ("nan", False, "not a finite number"),
        (np.float32(100.0), True, "Right"),
    ],
)
def test_a_number_is_right_within_its_tolerance(entered, passed: bool, words: str) -> None:
    guess = Prediction.number("Retained customers?", unit="customers", tolerance=0.1)
    guess.record(entered)
    verdict = check(guess, answer=np.float64(100.0), quiet=True)
    assert bool(verdict) is passed and words in verdict.message, verdict.message


def test_a_ranking_counts_the_places_off_and_asks_for_every_item() -> None:
    guess = Prediction.ranking("Rank the levers", ["churn", "margin", "budget"])
    guess.record(["churn", "budget", "margin"])
    verdict = check(guess, answer=["churn", "margin", "budget"], quiet=True)
    assert not verdict and "2 of 3 places are off" in verdict.message
    guess.record(["churn", "churn", "budget"])
    assert "Rank every item once" in check(guess, ["churn", "margin", "budget"], quiet=True).message
    guess.record(["churn", "margin", "budget"])
    assert check(guess, answer=["churn", "margin", "budget"], quiet=True)


def test_the_widgets_record_what_the_student_enters() -> None:
    choice = Prediction.choice("Which?", ["a", "b"])
    choice.widget.children[1].value = "b"
    assert choice.value == "b"
    number = Prediction.number("How many?")
    number.widget.children[1].value = "12"
    assert check(number, 12, quiet=True)
    ranking = Prediction.ranking("Order", ["x", "y"])
    first, second = ranking.widget.children[1:]
    first.value = "y"
    assert ranking.value is None  # not every place is filled yet
    second.value = "x"
    assert ranking.value == ["y", "x"]


def test_a_plain_value_is_checked_as_a_choice() -> None:
    assert check("churn", answer="churn", quiet=True)
    assert not check(None, answer="churn", quiet=True)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Prediction.choice("Which?", ["only one"]),
        lambda: Prediction.number("How many?", tolerance=-0.1),
        lambda: Prediction.ranking("Order", ["a", "a"]),
    ],
)
def test_a_badly_built_exercise_says_what_is_wrong(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_a_verdict_at_the_end_of_a_cell_is_not_shown_twice(capsys) -> None:
    from IPython.core.formatters import DisplayFormatter

    verdict = check(Prediction.choice("Which?", ["a", "b"]), answer="a")
    printed = capsys.readouterr().out
    assert printed.startswith("✗ No prediction yet")
    verdict._ipython_display_()  # what a notebook calls for the last value of a cell
    assert capsys.readouterr().out == ""
    assert DisplayFormatter().format(verdict)[0] == {}  # nothing else to show either


def test_a_verdict_ending_a_cell_shows_its_line_once(capsys) -> None:
    guess = Prediction.choice("Which?", ["a", "b"])
    guess.record("a")
    verdict = check(guess, answer="a")
    verdict._ipython_display_()  # what a notebook does with a cell's last value
    assert capsys.readouterr().out == "✓ Right. It is a.\n"
    quiet = check(guess, answer="b", quiet=True)
    quiet._ipython_display_()
    assert capsys.readouterr().out == "✗ Not a.\n"
