"""Check the built documentation site: every public name documented, and a real browser's view.

Usage: ``python tools/check_site.py SITE_DIR`` (``nox -s docs`` runs it after ``mkdocs build``).

1. Every name in the ``__all__`` of every ``greensync.*`` package has an anchor on its API page,
   so a public name can never be missing from the reference.
2. Headless Chromium (Debian's ``chromium`` and ``chromedriver``, driven through Selenium) loads
   the site from a local HTTP server on 127.0.0.1: the home page, each package's API page, the
   benchmarks page and two guide pages (the waiter diagram, the wait-line guide) must render
   with no console error and no broken image, and the search box must find "Semaphore".  A
   screenshot of each page is saved under ``SITE_DIR/_checks/``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def _load_public_names() -> Callable[[str], list[str]]:
    """The reader of ``__all__`` that the site's hook uses (tools/docs_hooks.py)."""
    path = Path(__file__).resolve().with_name("docs_hooks.py")
    spec = importlib.util.spec_from_file_location("docs_hooks", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reader: Callable[[str], list[str]] = module.public_names
    return reader


public_names = _load_public_names()
PACKAGES = ["hub", "event", "lock", "queue", "timeout"]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Flags for a closed network: no sandbox (root in a container), and none of the background
# traffic (updates, sync, field trials) that would fail and fill the console.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]
# What each page must show once rendered: an element id (an API object) or a CSS selector.
PAGES: dict[str, tuple[str, str]] = {
    "home": ("", "#the-packages"),
    "api-hub": ("api/hub/", "[id='greensync.hub.spawn']"),
    "api-event": ("api/event/", "[id='greensync.event.Event.wait']"),
    "api-lock": ("api/lock/", "[id='greensync.lock.Semaphore.acquire']"),
    "api-queue": ("api/queue/", "[id='greensync.queue.Queue.get']"),
    "api-timeout": ("api/timeout/", "[id='greensync.timeout.Timeout.cancel']"),
    "benchmarks": ("benchmarks/", "img[src$='bench.png']"),
    "how-the-hub-works": ("guide/how-the-hub-works/", "img[src$='waiter-states.svg']"),
    "build-your-own": ("guide/build-your-own/", "#takers-a-pool-of-reusable-objects"),
}


def check_reference(site: Path) -> list[str]:
    """Return the public names that have no anchor on their package's API page."""
    missing = []
    for package in PACKAGES:
        page = (site / "api" / package / "index.html").read_text(encoding="utf-8")
        for name in public_names(f"greensync.{package}"):
            if f'id="greensync.{package}.{name}"' not in page:
                missing.append(f"greensync.{package}.{name}")
    return missing


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(site: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="docs-http", daemon=True).start()
    return server


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _browser(profile: str) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def _console_errors(driver: Any) -> list[str]:
    return [
        f"{entry['level']}: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
    ]


def check_in_browser(site: Path, shots: Path) -> list[str]:
    """Load the pages and the search in Chromium; return what went wrong."""
    problems: list[str] = []
    server = _serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    profile = tempfile.mkdtemp(prefix="greensync-docs-chromium-")
    driver = _browser(profile)
    try:
        driver.set_page_load_timeout(60)
        for name, (path, selector) in PAGES.items():
            driver.get(base + path)
            _wait_for(
                lambda: driver.execute_script("return document.readyState") == "complete",
                30,
                f"{path or '/'} to load",
            )
            found = driver.find_elements(By.CSS_SELECTOR, selector)
            if not found or not found[0].is_displayed():
                problems.append(f"{base}{path}: nothing visible matches {selector}")
            for image in driver.find_elements(By.CSS_SELECTOR, "article img"):
                if not driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth > 0", image
                ):
                    problems.append(f"{base}{path}: image {image.get_attribute('src')} broken")
            driver.save_screenshot(str(shots / f"{name}.png"))
            problems.extend(f"{base}{path}: {error}" for error in _console_errors(driver))
            print(f"checked {base}{path}")

        driver.get(base)
        box = driver.find_element(By.CSS_SELECTOR, "input.md-search__input")
        _wait_for(box.is_displayed, 10, "the search box")
        box.click()
        box.send_keys("Semaphore")

        def found_semaphore() -> bool:
            results = driver.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
            return any("Semaphore" in result.text for result in results)

        try:
            _wait_for(found_semaphore, 30, "search results for Semaphore")
        except AssertionError as exc:
            problems.append(f"search: {exc}")
        driver.save_screenshot(str(shots / "search-semaphore.png"))
        box.send_keys(Keys.ESCAPE)
        problems.extend(f"search: {error}" for error in _console_errors(driver))
        print("checked the search for 'Semaphore'")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    site = Path(argv[1]).resolve()
    missing = check_reference(site)
    if missing:
        print(f"public names missing from the API reference: {missing}", file=sys.stderr)
        return 1
    print(f"every public name of {len(PACKAGES)} packages has its API anchor")
    shots = site / "_checks"
    shots.mkdir(exist_ok=True)
    problems = check_in_browser(site, shots)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"the browser checks passed; screenshots in {shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
