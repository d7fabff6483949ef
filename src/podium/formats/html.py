"""A review page (`HtmlWriter`, `--format html`): one self-contained HTML file an editor opens next to
the media, to listen, check who said what, rename speakers and download the corrected transcript.

The page loads nothing from the network. It plays the source through a relative link from the page's
folder (so the two can be moved together), or through the audio embedded as an Opus data URI when
`--html-embed-audio` asks for it or the source cannot be linked. The transcript travels as JSON in a
`<script type="application/json">` block and the page's script (`review.js`, beside this module) builds
every element from it with textContent, so names and text stay data and never become markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from podium.errors import PodiumWarning
from podium.formats.base import Writer
from podium.formats.rttm import speaker_spans
from podium.transcript import Transcript

# Containers that usually hold a picture: these play in a <video> element, the rest in <audio>.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".ogv", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts",
    ".mts", ".m2ts", ".3gp",
})
# Speech stays intelligible at 24 kbit/s mono Opus, which costs ~14 MB of base64 per hour of audio.
EMBED_BITRATE = "24k"
EMBED_MIME = "audio/webm;codecs=opus"
# Characters that would let the JSON end its <script> block, open a comment or an entity, or (U+2028,
# U+2029) break a JavaScript string in older engines; \\uXXXX escapes mean the same to JSON.parse.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True)
class Media:
    """How the page plays the source: `tag` is "video", "audio" or None (no playback), `src` a URL
    relative to the page or a data URI, `note` a sentence shown above the transcript when not None."""

    tag: str | None
    src: str | None
    note: str | None = None


class HtmlWriter(Writer):
    """The review page: media player, speaker timeline, clickable transcript, search, renaming and
    in-browser downloads of the corrected transcript (JSON, SRT, VTT)."""

    extension = "html"

    def render(self, transcript: Transcript) -> str:
        media = self.media(transcript)
        data = {
            "transcript": _finite(transcript.to_dict()),
            "spans": [[start, end, label] for start, end, label in speaker_spans(transcript)],
            "stem": Path(transcript.source).stem if transcript.source else "transcript",
            "media": {"tag": media.tag, "note": media.note},
        }
        return page(data, media, title=Path(transcript.source).name if transcript.source else "transcript")

    def media(self, transcript: Transcript) -> Media:
        """Link the source when it exists (relative to the page's folder), embed it when asked or when
        no link can be made, and fall back to a page without playback when neither works."""
        if not transcript.source:
            return Media(None, None, "This transcript has no source media, so the page has no playback.")
        source = Path(transcript.source)
        if not source.is_file():
            return Media(None, None, f"The media file {source.name} was not found when this page was "
                                     "written, so the page has no playback.")
        link = relative_link(source, self.output_dir)
        if self.options.html_embed_audio or link is None:
            embedded = embed_audio(source, _audio_stream(transcript))
            if embedded is not None:
                return Media("audio", embedded)
            if link is None:  # only on Windows, with the media on another drive than the page
                return Media(None, None, f"{source.name} could neither be linked nor embedded, so the "
                                         "page has no playback.")
            # Embedding failed (warned): a link still plays while the page stays next to the media.
        tag = "video" if source.suffix.lower() in VIDEO_EXTENSIONS else "audio"
        return Media(tag, link)


def relative_link(source: Path, output_dir: Path) -> str | None:
    """A URL for `source` relative to `output_dir`, each path segment percent-encoded (a '#' or '?' in a
    file name would otherwise end the path); None when there is no relative path (another drive)."""
    try:
        relative = os.path.relpath(source.resolve(), output_dir.resolve())
    except ValueError:
        return None
    return urllib.parse.quote(Path(relative).as_posix())


def embed_audio(source: Path, stream: int = 0) -> str | None:
    """The source's audio as a mono Opus-in-WebM data URI, or None (with a warning) when ffmpeg is
    missing or fails. WebM goes through a temporary file: written to a pipe, the muxer cannot go back
    to record the duration and the seek index, and the browser would then show no length."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        warnings.warn("html: ffmpeg not found, the audio could not be embedded", PodiumWarning,
                      stacklevel=2)
        return None
    with tempfile.TemporaryDirectory(prefix="podium-html-") as folder:
        target = Path(folder) / "audio.webm"
        # "file:" so that a name like "http:clip.mp4" or "-x.mp4" is read as a local file.
        done = subprocess.run(
            [ffmpeg, "-nostdin", "-v", "error", "-i", "file:" + str(source.resolve()),
             "-map", f"0:a:{stream}", "-vn", "-ac", "1", "-c:a", "libopus", "-b:a", EMBED_BITRATE,
             "-application", "voip", "-f", "webm", "-y", str(target)],
            capture_output=True, check=False)
        if done.returncode != 0 or not target.is_file():
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            warnings.warn(f"html: could not embed the audio of {source.name}: "
                          f"{reason[-1] if reason else 'ffmpeg failed'}", PodiumWarning, stacklevel=2)
            return None
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
    return f"data:{EMBED_MIME};base64,{payload}"


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no '</script>', '<!--' or entity can form."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


