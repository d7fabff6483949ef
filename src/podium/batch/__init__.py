"""`podium batch`: transcribe many files with models loaded once, stages overlapped, and a ledger to resume.

- `inputs`: which files a batch covers (files, folders, manifests) and where each one's outputs go.
- `ledger`: the append-only JSON Lines record that makes a re-run skip finished work.
- `runner`: the staged pipeline (decode | transcribe | diarize + write) on threads with bounded queues.
- `report`: progress on stderr, the closing summary and the `--log-file` event stream.
The `podium batch` command itself is `podium.cli.batch`.
"""
