"""Calibration on a firm's records: published fits, the loop closed, bad input refused."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from crmsim import calibrate
from crmsim.analytic import bgnbd_expected_purchases
from crmsim.calibrate.simulated import transaction_log
from crmsim.cli import main
from crmsim.config.scenario import load_scenario
from crmsim.engine.model import CRMModel

matplotlib.use("Agg")

FHL_2005 = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
"""BG/NBD on the CDNOW sample in weeks, 39-week calibration (Fader, Hardie & Lee 2005)."""
GAMMA_GAMMA_CDNOW = {"p": 6.25, "q": 3.74, "gamma": 15.44}
"""Gamma-Gamma on the same calibration period (Fader, Hardie & Lee 2005, RFM and CLV)."""
FH_2007 = {
    "regular": (
        [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
        {"alpha": 0.704, "beta": 1.182},
    ),
    "high_end": (
        [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
        {"alpha": 0.668, "beta": 3.806},
    ),
}
"""Survivors out of 1,000 over years 0-12, and the sBG fitted on years 0-7 (Fader & Hardie
2007, "How to project customer retention")."""


@pytest.fixture(scope="module")
def cdnow_fit() -> calibrate.TransactionFit:
    return calibrate.fit_transactions(
        calibrate.cdnow_sample(), "1997-09-30", "W", source="CDNOW sample"
    )


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    log = calibrate.cdnow_sample()[["customer_id", "date", "amount"]]
    log.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def test_cdnow_sample_is_the_published_sample() -> None:
    log = calibrate.cdnow_sample()
    assert (len(log), log["customer_id"].nunique()) == (6919, 2357)
    assert (log["date"].min(), log["date"].max()) == (
        pd.Timestamp("1997-01-01"),
        pd.Timestamp("1998-06-30"),
    )


def test_bgnbd_on_cdnow_reproduces_the_published_fit(cdnow_fit: calibrate.TransactionFit) -> None:
    fit = cdnow_fit.bgnbd.fit_result
    for name, published in FHL_2005.items():
        assert abs(fit.params[name] - published) < fit.standard_errors[name], name
    rfm = cdnow_fit.rfm
    assert (len(rfm), int(rfm["x"].sum())) == (2357, 2457)
    assert rfm["T"].max() == pytest.approx(38.86, abs=0.005)


def test_gamma_gamma_on_cdnow_reproduces_the_published_fit(
    cdnow_fit: calibrate.TransactionFit,
) -> None:
    fit = cdnow_fit.gamma_gamma.fit_result
    for name, published in GAMMA_GAMMA_CDNOW.items():
        assert abs(fit.params[name] - published) < fit.standard_errors[name], name


def test_conditional_expectation_of_the_published_example(
    cdnow_fit: calibrate.TransactionFit,
) -> None:
    # FHL 2005: a customer with x = 2, t_x = 30.43, T = 38.86 weeks makes 1.226 purchases
    # in the next 39 weeks.
    expected = cdnow_fit.bgnbd.conditional_expected_purchases(
        39, np.array([2]), np.array([30.43]), np.array([38.86])
    )
    assert expected[0] == pytest.approx(1.226, abs=0.001)


def test_holdout_tables_hold_what_they_say(cdnow_fit: calibrate.TransactionFit) -> None:
    track = cdnow_fit.tracking()
    assert len(track) == 78 and track["holdout"].sum() == 39
    holdout = cdnow_fit.holdout()
    # The holdout's actual purchases are the customers' own, counted two ways.
    assert (
        holdout["actual"].iloc[0] == holdout["actual"].iloc[1] == cdnow_fit.rfm["holdout_x"].sum()
    )
    table = cdnow_fit.conditional_expectations()
    assert table["customers"].sum() == 2357
    assert list(table["calibration_repeat_purchases"])[-1] == "7+"
    assert "r " in cdnow_fit.summary() or " r " in cdnow_fit.summary()


@pytest.mark.parametrize("segment", sorted(FH_2007))
def test_sbg_reproduces_fader_hardie_2007(segment: str) -> None:
    alive, published = FH_2007[segment]
    survivors = pd.DataFrame({"period": range(len(alive)), "alive": alive})
    fit = calibrate.fit_cohorts(survivors, calibration_end=7, freq="Y")
    result = fit.model.fit_result
    for name, value in published.items():
        assert abs(result.params[name] - value) < result.standard_errors[name], name
        assert result.params[name] == pytest.approx(value, abs=0.002)
    # Years 8-12 held out: the projection within 4 binomial standard errors of the actual.
    later = fit.survival().query("holdout")
    assert list(later["period"]) == [8, 9, 10, 11, 12]
    share = later["expected"] / 1000
    assert np.all(
        np.abs(later["alive"] - later["expected"]) < 4 * np.sqrt(1000 * share * (1 - share))
    )


def test_sbg_holdout_and_scenario_from_relationships(tmp_path: Path) -> None:
    # One row per customer with start and end, from a known sBG (monthly churn chances
    # ~ Beta(1.2, 8)), fitted on the first half and projected over the second.
    rng = np.random.default_rng(4)
    n = 6000
    churn = rng.beta(1.2, 8.0, n)
    months = rng.geometric(churn) - 1  # renewals made before churning
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    as_of = pd.Timestamp("2022-01-31")
    end = start + pd.to_timedelta(np.round(months * calibrate.DAYS_PER_MONTH) + 1, unit="D")
    end = end.where(end <= as_of, pd.NaT)
    relationships = pd.DataFrame({"customer_id": np.arange(n).astype(str), "start": start,
                                  "end": end})  # fmt: skip
    survivors = calibrate.survivors_from_relationships(relationships, "M", as_of)
    fit = calibrate.fit_cohorts(survivors, freq="M")
    result = fit.model.fit_result
    for name, truth in (("alpha", 1.2), ("beta", 8.0)):
        assert abs(result.params[name] - truth) < 4 * result.standard_errors[name], name
    table = fit.survival()
    later = table[table["holdout"]]
    assert not later.empty
    # Projected survivors within 4 binomial standard errors of the actual ones.
    share = later["expected"] / table["alive"].iloc[0]
    se = np.sqrt(table["alive"].iloc[0] * share * (1 - share))
    assert np.all(np.abs(later["alive"] - later["expected"]) < 4 * se)
    calibrate.write_calibration(fit, tmp_path / "out")
    scenario = load_scenario(tmp_path / "out" / "scenario.yaml")
    mean, _ = fit.monthly_churn()
    assert scenario.params.customers.churn_probability_mean == pytest.approx(mean, rel=1e-6)
    assert mean == pytest.approx(1.2 / 9.2, abs=4 * 0.01)


def test_written_scenario_loads_and_states_the_time_conversion(
    cdnow_fit: calibrate.TransactionFit, tmp_path: Path
) -> None:
    written = calibrate.write_calibration(cdnow_fit, tmp_path / "cal")
    assert all((tmp_path / "cal" / name).is_file() for name in written)
    scenario = load_scenario(tmp_path / "cal" / "scenario.yaml")
    weeks_per_month = 365.25 / 12 / 7
    c = scenario.params.customers
    assert c.behaviour == "non_contractual"
    assert c.purchase_rate_alpha == pytest.approx(FHL_2005["alpha"] / weeks_per_month, rel=1e-3)
    assert f"{weeks_per_month:.4f} weeks" in scenario.description
    # Mean spend per purchase: p gamma / (q - 1) of the Gamma-Gamma fit.
    g = cdnow_fit.gamma_gamma.params
    assert c.order_value_mean == pytest.approx(g["p"] * g["gamma"] / (g["q"] - 1), rel=1e-4)


def test_the_loop_closes_on_cdnow(cdnow_fit: calibrate.TransactionFit, tmp_path: Path) -> None:
    """Simulating the calibrated scenario reproduces the model's expected repeat purchases
    (Monte Carlo error only) and the data's own repeat purchases by months since the
    first purchase (Monte Carlo error and the data's sampling error)."""
    calibrate.write_calibration(cdnow_fit, tmp_path / "cal")
    scenario = load_scenario(tmp_path / "cal" / "scenario.yaml")
    n = 40_000
    model = CRMModel(scenario, rng=11, customers=n, log_purchases=True)
    model.run()
    per_customer = np.zeros((model.customers.initial_people, scenario.params.simulation.months))
    for month, rows, bought, _ in model.purchase_log:
        per_customer[rows, month] = bought
    per_customer[:, 0] -= 1  # everyone's first purchase is in month 0
    simulated = per_customer.cumsum(axis=1)
    c = scenario.params.customers
    # Ages every CDNOW customer reached by the log's end (first purchases by 1997-03-31).
    ages = np.arange(1, 15)
    expected = bgnbd_expected_purchases(ages, c.purchase_rate_r, c.purchase_rate_alpha,
                                        c.dropout_a, c.dropout_b)  # fmt: skip
    mean = simulated[:, ages].mean(axis=0)
    se_sim = simulated[:, ages].std(axis=0, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(mean - expected) < 4 * se_sim)
    # The data: each customer's repeat purchases within m months of the first.
    log = calibrate.cdnow_sample()
    daily = log.groupby(["customer_id", "date"]).size().reset_index()
    first = daily.groupby("customer_id")["date"].transform("min")
    age_months = (daily["date"] - first).dt.days / calibrate.DAYS_PER_MONTH
    repeat = daily[age_months > 0].assign(age=age_months[age_months > 0])
    customers = daily["customer_id"].nunique()
    for m in (6, 10, 14):
        counts = repeat[repeat["age"] <= m].groupby("customer_id").size()
        counts = counts.reindex(daily["customer_id"].unique(), fill_value=0)
        se_data = counts.std(ddof=1) / math.sqrt(customers)
        se = math.hypot(se_data, se_sim[m - 1])
        assert abs(mean[m - 1] - counts.mean()) < 4 * se, m


def test_simulated_log_round_trips_through_calibration(cdnow_fit: calibrate.TransactionFit,
                                                       tmp_path: Path) -> None:  # fmt: skip
    """A base whose truth is known: the estimates recover it within 4 standard errors."""
    calibrate.write_calibration(cdnow_fit, tmp_path / "cal")
    scenario = load_scenario(tmp_path / "cal" / "scenario.yaml")
    model = CRMModel(scenario, rng=3, customers=20_000, log_purchases=True)
    model.run()
    log = transaction_log(model)
    fit = calibrate.fit_transactions(log, "2000-10-31", "M", source="simulated")
    c = scenario.params.customers
    truth = {"r": c.purchase_rate_r, "alpha": c.purchase_rate_alpha, "a": c.dropout_a,
             "b": c.dropout_b}  # fmt: skip
    result = fit.bgnbd.fit_result
    for name, value in truth.items():
        assert abs(result.params[name] - value) < 4 * result.standard_errors[name], name
    spend = fit.gamma_gamma.fit_result
    implied = spend.params["p"] * spend.params["gamma"] / (spend.params["q"] - 1)
    assert implied == pytest.approx(c.order_value_mean, rel=0.1)


def test_run_writes_a_transaction_log_calibrate_reads(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "retail_non_contractual", "--months", "12", "--customers", "3000",
            "--no-progress", "--transactions", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    log = calibrate.read_transactions(out / "transactions.csv")
    assert len(log) > 1000 and (log["amount"] >= 0).all()
    assert main(["calibrate", str(out / "transactions.csv"), "--freq", "M", "--out",
                 str(tmp_path / "cal"), "--no-progress"]) == 0  # fmt: skip
    assert (tmp_path / "cal" / "scenario.yaml").is_file()


def test_the_purchase_log_changes_no_result() -> None:
    plain = CRMModel("retail_non_contractual", rng=5, customers=2000).run(12).summary()
    logged = CRMModel("retail_non_contractual", rng=5, customers=2000, log_purchases=True)
    assert logged.run(12).summary() == plain


def test_cli_calibrates_cdnow_and_refuses_to_overwrite(
    cdnow_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cal"
    args = ["calibrate", str(cdnow_csv), "--calibration-end", "1997-09-30", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "0.2426" in text and "holdout" in text
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _many(rows: int = 150, date: str | None = None) -> str:
    lines = ["customer_id,date,amount"]
    for i in range(rows):
        lines.append(f"c{i},{date or f'2024-01-{1 + i % 28:02d}'},10")
        lines.append(f"c{i},{date or '2024-03-05'},12")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "no such file"),
        ("", [], "the file is empty"),
        ("customer_id,date,amount\n", [], "a header but no transactions"),
        ("client,date,amount\nc1,2024-01-01,3\n", [], "no column 'customer_id'"),
        ("customer_id,day,amount\nc1,2024-01-01,3\n", ["--date-col", "when"], "no column 'when'"),
        ("customer_id,date,amount\nc1,2024-13-45,3\n", [], "line 2, column 'date'"),
        ("customer_id,date,amount\nc1,2024-01-01,ten\n", [], "line 2, column 'amount'"),
        ("customer_id,date,amount\nc1,2024-01-01,3\nc1,2024-01-02,-3\n", [],
         "line 3, column 'amount': '-3' is not an amount"),
        ("customer_id,date,amount\n,2024-01-01,3\n", [], "no customer id"),
        (b"customer_id,date,amount\nc\xe9,2024-01-01,3\n", [], "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", [], "not a text file"),
        ('customer_id,date,amount\n"c1,2024-01-01,3\n', [], "not a readable CSV"),
        ("customer_id,date,amount\n" + "c1,2024-01-01,3\nc1,2024-02-01,4\n" * 3, [],
         "1 customer;"),
        (_many(date="2024-01-01"), [], "every purchase is on 2024-01-01"),
        (_many(), ["--calibration-end", "2030-01-01"], "is outside the log's dates"),
        (_many(), ["--calibration-end", "soon"], "'soon' is not a date"),
        (_many(), ["--freq", "Y"], "--freq Y is for contractual records"),
        ("customer_id,date,amount\n" + "".join(f"c{i},2024-01-{1 + i % 28:02d},5\n"
                                                for i in range(150)),
         ["--calibration-end", "2024-01-27"], "BG/NBD model cannot be fitted: 0 repeat"),
        (_many(), ["--calibration-end", "2024-01-05"], "made their first purchase by"),
    ],
)  # fmt: skip
def test_bad_transaction_files_get_one_message_and_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    content: str | bytes | None,
    extra: list[str],
    message: str,
) -> None:
    path = tmp_path / "orders.csv"
    if content is not None:
        _write(path, content)
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("period,alive\n0,100\n1,120\n", [], "can only fall"),
        ("period,alive\n0,100\n2,80\n", [], "without gaps"),
        ("period,alive\n0,100\n1,x\n", [], "line 3, column 'alive'"),
        ("a,b\n1,2\n", [], "contractual records need either"),
        ("period,alive\n0,1000\n1,800\n2,700\n", ["--calibration-end", "5"],
         "outside the periods"),
        ("period,alive\n0,1000\n1,800\n2,700\n", ["--calibration-end", "x"], "a whole number"),
        ("customer_id,start,end\nc1,2024-01-05,2024-01-01\n", [], "ends before it starts"),
        ("period,alive\n0,50\n1,40\n2,30\n", [], "50 customers in the records (fewer than"),
    ],
)  # fmt: skip
def test_bad_cohort_files_get_one_message_and_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    content: str,
    extra: list[str],
    message: str,
) -> None:
    path = _write(tmp_path / "cohorts.csv", content)
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--contractual", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_a_fit_that_stops_short_names_its_likelihood_and_parameters() -> None:
    from crmsim.calibrate.reading import refused_fit
    from crmsim.estimation import Fit

    stopped = Fit({"alpha": 1.0, "beta": 24.0}, fell_back=True,
                  reason="the likelihood has no interior maximum", log_likelihood=-1234.5,
                  reached={"alpha": 3.1e13, "beta": 2.2e13})  # fmt: skip
    message = str(refused_fit("sBG", stopped, "cohorts.csv"))
    assert message.startswith("cohorts.csv: the sBG fit did not converge")
    assert "-1234.50" in message and "alpha = 3.1e+13" in message
    assert "no scenario was written" in message
