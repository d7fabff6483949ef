"""`podium evaluate`: score transcripts against references (see `podium.evaluate.api` for Python use)."""
