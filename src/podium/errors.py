"""User-facing errors: the CLI prints their message on one line and exits with `exit_code`."""


class PodiumError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class OptionError(PodiumError, ValueError):
    """An option value that cannot work: a ValueError to Python callers, one line at the CLI."""


class MediaError(PodiumError):
    """The input could not be read as audio."""


class ModelError(PodiumError):
    """A model could not be found, verified or loaded."""


class RunError(PodiumError):
    """The machine, not the input: a full disk, a read-only or unwritable output folder or ledger.

    The run stops (every later input would fail the same way) and nothing is recorded against the
    input, so a rerun after the problem is fixed does that input again.
    """

    exit_code = 1


class PodiumWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI prints it on one line."""
