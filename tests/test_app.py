"""The browser app without a browser: the page builds, its controls come from SCHEMA, its scenarios work."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

solara = pytest.importorskip("solara")

from milieu_sim.app import charts, clock, controls, page, ward_drawing  # noqa: E402
from milieu_sim.model.model import MilieuModel  # noqa: E402
from milieu_sim.model.params import SCHEMA  # noqa: E402
from milieu_sim.model.policies import PRESETS  # noqa: E402


def test_importing_the_app_builds_no_model_and_starts_no_server():
    modules = ("page", "ward_drawing", "charts", "controls", "clock")
    code = (
        f"import sys, importlib, mesa; ms = [importlib.import_module('milieu_sim.app.' + m) for m in {modules!r}];"
        "assert not any(isinstance(v, mesa.Model) for a in ms for v in vars(a).values());"
        "assert 'uvicorn' not in sys.modules, 'a server module was imported';"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_page_builds_without_a_browser():
    _box, rc = solara.render(page.Page(), handle_error=False)
    try:
        texts = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
        clock = [t for t in texts if "ward-clock" in t]
        assert clock, "the ward view with its clock was not rendered"
        assert "Day 0 · Mon 07:00 (not started" in clock[0]
        assert any("milieu-legend" in t and "seclusion room" in t for t in texts), "no legend"
        assert rc.find(solara.widgets.VegaLite).widgets, "no chart was rendered"
    finally:
        rc.close()


def test_controls_come_from_the_schema():
    params = controls.model_params()
    for name in controls.CONTROLS:
        spec = params[name]
        schema = SCHEMA[name]
        if schema.kind is bool:
            assert spec["type"] == "Select"
            assert set(spec["values"]) == {controls.POLICY_DECIDES, "on", "off"}
            continue
        assert spec["value"] == schema.default, name
        if schema.kind in (int, float):
            assert spec["min"] == schema.low, name
            assert spec["max"] <= schema.high, name
            assert spec["max"] > spec["value"], name
    assert params["setting"]["values"] == list(SCHEMA["setting"].choices)
    assert params["policy"]["values"] == list(PRESETS)
    assert params["reinforcement_rate"]["type"] == "SliderFloat"
    assert params["isolation_threshold"]["type"] == "SliderInt"
    assert (params["isolation_threshold"]["min"], params["isolation_threshold"]["max"]) == (
        SCHEMA["isolation_threshold"].low,
        SCHEMA["isolation_threshold"].high,
    )
    # every control is accepted by the model the app builds
    model = controls.make_model()
    assert model.policy.name == SCHEMA["policy"].default
    assert model.seed == controls.DEFAULT_SEED


def test_untouched_controls_leave_the_policy_its_levers():
    model = controls.make_model(policy="therapeutic_milieu")
    assert model.p["reinforcement_rate"] == PRESETS["therapeutic_milieu"]["reinforcement_rate"]
    assert model.p["peer_feedback"] is True
    moved = controls.make_model(policy="therapeutic_milieu", reinforcement_rate=0.9, peer_feedback="off")
    assert moved.p["reinforcement_rate"] == 0.9
    assert moved.p["peer_feedback"] is False


def test_app_model_matches_the_plain_model_with_the_same_seed():
    ours = controls.make_model(seed="7", policy="restrictive").run(2)
    plain = MilieuModel(policy="restrictive", rng=7, warm_start_days=controls.WARM_START_DAYS).run(2)
    assert ours.tables()["steps"].equals(plain.tables()["steps"])
    cold = controls.make_model(seed="7", policy="restrictive", warm_start_days=0).run(2)
    assert cold.tables()["steps"].equals(MilieuModel(policy="restrictive", rng=7).run(2).tables()["steps"])


def test_bad_seed_is_one_clear_error():
    with pytest.raises(Exception, match="parameter 'seed' = 'abc' is not allowed"):
        controls.make_model(seed="abc")


def test_switch_policy_now_changes_the_model_policy():
    model = controls.make_model(policy="restrictive")
    model.run(1)
    model.set_policy("therapeutic_milieu")
    assert model.policy.name == "therapeutic_milieu"
    assert model.p["punishment_rate"] == PRESETS["therapeutic_milieu"]["punishment_rate"]
    assert model.policy_log == [(0, "restrictive"), (24, "therapeutic_milieu")]  # hours on the clock


def test_scheduled_switch_happens_on_the_chosen_day():
    model = controls.make_model(policy="restrictive", switch_to="therapeutic_milieu", switch_day=2)
    assert model.policy.name == "restrictive"
    model.run(2)  # days 0 and 1
    assert model.policy.name == "restrictive"
    assert model.p["punishment_rate"] == PRESETS["restrictive"]["punishment_rate"]
    model.step()  # the first hour of day 2
    assert model.hour.day == 2
    assert model.policy.name == "therapeutic_milieu"
    assert model.p["punishment_rate"] == PRESETS["therapeutic_milieu"]["punishment_rate"]
    assert model.policy_log[-1] == (49, "therapeutic_milieu")
    rules = charts._switch_rules(model)
    assert rules["time"].tolist() == [2.0]


def test_two_wards_share_the_seed_and_differ_in_policy():
    base = controls.make_model(seed="3", staff_early=7, warm_start_days=0)
    pair = controls.Comparison.start(base, ("restrictive", "therapeutic_milieu"))
    left, right = pair.models["restrictive"], pair.models["therapeutic_milieu"]
    assert left.seed == right.seed == 3
    assert left.p["staff_early"] == right.p["staff_early"] == 7
    assert left.p["punishment_rate"] != right.p["punishment_rate"]
    first = [a.state() for a in left.clients_present]
    assert first == [a.state() for a in right.clients_present]  # the same clients arrive
    for ward in (left, right):
        ward.run(3)
    assert not left.tables()["events"].equals(right.tables()["events"])
    chart = charts.comparison_chart(pair).to_dict()
    assert len(chart["vconcat"]) == 3


def test_ward_drawing_shows_every_client_and_staff_member_on_duty():
    model = controls.make_model(seed="1")
    model.run(1)
    clients = ward_drawing.client_frame(model)
    staff = ward_drawing.staff_frame(model)
    assert len(clients) == sum(a.cell is not None for a in model.clients_present) == model.census
    assert len(staff) == model.staff_on_duty
    spec = ward_drawing.ward_chart(model, "trust", selected=int(clients["client_id"].iloc[0])).to_dict()
    names = [layer.get("name") for layer in spec["layer"]]
    assert names[:3] == ["floor", "staff", "clients"]
    assert "selected" in names
    floor = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert {row["zone"] for row in floor} == set(ward_drawing.ZONE_LABELS.values())


def test_events_of_the_hour_are_placed_at_the_client():
    model = controls.make_model(seed="0", policy="restrictive")
    found = None
    for _ in range(24 * 7):
        model.step()
        events = ward_drawing.events_this_hour(model)
        if len(events):
            found = events.iloc[0]
            break
    assert found is not None, "no incident, de-escalation or containment in a restrictive week"
    agent = next(a for a in model.clients_present if a.unique_id == found["client_id"])
    assert (found["x"], found["y"]) == agent.cell.coordinate
    assert found["category"] in ward_drawing.EVENT_MARKERS


def test_client_history_lists_recent_events_newest_first():
    model = controls.make_model(seed="0", policy="restrictive").run(3)
    events = model.tables()["events"]
    recent = events[events["step"] > model.hours_run - ward_drawing.RECENT_HOURS]
    client_id = int(recent["client_id"].mode().iloc[0])
    history = ward_drawing.client_history(model, client_id)
    assert len(history) >= (recent["client_id"] == client_id).sum()
    assert history["step"].is_monotonic_decreasing
    assert history["step"].min() > model.hours_run - ward_drawing.RECENT_HOURS
    assert history["step"].max() <= model.hours_run  # counted on the clock, as in the tables


def test_chart_series_are_the_shifts_table():
    model = controls.make_model(seed="2", policy="restrictive").run(3)
    model.step()  # and one hour into the next ward day: a shift that has begun is a row of both
    series = charts.shift_series(model)
    shifts = model.tables()["shifts"]
    assert len(series) == len(shifts) == 3 * 3 + 1
    assert series["day"].tolist() == shifts["day"].tolist()
    assert series["shift"].tolist() == shifts["shift"].astype(str).tolist()
    assert series["conflict"].tolist() == shifts["conflict_events"].tolist()
    assert series["containment"].tolist() == shifts["containment_events"].tolist()
    assert series["census"].tolist() == shifts["census"].tolist()
    assert shifts["containment_events"].sum() > 0  # a restrictive ward contains someone in three days
    steps = model.tables()["steps"]
    night = steps[(steps["day"] == 1) & (steps["shift"] == "night")]  # 23:00-07:00, across midnight
    row = series[(series["day"] == 1) & (series["shift"] == "night")].iloc[0]
    assert row["skill"] == pytest.approx(night["mean_skill"].mean())
    assert row["isolated"] == night["n_isolated"].max()
    assert row["time"] == pytest.approx(1 + 2 / 3)
    climate = [c for c in charts.CLIMATE if c in shifts.columns]  # the ward climate, once the model has it
    for column in climate:
        assert series[column].tolist() == pytest.approx(shifts[column].tolist())
    assert len(charts.charts(model)) == 3 + bool(climate)


def test_clock_names_the_ward_day_by_the_weekday_it_began():
    model = controls.make_model(seed="0")
    seen = {}  # ward day -> the model's weekday in the day's first hour (07:00)
    labels = {}
    for _ in range(24 * 8):
        model.step()
        h = model.hour
        seen.setdefault(h.day, h.weekday)
        labels[model.hours_run] = clock.clock_lines(model)[0]
        day, weekday, time = labels[model.hours_run].removeprefix("Day ").replace(" · ", " ").split(" ")
        assert int(day) == h.day
        assert weekday == clock.WEEKDAYS[seen[h.day]]
        assert time == f"{h.hour:02d}:00"
        assert clock.step_label(model.hours_run) == labels[model.hours_run]
    assert labels[1] == "Day 0 · Mon 07:00"  # the first hour
    assert labels[24] == "Day 0 · Mon 06:00"  # an hour before the 07:00 turn: still Monday's ward day
    assert labels[25] == "Day 1 · Tue 07:00"  # 24 hours after the first hour
    assert labels[24 * 7] == "Day 6 · Sun 06:00"  # Monday 06:00 on the calendar, the end of Sunday's ward day
    assert labels[24 * 7 + 1] == "Day 7 · Mon 07:00"


# --- the command line: `milieu-sim app` and `milieu-sim animate` ----------------------------------------
def _run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    from milieu_sim.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("app", "--port", "99999"), "parameter 'port' = '99999' is not allowed"),
        (("app", "--port", "http"), "parameter 'port' = 'http' is not allowed"),
        (("animate", "--days", "1", "--out", "ward.png"), "allowed: a file name ending in .gif"),
        (("animate", "--days", "1", "--out", "ward.gif", "--seed", "-1"), "parameter 'seed' = '-1'"),
        (("animate", "--days", "0", "--out", "ward.gif"), "parameter 'days' = '0' is out of range"),
        (("animate", "--policy", "nice", "--days", "1", "--out", "ward.gif"), "parameter 'policy' = 'nice'"),
        (("animate", "--days", "1"), "the following arguments are required: --out"),
    ],
)
def test_cli_input_errors_are_one_line_with_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _out, err = _run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "ward.gif").exists()


def test_app_refuses_a_port_in_use(capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = _run_cli(capsys, "app", "--port", str(port))
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert out == ""


def test_animate_writes_a_gif_with_one_frame_per_chosen_hour(capsys, tmp_path):
    from PIL import Image

    out = tmp_path / "slides" / "ward.gif"
    code, stdout, err = _run_cli(
        capsys, "animate", "--policy", "restrictive", "--days", "1", "--every", "6", "--seed", "3", "--out", str(out)
    )
    assert code == 0, err
    assert f"wrote {out} (4 frames" in stdout
    with Image.open(out) as gif:
        assert gif.n_frames == 4
        first = gif.convert("RGB").tobytes()
        gif.seek(3)
        last = gif.convert("RGB").tobytes()
    assert first != last  # the clock and the people moved


def test_offline_assets_answer_major_version_requests(tmp_path):
    from milieu_sim.cli.app import bundled_assets, offline_assets

    bundle = tmp_path / "bundle"
    (bundle / "vega@5.21.0" / "build").mkdir(parents=True)
    (bundle / "vega@5.21.0" / "build" / "vega.min.js").write_text("new")
    (bundle / "vega@5.9.1" / "build").mkdir(parents=True)
    (bundle / "vega@5.9.1" / "build" / "vega.min.js").write_text("old")
    (bundle / "@scope" / "widget@2.3.4").mkdir(parents=True)
    (bundle / "@scope" / "widget@2.3.4" / "index.js").write_text("w")
    cache = offline_assets(bundle, tmp_path / "cache")
    assert (cache / "vega@5" / "build" / "vega.min.js").read_text() == "new"
    assert (cache / "vega@5.9" / "build" / "vega.min.js").read_text() == "old"
    assert (cache / "vega@5.21.0" / "build" / "vega.min.js").read_text() == "new"
    assert (cache / "@scope" / "widget@2" / "index.js").read_text() == "w"
    # the real bundle (solara-assets) has what Solara's Altair widget asks for
    real = offline_assets(bundled_assets(), tmp_path / "real")
    for path in (
        "vega@5/build/vega.min.js",
        "vega-lite@5/build/vega-lite.min.js",
        "vega-embed@6/build/vega-embed.min.js",
    ):
        assert (real / path).is_file(), path


def test_switching_by_hand_cancels_the_scheduled_switch():
    model = controls.make_model(policy="restrictive", switch_to="therapeutic_milieu", switch_day=1)
    assert isinstance(model.policy, controls.ScheduledSwitch)
    model.step()
    model.set_policy("custodial")
    assert not isinstance(model.policy, controls.ScheduledSwitch)
    model.run(2)
    assert model.policy.name == "custodial"
    assert [name for _, name in model.policy_log] == ["restrictive", "custodial"]


def test_a_bad_scheduled_policy_fails_at_once():
    with pytest.raises(Exception, match="parameter 'switch_to' = 'kind_ward'"):
        controls.make_model(switch_to="kind_ward")


# --- issue 16: no widget value is a path; a bind beyond this machine is said; animate streams atomically ---
def test_a_policy_file_name_from_the_page_is_refused_and_never_opened(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.toml").write_text('name = "planted"\n[parameters]\npunishment_rate = 0.9\n')
    opened = []
    import builtins

    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k))
    for build in (
        lambda: controls.make_model(policy="policy.toml"),
        lambda: controls.make_model(switch_to="policy.toml"),
        lambda: controls.make_model().set_policy("policy.toml"),
        lambda: controls.Comparison.start(controls.make_model(warm_start_days=0), ("usual_care", "policy.toml")),
    ):
        with pytest.raises(Exception, match=r"= 'policy\.toml' is not allowed; allowed: one of usual_care") as error:
            build()
        assert "the app opens no files" in str(error.value)
    assert not [f for f in opened if f.endswith("policy.toml")]


@pytest.mark.parametrize(
    ("host", "warned"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True), ("192.0.2.1", True)],
)
def test_a_bind_beyond_this_machine_warns_that_the_app_has_no_authentication(host, warned):
    from milieu_sim.cli.app import is_loopback

    assert is_loopback(host) is not warned


def test_app_on_every_interface_prints_the_warning(capsys, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)  # no server: only what is printed first
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _out, err = _run_cli(capsys, "app", "--host", "0.0.0.0", "--port", str(port))
    assert code == 0
    assert "warning: listening on 0.0.0.0" in err and "no authentication" in err
    code, _out, err = _run_cli(capsys, "app", "--port", str(port))
    assert code == 0 and "warning" not in err


def test_an_interrupted_animation_leaves_no_gif(capsys, tmp_path, monkeypatch):
    out = tmp_path / "ward.gif"
    out.write_bytes(b"an older animation")
    calls = {"n": 0}
    real_step = MilieuModel.step

    def step(self):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(MilieuModel, "step", step)
    code, _stdout, err = _run_cli(capsys, "animate", "--days", "2", "--every", "3", "--out", str(out))
    assert code == 130 and "interrupted" in err
    assert out.read_bytes() == b"an older animation"  # untouched: the new one never replaced it
    assert [p.name for p in tmp_path.iterdir()] == ["ward.gif"]  # and no partial file is left


def test_animation_frames_go_to_disk_one_at_a_time(tmp_path):
    from milieu_sim.app.export import StreamingGif

    frame = np.zeros((40, 60, 3), dtype=np.uint8)
    sizes = []
    with StreamingGif(tmp_path / "a.gif", fps=5) as gif:
        for k in range(4):
            frame[:, : 10 * (k + 1)] = 200
            gif.add(frame)
            sizes.append(gif.partial.stat().st_size)
            assert not (tmp_path / "a.gif").exists()  # not in place until complete
    assert sizes == sorted(sizes) and sizes[0] > 0  # each frame is on disk as soon as it is added
    from PIL import Image

    with Image.open(tmp_path / "a.gif") as image:
        assert image.n_frames == 4 and image.size == (60, 40)
        image.seek(3)
        assert np.asarray(image.convert("RGB"))[0, 35].tolist() == [200, 200, 200]


# --- issue 17: exports, chart versions, empty charts, warm start ------------------------------------------
def test_exports_are_a_png_and_a_zip_of_the_tables():
    import io
    import zipfile

    from milieu_sim.app import export

    model = controls.make_model(seed="1").run(1)
    assert export.view_png(model)[:8] == b"\x89PNG\r\n\x1a\n"
    pair = controls.Comparison.start(model, ("restrictive", "usual_care"))
    assert export.view_png(model, "two", pair=pair)[:8] == b"\x89PNG\r\n\x1a\n"
    with zipfile.ZipFile(io.BytesIO(export.tables_zip(model))) as archive:
        names = set(archive.namelist())
        tables = model.tables()
        assert names == {f"{n}.csv" for n in tables} | {"run.json"}
        events = pd.read_csv(archive.open("events.csv"))
        assert len(events) == len(tables["events"]) and events["step"].min() >= 1


def test_charts_say_the_bundled_vega_lite_version():
    from milieu_sim.cli.app import bundled_assets

    assert (bundled_assets() / f"vega-lite@{charts.BUNDLED_VEGA_LITE}").is_dir()
    spec = charts.vega_spec(charts.charts(controls.make_model(seed="1").run(1))[0])
    assert spec["$schema"].endswith(f"/v{charts.BUNDLED_VEGA_LITE}.json")


def test_the_app_opens_on_a_ward_already_running():
    model = controls.make_model()
    assert model.hours_run == 0 and model.clock_start == 24 * controls.WARM_START_DAYS
    assert clock.clock_lines(model)[0].startswith("Day 0 · Mon 07:00 (not started")
    days = sorted(a.days_in_treatment for a in model.clients_present)
    assert days[-1] - days[0] > 14  # clients at different points of their stays
    assert charts.shift_series(model).empty and model.tables()["events"].empty


# --- issue 13: the client panel (profile, plan, reviews) and the outpatient group in the app ---------------
def test_client_panel_shows_the_profile_the_plan_and_its_reviews():
    from milieu_sim.app.client_panel import client_panel, client_panel_html
    from milieu_sim.model.processes.planning import plan_summary

    model = MilieuModel(rng=4, days=30).run(21)  # three weeks: admissions, weekly reviews, some exits
    tables = model.tables()
    plans = tables["plans"] if "plans" in tables else model.records.plans_frame()  # (no warm start: days agree)
    agent = max(model.clients_present, key=lambda a: int((plans["client_id"] == a.unique_id).sum()))
    content = client_panel(model, agent.unique_id)
    profile = content["profile"]
    assert profile["legal_status"] in ("voluntary", "detained") and 0.0 <= profile["support"] <= 1.0
    assert profile["where"] == "on the unit"
    assert content["plan"] == plan_summary(model, agent.slot) and content["plan"]
    mine = plans[plans["client_id"] == agent.unique_id].reset_index(drop=True)
    assert len(mine) and content["reviews"][list(mine.columns)].equals(mine)
    text = client_panel_html(content, reviews=None)
    assert profile["diagnosis"].replace("_", " ") in text
    assert text.count("<tr>") == len(profile) - 1 + 1 + len(content["plan"]) + 1 + len(mine)  # rows + headers
    short = client_panel_html(content, reviews=2)
    assert short.count("<tr>") == text.count("<tr>") - len(mine) + min(2, len(mine))
    # a client who has left: the profile from the stays table, no current plan, the plan's history
    here = {a.unique_id for a in model.clients_present}  # (a readmitted person is here again, with a plan)
    ended = tables["stays"][tables["stays"]["exit_reason"] != "still_present"]
    gone = ended[~ended["client_id"].isin(here)].iloc[0]
    left = client_panel(model, int(gone["client_id"]))
    assert left["plan"] == [] and left["profile"]["where"] == "left"
    assert left["profile"]["diagnosis"] == gone["diagnosis"]
    assert client_panel(model, 10**6) is None


def test_the_app_runs_an_outpatient_group_with_clients_at_home():
    from milieu_sim.app.client_panel import client_panel

    assert "outpatient_group" in controls.user_param("setting")["values"]  # the setting chooser
    model = controls.make_model(setting="outpatient_group", warm_start_days=28)
    assert model.census == 0  # Monday 07:00: everyone at home
    assert len(ward_drawing.client_frame(model)) == 0
    ward_drawing.ward_chart(model, "agitation", None)
    charts.charts(model)
    agent = model.clients_present[0]
    assert client_panel(model, agent.unique_id)["profile"]["where"] == "at home"
    while not (model.hour.weekday == 2 and model.hour.hour == 17):  # to the group, on Wednesday 17:00
        model.step()
    assert model.census > 0 and len(ward_drawing.client_frame(model)) == model.census
    assert clock.clock_lines(model)[1].endswith("activity: group")
