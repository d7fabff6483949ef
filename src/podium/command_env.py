"""Imported first by `podium.cli`, for its side effect: as a command, podium writes nothing but its
outputs and its own cache.

matplotlib, which pyannote.core imports, writes a font cache under ~/.cache/matplotlib and creates
~/.config/matplotlib on import unless MPLCONFIGDIR points elsewhere; this points it into podium's cache
before matplotlib loads. A user's own MPLCONFIGDIR still wins. The Python API leaves it alone: there
matplotlib's settings belong to the program that imports podium.
"""

from __future__ import annotations

import os

from podium.weights import cache_dir

os.environ.setdefault("MPLCONFIGDIR", str(cache_dir() / "matplotlib"))
