// podium review page. Everything shown comes from the JSON block and is put into the DOM with
// createElement/textContent only: names and text are data, never markup. No network, no server.
(() => {
  "use strict";

  const DATA = JSON.parse(document.getElementById("podium-data").textContent);
  const T = DATA.transcript;
  const SEGMENTS = T.segments || [];
  const media = document.getElementById("media"); // null: the page has no playback
  // matplotlib's tab10, in the PNG timeline's lane order, so both pictures colour a speaker alike.
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  const NO_SPEAKER = "#9aa0a6";
  const LOW_CONFIDENCE = 0.5; // below this the aligner is unsure who said the word
  const HIGHLIGHT_TAIL = 0.3; // s a word stays "current" after its end: short gaps do not flicker

  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const oneLine = (text) => String(text ?? "").replace(/\s+/g, " ").trim();

  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
  }

  // --- speakers: labels in the PNG's order (named first), their names and colours -----------------

  const names = new Map((T.speakers || []).map((s) => [s.label, s.name]));
  const renamed = new Set();
  const labels = (() => {
    const seen = new Set();
    for (const span of DATA.spans) seen.add(span[2]);
    for (const seg of SEGMENTS) {
      if (seg.speaker != null) seen.add(seg.speaker);
      for (const w of seg.words || []) if (w.speaker != null) seen.add(w.speaker);
    }
    const named = (T.speakers || []).map((s) => s.label).filter((l) => seen.has(l));
    return named.concat([...seen].filter((l) => !named.includes(l)));
  })();
  const nameOf = (label) => (label == null ? null : oneLine(names.get(label) ?? label) || label);
  const colourOf = (label) => {
    const i = labels.indexOf(label);
    return i < 0 ? NO_SPEAKER : PALETTE[i % PALETTE.length];
  };
  // Every element showing a speaker's name carries its label, so a rename finds them all.
  function nameNode(tag, className, label) {
    const node = el(tag, `speaker-name ${className}`, nameOf(label));
    node.dataset.label = label;
    node.style.setProperty("--c", colourOf(label));
    return node;
  }

  // --- the transcript: turns of consecutive same-speaker segments, a span per word ---------------

  const words = []; // {start, end, norm, node, turn, word, label}: document order
  const turns = []; // {node, first, last}: word index range
  const normal = (text) =>
    String(text).toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^\p{L}\p{N}]+/gu, "");

  // A word's tooltip: its time, and why it is marked. Rebuilt on a rename (it may name a speaker).
  function wordTitle(w, segmentSpeaker) {
    const notes = [clock(w.start)];
    if (w.speaker_confidence != null && w.speaker_confidence < LOW_CONFIDENCE) {
      notes.push(`speaker uncertain (confidence ${w.speaker_confidence.toFixed(2)})`);
    }
    if (w.overlap) notes.push("overlapped speech");
    if (w.speaker != null && w.speaker !== segmentSpeaker) notes.push(`word attributed to ${nameOf(w.speaker)}`);
    return notes.join(" · ");
  }

  function wordNode(w, index, segmentSpeaker) {
    const node = el("span", "w", oneLine(w.text));
    node.dataset.i = String(index);
    if (w.speaker_confidence != null && w.speaker_confidence < LOW_CONFIDENCE) node.classList.add("low");
    if (w.overlap) node.classList.add("overlap");
    node.title = wordTitle(w, segmentSpeaker);
    return node;
  }

  function buildTranscript() {
    const main = $("transcript");
    let current = null;
    for (const seg of SEGMENTS) {
      const label = seg.speaker ?? null;
      if (!current || label === null || label !== current.label) {
        const node = el("section", "turn");
        node.style.setProperty("--c", colourOf(label));
        const head = el("div", "turn-head");
        if (label !== null) head.append(nameNode("button", "turn-name", label));
        const stamp = el("button", "stamp", clock(seg.start));
        stamp.type = "button";
        stamp.dataset.t = String(seg.start);
        head.append(stamp);
        const text = el("p", "turn-text");
        node.append(head, text);
        main.append(node);
        current = { label, node, text, first: words.length, last: words.length - 1 };
        turns.push(current);
      } else {
        current.text.append(document.createTextNode(" "));
      }
      // A segment without word times still gets one clickable span, timed like the segment.
      const items = seg.words && seg.words.length ? seg.words
        : [{ start: seg.start, end: seg.end, text: seg.text, speaker: seg.speaker }];
      items.forEach((w, k) => {
        if (!oneLine(w.text)) return;
        // faster-whisper words carry their leading space; keep the text's own spacing between words.
        if (k > 0 && /^\s/.test(w.text)) current.text.append(document.createTextNode(" "));
        const node = wordNode(w, words.length, label);
        current.text.append(node);
        words.push({ start: w.start, end: w.end, norm: normal(w.text), node, turn: current, word: w, label });
      });
      current.last = words.length - 1;
    }
    if (!SEGMENTS.length) main.append(el("p", "empty", "This transcript has no speech."));
  }

  // Word starts in time order for the binary search (segments may overlap slightly).
  let byStart = [];
  function indexStarts() {
    byStart = words.map((_, i) => i).sort((a, b) => words[a].start - words[b].start || a - b);
  }
  /** The word playing at time t: the last one started, while within HIGHLIGHT_TAIL of its end. */
  function wordAt(t) {
    let lo = 0;
    let hi = byStart.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (words[byStart[mid]].start <= t + 1e-6) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return -1;
    const i = byStart[found];
    return t <= Math.max(words[i].end, words[i].start) + HIGHLIGHT_TAIL ? i : -1;
  }

  // --- playback: seeking, the current word, the timeline's playhead ------------------------------

  let virtualTime = 0; // the cursor when there is no media to play
  let currentWord = -1;
  const now = () => (media ? media.currentTime : virtualTime);

  function seek(t) {
    const time = Math.max(0, Number(t) || 0);
    if (media) media.currentTime = time;
    else virtualTime = time;
    show(time, false);
  }

  function show(t, playing) {
    const i = wordAt(t);
    if (i !== currentWord) {
      if (currentWord >= 0) words[currentWord].node.classList.remove("current");
      currentWord = i;
      if (i >= 0) {
        words[i].node.classList.add("current");
        if (playing && $("follow").checked) words[i].node.scrollIntoView({ block: "nearest" });
      }
    }
    for (const head of document.querySelectorAll(".playhead")) head.style.left = `${(100 * t) / total()}%`;
  }

  if (media) {
    const update = () => show(media.currentTime, !media.paused);
    media.addEventListener("timeupdate", update);
    // timeupdate comes about 4 times a second, slower than words go by: follow each frame while playing.
    const frame = () => {
      update();
      if (!media.paused) requestAnimationFrame(frame);
    };
    media.addEventListener("play", () => requestAnimationFrame(frame));
    media.addEventListener("seeked", update);
    media.addEventListener("loadedmetadata", () => layoutTimeline());
    media.addEventListener("error", () => note(
      "The media could not be loaded: keep this page in the folder it was written to, next to the media, "
      + "or write it again with --html-embed-audio."));
    document.body.classList.toggle("has-video", media.tagName === "VIDEO");
  }

  function note(text) {
    const node = $("note");
    node.textContent = text;
    node.hidden = false;
  }

  // --- the speaker timeline: one row per speaker, a bar per turn ---------------------------------

  // The strip spans the longest of the transcript and the media (known once its metadata loads).
  const transcriptEnd = [...SEGMENTS.map((s) => s.end), ...DATA.spans.map((s) => s[1])]
    .reduce((a, b) => Math.max(a, b), Math.max(Number(T.duration) || 0, 1));
  const total = () => (media && Number.isFinite(media.duration) ? Math.max(transcriptEnd, media.duration)
    : transcriptEnd);

  const bars = []; // {node, start, end}
  const ticks = [];
  function buildTimeline() {
    const box = $("timeline");
    // Without diarization the strip shows where there is speech, as the PNG timeline does.
    const rows = labels.length
      ? labels.map((label) => [label, DATA.spans.filter((s) => s[2] === label)])
      : [[null, SEGMENTS.map((s) => [s.start, s.end, null])]];
    for (const [label, spans] of rows) {
      const row = el("div", "tl-row");
      row.append(label === null ? el("span", "tl-name", "Speech") : nameNode("button", "tl-name", label));
      const track = el("div", "tl-track");
      track.style.setProperty("--c", colourOf(label));
      for (const [start, end] of spans) {
        const bar = el("div", "bar");
        bar.title = `${clock(start)}–${clock(end)}`;
        track.append(bar);
        bars.push({ node: bar, start, end });
      }
      track.append(el("div", "playhead"));
      row.append(track);
      box.append(row);
    }
    const axis = el("div", "tl-row axis");
    const scale = el("div", "tl-track ticks");
    axis.append(el("span", "tl-name"), scale);
    box.append(axis);
    box.addEventListener("click", (event) => {
      const track = event.target.closest(".tl-track");
      if (!track) return;
      const rect = track.getBoundingClientRect();
      seek(((event.clientX - rect.left) / rect.width) * total());
    });
    layoutTimeline();
  }

  function layoutTimeline() {
    const end = total();
    for (const bar of bars) {
      bar.node.style.left = `${(100 * bar.start) / end}%`;
      bar.node.style.width = `${Math.max((100 * (bar.end - bar.start)) / end, 0.15)}%`;
    }
    const scale = document.querySelector(".ticks");
    for (const tick of ticks.splice(0)) tick.remove();
    const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200]
      .find((s) => end / s <= 12) ?? 14400;
    for (let t = 0; t <= end * 0.95; t += step) { // none at the very end, where its label would be cut
      const tick = el("span", "tick", clock(t));
      tick.style.left = `${(100 * t) / end}%`;
      scale.append(tick);
      ticks.push(tick);
    }
    show(now(), false);
  }

  // --- the legend: renaming speakers -------------------------------------------------------------

  function buildLegend() {
    const box = $("speakers");
    for (const label of labels) {
      const item = el("span", "spk");
      item.style.setProperty("--c", colourOf(label));
      item.append(el("span", "swatch"), nameNode("button", "legend-name", label));
      box.append(item);
    }
  }

  function startRename(label) {
    const button = [...document.querySelectorAll(".legend-name")].find((b) => b.dataset.label === label);
    if (!button) return;
    const input = el("input", "rename");
    input.value = nameOf(label);
    input.setAttribute("aria-label", `new name for ${label}`);
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      input.replaceWith(button);
      if (keep) rename(label, input.value);
      button.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== "Escape") return;
      // Without this the key's keypress reaches the button focused in its place and reopens the field.
      event.preventDefault();
      finish(event.key === "Enter");
    });
    input.addEventListener("blur", () => finish(true));
    button.replaceWith(input);
    input.focus();
    input.select();
  }

  function rename(label, value) {
    const name = oneLine(value) || label; // an empty name goes back to the label
    if (name === nameOf(label)) return;
    names.set(label, name);
    renamed.add(label);
    for (const node of document.querySelectorAll(".speaker-name")) {
      if (node.dataset.label === label) node.textContent = name;
    }
    for (const w of words) {
      if (w.word.speaker === label && w.label !== label) w.node.title = wordTitle(w.word, w.label);
    }
    $("status").textContent = `renamed ${renamed.size} speaker${renamed.size === 1 ? "" : "s"} — download to keep`;
  }

  // --- search ------------------------------------------------------------------------------------

  let matches = []; // [first word index, word count]
  let matchAt = -1;
  const marked = [];

  function search() {
    for (const node of marked.splice(0)) node.classList.remove("match", "match-current");
    const tokens = $("search").value.split(/\s+/).map(normal).filter(Boolean);
    matches = [];
    if (tokens.length) {
      for (let i = 0; i + tokens.length <= words.length; i++) {
        if (tokens.every((tok, k) => words[i + k].norm.includes(tok))) matches.push([i, tokens.length]);
      }
    }
    for (const [first, count] of matches) {
      for (let k = first; k < first + count; k++) {
        words[k].node.classList.add("match");
        marked.push(words[k].node);
      }
    }
    filterTurns(tokens.length > 0);
    matchAt = -1;
    if (matches.length) step(1);
    else $("count").textContent = tokens.length ? "no matches" : "";
  }

  function filterTurns(searching) {
    const only = searching && $("only-matches").checked;
    const hit = new Set(matches.map(([first]) => words[first].turn));
    for (const turn of turns) turn.node.hidden = only && !hit.has(turn);
  }

  function step(direction) {
    if (!matches.length) return;
    if (matchAt >= 0) {
      const [first, count] = matches[matchAt];
      for (let k = first; k < first + count; k++) words[k].node.classList.remove("match-current");
    }
    matchAt = (matchAt + direction + matches.length) % matches.length;
    const [first, count] = matches[matchAt];
    for (let k = first; k < first + count; k++) words[k].node.classList.add("match-current");
    words[first].node.scrollIntoView({ block: "center" });
    $("count").textContent = `${matchAt + 1} / ${matches.length}`;
  }

  // --- downloads: the corrected transcript, made in the browser ----------------------------------

  /** podium's JSON (Transcript.to_dict()) with the names as renamed here. */
  function corrected() {
    const out = JSON.parse(JSON.stringify(T));
    out.speakers = (T.speakers || []).map((s) => ({ label: s.label, name: nameOf(s.label) }));
    for (const label of labels) {
      if (renamed.has(label) && !out.speakers.some((s) => s.label === label)) {
        out.speakers.push({ label, name: nameOf(label) });
      }
    }
    return out;
  }

  function cueTime(seconds, decimal) {
    const ms = Math.max(0, Math.round(seconds * 1000));
    const pad = (n, w) => String(n).padStart(w, "0");
    return `${pad(Math.floor(ms / 3600000), 2)}:${pad(Math.floor(ms / 60000) % 60, 2)}:`
      + `${pad(Math.floor(ms / 1000) % 60, 2)}${decimal}${pad(ms % 1000, 3)}`;
  }

  // Deliberately simple subtitles: one cue per segment, the speaker as a "Name: " prefix (SRT) or a
  // <v Name> voice tag (WebVTT). podium's own SRT/VTT writers also split long segments into cues of
  // limited length and reading speed; to get those, edit the downloaded JSON's names and render it
  // with podium again.
  function cues() {
    return SEGMENTS.filter((s) => oneLine(s.text))
      .map((s) => ({ start: s.start, end: Math.max(s.end, s.start), text: oneLine(s.text), name: nameOf(s.speaker) }));
  }

  function srt() {
    return cues().map((c, i) => `${i + 1}\n${cueTime(c.start, ",")} --> ${cueTime(c.end, ",")}\n`
      + `${c.name ? `${c.name}: ` : ""}${c.text}\n`).join("\n");
  }

  function vtt() {
    const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const blocks = cues().map((c) => `${cueTime(c.start, ".")} --> ${cueTime(c.end, ".")}\n`
      + (c.name ? `<v ${escape(c.name)}>${escape(c.text)}</v>` : escape(c.text)) + "\n");
    return ["WEBVTT\n", ...blocks].join("\n");
  }

  function download(text, type, extension) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = el("a");
    link.href = url;
    link.download = `${DATA.stem}.${extension}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000); // after the browser has started saving
    if (renamed.size) $("status").textContent = `downloaded ${link.download}`;
  }

  // --- wiring ------------------------------------------------------------------------------------

  function header() {
    const facts = [T.language, T.model, T.duration ? clock(T.duration) : null,
      labels.length ? `${labels.length} speaker${labels.length === 1 ? "" : "s"}` : null].filter(Boolean);
    $("facts").textContent = facts.join(" · ");
    if (DATA.media.note) note(DATA.media.note);
  }

  // Scrolling a word into view must not leave it under the sticky header.
  const top = $("top");
  const pad = () => { document.documentElement.style.scrollPaddingTop = `${top.offsetHeight + 8}px`; };
  new ResizeObserver(pad).observe(top);

  header();
  buildTranscript();
  indexStarts();
  buildLegend();
  buildTimeline();

  $("transcript").addEventListener("click", (event) => {
    const word = event.target.closest(".w");
    if (word) return seek(words[Number(word.dataset.i)].start);
    const stamp = event.target.closest(".stamp");
    if (stamp) return seek(Number(stamp.dataset.t));
    const name = event.target.closest(".speaker-name");
    if (name) startRename(name.dataset.label);
  });
  $("speakers").addEventListener("click", (event) => {
    const name = event.target.closest(".legend-name");
    if (name) startRename(name.dataset.label);
  });
  $("timeline").addEventListener("click", (event) => {
    const name = event.target.closest(".speaker-name");
    if (name) startRename(name.dataset.label);
  });
  $("search").addEventListener("input", search);
  $("search").addEventListener("keydown", (event) => {
    if (event.key === "Enter") step(event.shiftKey ? -1 : 1);
  });
  $("next").addEventListener("click", () => step(1));
  $("prev").addEventListener("click", () => step(-1));
  $("only-matches").addEventListener("change", () => filterTurns(matches.length > 0 || !!$("search").value.trim()));
  $("dl-json").addEventListener("click", () =>
    download(`${JSON.stringify(corrected(), null, 2)}\n`, "application/json", "json"));
  $("dl-srt").addEventListener("click", () => download(srt(), "application/x-subrip", "srt"));
  $("dl-vtt").addEventListener("click", () => download(vtt(), "text/vtt", "vtt"));
})();
