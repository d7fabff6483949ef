"""Fetch the shared test recordings from their public sources, at pinned commits, checksummed.

The tests read real speech from `../shared/data` (never copied into this repository). Where that folder
is missing, this script rebuilds what can be rebuilt byte for byte:

- pyannote.audio's `sample.wav` and its RTTM, from the installed pyannote.audio package (or its wheel);
- every recording whose manifest entry names one upstream file (`source_repo`, `source_commit`,
  `source_path`), downloaded from GitHub at that commit. The catalogue keeps no reference text, so
  the `asr` items (their transcript is text in the manifest) are left out.

The list, with each file's sha256, is `tests/data/shared_data.jsonl` (made from a complete copy with
`--write-catalogue`). A file whose checksum differs is refused, never installed. References that were
converted by hand for this set (AMI RTTMs re-labelled, bank calls mixed from two channels, ...) cannot
be rebuilt: their recordings stay out of the written manifest, and the tests that need them skip.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # podium's manifest reader, also when run by a python without podium
from podium.manifest import ManifestError, read_items  # noqa: E402  (needs the line above)

CATALOGUE = REPO / "tests" / "data" / "shared_data.jsonl"
DEFAULT_DEST = Path(os.environ.get("PODIUM_SHARED_DATA") or REPO.parent / "shared" / "data")
PYANNOTE_PREFIX = "pyannote.audio:"  # a file inside the pyannote.audio package
TEXT_PREFIX = "text:"  # a file whose whole content is given (a UEM covering the whole recording)
TIMEOUT = 60  # seconds per download


class FetchError(Exception):
    """Stops the script with a one-line message."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_catalogue() -> list[dict]:
    return [item.fields for item in read_items(CATALOGUE)]


def github_source(entry: dict, relative: str) -> str | None:
    """The download URL of a recording copied verbatim from one file of a public repository."""
    path = entry.get("source_path", "")
    if relative != entry.get("audio") or "," in path or Path(path).suffix != Path(relative).suffix:
        return None  # a converted file, or a reference made from several upstream files
    # github.com/<repo>/raw/<commit>/<path> also follows Git LFS pointers, unlike raw.githubusercontent.
    return f"https://github.com/{entry['source_repo']}/raw/{entry['source_commit']}/{path}"


def write_catalogue(data: Path) -> None:
    """Record every file of a complete copy (its manifest, hashes and sources) for later fetches."""
    lines = []
    for item in read_items(data / "manifest.jsonl"):
        entry = item.fields
        files = []
        for field in ("audio", "rttm", "uem", "stm"):
            if relative := entry.get(field):
                source = github_source(entry, relative)
                if entry["id"] == "pyannote_sample" and field in ("audio", "rttm"):
                    source = f"{PYANNOTE_PREFIX}sample/sample.{'wav' if field == 'audio' else 'rttm'}"
                elif entry["id"] == "pyannote_sample" and field == "uem":
                    source = TEXT_PREFIX + (data / relative).read_text(encoding="utf-8")
                files.append({"path": relative, "sha256": sha256(data / relative), "source": source})
        # The reference texts stay out of this repository, like the recordings themselves.
        entry.pop("transcript", None)
        lines.append(json.dumps({"manifest": entry, "files": files}, ensure_ascii=False))
    CATALOGUE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"fetch_data: wrote {CATALOGUE} ({len(lines)} recordings)")


def check_network() -> None:
    try:
        urllib.request.urlopen(urllib.request.Request("https://github.com", method="HEAD"), timeout=15)
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(f"no network: cannot reach https://github.com ({getattr(err, 'reason', err)}). "
                         "Run this on a machine with a network, or copy ../shared/data from one that "
                         "has it (or point PODIUM_SHARED_DATA at a copy)") from None


