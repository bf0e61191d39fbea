"""
A GAN dataset of spectrogram tiles, and back to audio
=====================================================

:func:`specimg.dataset.build` cuts a folder of audio into mel-spectrogram tiles of one
size, all on one absolute dB scale stored once in ``specimg.json``, with Hugging Face
``imagefolder`` manifests and a train/validation split by source file.
:func:`specimg.dataset.decode_batch` turns what a generator emits (bare arrays, no
metadata) back into audio with the dataset's calibration.

Here the two recordings of ``sample_data/`` give 128 × 128 tiles (1.5 s each).
"""

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio
from PIL import Image

import specimg
from specimg.cli import sample_data_dir
from specimg.dataset import build, decode_batch, format_stats, params_of, stats

out = Path(tempfile.mkdtemp()) / "tiles"
report = build(sample_data_dir(), out, size=(128, 128), validation=0.5, seed=0, workers=1)
print(report)
print(json.dumps(json.loads((out / "specimg.json").read_text())["tile"], indent=1))

# %%
# What the dataset holds
# ----------------------
# ``stats`` counts tiles, hours and levels, and draws a contact sheet of random tiles:
# 8-bit gray, low frequencies at the bottom, one scale for every tile (a quiet recording
# stays darker).
sheet = out.parent / "contact_sheet.png"
print(format_stats(stats(out, contact_sheet=sheet, n=9, seed=0)))
fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
ax.imshow(Image.open(sheet), cmap="gray")
ax.set(title="contact sheet: 9 random tiles", xticks=[], yticks=[])

# %%
# One tile, calibrated
# --------------------
# The manifest ``train/metadata.jsonl`` names each tile's source, channel and offset.
# Every tile is a specimg PNG: :func:`specimg.load` reads it calibrated.
rows = [json.loads(line) for line in (out / "train" / "metadata.jsonl").read_text().splitlines()]
params = params_of(out)  # what every tile shares
tiles = np.stack([np.asarray(Image.open(out / "train" / r["file_name"])) for r in rows])
first = specimg.load(out / "train" / rows[0]["file_name"])
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
mesh = ax.pcolormesh(first.times, first.frequencies, first.db, shading="nearest", cmap="magma")
ax.set(yscale="symlog", ylim=(first.frequencies[0], first.frequencies[-1]), xlabel="time in the tile (s)",
       ylabel="frequency (Hz)", title=f"{rows[0]['file_name']}: {rows[0]['source']}")
fig.colorbar(mesh, ax=ax, label="level (dBFS)")

# %%
# Decode a batch
# --------------
# Pretend the first four tiles came out of a generator with a ``tanh`` output: floats in
# [−1, 1], shape ``(N, 1, H, W)``. ``decode_batch`` detects the range, takes the
# calibration from the dataset and returns one signal per tile, at its source's level.
batch = tiles[:4, np.newaxis].astype(np.float32) / 255 * 2 - 1
audio = decode_batch(batch, out, quality="fast")
print([f"{len(y) / params.sr:.2f} s" for y in audio])

# %%
# The first decoded tile:
Audio(np.clip(audio[0], -1, 1), rate=params.sr)

# %%
# The same stretch of the original recording, for comparison:
source, _ = specimg.read_audio(sample_data_dir() / rows[0]["source"], sr=params.sr)
segment = np.atleast_2d(source)[rows[0]["channel"], rows[0]["offset"] : rows[0]["offset"] + len(audio[0])]
Audio(segment, rate=params.sr)

# %%
# Stitch consecutive tiles
# ------------------------
# Tiles of one recording, in order, decode as **one** signal with ``stitch=True``: the
# phase runs on across the joins, so there is no click where one tile ends.
music = sorted((r for r in rows if r["source"] == "music.wav" and r["channel"] == 0), key=lambda r: r["frame"])
if music:
    music_tiles = np.stack([np.asarray(Image.open(out / "train" / r["file_name"])) for r in music])
    stitched = decode_batch(music_tiles, out, stitch=True, quality="fast")
    print(f"{len(music)} tiles of music.wav → {len(stitched) / params.sr:.2f} s")
else:  # the split put music.wav into validation
    stitched = audio[0]

# %%
# The stitched tiles:
Audio(np.clip(stitched, -1, 1), rate=params.sr)
