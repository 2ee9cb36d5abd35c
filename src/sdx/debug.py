"""`--debug` / `SDX_DEBUG=1`: log the HTTP exchange to stderr with credentials redacted."""

from __future__ import annotations

import logging
import re

_SECRET_HEADER = re.compile(
    r"(?i)(['\"]?(?:authorization|api-key|x-api-key)['\"]?\s*[:=,]\s*['\"]?)([^'\"\s,}]+(?: [^'\"\s,}]+)?)"
)


class RedactingFilter(logging.Filter):
    """Rewrites every record so header values that carry credentials read `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = _SECRET_HEADER.sub(r"\1[redacted]", message)
        record.args = None
        return True


def enable_http_debug() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("sdx debug: %(name)s: %(message)s"))
    for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
