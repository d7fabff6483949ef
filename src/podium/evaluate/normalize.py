"""Text normalisation before scoring, and the normalised token stream every text metric shares.

Each utterance is normalised as a whole (so "twenty five" becomes "25" the same way on both sides,
whatever the file format), then its tokens take speaker and times from the timed words they came
from, found by matching the utterance's tokens against the words' own normalised tokens.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from podium.evaluate.reference import Reference, RefWord, Utterance

NORMALIZATIONS = ("whisper", "basic", "none")

DESCRIPTIONS = {
    "whisper": "whisper_normalizer EnglishTextNormalizer: lower case, punctuation removed, "
               "English spellings, numbers and titles standardised",
    "basic": "whisper_normalizer BasicTextNormalizer: lower case, punctuation and symbols removed",
    "none": "none: text compared as written, split on whitespace",
}

Normalizer = Callable[[str], str]


def get_normalizer(name: str) -> Normalizer:
    # Imported here: scoring diarization alone needs no text normaliser (scripts/gpu_check.py runs
    # where whisper_normalizer is not installed).
    if name == "whisper":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    if name == "basic":
        from whisper_normalizer.basic import BasicTextNormalizer

        return BasicTextNormalizer()
    if name == "none":
        return lambda text: text
    raise ValueError(f"unknown normalisation {name!r} (expected one of {', '.join(NORMALIZATIONS)})")


@dataclass(frozen=True)
class Token:
    text: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


def tokenize(ref: Reference, normalize: Normalizer) -> tuple[Token, ...]:
    return tuple(token for u in ref.utterances for token in _utterance_tokens(u, normalize))


def _utterance_tokens(utterance: Utterance, normalize: Normalizer) -> list[Token]:
    texts = normalize(utterance.text).split()
    if not utterance.words:
        return [Token(t, utterance.speaker) for t in texts]
    sources = [(t, w) for w in utterance.words for t in normalize(w.text).split()]
    tokens: list[Token] = []
    matcher = difflib.SequenceMatcher(a=texts, b=[t for t, _ in sources], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for i in range(i1, i2):
            if tag == "equal":
                word: RefWord | None = sources[j1 + i - i1][1]
            elif tag == "replace":  # spread the block's words over its tokens in order
                word = sources[j1 + (i - i1) * (j2 - j1) // (i2 - i1)][1]
            else:  # a token no word produced: it keeps the utterance's speaker and has no time
                word = None
            tokens.append(_token(texts[i], word, utterance))
    return tokens


def _token(text: str, word: RefWord | None, utterance: Utterance) -> Token:
    if word is None:
        return Token(text, utterance.speaker)
    return Token(text, word.speaker or utterance.speaker, word.start, word.end)
