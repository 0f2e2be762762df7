"""The console logger of every job: Dagster's own, but a failed step can be told in one line.

A step's failure event carries the whole stack trace, which Dagster's console logger prints
above the run's summary: 45 frames of Dagster for "cannot read contacts.csv". With
`tracebacks: false` (`crm-hygiene run` without `--verbose`) the event keeps its first line
and the error's own message, and the steps skipped after it are not listed one by one; the
summary names the failure, and the trace stays in the event log (Dagster UI) and behind
`--verbose`.
"""

from __future__ import annotations

import logging

import dagster as dg
from dagster._utils.log import create_console_logger

TRACE_MARKER = "\nStack Trace:\n"


# Steps skipped because an earlier one failed: one ERROR line each, a dozen for one failure.
SKIPPED_MARKER = "Dependencies for step "


class _WithoutTraces(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SKIPPED_MARKER in message:
            return False
        if TRACE_MARKER in message:
            head = message.split(TRACE_MARKER, 1)[0].rstrip()
            record.msg, record.args = head + "\n(stack trace: --verbose or the Dagster UI)", ()
        return True


@dg.logger(
    {
        "log_level": dg.Field(str, is_required=False, default_value="INFO"),
        "name": dg.Field(str, is_required=False, default_value="dagster"),
        "tracebacks": dg.Field(bool, is_required=False, default_value=True),
    },
    description="Dagster's colored console logger; with tracebacks false, a failure without its stack trace.",
)
def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    made = create_console_logger(name=config["name"], level=logging.getLevelName(config["log_level"].upper()))
    if not config["tracebacks"]:
        for handler in made.handlers:
            handler.addFilter(_WithoutTraces())
    return made
