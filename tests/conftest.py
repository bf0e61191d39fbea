from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "sample_data"
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.wav")) if CORPUS.is_dir() else []


def real_audio_files() -> list:
    """Corpus files (skipped cleanly when the corpus is absent) and the project's samples."""
    files = [pytest.param(p, id=p.stem, marks=pytest.mark.corpus) for p in corpus_files()]
    if not files:
        files = [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason=f"{CORPUS} is absent"))]
    return files + [pytest.param(p, id=p.stem) for p in sorted(SAMPLE_DATA.glob("*.wav"))]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def sine(freq: float, sr: int = 22050, seconds: float = 1.0, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """``README and docs: N code blocks run``: the blocks tests/test_readme.py ran (from every xdist
    worker: each section test records its count as a user property of its report)."""
    ran = expected = 0
    seen = False
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "doc_blocks":
                    ran, seen = ran + int(value), True
                elif name == "doc_blocks_expected":
                    expected = int(value)
    if seen:
        of = f" of {expected}" if expected else ""
        terminalreporter.write_line(f"README and docs pages: {ran}{of} code blocks run (the Quick start commands are CI's)")
