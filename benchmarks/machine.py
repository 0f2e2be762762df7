"""What every benchmark reports beside its figures: the machine, and the process's peak memory."""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def high_water_mb() -> float:
    """This process's peak RSS since it started its program.

    Linux's VmHWM is reset at exec, so a child process does not inherit the figure of the
    process it was forked from, as `ru_maxrss` does; elsewhere `peak_rss_mb`.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def machine() -> dict[str, object]:
    info: dict[str, object] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        info["cpu_model"] = models[0] if models else None
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        info["ram_gib"] = round(total_kib / 1024**2, 1)
    return info
