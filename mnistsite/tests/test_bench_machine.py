"""The benchmarks name the machine they ran on (bench/machine.py): figures from the project's
2-core machines differ by up to 2× and are only comparable within one kind."""

from __future__ import annotations

import os

from bench import machine

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma avx512f avx512bw
processor\t: 1
cpu family\t: 26
model name\t: another CPU
"""


def test_the_cpu_is_named_with_its_family_model_and_vector_width():
    assert machine.describe(cpuinfo=CPUINFO) == f"AMD EPYC, family 25 model 17, AVX-512, {os.cpu_count()} cores"
    without_avx512 = CPUINFO.replace(" avx512f avx512bw", "")
    assert ", AVX2, " in machine.describe(cpuinfo=without_avx512)


def test_without_cpuinfo_the_platform_is_named():
    assert machine.describe(cpuinfo="").endswith(f", {os.cpu_count()} cores")
