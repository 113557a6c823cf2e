"""Logging filters (LOGGING in config/settings.py)."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """A 4xx (a refused permission, a missing page) is logged as one line, without the
    traceback Django attaches to it; server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
