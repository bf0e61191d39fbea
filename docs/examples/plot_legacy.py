"""
Rescuing spectrograms made by other tools
=========================================

Spectrograms saved without specimg lost their parameters and often their absolute level.
:mod:`specimg.legacy` reads each convention with what you know of it (the defaults are the
producing library's) and returns a calibrated :class:`~specimg.SpectrogramImage` that
decodes to audio. Whatever had to be assumed is named in a
:class:`~specimg.AssumptionWarning`; pass ``peak_db=`` when you know the level.

Every workflow below is recreated from ``sample_data/`` with the producing library's own
calls, rescued, decoded with ``quality="fast"`` and played.
"""

# %%
import tempfile
import warnings
from pathlib import Path

import librosa
import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
from IPython.display import Audio
from PIL import Image

import specimg
from specimg import legacy
from specimg.cli import sample_data_dir

y, sr = specimg.read_audio(sample_data_dir() / "speech.wav")
y = y[: 3 * sr]
music, _ = specimg.read_audio(sample_data_dir() / "music.wav")
music = music.mean(axis=0)[: 3 * sr]  # mixed to mono
work = Path(tempfile.mkdtemp())


def rescued(func, *args, **kwargs):
    """Call a ``legacy`` reader, printing what it had to assume."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", specimg.AssumptionWarning)
        img = func(*args, **kwargs)
    for w in caught:
        print("assumed:", w.message)
    return img


def show(img, title):
    fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    mesh = ax.pcolormesh(img.times, img.frequencies, img.db, shading="nearest", cmap="magma",
                         vmin=img.db.max() - 80, vmax=img.db.max())
    ax.set(yscale="symlog", ylim=(img.frequencies[1], img.frequencies[-1]), xlabel="time (s)",
           ylabel="frequency (Hz)", title=title)
    fig.colorbar(mesh, ax=ax, label="level (dB)")


def listen(img):
    out, rate = specimg.decode(img, quality="fast")
    return Audio(out, rate=rate)


# %%
# The original speech:
Audio(y, rate=sr)

# %%
# ``scipy.signal.spectrogram`` arrays
# -----------------------------------
# A power spectral density with its frequencies ``f`` and times ``t``: they give the
# segment length and step, and the density keeps the level, so nothing is assumed.
f, t, Sxx = scipy.signal.spectrogram(y, fs=sr, window="hann", nperseg=1024, noverlap=768)
img = rescued(legacy.from_scipy_spectrogram, f, t, Sxx, fs=sr, window="hann", nperseg=1024, noverlap=768)
show(img, "from_scipy_spectrogram")

# %%
listen(img)

# %%
# An 8-bit min-max PNG
# --------------------
# The most common script: dB re the loudest bin (``ref=np.max``), scaled to 0..255,
# flipped, saved as 8-bit. The height gives ``n_fft``; the level is gone, so it is
# assumed (:func:`specimg.legacy.default_peak_db`) unless you pass ``peak_db=``.
Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
pixels = (Xdb - Xdb.min()) / (Xdb.max() - Xdb.min()) * 255
Image.fromarray(np.flipud(pixels).astype(np.uint8)).save(work / "minmax.png")
img = rescued(legacy.from_minmax_image, work / "minmax.png", sr=sr)
show(img, "from_minmax_image")

# %%
listen(img)

# %%
# A ``librosa.display.specshow`` figure
# -------------------------------------
# Levels as colours, rows on a log axis, the figure's own pixel size. The figure must show
# the plot area only. ``from_figure`` matches the colours to the colormap, maps the rows
# back through the axis scale and needs the duration.
fig = plt.figure(figsize=(6.4, 4.8), dpi=100)
ax = fig.add_axes([0, 0, 1, 1])
ax.axis("off")
librosa.display.specshow(Xdb, sr=sr, y_axis="log", cmap="magma", ax=ax)
fig.savefig(work / "figure.png", dpi=100)
plt.close(fig)
img = rescued(legacy.from_figure, work / "figure.png", sr=sr, y_axis="log", cmap="magma", duration=len(y) / sr,
              peak_db=-12.0)
show(img, "from_figure (a 640 × 480 specshow figure)")

# %%
listen(img)

# %%
# A mel spectrogram array
# -----------------------
# ``librosa.feature.melspectrogram`` returns mel *power* with librosa's defaults: 128
# rows say it is mel, and power keeps its level.
M = librosa.feature.melspectrogram(y=music, sr=sr)
img = rescued(legacy.from_array, M, "power", sr=sr, n_samples=len(music))
show(img, "from_array(M, 'power'): music")

# %%
# The original music, then the rescued mel array:
Audio(music, rate=sr)

# %%
listen(img)

# %%
# An audio-diffusion picture
# --------------------------
# diffusers' ``Mel`` class: ``power_to_db(melspectrogram, ref=np.max, top_db=80)`` mapped
# to 0..255, low bands at the *top*, 256 × 256 pixels per slice. Its two documented lines,
# with librosa:
hop, top_db = 512, 80
piece = np.concatenate([y, np.zeros(max(0, 256 * hop - len(y)))])[: 256 * hop - 1]
S = librosa.feature.melspectrogram(y=piece, sr=sr, n_fft=2048, hop_length=hop, n_mels=256)
log_S = librosa.power_to_db(S, ref=np.max, top_db=top_db)
Image.fromarray((((log_S + top_db) * 255 / top_db).clip(0, 255) + 0.5).astype(np.uint8)).save(work / "ad.png")
img = rescued(legacy.from_audio_diffusion, work / "ad.png")
show(img, "from_audio_diffusion")

# %%
listen(img)

# %%
# A riffusion picture
# -------------------
# Mel *magnitudes* (HTK bands, 100 ms window padded to 400 ms, 10 ms hop) over their
# maximum, to the power 0.25, inverted and flipped, as RGB; riffusion writes its
# parameters and the maximum into EXIF tags, so the picture is fully calibrated.
n_fft, win, hop = int(0.4 * sr), int(0.1 * sr), int(0.01 * sr)
X = np.abs(librosa.stft(music, n_fft=n_fft, hop_length=hop, win_length=win, window="hann", pad_mode="reflect"))
M_riff = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None) @ X
data = (255 - np.power(M_riff / M_riff.max(), 0.25) * 255).astype(np.uint8)
riff = Image.fromarray(data).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
exif = riff.getexif()
riff_params = {"sample_rate": sr, "stereo": False, "step_size_ms": 10, "window_duration_ms": 100,
               "padded_duration_ms": 400, "num_frequencies": 512, "min_frequency": 0, "max_frequency": 10000,
               "power_for_image": 0.25, "max_value": float(M_riff.max())}
for key, value in riff_params.items():
    exif[legacy.RIFFUSION_EXIF_TAGS[key]] = value
riff.save(work / "riffusion.png", exif=exif)
img = rescued(legacy.from_riffusion, work / "riffusion.png", n_samples=len(music))
show(img, "from_riffusion: music")

# %%
listen(img)

# %%
# Save it, and the picture is self-describing
# -------------------------------------------
# ``specimg.save`` writes the parameters into the PNG: from now on ``specimg.decode``
# needs nothing else. ``specimg import KIND IN OUT`` does all of the above from a shell.
specimg.save(img, work / "rescued.png")
print(specimg.load(work / "rescued.png"))
