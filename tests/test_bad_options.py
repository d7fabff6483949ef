"""Bad options and bad references, one row each: an error on one line, exit code 2, no traceback, no
output, and for `transcribe` and `batch` before any model loads or input is read (issue 11).

Each row is (case, arguments, expected exit code, a fragment of the message). In the arguments, {tmp}
is a folder of prepared files (see `files`), {out} the output folder, {clip} a real voice clip and
{data} tests/data/eval.
"""
# ruff: noqa: E501 - the cases are tables, one row per line

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, ffmpeg
from podium.cli import main

CLIP = REPO / "examples" / "enroll" / "secretary-general.wav"
EXAMPLE = REPO / "examples" / "briefing.mp4"
# A model folder that does not exist: were an input transcribed before the options were checked,
# the error would be "model directory not found" instead of the expected one.
TRANSCRIBE = ("transcribe", str(EXAMPLE), "--output-dir", "{out}", "--model", "{tmp}/no-model")
BATCH = ("batch", str(EXAMPLE), "--output-dir", "{out}", "--model", "{tmp}/no-model", "--quiet")
FAKE_CUE = "Anna\n\n2\n00:00:00,000 --> 00:00:09,000\nFake cue"

OPTIONS = [
    # case                              arguments                                          exit  message
    ("speaker map missing",            (*TRANSCRIBE, "--speaker-map", "{tmp}/none.json"),     2, "speaker map not found"),
    ("speaker map not JSON",           (*TRANSCRIBE, "--speaker-map", "{tmp}/broken.json"),   2, "is not valid JSON: Expecting property name"),
    ("speaker map a list",             (*TRANSCRIBE, "--speaker-map", "{tmp}/list.json"),     2, "must be a JSON object"),
    ("speaker map name with a newline", (*TRANSCRIBE, "--speaker-map", "{tmp}/cue.json"),     2, "holds a control character (U+000A)"),
    ("speaker name with an escape",    (*TRANSCRIBE, "--speaker-names", "Ann,B\x1b[31mob"),    2, "holds a control character (U+001B)"),
    ("speaker name with U+2028",       (*TRANSCRIBE, "--speaker-names", "Ann\u2028Bob"),       2, "holds a line separator"),
    ("--enroll name with a newline",   (*TRANSCRIBE, "--enroll", "Ann\nBob={clip}"),          2, "holds a control character (U+000A)"),
    ("--enroll without '='",           (*TRANSCRIBE, "--enroll", "{clip}"),                   2, "--enroll expects NAME=CLIP"),
    ("--enroll clip missing",          (*TRANSCRIBE, "--enroll", "Jane={tmp}/none.wav"),      2, "no such audio file"),
    ("--enroll clip not audio",        (*TRANSCRIBE, "--enroll", "Jane={tmp}/notes.wav"),     2, "notes.wav is not a media file"),
    ("--enroll clip of 10 ms",         (*TRANSCRIBE, "--enroll", "Jane={tmp}/blip.wav"),      2, "holds only 0.01 s"),
    ("hub segmentation, no token",     (*TRANSCRIBE, "--segmentation-model", "pyannote/segmentation-3.0"), 2,
     "hub models need HF_TOKEN"),
    ("hub embedding, no token",        (*TRANSCRIBE, "--embedding-model", "pyannote/wespeaker-voxceleb-resnet34-LM"),
     2, "hub models need HF_TOKEN"),
    ("local checkpoint missing",       (*TRANSCRIBE, "--segmentation-model", "{tmp}/seg.ckpt"), 2, "no such file"),
    ("--num-speakers 256",             (*TRANSCRIBE, "--num-speakers", "256"),                2, "between 1 and 127"),
    ("--num-speakers 0",               (*TRANSCRIBE, "--num-speakers", "0"),                  2, "between 1 and 127"),
    ("--min-speakers 300",             (*TRANSCRIBE, "--min-speakers", "300"),                2, "between 1 and 127"),
    ("--max-speakers 1000",            (*TRANSCRIBE, "--max-speakers", "1000"),               2, "between 1 and 127"),
    ("--min-speakers over --max",      (*TRANSCRIBE, "--min-speakers", "3", "--max-speakers", "2"), 2, "exceeds"),
    ("--num-speakers over --max",      (*TRANSCRIBE, "--num-speakers", "5", "--max-speakers", "3"), 2, "is outside"),
    ("--num-speakers not a number",    (*TRANSCRIBE, "--num-speakers", "two"),                2, "invalid int value"),
    ("--beam-size 0",                  (*TRANSCRIBE, "--beam-size", "0"),                     2, "--beam-size must be at least 1"),
    ("--language in words",            (*TRANSCRIBE, "--language", "english"),                2, "not a language code"),
    ("--format doc",                   (*TRANSCRIBE, "--format", "txt,doc"),                  2, "unknown output format"),
    ("batch: speaker map missing",     (*BATCH, "--speaker-map", "{tmp}/none.json"),          2, "speaker map not found"),
    ("batch: --num-speakers 256",      (*BATCH, "--num-speakers", "256"),                     2, "between 1 and 127"),
    ("batch: --enroll clip not audio", (*BATCH, "--enroll", "Jane={tmp}/notes.wav"),          2, "is not a media file"),
    ("bench: item without reference",  ("bench", "{tmp}/no-reference.jsonl"),                 2,
     "no-reference.jsonl:1: no reference to score against"),
]

