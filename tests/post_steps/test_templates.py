"""The canned-steps templates: every shipped file is usable, and a broken one is reported clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.features.post_steps.template_files import (
    PACKAGED_DIR,
    TEMPLATE_NAMES,
    TemplateError,
    load_templates,
    template_name,
)
from commands.policy import Utility, policy_for
from commands.post_steps import (
    PLACEHOLDERS,
    StepTemplate,
    check_back_days,
    fill_template,
    placeholders_used,
    stated_waits,
    validate_template,
)
from commands.rules import Action

VALUES = {
    "authorization_count": "3",
    "check_back_date": "Friday, December 4",
    "check_back_days": "7 days",
    "company": "OhmConnect",
    "ticket_id": "4521",
    "reasons": "re-authorized 9 days ago and still not connected",
    "verification_days": "5-7 days",
}


def test_every_shipped_template_loads() -> None:
    templates = load_templates()
    assert sorted(templates) == sorted(TEMPLATE_NAMES)
    assert len(TEMPLATE_NAMES) == 10


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_shipped_template_validates_and_renders(name: str) -> None:
    template = load_templates()[name]
    assert validate_template(f"{name}.txt", template.text) == []

    text = fill_template(template, VALUES)

    assert text.strip() == text and text
    assert not any(line.lstrip().startswith("#") for line in text.splitlines())
    assert "$" not in text
    assert "OhmConnect" in text
    assert "[policy]" not in text  # the policy markers are comments for the lead, never posted


def test_the_templates_carry_the_documented_facts() -> None:
    templates = load_templates()
    # The verification times come from commands/policy.py, the one place that states them.
    sce_days, pge_days = (policy_for(u).verification_days_text for u in (Utility.SCE, Utility.PGE))
    sce = fill_template(templates["sce_reauth"], {**VALUES, "verification_days": sce_days})
    assert "Third Party Authorizations" in sce and "Select All Data Types" in sce
    assert "Revoke every OhmConnect authorization" in sce and "(we count 3 on your account)" in sce
    assert "takes 5-7 days" in sce and "only once" in sce
    pge = fill_template(templates["pge_reauth"], {**VALUES, "verification_days": pge_days})
    assert "indefinite" in pge and "takes 4-6 days" in pge and "Reconnect" in pge
    assert "up to 2 weeks" in fill_template(templates["pge_connect"], VALUES)
    escalation = fill_template(templates["escalate"], VALUES)
    assert "4521" in escalation and VALUES["reasons"] in escalation


@pytest.mark.parametrize("name", ["sdge_reauth", "sdge_connect", "sdge_wait"])
def test_sdge_templates_mark_where_the_documented_facts_end(name: str) -> None:
    comments = [line for line in load_templates()[name].text.splitlines() if line.startswith("#")]
    assert any(line.startswith("# [policy]") for line in comments)


def test_no_template_asks_for_customer_names() -> None:
    for template in load_templates().values():
        assert placeholders_used(template) <= PLACEHOLDERS.keys()


@pytest.mark.parametrize(
    ("utility", "action", "expected"),
    [
        ("SCE", "REAUTH", "sce_reauth"),
        ("PGE", "CONNECT", "pge_connect"),
        ("SDGE", "wait", "sdge_wait"),
        ("PG&E", "WAIT", "pge_wait"),
        (Utility.SDGE, "REAUTH", "sdge_reauth"),
        ("SCE", "ESCALATE", "escalate"),
        ("PGE", "escalate", "escalate"),
    ],
)
def test_template_name(utility: str, action: str, expected: str) -> None:
    assert template_name(utility, action) == expected
    assert expected in TEMPLATE_NAMES


@pytest.mark.parametrize(("utility", "action"), [("SCE", "HEALTHY"), ("ConEd", "REAUTH"), ("SCE", "")])
def test_template_name_refuses_what_has_no_steps(utility: str, action: str) -> None:
    with pytest.raises(ValueError, match="no canned steps"):
        template_name(utility, action)


# --- rendering ---------------------------------------------------------------------------------


def test_render_strips_comments_fills_placeholders_and_keeps_dollars() -> None:
    template = StepTemplate(
        "demo",
        "# for the lead: $anything goes in a comment\n"
        "Hello from ${company}.\n"
        "   # an indented comment\n"
        "\n\n\n"
        "Costs $$0. Ticket #$ticket_id stays.\n",
    )
    assert fill_template(template, {"company": "OhmConnect", "ticket_id": "7"}) == (
        "Hello from OhmConnect.\n\nCosts $0. Ticket #7 stays."
    )


def test_render_names_a_missing_value() -> None:
    with pytest.raises(ValueError, match=r"no value for \$check_back_date"):
        fill_template(StepTemplate("demo", "Back on $check_back_date."), {"company": "X"})


def test_render_refuses_an_invalid_template() -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill_template(StepTemplate("demo", "Hi $customer_first_name"), VALUES)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hi $customer_first_name,\nsteps", "demo.txt line 1: unknown placeholder $customer_first_name"),
        ("Steps\nthen wait ${check_back_date", "demo.txt line 2: '$' must be followed by a placeholder name"),
        ("It costs $ 5", "demo.txt line 1: '$' must be followed"),
        ("Price: $5", "demo.txt line 1: '$' must be followed"),
        ("Wait until $Check_back_date", "unknown placeholder $Check_back_date"),
        ("# only a comment\n\n", "demo.txt: nothing to post"),
        ("", "demo.txt: nothing to post"),
    ],
)
def test_validate_template_reports_each_problem(text: str, problem: str) -> None:
    problems = validate_template("demo.txt", text)
    assert any(found.startswith(problem) or problem in found for found in problems), problems


def test_validate_template_accepts_braced_and_escaped() -> None:
    assert validate_template("ok.txt", "By ${check_back_date}: $$10 off, from $company.") == []


# --- loading from a folder -------------------------------------------------------------------------


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(PACKAGED_DIR, folder)
    return folder


def test_a_copied_folder_loads(templates_dir: Path) -> None:
    (templates_dir / "sce_wait.txt").write_text("# edited\nWait until $check_back_date, please.\n", encoding="utf-8")
    templates = load_templates(templates_dir)
    assert fill_template(templates["sce_wait"], VALUES) == "Wait until Friday, December 4, please."


def test_every_broken_file_is_reported_in_one_error(templates_dir: Path) -> None:
    (templates_dir / "sce_reauth.txt").write_text("Hi $customer_first_name\n", encoding="utf-8")
    (templates_dir / "pge_wait.txt").write_text("Steps\nBack on $check_back_date, costs $5\n", encoding="utf-8")
    (templates_dir / "escalate.txt").write_text("# nothing but a comment\n", encoding="utf-8")

    with pytest.raises(TemplateError) as caught:
        load_templates(templates_dir)

    message = str(caught.value)
    assert "3 problem(s)" in message and str(templates_dir) in message
    assert "sce_reauth.txt line 1: unknown placeholder $customer_first_name" in message
    assert "pge_wait.txt line 2: '$' must be followed by a placeholder name" in message
    assert "escalate.txt: nothing to post" in message
    assert len(caught.value.problems) == 3


def test_missing_unexpected_and_unreadable_files_are_reported(templates_dir: Path) -> None:
    (templates_dir / "sdge_wait.txt").rename(templates_dir / "sdge_wiat.txt")
    (templates_dir / "pge_connect.txt").write_bytes(b"\xff\xfe not utf-8 \xff")

    with pytest.raises(TemplateError) as caught:
        load_templates(templates_dir)

    problems = caught.value.problems
    assert "sdge_wait.txt: missing" in problems
    assert any(problem.startswith("sdge_wiat.txt: unexpected file") for problem in problems)
    assert any(problem.startswith("pge_connect.txt: cannot be read as UTF-8") for problem in problems)


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is not a folder"):
        load_templates(tmp_path / "nowhere")


def test_templates_check_catches_a_wait_that_contradicts_its_date(templates_dir: Path) -> None:
    # The old PG&E wait: "up to 2 weeks for a first connection", then a date 7 days after the authorization.
    (templates_dir / "pge_wait.txt").write_text(
        "PG&E is confirming it: $verification_days after a reconnect, and up to 2 weeks for a first "
        "connection.\nIf you are still not connected by $check_back_date, reply to this message.\n"
    )
    (templates_dir / "sce_reauth.txt").write_text(  # a wait from a placeholder is judged too: 5-7 days is fine
        "SCE takes $verification_days. If it doesn't show Silver by $check_back_date, reply.\n"
    )
    (templates_dir / "sdge_wait.txt").write_text("SDG&E can take up to 10 days. Reply if you need help.\n")  # no date
    with pytest.raises(TemplateError) as caught:
        load_templates(templates_dir)
    assert caught.value.problems == [
        "pge_wait.txt: says “2 weeks” (14 days) but gives the customer a date 7 days away ($check_back_date): "
        "they would come back before the wait is over"
    ]


def test_a_connect_date_at_pge_is_two_weeks_away_as_the_wait_it_states() -> None:
    assert check_back_days(Utility.PGE, Action.CONNECT) == 14
    assert check_back_days(Utility.PGE, Action.REAUTH) == check_back_days(Utility.SCE, Action.CONNECT) == 7
    assert stated_waits("up to 2 weeks, or 5-7 days, within a week") == [
        ("2 weeks", 14), ("5-7 days", 7), ("a week", 7)]


def test_every_customer_template_thanks_gives_silver_and_starts_from_the_company() -> None:
    templates = load_templates()
    for name in TEMPLATE_NAMES:
        if name == "escalate":
            continue
        text = fill_template(templates[name], VALUES)
        assert text.startswith("Thanks") and text.splitlines()[-1].startswith("Thanks"), name
        assert "Silver" in text, name
        if name.endswith(("_connect", "_reauth")):
            assert "$company account settings" not in text and "OhmConnect account settings" in text, name
    sce = fill_template(templates["sce_reauth"], VALUES)
    assert "doesn't show Silver 7 days after you click Submit (Friday, December 4 if you do it today)" in sce
    assert "all data types" in fill_template(templates["pge_reauth"], VALUES)
