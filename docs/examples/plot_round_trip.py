"""
Round trip: audio → picture → audio, and what the presets buy
=============================================================

:func:`specimg.encode` turns audio into a calibrated picture; :func:`specimg.decode`
turns the picture back into audio of the same length, sample rate and level. Without the
phase in the file (see :doc:`plot_stored_phase`), decoding rebuilds it: the ``quality``
presets trade time for spectral convergence (SC, lower is better).
"""

# %%
# The spoken sentence of ``sample_data/``, its first 2.5 seconds.
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Audio

import specimg
from specimg.cli import sample_data_dir
from specimg.metrics import spectral_convergence


def show(img, ax, title):
    """The calibrated picture: seconds, hertz, dBFS."""
    mesh = ax.pcolormesh(img.times, img.frequencies / 1000, img.db, shading="nearest", cmap="magma",
                         vmin=img.db.max() - 90, vmax=img.db.max())
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title)
    ax.figure.colorbar(mesh, ax=ax, label="level (dBFS)")


y, sr = specimg.read_audio(sample_data_dir() / "speech.wav")
y = y[: int(2.5 * sr)]
img = specimg.encode(y, sr)
print(img)

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
show(img, ax, "speech, 16-bit picture, −120 … +6 dBFS")

# %%
# The original:
Audio(y, rate=sr)

# %%
# The picture is a plain 16-bit gray PNG that carries its parameters: load it anywhere
# and the level, the sample rate and the length come back with it.
folder = Path(tempfile.mkdtemp())
specimg.save(img, folder / "speech.png")
loaded = specimg.load(folder / "speech.png")
print(loaded.params.sr, loaded.params.n_samples, loaded.pixels.dtype, loaded.pixels.shape)

# %%
# Decode with each preset
# -----------------------
decoded = {}
for quality in ("fast", "balanced", "high"):
    start = time.perf_counter()
    decoded[quality], sr_hat = specimg.decode(loaded, quality=quality)
    seconds = time.perf_counter() - start
    sc = spectral_convergence(decoded[quality], y, img.params)
    print(f"{quality:9s} SC {sc:6.1f} dB in {seconds:4.1f} s; {len(decoded[quality])} samples for {len(y)}")

# %%
# ``quality="fast"``:
Audio(decoded["fast"], rate=sr)

# %%
# ``quality="balanced"`` (the default):
Audio(decoded["balanced"], rate=sr)

# %%
# ``quality="high"``:
Audio(decoded["high"], rate=sr)

# %%
# 8-bit pictures and mel pictures
# -------------------------------
# An 8-bit picture quantises the level in steps of 0.5 dB; a mel picture keeps 128 bands
# instead of 1025 bins. Both still decode, with less detail.
warnings.simplefilter("ignore", specimg.LossyWarning)  # 8-bit is lossy: we know, it says so
for name, kwargs in {"8-bit": {"bit_depth": 8}, "mel, 128 bands": {"scale": "mel"}}.items():
    small = specimg.encode(y, sr, **kwargs)
    y_small, _ = specimg.decode(small, quality="fast")
    print(f"{name:15s} SC {spectral_convergence(y_small, y, img.params):6.1f} dB")

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
show(small, ax, "the mel picture (128 bands)")
ax.set_yscale("symlog", linthresh=1)

# %%
# The mel picture, decoded with ``quality="fast"``:
Audio(y_small, rate=sr)
