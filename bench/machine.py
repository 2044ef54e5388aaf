"""Which machine a benchmark ran on, for the first line of its output.

The project's 2-core machines are sold as one kind but are not: the same code served 2,072 and
1,536 PNGs a second on two of them (docs/benchmarks.md). Naming the CPU keeps figures compared
only with figures from the same kind of machine.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe(*, cpuinfo: str | None = None) -> str:
    """E.g. "AMD EPYC, family 25 model 17, AVX-512, 2 cores" from Linux's /proc/cpuinfo; elsewhere
    what `platform` knows."""
    if cpuinfo is None:
        source = Path("/proc/cpuinfo")
        cpuinfo = source.read_text() if source.exists() else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's
    cores = f"{os.cpu_count()} cores"
    if not fields.get("model name"):
        return f"{platform.processor() or platform.machine()}, {cores}"
    flags = fields.get("flags", "").split()
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    family = f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
    return f"{fields['model name']}, {family}, {vectors}, {cores}"
