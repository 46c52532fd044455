"""Lessons: the shipped ones load and run, a teacher's own file works, bad lessons are one-line errors."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

solara = pytest.importorskip("solara")

from milieu_sim.app import controls, lessons  # noqa: E402
from milieu_sim.errors import MilieuInputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMED_IN_THE_ISSUE = ("punishment", "peer_feedback", "switch_day_30", "staff_presence", "one_client")


def test_the_five_lessons_of_the_issue_are_shipped_and_listed_first():
    assert tuple(lessons.shipped_lessons()[:5]) == NAMED_IN_THE_ISSUE


@pytest.mark.parametrize("name", lessons.shipped_lessons())
def test_every_shipped_lesson_builds_its_wards_and_takes_its_steps(name):
    lesson = lessons.load_lesson(name)
    assert lesson.title and lesson.summary and lesson.text and lesson.steps and lesson.questions and lesson.watch
    ward = controls.make_model(**lessons.lesson_controls(lesson))
    for key, value in lesson.ward.items():
        if key in ward.p and key != "policy":
            assert ward.p[key] == value, key
    assert ward.policy.name == lesson.ward.get("policy", "usual_care")
    pair = controls.Comparison.of_wards(ward, lesson.compare) if lesson.compare else None
    if pair is not None:
        assert list(pair.models) == [w["label"] for w in lesson.compare]
        assert len({w.seed for w in pair.models.values()}) == 1
    for step in lesson.steps:
        if step.switch_to:
            ward.set_policy(step.switch_to)
        ward.run(step.days)
    assert ward.hours_run == 24 * sum(s.days for s in lesson.steps)
    if "switch_to" in lesson.ward:
        assert ward.policy.name == lesson.ward["switch_to"]


def test_the_template_in_the_docs_is_a_lesson(tmp_path):
    text = (ROOT / "docs" / "lessons.md").read_text()
    toml_text = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    (tmp_path / "my_lesson.toml").write_text(toml_text)
    (tmp_path / "my_lesson.md").write_text("What the class reads first.")
    lesson = lessons.load_lesson(str(tmp_path / "my_lesson.toml"))
    assert lesson.name == "my_lesson" and lesson.text == "What the class reads first."
    assert tomllib.loads(toml_text)["title"] == lesson.title


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"ward": {"policy": "policy.toml"}}, "'ward.policy' = 'policy.toml' is not allowed"),
        ({"ward": {"staff_early": 0}}, "staff_early"),
        ({"ward": {"nonsense": 1}}, "unknown setting 'nonsense'"),
        ({"steps": [{"title": "x", "days": -1}]}, "'steps[0].days' = -1 is not allowed"),
        ({"steps": []}, "at least one [[steps]]"),
        ({"compare": [{"policy": "restrictive"}]}, "two [[compare]] tables"),
    ],
)
def test_a_bad_lesson_is_one_line_naming_the_key(change, message):
    data = {"title": "t", "summary": "s", "steps": [{"title": "a", "days": 1}], **change}
    with pytest.raises(MilieuInputError) as error:
        lessons.parse_lesson("mine", data, where="'mine.toml'")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith("lesson 'mine.toml': ")


def test_app_refuses_an_unknown_lesson_before_starting(capsys):
    from milieu_sim.cli.main import main

    assert main(["app", "--lesson", "nope", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'lesson' = 'nope' is not allowed; allowed: punishment, peer_feedback" in err
    assert err.count("\n") == 1


def test_the_page_opens_the_lesson_the_command_line_named(monkeypatch):
    from milieu_sim.app import page

    monkeypatch.setenv(page.LESSON_ENV, json.dumps({"name": "one_client", "source": "one_client"}))
    page.open_lesson.set(None)
    _box, rc = solara.render(page.Page(), handle_error=False)
    try:
        assert page.current_page.value == page.LESSONS
        assert page.open_lesson.value is not None and page.open_lesson.value.name == "one_client"
        texts = " ".join(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets)
        assert "One client&#x27;s stay" in texts or "One client's stay" in texts
        assert page.selected_client.value is not None  # the lesson follows the newest client
    finally:
        rc.close()
        page.open_lesson.set(None)
        page.current_page.set(page.WARD)
