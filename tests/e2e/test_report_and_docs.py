"""The business report and the dbt docs site, opened in a real browser (headless Chromium).

TPC-H 0.01 goes through the chain in a private folder (load -> extract -> `dbt build` of the marts
and their parents -> `dbt docs generate --static`); then the report command and the docs publish
command run as a user would type them, both are served over HTTP on 127.0.0.1, and Chromium (driven
by chromedriver through selenium) opens them. Screenshots land in the test's output folder (printed;
`pytest -s` shows it). Chromium comes from Debian's packages: `scripts/install-chromium.sh`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.core.settings import REPO_ROOT
from reports.business import MARTS, upload_report
from reports.docs_site import local_docs_dir, make_server, publish_docs
from tests.gcs_emulator import Emulator, gcs_bucket, gcs_emulator  # noqa: F401
from tests.net import free_port
from tests.pipeline import Pipeline
from tests.tpch_reference import REPORTS

# What a reader looks for on the page: one titled chart per business question.
CHART_TITLES = [
    "Net revenue by quarter and customer region",
    "Orders placed by month and customer region",
    "Net revenue by market segment and year",
    "Top 10 customers by net revenue",
    "Late deliveries by ship mode",
    "Supplier performance by supplier nation",
    "Returned share of order lines by quarter and customer region",
]
PRICING_SUMMARY = "model.lakehouse.rpt_pricing_summary"
# dbt docs shortens long names on screen ("rpt_" + "pricing_summary"); a model's link carries its full name.
TREE_ENTRIES_JS = """
const entries = {};
for (const e of document.querySelectorAll('.filename-normal')) {
    if (e.offsetParent !== null) entries[e.textContent.trim()] = e;
}
for (const a of document.querySelectorAll('a[data-nav-unique-id]')) {
    if (a.offsetParent !== null) entries[a.getAttribute('title')] = a;
}
return entries;
"""


@pytest.fixture(scope="module")
def chain(built_chain: Pipeline) -> Pipeline:
    """The session's chain: marts built from TPC-H 0.01 and dbt's static docs generated."""
    return built_chain


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def published(chain: Pipeline) -> Pipeline:
    """The report and the docs written to the lake by their plain commands."""
    started = time.monotonic()
    report = chain.run(sys.executable, "-m", "reports.business", "--lake", f"file://{chain.lake}")
    print(f"business report: {time.monotonic() - started:.0f} s")
    assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-5000:]
    docs = chain.run(
        sys.executable, "-m", "reports.docs_site", "publish", "--target-path", str(chain.root / "dbt-target")
    )
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert f"{chain.lake}/docs/index.html" in docs.stdout
    return chain


@pytest.fixture(scope="module")
def report_url(published: Pipeline) -> Iterator[str]:
    server = make_server(published.lake / "reports")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/latest.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def docs_url(published: Pipeline) -> Iterator[str]:
    """`python -m reports.docs_site serve`, the README's command, on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "reports.docs_site", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env=published.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        first_line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first_line, first_line
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def full_page_screenshot(driver: Any, path: Path) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1280, min(max(height, 800), 8000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def wait_for(driver: Any, condition: Any, seconds: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def test_report_page_shows_every_chart_with_its_title_and_the_data_range(
    published: Pipeline, report_url: str, browser: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    reports = published.lake / "reports"
    dated = sorted(reports.glob("business-report-*.html"))
    assert len(dated) == 1
    assert dated[0].read_bytes() == (reports / "latest.html").read_bytes()
    assert not [p for p in reports.iterdir() if p.name.startswith(".")], "temporary files left behind"

    browser.get(report_url)
    wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    full_page_screenshot(browser, screenshots / "business-report.png")

    sections = browser.find_elements(By.CSS_SELECTOR, "section.chart")
    titles = [section.find_element(By.TAG_NAME, "h2").text for section in sections]
    assert titles == CHART_TITLES
    for section, title in zip(sections, titles, strict=True):
        image = section.find_element(By.CSS_SELECTOR, "figure img")
        loaded = browser.execute_script(
            "const i = arguments[0]; const r = i.getBoundingClientRect();"
            "return [i.complete, i.naturalWidth, i.naturalHeight, r.width, r.height];",
            image,
        )
        assert loaded[0] and min(loaded[1:]) > 0, f"chart {title!r} did not load: {loaded}"
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert int(image.get_attribute("data-points")) > 0, f"chart {title!r} draws nothing"
        assert section.find_element(By.TAG_NAME, "figcaption").text

    # Self-contained: nothing on the page points outside it.
    external = browser.execute_script(
        "return [...document.querySelectorAll('[src],[href]')]"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
        ".filter(u => !u.startsWith('data:') && !u.startsWith('#'));"
    )
    assert external == []

    orders = published.lake / "lakehouse" / "fct_orders" / "*.parquet"
    with duckdb.connect() as con:
        span = con.execute(f"select min(order_date), max(order_date) from read_parquet('{orders}')").fetchone()
    assert span is not None
    first, last = span
    time_range = browser.find_element(By.ID, "time-range").text
    assert f"from {first} to {last}" in time_range, time_range
    generated = browser.find_element(By.CSS_SELECTOR, "#generated-at time").get_attribute("datetime")
    assert datetime.now(UTC) - datetime.fromisoformat(generated) < timedelta(hours=1)
    assert "Generated" in browser.find_element(By.ID, "generated-at").text

    # Names are restricted (pii): by default the page shows keys, and says why.
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Customer#" not in text and "Supplier#" not in text
    assert re.search(r"customer \d+", text) and re.search(r"supplier \d+", text)
    assert "names are restricted" in browser.find_element(By.ID, "restricted").text


def test_restricted_names_only_when_allowed() -> None:
    from reports.business.queries import RESTRICTED, report_sql

    for name in ("top_customers", "top_suppliers"):
        hidden, shown = report_sql(name, show_restricted=False), report_sql(name, show_restricted=True)
        assert not any(column in hidden for column in RESTRICTED)
        assert any(column in shown for column in RESTRICTED)


def test_docs_site_lists_the_report_models_and_opens_one(docs_url: str, browser: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By

    def tree_entries(driver: Any) -> dict[str, Any]:
        """The project tree's entries a person can see: folders by name, models by their full name."""
        entries: dict[str, Any] = driver.execute_script(TREE_ENTRIES_JS)
        return entries

    browser.get(docs_url)
    # The docs app renders in the browser: open lakehouse > dbt_project > models > reports as a person would.
    for folder in ("lakehouse", "dbt_project", "models", "reports"):
        wait_for(browser, lambda d, name=folder: tree_entries(d).get(name)).click()
    wait_for(browser, lambda d: "rpt_pricing_summary" in tree_entries(d))
    full_page_screenshot(browser, screenshots / "docs-site.png")
    listed = {name for name in tree_entries(browser) if name.startswith("rpt_")}
    assert listed == set(REPORTS.values())

    tree_entries(browser)["rpt_pricing_summary"].click()
    wait_for(browser, lambda d: d.current_url.endswith(f"#!/model/{PRICING_SUMMARY}"))
    browser.get(f"{docs_url}#!/model/{PRICING_SUMMARY}")
    description = "pricing summary report: how much business was billed, shipped and returned"
    wait_for(browser, lambda d: description in d.find_element(By.TAG_NAME, "body").text)
    full_page_screenshot(browser, screenshots / "docs-rpt_pricing_summary.png")

    # The business report is declared as an exposure, with the marts it reads.
    browser.get(f"{docs_url}#!/exposure/exposure.lakehouse.business_report")
    wait_for(browser, lambda d: "Lakehouse business report" in d.find_element(By.TAG_NAME, "body").text)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert all(mart in page for mart in MARTS), page[:2000]
    full_page_screenshot(browser, screenshots / "docs-exposure.png")


def test_report_and_docs_go_to_a_bucket_through_the_gcs_client(
    published: Pipeline,
    gcs_bucket: str,  # noqa: F811
    gcs_emulator: Emulator,  # noqa: F811
) -> None:
    """Production's `gs://` lake, against the emulator: the same publish code, `index.html`/`latest.html` last."""
    lake = f"gs://{gcs_bucket}/prod/lake"
    site = publish_docs(published.root / "dbt-target", lake)
    assert site == f"{lake}/docs/index.html"
    reports = published.lake / "reports"
    pages = [*sorted(reports.glob("business-report-*.html")), reports / "latest.html"]
    upload_report(lake, pages)

    bucket = gcs_emulator.client().bucket(gcs_bucket)
    names = sorted(blob.name for blob in gcs_emulator.client().list_blobs(gcs_bucket))
    assert names == sorted(
        [f"prod/lake/docs/{name}" for name in ("catalog.json", "index.html", "manifest.json")]
        + [f"prod/lake/reports/{page.name}" for page in pages]
    )
    static = (published.root / "dbt-target" / "static_index.html").read_bytes()
    assert bucket.blob("prod/lake/docs/index.html").download_as_bytes() == static
    assert bucket.blob("prod/lake/reports/latest.html").download_as_bytes() == pages[-1].read_bytes()
    # `serve` on a gs:// lake browses a fresh local copy of the bucket's docs.
    assert (local_docs_dir(lake) / "index.html").read_bytes() == static


def test_the_dataproc_job_runs_from_the_project_archive_alone(published: Pipeline, tmp_path: Path) -> None:
    """What the production DAG submits: the entry point plus the archive in `python_file_uris`
    (here `spark-submit --py-files`), from a folder holding nothing else of the project."""
    from reports.business.archive import build_archive

    archive = build_archive(tmp_path / "lakehouse.zip")
    entry = tmp_path / "dataproc_job.py"
    shutil.copyfile(REPO_ROOT / "reports" / "business" / "dataproc_job.py", entry)
    before = sorted((published.lake / "reports").glob("business-report-*.html"))
    spark_submit = str(Path(sys.executable).parent / "spark-submit")
    env = {**published.env, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": ""}
    command = [spark_submit, "--master", "local[1]", "--py-files", str(archive), str(entry)]
    result = subprocess.run(
        [*command, "--lake", f"file://{published.lake}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [code] = [line for line in result.stdout.splitlines() if line.startswith("the report's code: ")]
    assert str(archive) in code  # the packages came from the archive, not from the repository
    after = sorted((published.lake / "reports").glob("business-report-*.html"))
    assert len(after) == len(before) + 1 or after[-1] != before[-1]
    assert (published.lake / "reports" / "latest.html").read_text(encoding="utf-8").count("<img") >= 5
