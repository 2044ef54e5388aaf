"""What a person on a phone waits for: the home page, then a camera photo chosen and its result page.

Starts gunicorn as the container does (static files collected, 2 sync workers) on loopback and
drives headless Chromium (Debian's `chromium`, through Playwright), a fresh browser context per
visit so nothing is cached: open the home page, take a few seconds to choose a photo (a rendered
4000×3000 camera JPEG), and wait for the result page. Reported: the home page's load event and
bytes; the time from choosing the photo to the result page's load event (the page's own work on
the photo, the upload, the server, the result page), the photo's bytes as the server received them
and the bytes received meanwhile.
Once on plain loopback (the time is then parsing and running what the pages load), once with
Chromium's network emulation of a phone on 4G (9 Mbit/s down, 1.5 Mbit/s up, 60 ms latency).

    python bench/page_load.py [--visits 5] [--think 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

from predictor.tests import liveserver, renders  # noqa: E402

NETWORKS = {
    "loopback": None,
    "4G (9 / 1.5 Mbit/s, 60 ms)": {"offline": False, "latency": 60, "downloadThroughput": 9e6 / 8,
                                   "uploadThroughput": 1.5e6 / 8},
}
LOAD_EVENT = "() => { const page = performance.getEntriesByType('navigation')[0]; return page.loadEventEnd - page.startTime; }"


def newest_upload(media: Path) -> int:
    """Bytes of the picture the server received last (it stores every upload over 8 KiB)."""
    stored = sorted((media / "uploads").rglob("*.*"), key=lambda path: path.stat().st_mtime)
    return stored[-1].stat().st_size if stored else 0


def visit(browser, base: str, photo: Path, network: dict | None, think: float, media: Path) -> dict:
    context = browser.new_context()
    page = context.new_page()
    sizes = []  # bytes received per finished request, headers included
    page.on("requestfinished", lambda request: sizes.append(
        request.sizes()["responseHeadersSize"] + request.sizes()["responseBodySize"]))
    if network:
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", network)
    page.goto(base + "/", wait_until="load")
    home = page.evaluate(LOAD_EVENT)
    page.wait_for_timeout(think * 1000)  # choosing the photo: the page may fetch what it will need
    home_received = sum(sizes)
    sizes.clear()
    started = time.perf_counter()
    with page.expect_navigation(wait_until="load", timeout=120_000):
        page.set_input_files("#id_image", str(photo))  # the form submits itself
    waited = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    context.close()
    return {"home": home, "home_bytes": home_received, "wait": waited * 1000, "photo_bytes": newest_upload(media),
            "result_bytes": sum(sizes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=5)
    parser.add_argument("--think", type=float, default=3.0, help="seconds between the home page and the photo")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = liveserver.throwaway_env(workdir, RATELIMIT_PREDICT="")
    liveserver.collect_static(env)
    liveserver.migrate(env)
    digits, _ = renders.mnist_samples()
    photo = workdir / "camera.jpg"
    photo.write_bytes(renders.phone_photo(digits[5], size=(3000, 4000), digit_height=1040))
    process, base, _ = liveserver.start_gunicorn(env)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
            for name, network in NETWORKS.items():
                visits = [visit(browser, base, photo, network, args.think, Path(env["MEDIA_ROOT"]))
                          for _ in range(args.visits)]
                rows.append((name, visits))
            browser.close()
    finally:
        liveserver.stop(process)

    def median(visits: list[dict], key: str) -> float:
        return statistics.median(visit[key] for visit in visits)

    print(f"{dt.date.today()}; {machine.describe()}; headless Chromium, fresh context per visit, "
          f"{args.visits} visits, {args.think:g} s to choose a {photo.stat().st_size / 1e6:.1f} MB "
          f"4000×3000 camera JPEG; medians\n")
    print("| network | home page loaded, ms | KB received on the home page | photo chosen → result page "
          "loaded, ms | KB of photo sent | then KB received |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, visits in rows:
        print(f"| {name} | {median(visits, 'home'):.0f} | {median(visits, 'home_bytes') / 1e3:.0f} | "
              f"{median(visits, 'wait'):.0f} | {median(visits, 'photo_bytes') / 1e3:.0f} | "
              f"{median(visits, 'result_bytes') / 1e3:.0f} |")


if __name__ == "__main__":
    main()
