"""User-facing errors: the CLI prints their message on one line and exits with `exit_code`."""


class PodiumError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class MediaError(PodiumError):
    """The input could not be read as audio."""


class ModelError(PodiumError):
    """A model could not be found, verified or loaded."""
