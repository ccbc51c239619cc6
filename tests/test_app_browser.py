"""The strategy lab in a real browser: `crmsim app` served on 127.0.0.1, driven by Chromium.

Needs the app extra (Solara), Playwright and a Chromium (Debian's ``chromium``
package; ``.ci/run`` installs it when absent; ``CRMSIM_CHROMIUM`` names another).
Without them the test is skipped with one line saying what is missing.
Screenshots of each stage are written into the test's temporary folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _chromium() -> str | None:
    named = os.environ.get("CRMSIM_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    if importlib.util.find_spec("solara") is None:
        return "the app extra is not installed (pip install -e '.[app]')"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if _chromium() is None:
        return "no Chromium found (apt-get install chromium, or set CRMSIM_CHROMIUM)"
    return None


pytestmark = pytest.mark.skipif(
    _missing() is not None, reason=f"browser test skipped: {_missing()}"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """The app served on a free port: its address, its log and its game database."""
    folder = tmp_path_factory.mktemp("app")
    port = _free_port()
    log_path, game_db = folder / "server.log", folder / "game.sqlite"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "crmsim", "app", "--port", str(port), "--game-db", str(game_db)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail(f"crmsim app stopped with status {server.returncode} before serving")
            if time.monotonic() > deadline:
                pytest.fail("crmsim app did not serve the page within 90 s")
            time.sleep(0.5)
        yield url, log_path, game_db
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def app_url(served: tuple[str, Path, Path]) -> str:
    return served[0]


def _browser(playwright):  # noqa: ANN001, ANN202 (Playwright's objects)
    return playwright.chromium.launch(
        executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
    )


def _type(page, label: str, value: str) -> None:  # noqa: ANN001 (a Playwright page)
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def test_a_student_compares_a_strategy_saves_it_and_loads_it_back(
    app_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a shared 2-core machine redraws slowly

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(app_url)
        page.get_by_text("The strategy lab").first.wait_for(timeout=90_000)
        # Nothing chosen yet: the page says what to do, next to the controls.
        expect(page.get_by_text("Choose one to 4 strategies")).to_be_visible()

        # An impossible study size gets its message in the page, and Run refuses it.
        _type(page, "Replications (runs of each option)", "0")
        expect(page.get_by_text("Replications must be a whole number from 2")).to_be_visible()
        _type(page, "Replications (runs of each option)", "3")
        _type(page, "People in the market", "2000")
        _type(page, "Months simulated", "24")
        expect(page.get_by_text("Replications must be")).to_have_count(0)

        # Choose a strategy and move one of its controls.
        page.get_by_text("loyalty_program: Retention").click()
        expect(page.get_by_text("Option 1: loyalty_program")).to_be_visible()
        _type(page, "Reward rate (share of member spend)", "1.5")
        expect(page.locator(".lab-problem").filter(has_text="Reward rate")).to_be_visible()
        _type(page, "Reward rate (share of member spend)", "0.05")
        expect(page.locator(".lab-problem").filter(has_text="Reward rate")).to_have_count(0)
        page.screenshot(path=tmp_path / "1_set_up.png", full_page=True)

        # Run; a second click while it runs is refused politely.
        page.locator(".lab-run").click()
        page.locator(".lab-run").click()
        expect(page.locator(".lab-notice")).to_contain_text("A run is going")
        page.locator(".lab-table").wait_for(timeout=180_000)
        page.locator(".lab-table").scroll_into_view_if_needed()
        page.screenshot(path=tmp_path / "2_results.png", full_page=True)

        table = page.locator(".lab-table").inner_text()
        assert "baseline" in table and "loyalty_program" in table
        assert "Value of the customer base" in table
        assert table.count("[") >= 8  # every cell: mean [low, high]
        differences = page.locator(".lab-differences").inner_text()
        assert "loyalty_program" in differences and "[" in differences
        assert "+" in differences or "-" in differences
        expect(page.get_by_text("loyalty_program: ").first).to_be_visible()

        # Save the option as a scenario file, then paste it back as the base.
        with page.expect_download() as download:
            page.get_by_text("Scenario: loyalty_program (YAML)").click()
        saved = Path(download.value.path()).read_text()
        assert "reward_rate: 0.05" in saved and "name: loyalty_program" in saved
        page.locator("textarea").first.fill(saved)
        page.get_by_text("Load the pasted scenario").click()
        expect(page.locator(".lab-notice")).to_contain_text("Loaded loyalty_program as the base")
        # A file that is not a scenario gets one message, and the base stays.
        page.locator("textarea").first.fill("- not\n- a scenario\n")
        page.get_by_text("Load the pasted scenario").click()
        expect(page.locator(".lab-notice")).to_contain_text("not a scenario")
        page.screenshot(path=tmp_path / "3_loaded.png", full_page=True)

        # Watch one market: Mesa's controls step it, and the month's numbers follow.
        page.goto(app_url + "live")
        page.get_by_text("Press step or play").wait_for(timeout=90_000)
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_text("Months run")).to_be_visible(timeout=60_000)
        months = page.get_by_text("Months run").locator("..").inner_text()
        assert int(months.split(":")[-1]) > 0
        from crmsim.measures import monthly_measure

        equity = monthly_measure("customer_equity")
        expect(page.get_by_text(f"{equity.label} ({equity.unit})")).to_be_visible()
        page.screenshot(path=tmp_path / "4_live.png", full_page=True)
        browser.close()


def test_a_long_run_is_cancelled_and_the_page_takes_a_new_run(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_text("The strategy lab").first.wait_for(timeout=90_000)
        # A study of minutes: 2 options x 200 runs of 20,000 people over 120 months.
        _type(page, "Replications (runs of each option)", "200")
        _type(page, "People in the market", "20000")
        _type(page, "Months simulated", "120")
        page.get_by_text("win_back: Reacquisition").click()
        expect(page.get_by_text("Option 1: win_back")).to_be_visible()
        page.locator(".lab-run").click()
        expect(page.locator(".lab-progress")).to_be_visible()
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator(".lab-notice")).to_contain_text("Run cancelled: no result is shown")
        expect(page.locator(".lab-progress")).to_have_count(0)
        page.screenshot(path=tmp_path / "5_cancelled.png", full_page=True)
        # The page takes a new run at once (not refused as if the old one were going).
        page.locator(".lab-run").click()
        expect(page.locator(".lab-progress")).to_be_visible()
        expect(page.locator(".lab-notice")).to_have_count(0)
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator(".lab-notice")).to_contain_text("Run cancelled")
        browser.close()


def test_a_class_plays_a_game_round(served: tuple[str, Path, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, log, game_db = served
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        instructor = browser.new_page(viewport={"width": 1400, "height": 1000})
        instructor.goto(url + "instructor")
        instructor.get_by_text("Start a game").wait_for(timeout=90_000)
        # A setting out of bounds gets its message next to it; a small game starts.
        _type(instructor, "People in the market (people)", "50")
        problem = instructor.locator(".game-problem").filter(has_text="People in the market")
        expect(problem).to_contain_text("a whole number in [100, 50_000]; got 50")
        _type(instructor, "People in the market (people)", "1000")
        expect(problem).to_have_count(0)
        _type(instructor, "Rounds", "2")
        expect(instructor.locator(".game-settings")).to_contain_text("2 round(s)")
        instructor.locator(".game-start").click()
        expect(instructor.locator(".game-notice")).to_contain_text("Game 1 started")

        # Two teams join; a name taken is refused next to the name.
        red, blue = (browser.new_page(viewport={"width": 1400, "height": 1200}) for _ in "rb")
        for page, name in ((red, "Red"), (blue, "red")):
            page.goto(url + "game")
            page.get_by_text("Round 1 of 2 is open").wait_for(timeout=90_000)
            page.get_by_label("Team name").fill(name)
            page.locator(".game-join").click()
        expect(red.get_by_text("You are team Red.")).to_be_visible()
        expect(blue.locator(".game-problem")).to_contain_text("The name 'Red' is taken")
        blue.get_by_label("Team name").fill("Blue")
        blue.locator(".game-join").click()
        expect(blue.get_by_text("You are team Blue.")).to_be_visible()

        # Red decides: a share over 1 is refused next to its control, then a real split
        # and a CRM report.
        mass = "Acquisition: mass channel (share of the budget)"
        _type(red, mass, "1.5")
        expect(red.locator(".game-problem").filter(has_text="mass channel")).to_contain_text(
            "share must be a share in [0, 1]; got 1.5"
        )
        _type(red, mass, "0.2")
        _type(red, "Acquisition: lookalike channel (share of the budget)", "0.5")
        _type(red, "Retention offers (share of the budget)", "0.3")
        expect(red.locator(".game-total")).to_contain_text("Given: 1.00 of the budget")
        expect(red.locator(".game-problem")).to_have_count(0)
        red.get_by_text("Customers by acquisition channel:").click()
        red.locator(".game-submit").click()
        expect(red.locator(".game-notice")).to_contain_text("Your decision for round 1 is in")
        red.screenshot(path=tmp_path / "6_decision.png", full_page=True)

        # The instructor reveals the round; the leaderboard shows both teams.
        instructor.locator(".game-refresh").click()
        expect(instructor.locator(".game-teams")).to_contain_text("Blue")
        instructor.locator(".game-reveal").click()
        expect(instructor.get_by_text("Round 1 is revealed: 2 team(s) played")).to_be_visible(
            timeout=90_000
        )
        board = instructor.locator(".game-leaderboard")
        expect(board).to_contain_text("Red")
        expect(board).to_contain_text("Value of the customer base")
        instructor.get_by_text("Leaderboard after round 1").scroll_into_view_if_needed()
        instructor.screenshot(path=tmp_path / "7_revealed.png", full_page=True)

        # Blue's page still shows round 1: its late decision is refused, not lost in silence.
        blue.locator(".game-submit").click()
        expect(blue.locator(".game-problem")).to_contain_text("Round 1 has been played")
        # Red sees its results, its report and the leaderboard.
        red.locator(".game-refresh").click()
        expect(red.locator(".game-leaderboard")).to_contain_text("Blue")
        expect(red.locator(".game-results")).to_be_visible()
        expect(red.locator(".game-report")).to_contain_text("lookalike")
        expect(red.get_by_text("Your decision for round 2")).to_be_visible()
        red.locator(".game-leaderboard").scroll_into_view_if_needed()
        red.screenshot(path=tmp_path / "8_leaderboard.png", full_page=True)

        # A missing database gets one message in the page; put back, the game goes on.
        aside = game_db.with_suffix(".aside")
        game_db.rename(aside)
        red.locator(".game-refresh").click()
        expect(red.locator(".game-store-problem")).to_contain_text("is missing")
        aside.rename(game_db)
        red.locator(".game-refresh").click()
        expect(red.locator(".game-leaderboard")).to_contain_text("Red")
        browser.close()
    assert "Traceback" not in log.read_text()
