"""The review page (`--format html`): rendered here, then driven in headless Chromium through the
DevTools protocol, so what is checked is what an editor's browser does: it loads cleanly and fetches
nothing but the media, a click on a word seeks the media, renaming reaches every turn and the
downloads, transcript text never becomes markup, and embedded audio plays without the media file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ffmpeg
from podium.formats import OutputOptions, write_outputs
from podium.formats.html import HtmlWriter, relative_link, script_json
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="chromium is not installed (apt-get install -y chromium)")
# An awkward file name on purpose: spaces, '#', '&' and quotes must survive the link and the attribute.
MEDIA_NAME = "tone #1 & 'co'.wav"


def words(start: float, texts: str, speaker: str, **marks: Any) -> tuple[Word, ...]:
    """Half-second words from `start`, with the leading space faster-whisper gives them."""
    return tuple(Word(start + 0.5 * i, start + 0.5 * i + 0.4, f" {text}", 0.9, speaker, 0.9, False)
                 if not marks.get(text) else
                 Word(start + 0.5 * i, start + 0.5 * i + 0.4, f" {text}", 0.9, speaker, *marks[text])
                 for i, text in enumerate(texts.split()))


def segment(ws: tuple[Word, ...]) -> Segment:
    return Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws).strip(), ws, ws[0].speaker)


def briefing(source: Path | str | None, name_a: str = "Moderator",
             text_b: str = "thank you all") -> Transcript:
    """Three turns of two speakers (A, B, A); one word of B is uncertain, one overlapped."""
    first = words(0.2, "good morning everyone", "A")
    second = words(1.8, text_b, "B", thank=(0.3, False), all=(0.8, True))
    third = words(3.4, "next question", "A")
    segments = (segment(first), segment(second), segment(third))
    return Transcript(segments=segments, language="en", duration=4.5,
                      source=None if source is None else str(source), model="hand-made",
                      speakers=(Speaker("A", name_a), Speaker("B", "Secretary-General")),
                      turns=(SpeakerTurn(0.2, 1.6, "A"), SpeakerTurn(1.8, 3.2, "B"),
                             SpeakerTurn(3.4, 4.3, "A")))


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of a 440 Hz sine in a folder of its own: the page links to it as ../media/..."""
    path = tmp_path_factory.mktemp("media") / MEDIA_NAME
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-ac", "1", "-ar", "16000",
           "file:" + str(path))
    return path


def write_page(transcript: Transcript, folder: Path, embed: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    page, _provenance = write_outputs(transcript, folder, "briefing", ["html"],
                                      OutputOptions(html_embed_audio=embed))
    return page


# --- without a browser -----------------------------------------------------------------------------


def test_script_json_cannot_close_its_script_block() -> None:
    text = script_json({"t": "</script><!-- & \u2028\u2029 é"})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"t": "</script><!-- & \u2028\u2029 é"}


def test_links_are_relative_to_the_page_folder_and_percent_encoded(tmp_path: Path) -> None:
    media = tmp_path / "media" / "a b#1?.mp4"
    media.parent.mkdir()
    media.write_bytes(b"")
    assert relative_link(media, tmp_path / "out") == "../media/a%20b%231%3F.mp4"
    page = HtmlWriter(OutputOptions(), tmp_path / "out").render(briefing(media))
    assert isinstance(page, str)
    assert '<video id="media" controls preload="metadata" src="../media/a%20b%231%3F.mp4">' in page


def test_missing_media_gives_a_page_without_player(tmp_path: Path) -> None:
    page = HtmlWriter(OutputOptions(), tmp_path).render(briefing(tmp_path / "gone.mp4"))
    assert isinstance(page, str)
    assert 'id="media"' not in page
    assert "gone.mp4 was not found" in page


