"""Real files from ../shared: the seed caption page and the diarization references, scored against
themselves, and the `podium bench` path (in-memory Transcript against a manifest reference)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import SHARED_DATA
from podium.evaluate.api import EvaluateOptions, evaluate_pair, reference_from_manifest_item, score
from podium.evaluate.readers import read_reference
from podium.evaluate.reference import reference_from_transcript
from podium.manifest import read_items
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

SHARED = SHARED_DATA.parent
SEED_PAGES = sorted((SHARED / "seed").glob("*.txt"))
MANIFEST = SHARED / "data" / "manifest.jsonl"

pytestmark = pytest.mark.skipif(not MANIFEST.exists() or not SEED_PAGES,
                                reason=f"shared test data missing: {MANIFEST} or {SHARED / 'seed'}/*.txt "
                                "(README, 'Test data')")


def manifest_items(kind: str) -> list[dict]:
    if not MANIFEST.exists():  # parametrize runs at collection: no data, no cases (the module skips)
        return []
    return [item.fields for item in read_items(MANIFEST) if item.fields["kind"] == kind]


def test_seed_page_is_read_as_captions_without_the_page_around_them() -> None:
    page = SEED_PAGES[0]
    ref = read_reference(page)
    assert ref.format == "captions"
    stamped = [line for line in page.read_text(encoding="utf-8").splitlines() if line[:5].count(":") == 1
               and line[:2].isdigit() and line[3:5].isdigit()]
    assert len(ref.utterances) == len(stamped) > 10
    starts = [u.start for u in ref.utterances]
    assert starts == sorted(starts) and starts[0] == 0.0
    joined = ref.text
    for junk in ("Skip to player", "Recommended", "#NATO", "Be the first to comment", "Category"):
        assert junk not in joined


def test_seed_page_against_itself_has_no_errors() -> None:
    result = evaluate_pair(SEED_PAGES[0], SEED_PAGES[0])
    wer = result.metrics["wer"]
    assert wer["value"] == 0 and wer["hits"] == wer["reference_words"] > 100
    assert result.metrics["cer"]["value"] == 0
    assert "speaker labels" in result.metrics["cpwer"]["skipped"]


@pytest.mark.parametrize("item", manifest_items("diar"), ids=lambda item: item["id"])
def test_shared_diarization_reference_against_itself_has_no_errors(item: dict) -> None:
    ref, uem = reference_from_manifest_item(item, MANIFEST.parent)
    assert uem is not None and ref.turns
    metrics = score(ref, ref, EvaluateOptions(), uem=uem)
    assert metrics["der"]["value"] == 0 and metrics["der"]["total"] > 0
    assert metrics["jer"]["value"] == 0
    assert metrics["der"]["uem"] == "given"


def test_shared_diarization_reference_against_a_relabelled_copy_has_no_errors() -> None:
    # Speaker names differ between a diarizer and a reference; DER's optimal mapping must absorb it.
    item = next(i for i in manifest_items("diar") if len(i["speakers"]) > 2)
    ref, uem = reference_from_manifest_item(item, MANIFEST.parent)
    names = {name: f"SPEAKER_{n:02d}" for n, name in enumerate(item["speakers"])}
    transcript = Transcript(segments=(), turns=tuple(SpeakerTurn(t.start, t.end, names[t.speaker])
                                                     for t in ref.turns))
    metrics = score(ref, reference_from_transcript(transcript), EvaluateOptions(), uem=uem)
    assert metrics["der"]["value"] == pytest.approx(0)


def test_bench_path_scores_an_in_memory_transcript_against_a_manifest_text() -> None:
    item = max(manifest_items("asr"), key=lambda i: len(i["transcript"].split()))
    ref, uem = reference_from_manifest_item(item, MANIFEST.parent)
    assert uem is None
    spoken = item["transcript"].split()
    words = tuple(Word(i * 0.4, i * 0.4 + 0.3, w, speaker="SPEAKER_00") for i, w in enumerate(spoken))
    exact = Transcript(segments=(Segment(0.0, len(spoken) * 0.4, " ".join(spoken), words, "SPEAKER_00"),),
                       speakers=(Speaker("SPEAKER_00", "Reader"),))
    assert score(ref, reference_from_transcript(exact))["wer"]["value"] == 0
    # drop one word: exactly one deletion over the reference's normalised words
    dropped = replace(exact, segments=(Segment(0.0, 1.0, " ".join(spoken[1:]), words[1:], "SPEAKER_00"),))
    wer = score(ref, reference_from_transcript(dropped))["wer"]
    assert (wer["deletions"], wer["substitutions"], wer["insertions"]) == (1, 0, 0)
    assert wer["value"] == pytest.approx(1 / wer["reference_words"])
