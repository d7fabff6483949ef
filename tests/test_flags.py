"""Every flag of every subcommand comes from exactly one field of one options dataclass, stored under a
stage-qualified name: two stages' flags cannot overwrite each other (`--device` and `--diarize-device`
once shared a `dest`, so the last one given set both)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from podium.asr import AsrOptions
from podium.batch.runner import BatchOptions
from podium.cli import build_parser
from podium.cli.bench import BenchOptions
from podium.cli.common import DisplayOptions, transcribe_options_from
from podium.cli.evaluate import PairOptions, ReportOptions
from podium.diarize import DiarizeOptions
from podium.errors import OptionError
from podium.evaluate.api import EvaluateOptions
from podium.evaluate.bench import parse_config, reference_for
from podium.formats import OutputOptions
from podium.media import MediaOptions
from podium.options import cli_fields, flag_of
from podium.pipeline import TranscribeOptions, diarizer_options
from podium.speakers import SpeakerOptions

STAGES = {"media": MediaOptions, "asr": AsrOptions, "diarize": DiarizeOptions, "speakers": SpeakerOptions,
          "output": OutputOptions, "display": DisplayOptions, "batch": BatchOptions, "bench": BenchOptions,
          "scoring": EvaluateOptions, "pairs": PairOptions, "report": ReportOptions}
POSITIONALS = {"inputs", "manifest"}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_flag_is_one_field_of_one_stage(command: str) -> None:
    parser = subcommands()[command]
    dests = [a.dest for a in parser._actions if a.dest not in ("help", "handler")]
    assert len(dests) == len(set(dests)), f"{command}: two flags share a dest"
    for action in parser._actions:
        if action.dest == "help" or (not action.option_strings and action.dest in POSITIONALS):
            continue
        stage, _, name = action.dest.partition(".")
        assert stage in STAGES, f"{command} {action.option_strings}: dest {action.dest!r} names no stage"
        fields = {f.name: f for f in cli_fields(STAGES[stage])}
        assert name in fields, f"{command} {action.option_strings}: {STAGES[stage].__name__} has no {name}"
        assert flag_of(fields[name]) in action.option_strings


def test_every_transcribe_field_is_a_flag_of_transcribe_batch_and_bench() -> None:
    commands = subcommands()
    for command in ("transcribe", "batch", "bench"):
        dests = {a.dest for a in commands[command]._actions}
        for stage in ("media", "asr", "diarize", "speakers") + (("output",) if command != "bench" else ()):
            for f in cli_fields(STAGES[stage]):
                assert f"{stage}.{f.name}" in dests, (command, stage, f.name)


@pytest.mark.parametrize("command", ["transcribe", "batch", "bench"])
def test_whisper_and_diarization_devices_are_set_apart(command: str) -> None:
    first = "MANIFEST" if command == "bench" else "INPUT"
    both_orders = (["--device", "cpu", "--diarize-device", "cuda"],
                   ["--diarize-device", "cuda", "--device", "cpu"])
    for argv in both_orders:
        args = build_parser().parse_args([command, first, *argv])
        options = transcribe_options_from(args)
        assert (options.asr.device, options.diarize.device) == ("cpu", "cuda")
    options = transcribe_options_from(build_parser().parse_args([command, first, "--diarize-device", "cpu"]))
    assert (options.asr.device, options.diarize.device) == ("auto", "cpu")


def test_bench_takes_no_hypothesis_format_and_reads_references_in_the_given_one(tmp_path: Path) -> None:
    bench = subcommands()["bench"]
    flags = {flag for action in bench._actions for flag in action.option_strings}
    assert "--ref-format" in flags and "--hyp-format" not in flags
    (tmp_path / "a.ref").write_text("a 1 Host 0.0 2.0 hello there\n", encoding="utf-8")
    reference, _ = reference_for({"audio": "a.wav", "ref": "a.ref"}, tmp_path, "stm")
    assert [u.speaker for u in reference.utterances] == ["Host"]


def test_config_keys_are_stage_qualified_and_bare_only_when_unambiguous() -> None:
    base = TranscribeOptions()
    options = parse_config("asr.device=cpu,diarize.device=cuda,model=tiny.en", base)
    assert (options.asr.device, options.diarize.device, options.asr.model) == ("cpu", "cuda", "tiny.en")
    with pytest.raises(OptionError, match=r"asr\.device or diarize\.device"):
        parse_config("device=cpu", base)
    with pytest.raises(OptionError, match=r"STAGE\.FIELD"):
        parse_config("asr.no_such=1", base)
    with pytest.raises(ValueError, match="beam"):
        parse_config("asr.beam_size=0", base)


def test_option_errors_are_value_errors_for_python_callers() -> None:
    with pytest.raises(ValueError):
        AsrOptions(beam_size=0)
    with pytest.raises(ValueError):
        OutputOptions(formats=("doc",))


def test_diarization_uses_whisper_gpu_unless_given_its_own() -> None:
    same = TranscribeOptions(asr=AsrOptions(device_index=1))
    assert diarizer_options(same).device_index == 1
    own = TranscribeOptions(asr=AsrOptions(device_index=1), diarize=DiarizeOptions(device_index=0))
    assert diarizer_options(own).device_index == 0
    argv = ["transcribe", "INPUT", "--device-index", "1", "--diarize-device-index", "2"]
    args = build_parser().parse_args(argv)
    options = transcribe_options_from(args)
    assert (options.asr.device_index, diarizer_options(options).device_index) == (1, 2)