def pyannote_file(inner: str, scratch: Path) -> Path:
    """A file shipped inside pyannote.audio: from the installed package, else from its pinned wheel."""
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is not None and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations))) / inner
        if installed.is_file():
            return installed
    pin = next((line.strip() for line in (REPO / "requirements.lock").read_text().splitlines()
                if line.startswith("pyannote-audio==")), "pyannote.audio")
    wheels = list(scratch.glob("pyannote_audio-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", str(scratch), pin], check=True)
        wheels = list(scratch.glob("pyannote_audio-*.whl"))
    target = scratch / inner.replace("/", "_")
    with zipfile.ZipFile(wheels[0]) as wheel:
        target.write_bytes(wheel.read(f"pyannote/audio/{inner}"))
    return target


def obtain(source: str, target: Path, scratch: Path) -> None:
    """Put the file named by `source` at `target` (a temp name: the caller checks it, then renames)."""
    if source.startswith(TEXT_PREFIX):
        target.write_text(source[len(TEXT_PREFIX):], encoding="utf-8")
    elif source.startswith(PYANNOTE_PREFIX):
        target.write_bytes(pyannote_file(source[len(PYANNOTE_PREFIX):], scratch).read_bytes())
    else:
        with urllib.request.urlopen(source, timeout=TIMEOUT) as response, open(target, "wb") as out:
            while block := response.read(1 << 20):
                out.write(block)


def fetch_file(spec: dict, dest: Path, scratch: Path) -> str:
    """'present', 'fetched', or why the file could not be had."""
    final = dest / spec["path"]
    if final.is_file() and sha256(final) == spec["sha256"]:
        return "present"
    if spec["source"] is None:
        return "not published as is (converted for this set)"
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.part")
    try:
        obtain(spec["source"], temp, scratch)
        if sha256(temp) != spec["sha256"]:
            return f"checksum differs from the tested copy ({spec['source']})"
        os.replace(temp, final)
        return "fetched"
    except (OSError, urllib.error.URLError, subprocess.CalledProcessError, KeyError) as err:
        return f"download failed: {err}"
    finally:
        temp.unlink(missing_ok=True)


def fetch(dest: Path) -> int:
    catalogue = read_catalogue()
    check_network()
    complete, problems = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for item in catalogue:
            results = {spec["path"]: fetch_file(spec, dest, Path(scratch)) for spec in item["files"]}
            bad = {path: why for path, why in results.items() if why not in ("present", "fetched")}
            if item["manifest"].get("kind") == "asr" and "transcript" not in item["manifest"]:
                bad["transcript"] = "the reference text is not kept here; see the entry's authority"
            if bad:
                reasons = "; ".join(f"{path}: {why}" for path, why in bad.items())
                problems.append(f"{item['manifest']['id']}: {reasons}")
            else:
                complete.append(item["manifest"])
    manifest = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in complete)
    (dest / "manifest.jsonl").write_text(manifest, encoding="utf-8")
    print(f"fetch_data: {len(complete)} of {len(catalogue)} recordings complete in {dest}")
    for problem in problems:
        print(f"fetch_data: left out {problem}")
    if problems:
        print("fetch_data: tests that need the recordings left out skip, naming them; for those, copy "
              "../shared/data from a machine that has the full set")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", nargs="?", type=Path, default=DEFAULT_DEST,
                        help=f"where the data goes (default: $PODIUM_SHARED_DATA or {DEFAULT_DEST})")
    parser.add_argument("--write-catalogue", action="store_true",
                        help="for maintainers: record DEST (a complete copy) in tests/data/shared_data.jsonl")
    args = parser.parse_args()
    try:
        if args.write_catalogue:
            write_catalogue(args.dest)
            return 0
        args.dest.mkdir(parents=True, exist_ok=True)
        if not os.access(args.dest, os.W_OK):
            raise FetchError(f"{args.dest} is not writable: give another folder and set PODIUM_SHARED_DATA")
        return fetch(args.dest)
    except (FetchError, ManifestError) as err:
        print(f"fetch_data: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"fetch_data: error: {err.strerror or err}: {err.filename or args.dest}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
