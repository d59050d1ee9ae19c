"""Mock-interview transcripts: every file validates and renders, every number check agrees with the model, and a bad
file fails with its path and the field at fault."""

from __future__ import annotations

import math
import shutil
import textwrap
from pathlib import Path

import pytest
from sitegen import markers, transcripts
from sitegen.ledger import default_resolvers
from sizing.formatting import unit_for_field
from sizing.values import evaluate

MIN_TRANSCRIPTS = 6
MIN_ANNOTATIONS = 8
MIN_VALUES = 10


@pytest.fixture(scope="module")
def loaded(root: Path) -> list[transcripts.Transcript]:
    return transcripts.load_all(root)


def _rendered(root: Path, transcript: transcripts.Transcript) -> markers.Rendered:
    resolve, scenario = default_resolvers()
    return markers.render(transcripts.page_markdown(transcript, root, evaluate), f"transcripts/{transcript.id}.md",
                          resolve, scenario)


def test_there_are_enough_transcripts_and_one_is_weak(loaded):
    assert len(loaded) >= MIN_TRANSCRIPTS
    weak = [t for t in loaded if t.weak]
    assert weak and all(t.debrief for t in weak), "at least one weak answer, each with its debrief"


@pytest.mark.parametrize("kind", transcripts.KINDS)
def test_every_annotation_kind_is_used(loaded, kind):
    assert any(note.kind == kind for t in loaded for _, note in t.annotations()), kind


def test_each_transcript_has_enough_annotations_values_and_checks(root, loaded):
    for t in loaded:
        annotations = sum(1 for _ in t.annotations())
        values = {key for key, _, _ in _rendered(root, t).uses}
        assert annotations >= MIN_ANNOTATIONS, (t.id, annotations)
        assert len(values) >= MIN_VALUES, (t.id, len(values))
        assert len(t.checks) >= 5, (t.id, "a transcript checks at least five of the candidate's figures")


def test_every_number_check_agrees_with_the_model(loaded):
    """Recompute each verdict from the model's value and the claim as said, independently of the loader's order."""
    seen = {"right": 0, "lucky": 0, "wrong": 0}
    for t in loaded:
        by_claim = {c.claim.id: c for c in t.checks}
        for check in t.checks:
            value = evaluate(check.key)
            _, scale = unit_for_field(value.field)
            model = float(value.raw) * scale
            assert math.isclose(check.model_si, model, rel_tol=1e-12), (t.id, check.key)
            claimed = check.claim.value * transcripts.unit_size(check.claim.unit)[1]
            close = abs(claimed / model - 1) <= check.tolerance
            premises = all(by_claim[p].verdict == "right" for p in check.via)
            expected = "wrong" if not close else ("right" if premises else "lucky")
            assert check.verdict == expected, (t.id, check.claim.id, check.verdict, expected)
            seen[check.verdict] += 1
    assert all(seen.values()), f"the transcripts should show every verdict: {seen}"


def test_the_seed_mistakes_are_corrected_by_the_model():
    """The two classic slips: the layer count of the seventy-billion model, and its KV cache waved away.

    By hand: Llama-3.1-70B has 80 layers (not 32, the 8B's count); KV per token in FP8 is
    2 (K and V) × 8 KV heads × 128 head width × 80 layers × 1 byte = 163,840 bytes.
    """
    assert evaluate("model.llama-3.1-70b.layers").raw == 80
    assert evaluate("model.llama-3.1-70b.kv_fp8_bytes_per_token").raw == 2 * 8 * 128 * 80 * 1
    assert transcripts.verdict(32, 80, 0.01, True) == "wrong"
    # a prefix of 1,500 tokens: 1,500 × 163,840 = 245,760,000 bytes, not "about 100 MB"
    assert evaluate("tx-api-prefix.prefix_kv_bytes").raw == 1500 * 163_840
    assert transcripts.verdict(100e6, 1500 * 163_840, 0.2, False) == "wrong"


def test_verdict_rules():
    assert transcripts.verdict(95, 100, 0.1, True) == "right"
    assert transcripts.verdict(95, 100, 0.1, False) == "lucky"
    assert transcripts.verdict(80, 100, 0.1, True) == "wrong"
    assert transcripts.verdict(0, 0, 0.1, True) == "right"


def test_claim_units():
    assert transcripts.unit_size("million tokens/s") == ("tokens_per_s", 1e6)
    assert transcripts.unit_size("KB") == ("bytes", 1e3)
    assert transcripts.unit_size("min") == ("s", 60.0)
    assert transcripts.unit_size("thousand $/month") == ("usd_per_month", 1e3)
    with pytest.raises(ValueError, match="unknown unit 'furlongs'"):
        transcripts.unit_size("furlongs")


def test_typed_numbers_mirror_the_audit():
    assert transcripts.typed_numbers("about 30 ms and TP=4") == ["30", "4"]
    assert transcripts.typed_numbers('H100, FP8, p95, {{ v("x.y") }}, `8 GPUs`, [[gpus]]') == []


