"""`podium evaluate` end to end on the hand-made fixtures: table, reports, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from podium.cli.evaluate import add_parser as add_evaluate_parser
from podium.cli.evaluate import main
from podium.cli.evaluate import run as run_evaluate

DATA = Path(__file__).parent / "data" / "eval"

# The interview pair, worked out by hand (see tests/data/eval/interview_*): 14 reference words;
# witkoff->witko (S), "today" missing (D), "here" extra (I) -> WER 3/14; the hypothesis gives
# "we are" to Ben's label -> WDER 2/12 hits; cpWER 7/14; DER 2.5/12 s; JER (2.5/8.5 + 1.5/5)/2.
INTERVIEW = {"wer": 3 / 14, "wder": 2 / 12, "cpwer": 7 / 14, "der": 2.5 / 12,
             "jer": (2.5 / 8.5 + 1.5 / 5) / 2}


def interview_args(*extra: str) -> list[str]:
    return ["--ref", str(DATA / "interview_ref.stm"), "--hyp", str(DATA / "interview_hyp.json"), *extra]


def test_scores_a_pair_and_writes_json_and_markdown(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(interview_args("--names", str(DATA / "names.txt"), "--report", str(tmp_path / "out")))
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    metrics = report["pairs"][0]["metrics"]
    for key, value in INTERVIEW.items():
        assert metrics[key]["value"] == pytest.approx(value), key
    assert metrics["names"]["found"] == 1 and metrics["names"]["total"] == 2
    assert report["settings"]["normalize"] == "whisper"
    assert "EnglishTextNormalizer" in report["settings"]["normalization"]
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| interview_hyp | 21.4% | 1/1/1 |" in markdown
    assert "EnglishTextNormalizer" in markdown and "| Witkoff | 1 | 0 | 0 | missed |" in markdown
    out = capsys.readouterr().out
    assert "21.4%" in out and "50.0%" in out and "Overall" in out


def test_pairs_in_order_with_one_uem_for_all(tmp_path: Path) -> None:
    report_dir = tmp_path / "r"
    code = main(["--ref", str(DATA / "der_ref.rttm"), "--hyp", str(DATA / "der_hyp.rttm"),
                 "--ref", str(DATA / "der_ref.rttm"), "--hyp", str(DATA / "der_ref.rttm"),
                 "--uem", str(DATA / "der.uem"), "--report", str(report_dir)])
    assert code == 0
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in report["pairs"]] == ["der_hyp", "der_ref"]
    assert [p["metrics"]["der"]["value"] for p in report["pairs"]] == pytest.approx([0.2, 0.0])
    assert report["overall"]["der"]["value"] == pytest.approx(4 / 40)


def test_manifest_pairs_are_pooled(tmp_path: Path) -> None:
    assert main(["--manifest", str(DATA / "manifest.jsonl"), "--report", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in report["pairs"]] == ["interview", "der"]
    # DER pooled over both pairs: (2.5 + 4) s of errors over (12 + 20) s of reference speech
    assert report["overall"]["der"]["value"] == pytest.approx(6.5 / 32)
    assert report["overall"]["wer"]["value"] == pytest.approx(3 / 14)


def test_malformed_input_exits_2_with_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--ref", str(DATA / "voices.srt"), "--hyp", str(DATA / "bad.srt"),
                 "--report", str(tmp_path / "out"), "--html", str(tmp_path / "page.html")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{DATA / 'bad.srt'}:6: expected a cue timing line" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "page.html").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--ref", "a.txt"], "--ref and --hyp come in pairs"),
    ([], "nothing to score"),
    (["--manifest", str(DATA / "names.txt")], "names.txt:1: expected a JSON object"),
    (interview_args("--uem", "a.uem", "--uem", "b.uem"), "give --uem once for all pairs or once per pair"),
    (interview_args("--names", "no-such-names.txt"), "no-such-names.txt: cannot read file"),
    (interview_args("--collar", "-1"), "collar must be >= 0"),
])
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_scores_still_exit_0(tmp_path: Path) -> None:
    nonsense = tmp_path / "nonsense.txt"
    nonsense.write_text("completely different words here\n", encoding="utf-8")
    assert main(["--ref", str(DATA / "plain.txt"), "--hyp", str(nonsense)]) == 0


def test_subcommand_plugs_into_the_podium_parser(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="podium")
    add_evaluate_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["evaluate", *interview_args("--normalize", "basic", "--skip-overlap",
                                                          "--report", str(tmp_path))])
    assert args.handler is run_evaluate
    assert args.handler(args) == 0
    settings = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["normalize"], settings["skip_overlap"]) == ("basic", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "--normalize", "fancy"])


@pytest.mark.slow
def test_module_runs_as_a_program(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "podium.cli.evaluate", *interview_args()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "21.4%" in done.stdout
    failed = subprocess.run([sys.executable, "-m", "podium.cli.evaluate", "--ref", str(DATA / "bad.stm"),
                             "--hyp", str(DATA / "plain.txt")], capture_output=True, text=True, timeout=120,
                            check=False)
    assert failed.returncode == 2
    assert failed.stderr.strip().count("\n") == 0 and "bad.stm:2:" in failed.stderr
