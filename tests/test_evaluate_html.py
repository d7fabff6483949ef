"""The HTML page as a browser renders it: headless Chromium dumps the DOM and we read the numbers back."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from podium.cli.evaluate import main

DATA = Path(__file__).parent / "data" / "eval"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class PageReader(HTMLParser):
    """Collects what the assertions need: card values, overall row, alignment marks, SVG turns."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.cards: dict[tuple[str | None, str], str] = {}
        self.overall: list[str] = []
        self.marks: dict[str, list[str]] = {"sub": [], "del": [], "ins": [], "spkerr": []}
        self.turns: dict[tuple[str | None, str], int] = {}
        self.links: list[str] = []
        self._stack: list[tuple[str, str]] = []  # (tag, what its text is collected for)
        self._card: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section" and a.get("id", "").startswith("pair-"):  # type: ignore[union-attr]
            self.section = a["id"][5:]  # type: ignore[index]
        if tag in ("link", "script", "img", "iframe") or (tag != "svg" and (a.get("src") or a.get("href"))):
            self.links.append(tag)
        if "card" in classes:
            self._card = a.get("data-metric")
        purpose = ""
        if "value" in classes and self._card:
            purpose = f"card:{self._card}"
        elif tag == "tr" and "overall" in classes:
            purpose = "overall"
        elif tag == "td" and self._stack and self._stack[-1][1] == "overall":
            purpose = "overall-cell"
        if "alignment" in classes:
            purpose = "alignment"
        in_alignment = any(p == "alignment" for _, p in self._stack)  # the legend uses the same classes
        for mark in self.marks:
            if mark in classes and in_alignment:
                purpose = f"mark:{mark}"
        if tag == "rect" and "turn" in classes:
            side = next(c for c in classes if c in ("reference", "hypothesis"))
            self.turns[(self.section, side)] = self.turns.get((self.section, side), 0) + 1
        if tag not in ("rect", "line", "meta", "br"):
            self._stack.append((tag, purpose))

    def handle_endtag(self, tag: str) -> None:
        if self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._stack or not data.strip():
            return
        purpose = next((p for _, p in reversed(self._stack) if p), "")
        if purpose.startswith("card:"):
            self.cards[(self.section, purpose[5:])] = data.strip()
        elif purpose == "overall-cell":
            self.overall.append(data.strip())
        elif purpose.startswith("mark:"):
            self.marks[purpose[5:]].append(data.strip())


def dump_dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_page_renders_the_metrics_alignment_and_timelines(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["--manifest", str(DATA / "manifest.jsonl"), "--names", str(DATA / "names.txt"),
                 "--html", str(page)]) == 0
    dom = dump_dom(page, tmp_path / "profile")
    reader = PageReader()
    reader.feed(dom)

    # interview pair, by hand: WER 3/14, CER 13/77, cpWER 7/14, WDER 2/12, DER 2.5/12, JER 29.7%
    expected = {"wer": "21.4%", "cpwer": "50.0%", "wder": "16.7%", "der": "20.8%", "jer": "29.7%",
                "names": "50.0%"}
    assert {k: reader.cards.get(("interview", k)) for k in expected} == expected
    # der pair: 4 s of errors over 20 s; no text, so no WER card
    assert reader.cards[("der", "der")] == "20.0%"
    assert ("der", "wer") not in reader.cards
    # overall row: pair label, WER, S/D/I, CER, cpWER, WDER, DER pooled (2.5 + 4) / (12 + 20)
    assert reader.overall[:7] == ["Overall (2, pooled)", "21.4%", "1/1/1", "16.9%", "50.0%", "16.7%", "20.3%"]

    assert reader.marks["sub"] == ["witkoff", "witko"]
    assert reader.marks["del"] == ["today"] and reader.marks["ins"] == ["here"]
    assert reader.marks["spkerr"] == ["we", "are"]
    assert reader.turns == {("interview", "reference"): 3, ("interview", "hypothesis"): 3,
                            ("der", "reference"): 2, ("der", "hypothesis"): 3}
    assert reader.links == [], "the page must not load anything from outside"
    assert "deletion (missing in hypothesis)" in dom and "right word, wrong speaker" in dom
