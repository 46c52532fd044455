"""The app as a person uses it: `milieu-sim app` in a subprocess, driven in headless Chromium.

Chromium is Debian's package (``/usr/bin/chromium``, listed in .ci/apt-packages.txt)
driven by Playwright from PyPI; no browser is downloaded.  Without /usr/bin/chromium
these tests skip.  Every test opens a fresh page, which gets a fresh ward (seed 0, warm-started).
The expected numbers come from the same seeded model run in this process.  Every test fails on a
console error or warning (but one: Solara's own navigator script, see KNOWN_WARNINGS).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (Debian package 'chromium', see .ci/apt-packages.txt)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from milieu_sim.app import clock, controls, ward_drawing  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60
UI_TIMEOUT_MS = 20_000
# Solara 1.58's own router component (solara/widgets/vue/navigator.vue) is written the old way; ipyvue says so
# once per page load.  Nothing of milieu-sim's; any other warning fails the test.
KNOWN_WARNINGS = ("Failed to evaluate Vue script and find module.exports",)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`milieu-sim app` on a free localhost port; its output goes to a log file (a pipe could fill up)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "server.log"
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "milieu_sim.cli.main", "app", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, f"the app exited: {log_path.read_text()}"
                assert time.monotonic() < deadline, "the app did not answer within a minute"
                time.sleep(0.2)
        first_line = log_path.read_text().splitlines()[0]
        assert first_line == f"milieu-sim app: open {url} in a browser (Ctrl+C to stop)"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1100},
        )
        yield context
        context.close()


class Session:
    """One open page, with everything the browser complained about and every host it asked."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type == "error" or (
            message.type == "warning" and not any(known in message.text for known in KNOWN_WARNINGS)
        ):
            self.errors.append(f"console {message.type}: {message.text}")

    def _request(self, request) -> None:
        if not request.url.startswith(self.url.rstrip("/")) and not request.url.startswith(("data:", "blob:")):
            self.foreign_requests.append(request.url)

    def clock(self):
        return self.page.locator(".ward-clock")

    def markers(self, name: str, within: str = "body"):
        return self.page.locator(f"{within} g.{name}_marks > path")

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the Vuetify select labelled ``label``."""
        self.page.locator(".v-select").filter(has=self.page.get_by_text(label, exact=True)).first.click()
        menu = self.page.locator(".menuable__content__active")
        menu.get_by_text(option, exact=True).click()
        expect(menu).to_have_count(0, timeout=UI_TIMEOUT_MS)

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)


@pytest.fixture
def session(server, browser_context):
    page = browser_context.new_page()
    s = Session(page, server)
    page.goto(server)
    expect(s.clock()).to_contain_text("Day 0 · Mon 07:00 (not started", timeout=START_TIMEOUT_S * 1000)
    yield s
    page.close()
    assert s.errors == [], "the browser console reported errors or warnings"
    assert s.foreign_requests == [], "the page loaded something from outside this machine"


def _expected(**values):
    """The ward the page builds from these control values, run here with the same seed."""
    return controls.make_model(**values)


def test_page_loads_and_draws_every_client_and_the_early_shift(session):
    model = _expected()
    expect(session.markers("clients")).to_have_count(len(ward_drawing.client_frame(model)), timeout=UI_TIMEOUT_MS)
    assert len(ward_drawing.client_frame(model)) == model.census == 20
    expect(session.markers("floor")).to_have_count(model.plan.width * model.plan.height)
    on_duty = int(model.staff.on_duty.sum())
    assert on_duty == model.p["staff_night"]  # the warm start ended at 06:00: the night shift is on the ward
    expect(session.markers("staff")).to_have_count(on_duty)
    expect(session.page.locator(".empty-chart").first).to_contain_text("The charts start with the first hour")
    for name in ("The ward", "Two wards", "A client's stay", "Lessons"):
        expect(session.page.get_by_role("tab", name=name)).to_be_visible()
    expect(session.page.locator(".ward-policy")).to_have_text(f"policy: {model.policy.name}")
    legend = session.page.locator(".milieu-legend")
    for label in ward_drawing.ZONE_LABELS.values():
        expect(legend).to_contain_text(label)


def test_step_advances_the_clock_with_the_early_shift_on_duty(session):
    model = _expected()
    model.step()
    session.button("Step").click()
    expect(session.clock()).to_have_text("Day 0 · Mon 07:00", timeout=UI_TIMEOUT_MS)
    expect(session.page.locator(".ward-shift")).to_contain_text("shift: early")
    expect(session.markers("staff")).to_have_count(len(ward_drawing.staff_frame(model)), timeout=UI_TIMEOUT_MS)
    assert len(ward_drawing.staff_frame(model)) == model.staff_on_duty > 0
    expect(session.markers("clients")).to_have_count(len(ward_drawing.client_frame(model)))
    session.button("Step").click()
    expect(session.clock()).to_have_text("Day 0 · Mon 08:00", timeout=UI_TIMEOUT_MS)


def test_policy_control_sets_the_policy_of_the_new_ward(session):
    session.choose("Policy", "restrictive")
    session.button("Reset").click()
    expect(session.page.locator(".ward-policy")).to_have_text("policy: restrictive", timeout=UI_TIMEOUT_MS)
    expected = _expected(policy="restrictive")
    levers = session.page.locator(".levers")
    expect(levers).to_contain_text(f"Punishment rate{expected.p['punishment_rate']:g}")


def test_switch_now_and_scheduled_switch_change_the_policy_mid_run(session):
    page = session.page
    # switch now: the running ward keeps its clients and day, the policy changes
    session.button("Step").click()
    expect(session.clock()).to_have_text("Day 0 · Mon 07:00", timeout=UI_TIMEOUT_MS)
    session.choose("Switch policy to", "restrictive")
    session.button("Switch now").click()
    expect(page.locator(".ward-policy")).to_have_text("policy: restrictive", timeout=UI_TIMEOUT_MS)
    expect(session.clock()).to_have_text("Day 0 · Mon 07:00")
    # scheduled: custodial until day 1, then therapeutic milieu
    session.choose("Policy", "custodial")
    session.choose("Teaching scenario: switch to this policy mid-run", "therapeutic_milieu")
    day_slider = page.locator(".v-input").filter(has_text="... on this day").locator("[role=slider]")
    day_slider.focus()
    day_slider.press("Home")
    expect(day_slider).to_have_attribute("aria-valuenow", "1", timeout=UI_TIMEOUT_MS)
    session.button("Reset").click()
    expect(page.locator(".ward-policy")).to_have_text("policy: custodial", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("Scheduled: switch to therapeutic_milieu on day 1.")).to_be_visible()
    page.locator(".plus-day").click()  # 24 hours: day 0, 07:00 to day 0, 06:00 next morning
    expect(session.clock()).to_have_text("Day 0 · Mon 06:00", timeout=UI_TIMEOUT_MS)  # Monday's ward day
    expect(page.locator(".ward-policy")).to_have_text("policy: custodial")
    session.button("Step").click()  # the first hour of day 1
    expect(session.clock()).to_have_text("Day 1 · Tue 07:00", timeout=UI_TIMEOUT_MS)
    expect(page.locator(".ward-policy")).to_have_text("policy: therapeutic_milieu", timeout=UI_TIMEOUT_MS)
    # the charts mark the switch with a rule at day 1
    expected = _expected(policy="custodial", switch_to="therapeutic_milieu", switch_day=1).run(1)
    expected.step()
    assert expected.policy.name == "therapeutic_milieu"
    expect(page.locator(".ward-counts")).to_have_text(clock.clock_lines(expected)[3])
    expect(page.locator("g.role-mark.mark-rule path, g.role-mark.mark-rule line").first).to_be_attached()
    page.wait_for_timeout(500)  # let the charts finish drawing before the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)


def test_two_wards_side_by_side_with_the_same_seed(session):
    page = session.page
    page.get_by_role("tab", name="Two wards").click()
    session.choose("Left ward", "restrictive")
    session.choose("Right ward", "therapeutic_milieu")
    page.locator(".start-both").click()
    wards = page.locator(".side-ward")
    expect(wards).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(wards.nth(0).locator(".side-title")).to_have_text("restrictive")
    expect(wards.nth(1).locator(".side-title")).to_have_text("therapeutic_milieu")
    base = _expected()
    pair = controls.Comparison.start(base, ("restrictive", "therapeutic_milieu"))
    for i, ward in enumerate(pair.models.values()):  # warm-started: each ward as its own policy left it
        expected = len(ward_drawing.client_frame(ward))
        expect(wards.nth(i).locator("g.clients_marks > path")).to_have_count(expected, timeout=UI_TIMEOUT_MS)
    page.locator(".both-plus-day").click()
    for i, (name, ward) in enumerate(pair.models.items()):
        ward.run(1)
        expect(wards.nth(i).locator(".side-clock")).to_have_text(clock.clock_lines(ward)[0], timeout=UI_TIMEOUT_MS)
        expect(wards.nth(i)).to_contain_text(clock.clock_lines(ward)[3])
        expect(wards.nth(i).locator("g.staff_marks > path")).to_have_count(len(ward_drawing.staff_frame(ward)))
        assert ward.policy.name == name
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-two-wards.png"), full_page=True)


def test_clicking_a_client_shows_their_state_and_history(session):
    page = session.page
    page.locator(".plus-day").click()
    expect(session.clock()).to_contain_text("06:00", timeout=UI_TIMEOUT_MS)
    model = _expected().run(1)
    target = page.locator("g.clients_marks > path").first
    expect(target).to_be_attached(timeout=UI_TIMEOUT_MS)
    target.click(force=True)
    details = page.locator(".client-details")
    expect(details).to_be_visible(timeout=UI_TIMEOUT_MS)
    text = details.inner_text()
    client_id = int(re.search(r"Client (\d+)", text).group(1))
    assert client_id in set(ward_drawing.client_frame(model)["client_id"])
    agent = next(a for a in model.clients_present if a.unique_id == client_id)
    for state in ward_drawing.CLIENT_STATES:
        value = getattr(agent, state)
        expect(details.get_by_role("row", name=f"{state.replace('_', ' ')} {value:.2f}", exact=True)).to_be_visible()
    expect(details).to_contain_text(f"Last {ward_drawing.RECENT_HOURS} hours")
    # the client panel (issue 13): their profile, and their plan with each goal's target, value and status
    from milieu_sim.app.client_panel import client_panel

    panel = client_panel(model, client_id)
    profile = details.locator(".client-profile")
    for key, label in (("diagnosis", "diagnosis"), ("legal_status", "legal status")):
        name = f"{label} {panel['profile'][key].replace('_', ' ')}"
        expect(profile.get_by_role("row", name=name, exact=True)).to_be_visible()
    plan = details.locator(".client-plan")
    expect(plan.locator("tr")).to_have_count(len(panel["plan"]) + 1)  # a header and one row per goal or part
    for goal in panel["plan"]:
        expect(plan).to_contain_text(goal["goal"].replace("_", " "))


# --- issue 17: the story, a client's stay, lessons, exports, presenter mode, drawings that scale -----------
def _story_lines(page):
    lines = page.locator(".story-line")
    expect(lines.first).to_be_attached(timeout=UI_TIMEOUT_MS)
    return lines


def test_the_story_feed_is_the_events_table_in_words(session):
    from milieu_sim.analysis.story import story

    page = session.page
    page.locator(".plus-day").click()
    expect(session.clock()).to_have_text("Day 0 · Mon 06:00", timeout=UI_TIMEOUT_MS)
    model = _expected().run(1)
    tables = model.tables()
    expected = story(tables, since_step=1, last=40).iloc[::-1]  # newest first
    lines = _story_lines(page)
    expect(lines).to_have_count(len(expected), timeout=UI_TIMEOUT_MS)
    shown = lines.all_inner_texts()
    assert [t.strip() for t in shown] == [f"Day {r.day}, {r.text}" for r in expected.itertuples()]
    # filtered to incidents: one line per incident of the events table in the window
    session.choose("What", "incidents and what staff did")
    incidents = story(tables, kinds=("incident",), since_step=1, last=40)
    expect(lines).to_have_count(len(incidents), timeout=UI_TIMEOUT_MS)
    events = tables["events"]
    assert len(incidents) == min(40, int((events["category"] == "conflict").sum()))
    # a click shows that client on the map, with their details
    first = expected[expected["kind"] == "incident"].iloc[0]
    lines.filter(has_text=first["text"]).first.click()
    expect(page.locator(".client-details")).to_contain_text(f"Client {first['client_id']}", timeout=UI_TIMEOUT_MS)
    expect(session.markers("selected")).to_have_count(1)


def test_the_client_page_is_the_tables(session):
    from milieu_sim.analysis.story import stay_story

    page = session.page
    page.locator(".plus-week").click()
    expect(session.clock()).to_have_text("Day 6 · Sun 06:00", timeout=UI_TIMEOUT_MS)
    model = _expected().run(7)
    tables = model.tables()
    page.get_by_role("tab", name="A client's stay").click()
    page.locator(".stay-page .v-select").first.click()
    option = page.locator(".menuable__content__active .v-list-item").first  # the newest admission
    client = int(re.search(r"Client (\d+)", option.inner_text()).group(1))
    option.click()
    told = stay_story(tables, client, trace=model.trace.frame(client))
    expect(page.locator(".stay-summary")).to_have_text(" ".join(told["summary"]), timeout=UI_TIMEOUT_MS)
    counts = page.locator(".stay-counts")
    expect(counts.get_by_role("row", name=f"incidents {told['counts']['incidents']}", exact=True)).to_be_visible()
    expect(counts.get_by_role("row", name=f"containment {told['counts']['containments']}", exact=True)).to_be_visible()
    expect(page.locator(".stay-lines li")).to_have_count(len(told["lines"]))
    # the client panel with every review of the plan (issue 13)
    from milieu_sim.app.client_panel import client_panel

    reviews = client_panel(model, client)["reviews"]
    expect(page.locator(".stay-panel .client-reviews tr")).to_have_count(len(reviews) + 1 if len(reviews) else 0)
    expect(page.locator("g.states_marks path").first).to_be_attached(timeout=UI_TIMEOUT_MS)  # the state over time
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-client-stay.png"), full_page=True)


def _click_until(page: Page, button: str, done, before=None, attempts: int = 3) -> None:
    """Click ``button`` and wait for ``done()`` (an ``expect``).  On a loaded machine (the suite on two busy cores)
    a click can land while Solara is still re-rendering, on a button about to be replaced, and do nothing; as a
    person would, click again while the button is still there (``before()`` first, e.g. the tab it is on).  A
    button that never does its work still fails: it stays after every attempt."""
    for attempt in range(attempts):
        if before is not None:
            before()
        page.locator(button).click()
        try:
            done()
            return
        except AssertionError:
            if attempt == attempts - 1 or not page.locator(button).is_visible():
                raise


def _close_lesson(page: Page, name: str) -> None:
    """Go back to the Lessons tab, close the open lesson and wait for the list of lessons."""
    _click_until(
        page,
        ".close-lesson",
        lambda: expect(page.locator(f".lesson-{name} .open-lesson")).to_be_visible(timeout=UI_TIMEOUT_MS),
        before=lambda: page.get_by_role("tab", name="Lessons").click(),
    )


def test_every_shipped_lesson_opens_and_steps(session):
    from milieu_sim.app.lessons import load_lesson, shipped_lessons

    page = session.page
    for name in shipped_lessons():
        lesson = load_lesson(name)
        page.get_by_role("tab", name="Lessons").click()
        page.locator(f".lesson-{name} .open-lesson").click()
        expect(page.locator(".lesson-title")).to_have_text(lesson.title, timeout=UI_TIMEOUT_MS)
        for k in range(len(lesson.steps)):
            _click_until(
                page,
                ".lesson-next",
                lambda k=k: expect(page.locator(".lesson-step-done")).to_have_count(k + 1, timeout=UI_TIMEOUT_MS),
            )
        expect(page.locator(".lesson-finished")).to_be_visible()
        days = sum(s.days for s in lesson.steps)
        expect(page.locator(".lesson-clock")).to_contain_text(f"Day {days - 1} ·")
        if lesson.compare:
            page.get_by_role("tab", name="Two wards").click()
            expect(page.locator(".side-title")).to_have_text([w["label"] for w in lesson.compare])
            expect(page.locator("g.clients_marks").first).to_be_attached(timeout=UI_TIMEOUT_MS)
            page.wait_for_timeout(600)  # human speed: the two wards finish drawing before the next click
        if lesson.follow:
            page.get_by_role("tab", name="A client's stay").click()
            expect(page.locator(".stay-summary")).to_be_visible(timeout=UI_TIMEOUT_MS)
            page.wait_for_timeout(600)  # the stay's panels (profile, plan, reviews) finish rendering
        _close_lesson(page, name)
        # let the page settle before the next lesson: a class clicks at human speed, and Solara's front end can
        # report a destroyed widget's late message as a page error when its widgets are closed and rebuilt
        # within the same few hundred milliseconds on a loaded machine
        page.wait_for_timeout(800)
    page.wait_for_timeout(300)  # any late console message belongs to this test


def test_exports_of_the_view_and_the_tables(session, tmp_path):
    import io
    import zipfile

    import pandas as pd

    page = session.page
    page.locator(".plus-day").click()
    expect(session.clock()).to_have_text("Day 0 · Mon 06:00", timeout=UI_TIMEOUT_MS)
    with page.expect_download() as download:
        page.get_by_role("button", name="View as PNG").click()
    png = tmp_path / download.value.suggested_filename
    download.value.save_as(png)
    assert png.name == "milieu-ward-hour24.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as download:
        page.get_by_role("button", name="Tables (zip)").click()
    data = tmp_path / "tables.zip"
    download.value.save_as(data)
    tables = _expected().run(1).tables()
    with zipfile.ZipFile(io.BytesIO(data.read_bytes())) as archive:
        for name, frame in tables.items():
            saved = pd.read_csv(archive.open(f"{name}.csv"))
            assert len(saved) == len(frame), name
        stays = pd.read_csv(archive.open("stays.csv"))
        assert stays.columns.tolist() == tables["stays"].columns.tolist()


def test_presenter_mode_and_drawings_that_scale_with_the_page(session):
    page = session.page
    drawing = page.locator(".ward-drawing svg.marks")
    expect(drawing).to_be_attached(timeout=UI_TIMEOUT_MS)
    widths = []
    for width in (1600, 1250):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        box = page.locator(".ward-drawing").bounding_box()["width"]
        widths.append(drawing.bounding_box()["width"])
        assert abs(widths[-1] - box) <= 12, (widths[-1], box)  # the drawing fills its column
    assert widths[0] != widths[1]
    page.set_viewport_size({"width": 1600, "height": 1100})
    page.locator(".presenter-toggle").click()
    expect(page.locator(".milieu-app.presenter")).to_have_count(1, timeout=UI_TIMEOUT_MS)
    size = page.locator(".ward-clock").evaluate("e => getComputedStyle(e).fontSize")
    assert size == "40px"
    page.locator(".presenter-toggle").click()
    expect(page.locator(".milieu-app.presenter")).to_have_count(0, timeout=UI_TIMEOUT_MS)
