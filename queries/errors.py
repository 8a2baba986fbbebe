"""The project's own errors: anything raised on purpose carries a message fit for a user."""


class SenimError(Exception):
    """Base of every error the project raises on purpose; str() is a user message."""


class InputFileError(SenimError):
    """The uploaded file cannot be read as a table at all (empty, binary, too large...)."""


class DatabaseUnavailable(SenimError):
    """The database cannot be reached or failed under us (server down, connection lost, disk
    error). The engine raises it in place of the driver's error (queries/db.py), so callers
    need not know which database library is underneath."""
