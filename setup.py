"""Packaging for sor, a smart order router lab."""

from setuptools import find_packages, setup

setup(
    name="sor",
    version="0.1.0",
    description="Event-driven simulator for smart order routing across fragmented venues",
    python_requires=">=3.10",
    packages=find_packages(
        include=[
            "sim",
            "sim.*",
            "venues",
            "venues.*",
            "strategies",
            "strategies.*",
            "feeds",
            "feeds.*",
            "benchmarks",
            "benchmarks.*",
        ]
    ),
    install_requires=[
        "simpy>=4.1",
        "numpy>=1.24",
        "attrs>=23.1",
        "click>=8.1",
        "tabulate>=0.9",
        "kafka-python>=3.0",
        # kafka-python checks record-batch CRC32C in pure Python without it: 5x slower streaming.
        "crc32c>=2.3",
        # The CSV reader's fast path: C++ tokenizing on every core, exact converters on top
        # (feeds/_arrow.py); without it the numpy parser reads the same, about 2x slower.
        "pyarrow>=12",
        # tomllib is standard from 3.11; 3.10 needs the backport.
        "tomli>=2.0; python_version<'3.11'",
    ],
    extras_require={
        "dbn": ["databento-dbn>=0.20"],
        "plot": ["matplotlib>=3.7"],
        # `sor study`: markets run as Dask tasks, on local worker processes or a running scheduler.
        "cluster": ["dask>=2024.1", "distributed>=2024.1"],
        "test": [
            "pytest>=7",
            "hypothesis>=6.80",
            "databento-dbn>=0.20",
            "matplotlib>=3.7",
            "dask>=2024.1",
            "distributed>=2024.1",
        ],
    },
    entry_points={
        "console_scripts": ["sor=sim.cli:main"],
        "sor.strategies": [
            "best_ask=strategies.best_ask:BestAsk",
            "twap=strategies.twap:Twap",
            "vwap=strategies.vwap:Vwap",
            "ck_static=strategies.ck_static:CkStatic",
            "cont_kukanov=strategies.cont_kukanov:ContKukanov",
        ],
    },
)
