"""The app as a person uses it: `milieu-sim app` in a subprocess, driven in headless Chromium.

Chromium is Debian's package (``/usr/bin/chromium``, listed in .ci/apt-packages.txt)
driven by Playwright from PyPI; no browser is downloaded.  Without /usr/bin/chromium
these tests skip.  Every test opens a fresh page, which gets a fresh ward (seed 0).
The expected numbers come from the same seeded model run in this process.
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
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self._request)

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
    assert s.errors == [], "the browser console reported errors"
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
    assert on_duty == model.p["staff_early"]  # the early shift is on the ward before the first hour
    expect(session.markers("staff")).to_have_count(on_duty)
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
    page.get_by_role("tab", name=re.compile("Page 1", re.I)).click()
    session.choose("Left ward", "restrictive")
    session.choose("Right ward", "therapeutic_milieu")
    page.locator(".start-both").click()
    wards = page.locator(".side-ward")
    expect(wards).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(wards.nth(0).locator(".side-title")).to_have_text("restrictive")
    expect(wards.nth(1).locator(".side-title")).to_have_text("therapeutic_milieu")
    for i in range(2):
        expect(wards.nth(i).locator("g.clients_marks > path")).to_have_count(20, timeout=UI_TIMEOUT_MS)
    page.locator(".both-plus-day").click()
    base = _expected()
    pair = controls.Comparison.start(base, ("restrictive", "therapeutic_milieu"))
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