def page(data: dict[str, Any], media: Media, title: str) -> str:
    """The whole document. Only the title, the media URL and the JSON (all escaped) come from the
    transcript; the rest is fixed markup that review.js fills in."""
    css = _resource("review.css")
    js = _resource("review.js")
    # The policy allows exactly this page's own style and script (by hash) and media from the page's
    # folder or a data URI: if escaping ever failed, injected markup still could not run or fetch.
    policy = "; ".join((
        "default-src 'none'", f"style-src '{_sha256(css)}'", f"script-src '{_sha256(js)}'",
        "media-src 'self' file: data: blob:", "img-src data:", "base-uri 'none'", "form-action 'none'",
    ))
    if media.tag is not None and media.src is not None:
        player = (f'<{media.tag} id="media" controls preload="metadata" '
                  f'src="{html.escape(media.src, quote=True)}"></{media.tag}>')
    else:
        player = ""
    return "".join((
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=True)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # An empty icon: without it a browser may ask the server for /favicon.ico.
        '<link rel="icon" href="data:,">',
        f"<title>{html.escape(title)} · podium review</title><style>{css}</style></head><body>\n",
        '<header id="top">',
        f'<h1><span class="app">podium review</span> <span id="title">{html.escape(title)}</span> '
        '<span id="facts"></span></h1>',
        f'<div id="player">{player}</div>',
        '<p id="note" hidden></p>',
        '<div id="toolbar">',
        '<label class="search">Search <input id="search" type="search" autocomplete="off" '
        'placeholder="words…"></label>',
        '<button id="prev" type="button" title="previous match (Shift+Enter)">◀</button>',
        '<button id="next" type="button" title="next match (Enter)">▶</button>',
        '<span id="count" aria-live="polite"></span>',
        '<label><input id="only-matches" type="checkbox"> only turns with matches</label>',
        '<label><input id="follow" type="checkbox" checked> follow playback</label>',
        '<span class="downloads">Download <button id="dl-json" type="button">JSON</button>',
        '<button id="dl-srt" type="button">SRT</button><button id="dl-vtt" type="button">VTT</button>',
        '</span><span id="status" aria-live="polite"></span></div>',
        '<div id="legend"><div id="speakers"></div><div id="marks">',
        '<span class="w current">current word</span> <span class="w match">search match</span> ',
        '<span class="w low">speaker uncertain (&lt; 0.5)</span> ',
        '<span class="w overlap">overlapped speech</span>',
        '<span class="hint">Click a word or the timeline to seek; click a speaker name to rename.</span>',
        "</div></div>",
        '<div id="timeline" aria-label="speaker timeline"></div>',
        "</header>\n",
        '<main id="transcript"></main>\n',
        f'<script type="application/json" id="podium-data">{script_json(data)}</script>\n',
        f"<script>{js}</script>\n</body></html>\n",
    ))


def _resource(name: str) -> str:
    return resources.files("podium.formats").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _audio_stream(transcript: Transcript) -> int:
    """The audio stream the transcript was made from (`--audio-stream`), so the page plays the same."""
    media = transcript.options.get("media")
    stream = media.get("audio_stream") if isinstance(media, dict) else None
    return stream if isinstance(stream, int) and stream >= 0 else 0


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON.parse refuses them, and one would leave the page empty."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
