"""Company and role data: the repository's files load, every reference resolves, and bad files are reported with the
file and the field (all problems at once, not the first one)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sitegen import companies as data
from sitegen.companies import CompanyDataError, load, prose_problems

REQUIRED = {"openai", "anthropic", "google-deepmind", "meta", "amazon", "microsoft", "netflix", "stripe", "databricks",
            "xai", "cohere", "mistral", "cursor", "replit", "hugging-face"}
ROLES = {"ml-engineer", "ml-systems-engineer", "applied-scientist", "research-engineer", "applied-ai-engineer",
         "inference-engineer", "evaluation-engineer", "forward-deployed-engineer", "ai-security-engineer"}


@pytest.fixture(scope="module")
def loaded(root):
    return load(root)


def test_repository_data_loads_with_every_reference_resolved(loaded):
    assert REQUIRED <= {c.id for c in loaded.companies}
    assert ROLES <= {r.id for r in loaded.roles.roles}


def test_every_lens_is_a_shared_lens_id(loaded, root):
    shared = {"cost-first", "latency-first", "reliability-and-audit", "safety-and-evaluation", "scale-and-efficiency",
              "developer-experience"}
    assert set(data.LENSES) == shared
    assert {c.review_lens for c in loaded.companies} <= shared
    lenses_file = root / "widgets" / "sizing" / "data" / "lenses.json"
    if lenses_file.is_file():  # the design-review engine's lens table, once it exists
        import json

        document = json.loads(lenses_file.read_text(encoding="utf-8"))
        ids = {item["id"] for item in document.get("lenses", [])} if isinstance(document, dict) else set()
        assert {c.review_lens for c in loaded.companies} <= ids


def test_each_sized_question_shows_at_least_three_values(loaded):
    for c in loaded.companies:
        keys = set(c.sized.derive)
        for text in (c.summary, c.sized.narrative):
            keys.update(data.marker_keys(text))
        assert len(keys) >= 3, c.id
        assert c.sized.derive, c.id


def test_cross_references_resolve_against_transcripts_and_calculators(loaded, root):
    transcripts = data.known_transcripts(root)
    widgets = data.known_widgets(root)
    docs = root / "docs"
    for c in loaded.companies:
        assert all((docs / chapter).is_file() for chapter in c.chapters), c.id
        assert c.sized.widget in widgets
        if transcripts is not None:
            assert set(c.transcripts) <= transcripts, c.id
    for r in loaded.roles.roles:
        assert all((docs / chapter).is_file() for chapter in r.chapters), r.id


def test_no_compensation_figures(root):
    for path in (root / "companies").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "$" not in text, path.name


# ---------------------------------------------------------------------------------------------------------------------
# Bad files, written to a temporary copy of the data


def _copy(root: Path, tmp: Path) -> Path:
    folder = tmp / "companies"
    folder.mkdir()
    for name in ("openai.yaml", "roles.yaml"):
        shutil.copy(root / "companies" / name, folder / name)
    return folder


def _edit(path: Path, change) -> None:
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(record)
    path.write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _problems(tmp: Path, **kwargs) -> list[str]:
    with pytest.raises(CompanyDataError) as caught:
        load(tmp, check_references=False, **kwargs)
    return caught.value.problems


def test_a_valid_copy_loads(root, tmp_path):
    _copy(root, tmp_path)
    d = load(tmp_path, check_references=False)
    assert [c.id for c in d.companies] == ["openai"]


def test_every_schema_error_is_reported_with_file_and_field(root, tmp_path):
    folder = _copy(root, tmp_path)

    def break_it(record):
        del record["traps"]
        record["review_lens"] = "vibes-first"
        record["emphasis"][0]["topic"] = "astrology"
        record["emphasis"][1]["source"] = "nowhere"
        record["summary"] = "A loop that runs 4 rounds of design and pays well, nothing else worth saying here at all."
        record["leveling"]["note"] = "IC5 total comp is large."
        record["sized_question"]["widget"] = "abacus"
        record["level_deltas"][0]["upper"] = "IC9"
        record["colour"] = "blue"

    _edit(folder / "openai.yaml", break_it)
    problems = _problems(tmp_path)
    where = "companies/openai.yaml"
    expected = {
        "traps": "is required",
        "review_lens": "must be one of",
        "emphasis[0].topic": "must be one of",
        "emphasis[1].source": "names source 'nowhere'",
        "summary": "typed number '4'",
        "leveling.note": "compensation",
        "sized_question.widget": "must be a calculator widget",
        "level_deltas[0].upper": "is not on the ladder",
        "colour": "unknown field",
    }
    for field, message in expected.items():
        assert any(p.startswith(f"{where}: {field}: ") and message in p for p in problems), (field, problems)


def test_role_errors_name_the_roles_file_and_field(root, tmp_path):
    folder = _copy(root, tmp_path)

    def break_it(record):
        record["roles"][0]["rounds"]["coding"] = [3, 1]
        record["roles"][1]["era"] = "bronze"
        record["roles"][2]["id"] = record["roles"][3]["id"]

    _edit(folder / "roles.yaml", break_it)
    problems = _problems(tmp_path)
    assert any(p.startswith("companies/roles.yaml: roles[0].rounds.coding: ") for p in problems), problems
    assert any(p.startswith("companies/roles.yaml: roles[1].era: ") for p in problems), problems
    assert any(p.startswith("companies/roles.yaml: roles: id ") and "used twice" in p for p in problems), problems


def test_invalid_yaml_and_a_missing_roles_file_are_reported(root, tmp_path):
    folder = _copy(root, tmp_path)
    (folder / "roles.yaml").unlink()
    (folder / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    problems = _problems(tmp_path)
    assert any(p.startswith("companies/broken.yaml: (file): not valid YAML") for p in problems), problems
    assert any(p.startswith("companies/roles.yaml: (file): missing") for p in problems), problems


def test_dangling_chapter_scenario_widget_and_transcript_are_caught(root, tmp_path):
    folder = _copy(root, tmp_path)
    (tmp_path / "docs").mkdir()  # no chapters at all in this temporary root
    transcripts = tmp_path / "transcripts"
    transcripts.mkdir()
    (transcripts / "some-other-mock.yaml").write_text("{}\n", encoding="utf-8")

    def break_it(record):
        record["sized_question"]["scenarios"].append("no-such-scenario")
        record["sized_question"]["widget"] = "fleet-cost"  # the widget scenario runs `estimate`, not `fleet`
        record["related"]["transcripts"] = ["missing-mock"]

    _edit(folder / "openai.yaml", break_it)
    with pytest.raises(CompanyDataError) as caught:
        load(tmp_path)
    problems = caught.value.problems
    assert any(p.startswith("companies/openai.yaml: related.chapters[0]: no page docs/") for p in problems), problems
    assert any("sized_question.scenarios[2]: no scenario 'no-such-scenario'" in p for p in problems), problems
    # fleet-cost cannot open an `estimate` scenario, whether its spec has landed or only its shared name is known
    assert any("sized_question.widget_scenario:" in p and ("fleet-cost calculator runs fleet" in p or "cannot open" in p)
               for p in problems), problems
    assert any("related.transcripts[0]: no transcript transcripts/missing-mock.yaml" in p for p in problems), problems
    assert any(p.startswith("companies/roles.yaml: roles[0].companies[0]: no company file") for p in problems), problems


def test_an_unknown_value_key_in_the_narrative_is_caught(root, tmp_path):
    folder = _copy(root, tmp_path)
    shutil.copytree(root / "docs", tmp_path / "docs")
    for ident in {c for r in yaml.safe_load((folder / "roles.yaml").read_text())["roles"] for c in r.get("companies", [])}:
        if ident != "openai":
            shutil.copy(root / "companies" / f"{ident}.yaml", folder / f"{ident}.yaml")

    def break_it(record):
        record["sized_question"]["narrative"] += ' Also {{ v("openai-scheduler-batch-64.no_such_field") }}.'

    _edit(folder / "openai.yaml", break_it)
    with pytest.raises(CompanyDataError) as caught:
        load(tmp_path)
    assert any(p.startswith("companies/openai.yaml: sized_question.narrative: value 'openai-scheduler-batch-64.no_such_field'")
               for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("IC5, SDE2, L63, H100, FP8, p95 and Llama-3.1-70B are names", True),
        ('a marker {{ v("kv-70b.params") }} and `code 42` are exempt', True),
        ("about 30 ms", False),
        ("Mixtral 8x7B", False),
        ("a 70B model", False),
        ("TP=4", False),
        ("costs $36M", False),
        ("equity-heavy with a large RSU grant", False),
    ],
)
def test_prose_rule(text, ok):
    assert (prose_problems(text) == []) is ok, prose_problems(text)


def test_a_calculator_that_exists_must_be_able_to_open_the_scenario(root, tmp_path):
    folder = _copy(root, tmp_path)
    shutil.copytree(root / "docs", tmp_path / "docs")
    shutil.copytree(root / "widgets" / "calculators", tmp_path / "widgets" / "calculators")
    assert "memory-fit" in data.calculator_specs(tmp_path)

    def break_it(record):
        record["sized_question"]["widget"] = "memory-fit"  # an `estimate` scenario: memory-fit has no field for `concurrency`
        record["related"]["transcripts"] = []

    _edit(folder / "openai.yaml", break_it)
    with pytest.raises(CompanyDataError) as caught:
        load(tmp_path)
    assert any(p.startswith("companies/openai.yaml: sized_question.widget_scenario: the memory-fit calculator cannot open")
               for p in caught.value.problems), caught.value.problems
