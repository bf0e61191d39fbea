"""Make the project's own sample audio and its encoded images.

    python sample_data/make_samples.py

Writes, next to this script:
- speech.wav: a sentence spoken by Debian's espeak-ng (22 050 Hz, mono, 16-bit);
- music.wav: a short synthesised stereo piece (22 050 Hz, 2 channels, 16-bit):
  a plucked melody panned left, a bass line panned right, and soft hi-hat noise;
- speech.png, music.png: both encoded by specimg with the default settings.

Needs espeak-ng on PATH (`apt-get install espeak-ng`). Everything is deterministic.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import specimg

HERE = Path(__file__).resolve().parent
SR = 22050


def speech() -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")
    text = "Spectrograms are pictures of sound. With specimg, the picture can speak again."
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        y, sr = sf.read(wav, dtype="float64")
    assert sr == SR, sr
    return 0.8 * y / np.max(np.abs(y))


def _note(freq: float, dur: float, *, harmonics: int = 8, decay: float = 3.0) -> np.ndarray:
    t = np.arange(int(dur * SR)) / SR
    tone = sum(np.sin(2 * np.pi * freq * h * t) / h**1.3 * np.exp(-decay * h * t / 2) for h in range(1, harmonics + 1))
    attack = np.minimum(t / 0.005, 1.0)
    return attack * tone


def music() -> np.ndarray:
    rng = np.random.default_rng(7)
    beat = 0.25
    melody = [0, 4, 7, 12, 11, 7, 4, 2, 0, 4, 7, 9, 7, 4, 2, 0]  # semitones above A4
    bass = [-24, -24, -19, -19, -17, -17, -12, -12]
    n = int(len(melody) * beat * SR) + SR // 2
    left, right = np.zeros(n), np.zeros(n)
    for i, semi in enumerate(melody):
        start = int(i * beat * SR)
        x = _note(440.0 * 2 ** (semi / 12), 0.6)
        left[start : start + len(x)] += 0.7 * x
        right[start : start + len(x)] += 0.3 * x
    for i, semi in enumerate(bass):
        start = int(i * 2 * beat * SR)
        x = _note(440.0 * 2 ** (semi / 12), 0.55, harmonics=4, decay=2.0)
        left[start : start + len(x)] += 0.3 * x
        right[start : start + len(x)] += 0.7 * x
    for i in range(len(melody) * 2):
        start = int(i * beat / 2 * SR)
        k = int(0.04 * SR)
        hat = rng.standard_normal(k) * np.exp(-np.arange(k) / (0.008 * SR))
        hat = np.diff(hat, prepend=0.0)  # brighter
        left[start : start + k] += 0.05 * hat
        right[start : start + k] += 0.05 * hat
    y = np.stack([left, right])
    return 0.7 * y / np.max(np.abs(y))


def main() -> None:
    sf.write(HERE / "speech.wav", speech(), SR, subtype="PCM_16")
    sf.write(HERE / "music.wav", music().T, SR, subtype="PCM_16")
    for name in ("speech", "music"):
        specimg.encode_file(HERE / f"{name}.wav", HERE / f"{name}.png")
        print(f"wrote {name}.wav and {name}.png")


if __name__ == "__main__":
    main()