def test_transcript_text_is_never_markup_in_the_file(tmp_path: Path) -> None:
    transcript = briefing(None, name_a="<b>x</b>", text_b="<script>alert(1)</script> \u2028 &amp;")
    page = HtmlWriter(OutputOptions(), tmp_path).render(transcript)
    assert isinstance(page, str)
    assert "<b>x" not in page and "alert(1)</script>" not in page and "\u2028" not in page
    assert page.count("<script") == 2  # the JSON block and the page's own script


# --- in Chromium -----------------------------------------------------------------------------------


class DevTools:
    """A minimal Chrome DevTools Protocol client over the browser's websocket: one command at a time,
    events kept (per session) for the assertions. A JavaScript dialog is answered at once, and kept,
    so a test can fail on it instead of hanging on a page blocked by `alert`."""

    def __init__(self, profile: Path) -> None:
        import websocket  # only these tests need it (pyproject's `test` extra)

        assert CHROMIUM is not None
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--mute-audio", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"  # port 0: Chromium picks one and writes it here
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            assert self.process.poll() is None, "chromium exited before opening its DevTools port"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self.socket = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60,
                                                  suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self.next_id = 0

    def send(self, method: str, session: str | None = None, **params: Any) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        return self.next_id

    def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.socket.recv())
        if message.get("method") == "Page.javascriptDialogOpening":
            self.send("Page.handleJavaScriptDialog", message.get("sessionId"), accept=True)
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        wanted = self.send(method, session, **params)
        while True:
            message = self.receive()
            if message.get("id") == wanted:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)


