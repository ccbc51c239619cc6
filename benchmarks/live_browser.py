"""Benchmark of the live view in a real browser: months per second while it plays.

Starts ``crmsim app`` on a free port of 127.0.0.1, opens ``/live`` in Chromium
(Playwright, the system's Chromium: ``--chromium PATH`` or ``CRMSIM_CHROMIUM``,
else ``chromium`` on the PATH), presses **Play** on the default market (the
baseline, 5,000 people), lets it play for ``--seconds`` seconds, presses
**Pause** and reads the months run from the page. Months per second counts
what a student sees advance: the market's months, the page redrawing its
figures every few months as Mesa's ``render_interval`` says.

Run ``python -m benchmarks.live_browser``; it prints one JSON document. Needs
the app extra and Playwright (``pip install -e '.[app,test]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET_MONTHS_PER_SECOND = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, folder: Path) -> subprocess.Popen:
    """``crmsim app`` on ``port``, once it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "crmsim", "app", "--port", str(port),
         "--game-db", str(folder / "game.sqlite")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
        if server.poll() is not None:
            break
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit("crmsim app did not serve the page within 90 s")


def months_run(page) -> int:  # noqa: ANN001 (a Playwright page)
    """The months the live page says it has run."""
    text = page.get_by_text("Months run").locator("..").inner_text()
    return int(text.split(":")[-1].strip().replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live_browser")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--chromium", default=os.environ.get("CRMSIM_CHROMIUM"))
    args = parser.parse_args(argv)
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium found: apt-get install chromium, or give --chromium PATH")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        port = _free_port()
        server = _serve(port, Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/live")
                page.get_by_text("Press step or play").wait_for(timeout=90_000)
                page.get_by_role("button", name="Step").click()
                page.get_by_text("Months run").wait_for(timeout=60_000)
                first = months_run(page)
                play = page.locator("button", has_text="\u25b6")  # Mesa's play button
                play.click()
                start = time.perf_counter()
                time.sleep(args.seconds)
                pause = page.locator("button", has_text="\u275a\u275a")  # play, now pause
                pause.click()
                played = time.perf_counter() - start
                time.sleep(1.0)  # the last redraw after the pause
                last = months_run(page)
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
    rate = (last - first) / played
    report = {
        "benchmark": "crmsim live view in Chromium: months per second while playing",
        "market": "baseline, 5,000 people (the page's default)",
        "seconds_played": round(played, 2),
        "months_played": last - first,
        "months_per_second": round(rate, 1),
        "target_months_per_second": TARGET_MONTHS_PER_SECOND,
        "meets_target": rate >= TARGET_MONTHS_PER_SECOND,
        "load_average_1_min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
