"""Ear-like figures for the phase benchmark: PESQ-WB and STOI (the ``bench`` extra).

Both packages are optional: :func:`missing` says which are absent and how to install them,
and the benchmark then leaves those columns out instead of failing.

* PESQ-WB (ITU-T P.862.2, package ``pesq``): reference and estimate resampled to 16 kHz
  with ``librosa.resample`` (soxr, "soxr_hq"), ``pesq(16000, ref, est, "wb")``; 1.04 … 4.64.
* STOI (Taal et al. 2011, package ``pystoi``): at the file's own rate (pystoi resamples to
  10 kHz internally), ``stoi(ref, est, sr, extended=False)``; 0 … 1.

A multichannel file scores the mean over its channels.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

PESQ_SR = 16000
INSTALL_HINT = 'pip install -e ".[bench]"  (or: pip install pesq pystoi)'


def missing() -> list[str]:
    """Names of the perceptual-metric packages that are not installed."""
    return [name for name in ("pesq", "pystoi") if importlib.util.find_spec(name) is None]


def _channels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(-1, y.shape[-1])


def pesq_wb(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """PESQ-WB of ``est`` against ``ref`` (both at ``sr``), resampled to 16 kHz; NaN if PESQ refuses."""
    import librosa
    from pesq import pesq

    scores = []
    for r, e in zip(_channels(ref), _channels(est)):
        if sr != PESQ_SR:
            r = librosa.resample(r, orig_sr=sr, target_sr=PESQ_SR, res_type="soxr_hq")
            e = librosa.resample(e, orig_sr=sr, target_sr=PESQ_SR, res_type="soxr_hq")
        n = min(len(r), len(e))
        try:
            scores.append(float(pesq(PESQ_SR, r[:n], e[:n], "wb")))
        except Exception:  # pesq's NoUtterancesError and friends: no speech found
            scores.append(math.nan)
    return float(np.mean(scores))


def stoi(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """STOI (not extended) of ``est`` against ``ref`` at the file's rate ``sr``."""
    from pystoi import stoi as _stoi

    scores = []
    for r, e in zip(_channels(ref), _channels(est)):
        n = min(len(r), len(e))
        scores.append(float(_stoi(r[:n], e[:n], sr, extended=False)))
    return float(np.mean(scores))


def scores(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    """``{"pesq": PESQ-WB, "stoi": STOI}`` of ``est`` against ``ref``."""
    return {"pesq": pesq_wb(ref, est, sr), "stoi": stoi(ref, est, sr)}