class Page:
    """One tab: navigation, evaluation, real mouse clicks and typing, and the events it raised."""

    def __init__(self, browser: DevTools) -> None:
        self.browser = browser
        self.target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.call("Target.attachToTarget", targetId=self.target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, self.session, **params)

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events
                if e.get("sessionId") == self.session and e["method"] == method]

    def open(self, path: Path) -> None:
        loaded = len(self.events("Page.loadEventFired"))
        self.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + 60
        while len(self.events("Page.loadEventFired")) == loaded:
            assert time.monotonic() < deadline, "the page did not finish loading"
            self.browser.receive()

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := self.eval(expression)):
            assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
            time.sleep(0.1)
        return value

    def click(self, selector: str, index: int = 0) -> None:
        """A real mouse click at the element's centre, after checking nothing covers it there."""
        box = self.eval(f"""(() => {{
            const node = document.querySelectorAll({json.dumps(selector)})[{index}];
            node.scrollIntoView({{block: "center"}});
            const r = node.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            return {{x, y, hit: node.contains(document.elementFromPoint(x, y))}};
        }})()""")
        assert box["hit"], f"{selector}[{index}] is covered where it would be clicked"
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left",
                      clickCount=1)

    def texts(self, selector: str) -> list[str]:
        """The textContent of every element the selector matches, in document order."""
        return self.eval(f"[...document.querySelectorAll({json.dumps(selector)})].map(n => n.textContent)")

    def type(self, text: str, enter: bool = True) -> None:
        self.call("Input.insertText", text=text)
        if enter:
            for kind in ("keyDown", "keyUp"):
                self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                          windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, browser log errors (CSP violations too)."""
        found = [f"console.{e['type']}: {e['args']}" for e in self.events("Runtime.consoleAPICalled")
                 if e["type"] in ("error", "warning", "assert")]
        found += [f"exception: {e['exceptionDetails']}" for e in self.events("Runtime.exceptionThrown")]
        found += [f"log: {e['entry']}" for e in self.events("Log.entryAdded")
                  if e["entry"]["level"] in ("error", "warning")]
        return found

    def requested(self) -> set[str]:
        """Every URL the page asked for, data: URIs (the embedded audio, the empty icon) aside."""
        return {e["request"]["url"] for e in self.events("Network.requestWillBeSent")
                if not e["request"]["url"].startswith("data:")}

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("websocket", reason="websocket-client is not installed (pyproject's test extra)")
    devtools = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    yield devtools
    devtools.close()


@pytest.fixture
def page(browser: DevTools) -> Iterator[Page]:
    tab = Page(browser)
    yield tab
    tab.close()


@needs_chromium
def test_page_loads_cleanly_and_a_click_on_a_word_seeks_the_media(tmp_path: Path, tone: Path,
                                                                   page: Page) -> None:
    transcript = briefing(tone)
    html = write_page(transcript, tmp_path / "out")
    page.open(html)
    page.wait_for("document.getElementById('media').duration > 0")
    assert page.eval("document.getElementById('media').tagName") == "AUDIO"
    assert page.requested() == {html.resolve().as_uri(), tone.resolve().as_uri()}

    all_words = transcript.words
    assert page.texts("#transcript .w") == [w.text.strip() for w in all_words]
    page.click("#transcript .w", 4)  # "thank", B's first word
    assert page.eval("document.getElementById('media').currentTime") == pytest.approx(all_words[4].start)
    page.wait_for("document.querySelectorAll('#transcript .w')[4].classList.contains('current')")
    assert page.eval("document.querySelectorAll('#transcript .w.current').length") == 1

    # The timeline seeks too: a click at the middle of a track lands at about half the length.
    page.click(".tl-track", 0)
    half = page.eval("document.getElementById('media').currentTime")
    assert half == pytest.approx(2.5, abs=0.1)  # the media's 5 s are the longest extent

    # While it plays, the highlight follows: paused at about 3.5 s, "next" (3.4-3.8 s) is the current word
    # (or a later one on a slow machine; the page keeps a word highlighted for 0.3 s past its end).
    page.eval("document.getElementById('media').currentTime = 3.3")
    page.call("Runtime.evaluate", expression="document.getElementById('media').play()", userGesture=True,
              awaitPromise=True)
    page.wait_for("document.getElementById('media').currentTime >= 3.5", timeout=20)
    page.eval("document.getElementById('media').pause()")
    at = page.eval("document.getElementById('media').currentTime")
    playing = next(w for w in reversed(all_words) if w.start <= at)
    expected = playing.text.strip() if at <= playing.end + 0.3 else None
    page.wait_for(f"(document.querySelector('#transcript .w.current')?.textContent ?? null) "
                  f"=== {json.dumps(expected)}")
    assert page.problems() == []


@needs_chromium
def test_search_and_marks(tmp_path: Path, tone: Path, page: Page) -> None:
    page.open(write_page(briefing(tone), tmp_path))
    # B's "thank" is uncertain (0.3), "all" overlapped: marked apart, and explained in the legend.
    assert page.texts("#transcript .w.low") == ["thank"]
    assert page.texts("#transcript .w.overlap") == ["all"]
    assert page.eval("document.querySelectorAll('#marks .low, #marks .overlap').length") == 2

    page.click("#search")
    page.type("e", enter=False)  # every word with an "e"
    assert page.texts("#transcript .w.match") == ["everyone", "next", "question"]
    assert page.eval("document.getElementById('count').textContent") == "1 / 3"
    page.click("#next")
    assert page.eval("document.getElementById('count').textContent") == "2 / 3"
    page.click("#search")
    page.call("Input.insertText", text="veryone")  # now "eveRYONE": one match
    assert page.eval("document.getElementById('count').textContent") == "1 / 1"
    assert page.texts(".w.match-current") == ["everyone"]
    page.eval("document.getElementById('search').value = 'next question'; "
              "document.getElementById('search').dispatchEvent(new Event('input'))")
    assert page.texts(".w.match-current") == ["next", "question"]
    page.click("#only-matches")
    assert page.eval("[...document.querySelectorAll('.turn')].map(t => t.hidden)") == [True, True, False]
    assert page.problems() == []


@needs_chromium
def test_renaming_a_speaker_renames_every_turn_and_the_downloads(tmp_path: Path, tone: Path,
                                                                  page: Page) -> None:
    transcript = briefing(tone)
    page.open(write_page(transcript, tmp_path / "out"))
    assert page.texts(".turn-name") == ["Moderator", "Secretary-General", "Moderator"]

    page.click(".legend-name", 0)
    page.wait_for("document.activeElement.classList.contains('rename')")
    page.type("Ada Lovelace")  # the field opens with the old name selected: typing replaces it
    assert page.texts(".turn-name") == ["Ada Lovelace", "Secretary-General", "Ada Lovelace"]
    assert page.texts(".tl-name") == ["Ada Lovelace", "Secretary-General", ""]  # "": the time axis
    assert page.texts(".legend-name") == ["Ada Lovelace", "Secretary-General"]

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.browser.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    for button, name in (("#dl-json", "json"), ("#dl-srt", "srt"), ("#dl-vtt", "vtt")):
        page.click(button)
        deadline = time.monotonic() + 30
        while not (downloads / f"{Path(MEDIA_NAME).stem}.{name}").is_file():
            assert time.monotonic() < deadline, f"no {name} download in {list(downloads.iterdir())}"
            time.sleep(0.1)
    stem = downloads / Path(MEDIA_NAME).stem

    fixed = Transcript.from_json(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert fixed.speakers == (Speaker("A", "Ada Lovelace"), Speaker("B", "Secretary-General"))
    assert fixed.segments == transcript.segments and fixed.turns == transcript.turns
    srt = stem.with_suffix(".srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,200 --> 00:00:01,600\nAda Lovelace: good morning everyone\n\n2\n")
    vtt = stem.with_suffix(".vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n00:00:00.200 --> 00:00:01.600\n"
                          "<v Ada Lovelace>good morning everyone</v>\n")
    assert page.problems() == []


@needs_chromium
def test_markup_in_names_and_text_shows_as_text(tmp_path: Path, tone: Path, page: Page) -> None:
    transcript = briefing(tone, name_a="<b>x</b>",
                          text_b="<script>alert(1)</script> <img src=x onerror=alert(2)>")
    page.open(write_page(transcript, tmp_path))
    page.wait_for("document.querySelectorAll('.turn').length === 3")
    assert page.events("Page.javascriptDialogOpening") == []
    assert page.eval("document.querySelectorAll('body b, body img, #transcript script').length") == 0
    assert page.eval("document.scripts.length") == 2
    assert page.eval("document.querySelector('.turn-name').textContent") == "<b>x</b>"
    text = page.eval("document.querySelectorAll('.turn-text')[1].textContent")
    assert text == "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    assert page.events("Page.javascriptDialogOpening") == []
    assert page.problems() == []


@needs_chromium
def test_embedded_audio_plays_without_the_media_file(tmp_path: Path, tone: Path, page: Page) -> None:
    source = tmp_path / "clip.mp4"  # a video name: the embedded copy is audio all the same
    ffmpeg("-i", tone, "-c:a", "aac", source)
    html = write_page(briefing(source), tmp_path / "out", embed=True)
    source.unlink()
    page.open(html)
    assert page.eval("document.getElementById('media').tagName") == "AUDIO"
    assert page.eval("document.getElementById('media').src.startsWith('data:audio/webm;codecs=opus;base64,')")
    duration = page.wait_for("document.getElementById('media').duration > 0 "
                             "&& document.getElementById('media').duration")
    assert duration == pytest.approx(5.0, abs=0.1)
    page.click("#transcript .w", 6)  # "next"
    assert page.eval("document.getElementById('media').currentTime") == pytest.approx(3.4)
    assert page.requested() == {html.resolve().as_uri()}
    assert page.problems() == []


@needs_chromium
def test_a_page_without_media_still_works(tmp_path: Path, page: Page) -> None:
    page.open(write_page(briefing(tmp_path / "moved-away.mp4"), tmp_path))
    assert page.eval("document.getElementById('media')") is None
    assert "moved-away.mp4 was not found" in page.eval("document.getElementById('note').textContent")
    assert page.eval("document.getElementById('note').hidden") is False
    page.click("#transcript .w", 2)
    assert page.eval("document.querySelector('#transcript .w.current').textContent") == "everyone"
    assert page.problems() == []