def test_pages_render_with_margin_notes_and_a_checked_table(root, loaded):
    for t in loaded:
        page = _rendered(root, t).markdown
        assert page.count("data-annotation=") == sum(1 for _ in t.annotations())
        assert page.count('class="hb-verdict ') == len(t.checks)
        assert "```mermaid" in page and "flowchart" in page
        for check in t.checks:
            assert f'data-claim="{check.claim.id}" data-verdict="{check.verdict}"' in page or \
                f'data-verdict="{check.verdict}" data-claim="{check.claim.id}"' in page


# ----------------------------------------------------------------------------------------------------------------------
# Bad files fail with the file and the field


GOOD = textwrap.dedent("""\
    id: bad
    title: A small test interview
    question: Size one replica.
    level: Senior
    role: Engineer
    scenario: tx-api-fleet
    claims:
      layers: {said: 32 layers, value: 32, unit: layers, what: layers}
    turns:
      - {speaker: interviewer, text: "Peak is [[@requests_per_s]]."}
      - speaker: candidate
        text: The model has [[layers]].
        notes:
          - {kind: number-check, claim: layers, key: model.llama-3.1-70b.layers, tolerance: 0.05, text: It has more.}
      - {speaker: interviewer, text: Go on.}
      - {speaker: candidate, text: I would batch.}
      - {speaker: interviewer, text: "Why?"}
      - {speaker: candidate, text: Throughput.}
    summary:
      strengths: [Clear.]
      gaps: [Short.]
      verdict: Fine.
      calibrated: Senior
      calibration: Fine.
      level_up: [More depth.]
    design:
      components: [gateway, router, serving-fleet]
      connections: [[gateway, router], [router, serving-fleet]]
""")


def _load(tmp_path: Path, text: str) -> list[str]:
    folder = tmp_path / "transcripts"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    (folder / "bad.yaml").write_text(text, encoding="utf-8")
    try:
        transcripts.load_all(tmp_path)
    except transcripts.TranscriptError as error:
        return error.problems
    return []


def test_the_minimal_file_is_valid(tmp_path):
    assert _load(tmp_path, GOOD) == []


@pytest.mark.parametrize("old, new, field", [
    ("kind: number-check", "kind: praise", "turns[1].notes[0].kind"),
    ("The model has [[layers]].", "The model has [[layers]] and 80 more.", "turns[1].text"),
    ("The model has [[layers]].", 'The model has [[layers]] {{ v("model.llama-3.1-70b.layers") }}.', "turns[1].text"),
    ("Peak is [[@requests_per_s]].", "Peak is [[@nonsense]].", "turns[0].text"),
    ("Peak is [[@requests_per_s]].", "Peak is [[layers]].", "turns[0].text"),
    ("unit: layers", "unit: GB", "claims.layers.unit"),
    ("said: 32 layers", "said: many layers", "claims.layers.said"),
    ("key: model.llama-3.1-70b.layers", "key: model.llama-3.1-70b.nope", "turns[1].notes[0].key"),
    ("tolerance: 0.05", "tolerance: 2", "turns[1].notes[0].tolerance"),
    ("components: [gateway, router, serving-fleet]", "components: [gateway, router, serving-fleet, teleporter]",
     "design.components[3]"),
    ("connections: [[gateway, router], [router, serving-fleet]]", "connections: [[gateway, cache]]",
     "design.connections[0]"),
    ("scenario: tx-api-fleet", "scenario: kv-70b", "scenario"),
    ("verdict: Fine.", "verdict: Fine at 3 GPUs.", "summary.verdict"),
    ("id: bad", "id: other", "id"),
])
def test_a_bad_file_names_the_file_and_field(tmp_path, old, new, field):
    assert old in GOOD
    problems = _load(tmp_path, GOOD.replace(old, new))
    assert problems, f"{new!r} should be rejected"
    assert any(p.startswith("transcripts/bad.yaml: ") and field in p for p in problems), problems


def test_a_weak_transcript_needs_a_debrief(tmp_path):
    problems = _load(tmp_path, GOOD.replace("level: Senior", "level: Senior\nweak: true"))
    assert any("summary.debrief" in p for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace("kind: number-check", "kind: praise").replace("unit: layers", "unit: furlongs")
    problems = _load(tmp_path, text)
    assert len(problems) >= 2 and all(p.startswith("transcripts/bad.yaml: ") for p in problems), problems


def test_a_preset_the_calculator_cannot_open_names_the_field(tmp_path, root):
    (tmp_path / "widgets").mkdir()
    (tmp_path / "widgets" / "calculators").symlink_to(root / "widgets" / "calculators")
    problems = _load(tmp_path, GOOD + "calculators:\n  - {widget: memory-fit, scenario: tx-rag-tenant}\n")
    assert any(p.startswith("transcripts/bad.yaml: calculators[0].scenario") for p in problems), problems
    assert _load(tmp_path, GOOD + "calculators:\n  - {widget: memory-fit, scenario: tx-api-memory}\n") == []
