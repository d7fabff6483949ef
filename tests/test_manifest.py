"""The one JSON Lines manifest reader (`podium.manifest`) and the commands that read through it."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from podium.batch.inputs import read_manifest as batch_manifest
from podium.cli.evaluate import read_manifest as evaluate_manifest
from podium.errors import PodiumError
from podium.evaluate.bench import read_manifest as bench_manifest
from podium.manifest import ManifestError, read_items


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    return path


def test_items_keep_their_line_numbers_and_resolve_paths_against_the_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    manifest = write(folder / "m.jsonl", json.dumps({"audio": "a.wav"}), "", "   ",
                     json.dumps({"audio": "/abs/b.wav", "id": "b"}))
    items = read_items(manifest)
    assert [(item.line, item.fields) for item in items] == [(1, {"audio": "a.wav"}),
                                                            (4, {"audio": "/abs/b.wav", "id": "b"})]
    assert items[0].path("audio") == folder / "a.wav"
    assert items[1].path("audio") == Path("/abs/b.wav")
    assert items[0].path("rttm") is None
    assert str(items[1].error('needs "rttm"')) == f'{manifest}:4: needs "rttm"'


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_a_byte_order_mark_is_honoured(tmp_path: Path, encoding: str) -> None:
    manifest = write(tmp_path / "m.jsonl", json.dumps({"audio": "café.wav"}, ensure_ascii=False),
                     encoding=encoding)
    assert manifest.read_bytes().startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_LE))
    assert [item.fields for item in read_items(manifest)] == [{"audio": "café.wav"}]


@pytest.mark.parametrize(("lines", "message"), [
    (['{"audio": "a.wav"}', '{"audio": '], "m.jsonl:2: not valid JSON (Expecting value)"),
    (['["a.wav"]'], "m.jsonl:1: expected a JSON object, not a list"),
    (['"a.wav"'], "m.jsonl:1: expected a JSON object, not a string"),
    (["# a comment"], "m.jsonl:1: not valid JSON (Expecting value)"),
])
def test_a_bad_line_is_one_line_naming_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(ManifestError) as error:
        read_items(write(tmp_path / "m.jsonl", *lines))
    assert str(error.value).endswith(message) and "\n" not in str(error.value)
    assert isinstance(error.value, PodiumError)  # the CLI prints it on one line and exits 2


def test_the_caller_may_word_a_bad_line_and_allow_comments(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.jsonl", "# audio list", '{"audio": "a.wav"}', "not json")
    with pytest.raises(ManifestError, match=r"m.jsonl:1: expected an audio line$"):
        read_items(manifest, expected="expected an audio line")
    with pytest.raises(ManifestError, match=r"m.jsonl:3: expected an audio line$"):
        read_items(manifest, expected="expected an audio line", comments=True)
    write(manifest, "# audio list", '{"audio": "a.wav"}')
    assert [item.line for item in read_items(manifest, comments=True)] == [2]


def test_unreadable_and_undecodable_manifests(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"missing.jsonl: cannot read file \(No such file"):
        read_items(tmp_path / "missing.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"audio": "a.wav"}\n{"audio": "caf\xe9.wav"}\n')
    with pytest.raises(ManifestError, match=r"latin.jsonl:2: expected UTF-8 text"):
        read_items(latin)


def test_each_command_checks_its_own_keys_in_its_own_words(tmp_path: Path) -> None:
    no_audio = write(tmp_path / "m.jsonl", json.dumps({"ref": "a.stm"}))
    with pytest.raises(PodiumError, match=r'm.jsonl:1: each line needs an "audio" or "path" string'):
        batch_manifest(no_audio)
    with pytest.raises(PodiumError, match=r'm.jsonl:1: expected an object with an "audio" path'):
        bench_manifest(no_audio)
    with pytest.raises(PodiumError, match=r'm.jsonl:1: expected a JSON object with "ref" and "hyp" paths'):
        evaluate_manifest(no_audio)
    bad = write(tmp_path / "bad.jsonl", "{")
    with pytest.raises(PodiumError, match=r'bad.jsonl:1: expected a JSON object with "ref" and "hyp"'):
        evaluate_manifest(bad)
    with pytest.raises(PodiumError, match=r"bad.jsonl:1: not valid JSON"):
        bench_manifest(bad)


def test_the_commands_resolve_paths_against_the_manifest_folder(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.jsonl", json.dumps({"ref": "r.stm", "hyp": "sub/h.json", "uem": "u.uem"}),
                     json.dumps({"audio": "x.wav", "ref": "r.stm", "hyp": "h2.json", "id": "two"}))
    pairs = evaluate_manifest(manifest)
    assert [(p.id, p.ref, p.hyp, p.uem) for p in pairs] == [
        ("h", tmp_path / "r.stm", tmp_path / "sub/h.json", tmp_path / "u.uem"),
        ("two", tmp_path / "r.stm", tmp_path / "h2.json", None)]
    batch = write(tmp_path / "b.jsonl", "# batch lists may have comments", json.dumps({"path": "a/x.wav"}))
    assert [(i.key, i.path) for i in batch_manifest(batch)] == [("a/x", tmp_path / "a/x.wav")]
