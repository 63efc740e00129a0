"""Named steps where crash tests stop a process, to see what a crash at that step leaves.

A test sets the step's variable (LAKEHOUSE_LOAD_STOP_AT, LAKEHOUSE_EXTRACT_STOP_AT) to a step
name; the process stops itself there (SIGSTOP) and the test kills it (SIGKILL), as an OOM kill or
a lost node would. Unset, a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def checkpoint(variable: str, step: str) -> None:
    if os.environ.get(variable) == step:
        os.kill(os.getpid(), signal.SIGSTOP)
