"""The errors Senim raises on purpose. Their ``str()`` is a message for the user."""


class SenimError(Exception):
    """Base of every deliberate error; the CLI and the UI show its message, never a traceback."""


class InputFileError(SenimError):
    """An uploaded file cannot be read as a table at all (empty, binary, too large, ...)."""