REFERENCES = [
    # case                         --ref                 --hyp                  exit  message
    ("SRT cue ends at NaN",        "{tmp}/nan.srt",      "{data}/voices.srt",   2, "nan.srt:2: expected a cue timing line"),
    ("SRT cue starts at inf",      "{tmp}/inf.srt",      "{data}/voices.srt",   2, "inf.srt:6: expected a cue timing line"),
    ("JSON word ends at NaN",      "{tmp}/nan.json",     "{data}/whisperx.json", 2, "nan.json:4: expected finite numbers, got NaN"),
    ("JSON start of -Infinity",    "{tmp}/minf.json",    "{data}/whisperx.json", 2, "minf.json:2: expected finite numbers, got -Infinity"),
    ("JSON number too big",        "{tmp}/huge.json",    "{data}/whisperx.json", 2, "huge.json:3: expected finite numbers, got 1e999"),
    ("RTTM duration of inf",       "{tmp}/inf.rttm",     "{data}/der_hyp.rttm", 2, "inf.rttm:2: expected duration as a finite number"),
    ("STM start of nan",           "{tmp}/nan.stm",      "{data}/plain.txt",    2, "nan.stm:1: expected start as a finite number"),
    ("text with stray NUL bytes",  "{tmp}/nul.txt",      "{data}/plain.txt",    2, "nul.txt:2: expected text, found NUL bytes"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad")
    texts = {
        "broken.json": "{not json",
        "list.json": '["Anna"]',
        "cue.json": json.dumps({"SPEAKER_1": FAKE_CUE}),
        "notes.wav": "These are my notes, not a recording.\n",
        "no-reference.jsonl": json.dumps({"audio": str(CLIP)}) + "\n",
        "nan.srt": "1\n00:00:00,000 --> 00:00:nan\nGood morning.\n",
        "inf.srt": "1\n00:00:00,000 --> 00:00:04,000\nGood morning.\n\n2\ninf --> 00:00:08,000\nThanks.\n",
        "nan.json": '{"segments": [\n {"text": "Good morning.", "start": 0.0, "end": 2.0, "words": [\n'
                    '  {"word": "Good", "start": 0.0,\n   "end": NaN}]}]}',
        "minf.json": '{"segments": [\n {"text": "Good morning.", "start": -Infinity, "end": 2.0}]}',
        "huge.json": '{"segments": [\n {"text": "Good morning.",\n  "start": 0, "end": 1e999}]}',
        "inf.rttm": "SPEAKER der 1 0.000 10.000 <NA> <NA> A <NA> <NA>\n"
                    "SPEAKER der 1 10.000 inf <NA> <NA> B <NA> <NA>\n",
        "nan.stm": "interview 1 Anna nan 4.0 <o,f0,female> Good morning.\n",
    }
    for name, text in texts.items():
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "nul.txt").write_bytes(b"Good morning, Mr. Witkoff.\nThank you\0 for having me.\n")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000", "-t", "0.01", tmp / "blip.wav")
    return tmp


def podium(args: tuple[str, ...], files: Path, out: Path,
           capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI in this process (imports once: each row takes milliseconds); exit code and stderr."""
    data = REPO / "tests" / "data" / "eval"
    argv = [a.format(tmp=files, out=out, clip=CLIP, data=data) for a in args]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, stderr: str, expected_code: int, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == expected_code, stderr
    assert len(lines) == 1 and re.match(r"podium( \w+)?: error: ", lines[0]), stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in stderr and "unexpected" not in stderr


@pytest.mark.parametrize(("case", "args", "code", "message"), OPTIONS, ids=[row[0] for row in OPTIONS])
def test_bad_option(case: str, args: tuple[str, ...], code: int, message: str, files: Path, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert_one_line_error(*podium(args, files, tmp_path / "out", capsys), code, message)
    # Nothing written, not even batch's ledger: every option, enrollment clips included, is checked
    # before the ledger opens.
    assert list((tmp_path / "out").glob("*")) == []


@pytest.mark.parametrize(("case", "ref", "hyp", "code", "message"), REFERENCES,
                         ids=[row[0] for row in REFERENCES])
def test_bad_reference(case: str, ref: str, hyp: str, code: int, message: str, files: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    args = ("evaluate", "--ref", ref, "--hyp", hyp, "--report", "{out}")
    assert_one_line_error(*podium(args, files, tmp_path / "out", capsys), code, message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-16"])
def test_a_wide_reference_without_bom_reads_as_text(encoding: str, files: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: UTF-16 without a byte-order mark was read as UTF-8 with a NUL after every letter, and
    identical text scored 100% WER with exit code 0."""
    text = (REPO / "tests" / "data" / "eval" / "plain.txt").read_text(encoding="utf-8")
    (files / f"{encoding}.txt").write_bytes(text.encode(encoding))
    args = ("evaluate", "--ref", f"{{tmp}}/{encoding}.txt", "--hyp", "{data}/plain.txt", "--report", "{out}")
    code, stderr = podium(args, files, tmp_path, capsys)
    assert code == 0, stderr
    assert json.loads((tmp_path / "report.json").read_text())["pairs"][0]["metrics"]["wer"]["value"] == 0.0
