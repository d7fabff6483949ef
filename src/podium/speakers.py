"""Speaker labels and names: stable `SPEAKER_n` labels, then names from a map, enrollment or a list.

Naming by voice: each enrolled name goes to the diarized speaker whose centroid is most similar,
provided the cosine similarity reaches the threshold; a speaker takes at most one name and a name at
most one speaker (an optimal one-to-one assignment maximising total similarity over the pairs above
threshold).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from podium.errors import OptionError
from podium.options import option
from podium.transcript import Speaker, SpeakerTurn, Word

LABEL_PREFIX = "SPEAKER_"
# Control characters (a newline starts a new subtitle cue or transcript paragraph, so a name could
# inject a fake one), lone surrogates (not text: writing them fails) and line/paragraph separators.
_NOT_IN_NAMES = {"Cc": "a control character", "Cs": "a lone surrogate", "Zl": "a line separator",
                 "Zp": "a paragraph separator"}


@dataclass(frozen=True)
class SpeakerOptions:
    speaker_names: tuple[str, ...] = option(
        (), "comma-separated names for the speakers, in order of first appearance", metavar="NAMES")
    speaker_map: str | None = option(
        None, "JSON file mapping speaker labels (SPEAKER_1, ...) to names", metavar="FILE")
    enroll: tuple[str, ...] = option(
        (), "name a speaker from a short clip of their voice (repeatable)", metavar="NAME=CLIP",
        repeat=True)

    def __post_init__(self) -> None:
        # Checked as soon as the options exist, before any model loads or input is read.
        for name in self.speaker_names:
            check_name(name, "--speaker-names")
        self.enrollments()
        self.names_from_map()

    def enrollments(self) -> tuple[tuple[str, Path], ...]:
        return parse_enrollments(self.enroll)

    def names_from_map(self) -> dict[str, str]:
        return load_speaker_map(self.speaker_map) if self.speaker_map else {}


def parse_enrollments(values: Sequence[str]) -> tuple[tuple[str, Path], ...]:
    """`"Name=clip.wav"` values as (name, path) pairs, in order; one name may have several clips."""
    pairs = []
    for value in values:
        name, sep, clip = value.partition("=")
        name, clip = name.strip(), clip.strip()
        if not sep or not name or not clip:
            raise OptionError(f"--enroll expects NAME=CLIP (e.g. \"Jane Doe=jane.wav\"), got {value!r}")
        check_name(name, "--enroll")
        path = Path(clip).expanduser()
        if not path.is_file():
            raise OptionError(f"--enroll {name}: no such audio file: {clip}")
        pairs.append((name, path))
    return tuple(pairs)


def load_speaker_map(path: str | Path) -> dict[str, str]:
    """A JSON object {label: name}; every problem is one line naming the file."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OptionError(f"speaker map not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise OptionError(f"cannot read speaker map {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise OptionError(f"speaker map {path} is not valid JSON: {error.msg} at line {error.lineno}"
                          ) from None
    if not isinstance(data, dict):
        raise OptionError(f"speaker map {path} must be a JSON object of label -> name, "
                          f"got {type(data).__name__}")
    for label, name in data.items():
        if not isinstance(name, str) or not name.strip():
            raise OptionError(f"speaker map {path}: the name for {label!r} must be a non-empty string")
        check_name(name.strip(), f"speaker map {path}")
    return {label: name.strip() for label, name in data.items()}


def check_name(name: str, where: str) -> str:
    """A speaker name is data written into txt, SRT, VTT and TSV: refuse characters that change their
    structure, in one line that says which one."""
    for char in name:
        kind = _NOT_IN_NAMES.get(unicodedata.category(char))
        if kind is not None:
            raise OptionError(f"{where}: the speaker name {name!r} holds {kind} (U+{ord(char):04X}); names "
                              "are written into subtitles and transcripts, where it would break a line "
                              "or a cue: use plain text")
    return name


def relabel_by_first_appearance(
    words: Sequence[Word], turns: Sequence[SpeakerTurn]
) -> tuple[tuple[Word, ...], tuple[SpeakerTurn, ...], dict[str, str]]:
    """Raw diarizer labels -> SPEAKER_1, SPEAKER_2, ... in the order speakers first speak a word.

    Speakers with turns but no words come after, in order of their first turn. Returns the relabelled
    words and turns and the mapping raw label -> new label.
    """
    order: list[str] = []
    for label in [w.speaker for w in words] + [t.speaker for t in sorted(turns, key=lambda t: t.start)]:
        if label is not None and label not in order:
            order.append(label)
    mapping = {raw: f"{LABEL_PREFIX}{i}" for i, raw in enumerate(order, start=1)}
    new_words = tuple(w if w.speaker is None else replace(w, speaker=mapping[w.speaker]) for w in words)
    new_turns = tuple(replace(t, speaker=mapping[t.speaker]) for t in turns)
    return new_words, new_turns, mapping


def in_label_order(labels: Iterable[str]) -> list[str]:
    """SPEAKER_2 before SPEAKER_10 (numbers compare as numbers); other labels after, by name."""
    def key(label: str) -> tuple[int, str]:
        number = label.rsplit("_", 1)[-1]
        return (int(number), label) if number.isdigit() else (1 << 30, label)

    return sorted(labels, key=key)


def name_speakers(labels_in_order: Sequence[str], options: SpeakerOptions,
                  enrolled: dict[str, str] | None = None) -> tuple[Speaker, ...]:
    """A display name for each label: speaker map > enrollment > --speaker-names (by position) > label."""
    mapped = options.names_from_map()
    enrolled = enrolled or {}
    speakers = []
    for position, label in enumerate(labels_in_order):
        if label in mapped:
            name = mapped[label]
        elif label in enrolled:
            name = enrolled[label]
        elif position < len(options.speaker_names):
            name = options.speaker_names[position]
        else:
            name = label
        speakers.append(Speaker(label=label, name=name))
    return tuple(speakers)


# --- naming by voice (--enroll) --------------------------------------------------------------------

# Calibrated with `benchmarks/diarize.py --enrollment-scores`: it sits in the gap between same-speaker
# and different-speaker scores of CAM++ embeddings (figures in benchmarks/README.md, "Enrollment").
DEFAULT_THRESHOLD = 0.5


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denominator) if denominator > 0 else 0.0


def match_enrollments(centroids: dict[str, np.ndarray], enrolled: dict[str, np.ndarray],
                      threshold: float = DEFAULT_THRESHOLD) -> dict[str, str]:
    """{speaker label: enrolled name} for the pairs that match; unmatched speakers are left out."""
    labels, names = list(centroids), list(enrolled)
    if not labels or not names:
        return {}
    scores = np.array([[cosine_similarity(centroids[label], enrolled[name]) for name in names]
                       for label in labels])
    return {labels[r]: names[c] for r, c in one_to_one(scores, threshold)}


def one_to_one(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(row, column) pairs, each row and column at most once, maximising the total score over the
    pairs at or above `threshold`; pairs below it are never chosen."""
    from scipy.optimize import linear_sum_assignment  # here: scipy is slow to import, and rarely needed

    if scores.size == 0:
        return []
    eligible = scores >= threshold
    costs = np.where(eligible, scores, -float(scores.size) - 1.0)  # loses to any valid pair
    rows, cols = linear_sum_assignment(costs, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if eligible[r, c]]
