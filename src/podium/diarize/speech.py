"""Is a diarized speaker's audio speech at all? A second opinion from Silero VAD.

segmentation-3.0 now and then gives a "speaker" to line noise, breathing or a door. Such a speaker
adds a name with no words to the transcript and counts as a person. On the 21 shared recordings
three such speakers (1.1-2.3 s each) were 0-21% speech by Silero VAD, at most 0.24 times the share
of their recording's clearest speaker; every real speaker scored 0.59 times or more
(benchmarks/README.md, "Speakers that are not speech"). The line is relative because real but
faint speech scores low too: an AMI far-field recording's only speaker scored 0.23.

Silero's weights ship inside faster-whisper (the ASR stage's own VAD), so this works offline. It is
a small LSTM over 32 ms windows, run once over the whole recording on one thread.

`noise_speakers` is the rule, pure over the shares; `speech_shares` measures them.
"""

from __future__ import annotations

import numpy as np

from podium.media import SAMPLE_RATE, float32_samples

WINDOW_SAMPLES = 512  # Silero's window at 16 kHz (32 ms)
SPEECH_PROBABILITY = 0.5  # a window is speech at this probability, as in faster-whisper's VadOptions
WINDOW_SECONDS = WINDOW_SAMPLES / SAMPLE_RATE
CONTEXT_SAMPLES = 64  # the end of the previous window that Silero hears before each window
BLOCK_WINDOWS = 625  # 20 s a block: Silero holds about 25 MB (60 s: 55-90 MB, for no speed)
Span = tuple[float, float]


def noise_speakers(shares: dict[str, float], max_share: float, min_speakers: int = 1) -> list[str]:
    """The speakers whose turns are speech for less than `max_share` times the share of the
    recording's clearest speaker, least speech first, never leaving fewer than `min_speakers` (and
    never none). Relative, because a far-field meeting can be faint for everyone (an AMI speaker
    scored 0.23): there nobody is far below the rest, and nobody goes.
    `shares`: {speaker: share of its windows that Silero hears as speech}."""
    if not shares:
        return []
    floor = max_share * max(shares.values())
    kept = sorted(shares, key=lambda label: (shares[label], label))
    noise = []
    while len(kept) > max(1, min_speakers) and shares[kept[0]] < floor:
        noise.append(kept.pop(0))
    return noise


def speech_shares(samples: np.ndarray, turns: dict[str, list[Span]]) -> dict[str, float]:
    """{speaker: share of the 32 ms windows inside its turns that Silero VAD hears as speech}.
    `samples`: 16 kHz mono, float32 in [-1, 1] or int16 PCM; `turns`: {speaker: [(start, end) in s]}."""
    probabilities = speech_probabilities(samples)
    speech = probabilities >= SPEECH_PROBABILITY
    shares = {}
    for speaker, spans in turns.items():
        windows = np.concatenate([np.arange(round(start / WINDOW_SECONDS), round(end / WINDOW_SECONDS))
                                  for start, end in spans] or [np.zeros(0, int)])
        windows = windows[windows < len(speech)]
        if windows.size:
            shares[speaker] = float(speech[windows].mean())
    return shares


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero's speech probability for every 32 ms window of the recording, heard from the start
    (its LSTM judges a window by what came before: heard from 0.5 s earlier, a bank call's line noise
    scored 0.81 instead of 0.21). The audio goes through a block at a time, converted to floats per
    block, with the LSTM state and the 64-sample context carried over, so the result is the same as
    one pass (faster-whisper's `SileroVADModel.__call__`, which takes the whole recording at once:
    0.25 GB more for 10 minutes)."""
    from faster_whisper.vad import get_vad_model  # onnxruntime: loaded only when diarizing

    session = get_vad_model().session
    hidden = np.zeros((1, 1, 128), np.float32)
    cell = np.zeros((1, 1, 128), np.float32)
    context = np.zeros(CONTEXT_SAMPLES, np.float32)
    block = BLOCK_WINDOWS * WINDOW_SAMPLES
    pieces = []
    for start in range(0, len(samples), block):
        piece = float32_samples(samples[start:start + block])  # a long recording stays int16
        windows = np.pad(piece, (0, (-len(piece)) % WINDOW_SAMPLES)).reshape(-1, WINDOW_SAMPLES)
        contexts = np.concatenate([context[None], windows[:-1, -CONTEXT_SAMPLES:]])
        output, hidden, cell = session.run(None, {"input": np.concatenate([contexts, windows], axis=1),
                                                  "h": hidden, "c": cell})
        pieces.append(output.reshape(-1))
        context = windows[-1, -CONTEXT_SAMPLES:]
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
