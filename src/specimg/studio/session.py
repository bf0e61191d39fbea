"""The studio's session: the image being edited, its history with undo and redo, the
autosave beside the file, saving, and the sound of a time range.

Edits run :mod:`specimg.ops` on a crop of frames around the selection (its fades and a
margin included) and paste the result back: the pixels and the history entry are those
the same call on the whole image gives, while a 10-minute file is never converted to
float as a whole; an edit over many pieces writes each piece's result into the pixels as
it goes, its undo data straight to disk. Each step keeps the pixels (and the stored
phase's validity and column CRCs) of the frames it changed, before and after, so undo and
redo restore both. The original pixels and validity stay on disk, mapped into memory.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ops
from ..errors import ParameterError
from ..image import SpectrogramImage, stack_channels
from ..ops import HOLE_THRESHOLD, apply_function, check_selection, selection_bounds, selection_frames, selection_mask
from ..params import SpectrogramParams, check_float
from ..stored_phase import StoredPhase, column_crcs
from .history import apply_record, autosave, autosave_path, backup_path, history_json, restore_session
from .undo import Block, Streamed, UndoStore

__all__ = ["Session", "Step", "CHUNK_FRAMES", "history_json", "autosave_path"]

#: Frames an edit works on at a time (bounds the float copies of :mod:`specimg.ops`).
CHUNK_FRAMES = 2048
#: Frames around a selection that ``heal`` (inpaint) sees of its surroundings.
HEAL_MARGIN = 32
#: Frames decoded before and after a requested time range (the window's overlap).
AUDIO_MARGIN_HOPS = 2
#: Frames :meth:`Session.warm_up` decodes.
WARM_UP_FRAMES = 64
#: Ops that run on the whole image (a selection is refused).
WHOLE_IMAGE_OPS = ("apply",)
#: Denoisers whose result at a bin depends on its neighbourhood alone (tv and wavelet see
#: the whole picture): on a selection they run on a crop around it and the noise region.
LOCAL_DENOISERS = ("gate", "median", "nlmeans", "bilateral")
OPS = ("erase", "gain", "heal", "denoise", "learn_noise", "mask", "apply")


@dataclass
class Step(Streamed):
    """One edit: the frames ``[a, b)`` it changed, before and after, as a :class:`Streamed`
    holds them (large blocks on disk, see :class:`~specimg.studio.undo.UndoStore`), and its
    history entry."""

    edit: dict[str, Any]


class Session:
    """An image being edited, with unlimited undo and redo.

    Parameters
    ----------
    img : SpectrogramImage
    name : str, shown in the page
    source : Path or None, the file it came from (for the autosave beside it)
    output : Path or None, where :meth:`save` writes (fixed for the session)
    restore : bool, replay the autosaved history of ``source`` if there is one
    own : bool, edit ``img``'s pixels and phase validity in place if writeable (its caller drops it)

    Examples
    --------
    >>> import numpy as np, specimg
    >>> img = specimg.encode(0.1 * np.sin(np.arange(22050) / 5), 22050)
    >>> s = Session(img)
    >>> _ = s.edit("erase", {"kind": "rect", "time": [0.2, 0.4]})
    >>> bool(np.array_equal(s.image().pixels, specimg.ops.erase(img, time=(0.2, 0.4)).pixels))
    True
    >>> _ = s.undo(); s.state()["can_redo"]
    True
    """

    def __init__(
        self, img: SpectrogramImage, *, name: str = "image", source: Path | None = None,
        output: Path | None = None, restore: bool = True, own: bool = False,
    ) -> None:  # fmt: skip
        self.lock = threading.RLock()
        self.name = name
        self.source = source
        self.output = None if output is None else check_output(output, source)
        self.params = img.params
        self.base_edits = list(img.params.edits)
        self.store = UndoStore()
        self.original = self.store.mapped(img.pixels)  # on disk: its pages are dropped after use
        self.pixels = img.pixels if own and img.pixels.flags.writeable else img.pixels.copy()
        self.n_frames = img.n_frames
        self.times = img.times
        self.phase = img.phase
        self.valid: np.ndarray | None = None
        self.crc: np.ndarray | None = None
        if img.phase is not None:  # columns changed outside specimg no longer hold their phase
            crc = column_crcs(img.pixels, img.params)
            stale = crc != img.phase.crc
            ph = img.phase
            self.phase = StoredPhase(ph.codes, ph.present, self.store.mapped(ph.valid), ph.crc, ph.bits)
            self.valid, self.crc = ph.valid if own and ph.valid.flags.writeable else ph.valid.copy(), crc
            if stale.any():
                self.valid &= ~stale[:, np.newaxis, :]
            self.orig_valid = self.valid.copy() if stale.any() else self.phase.valid
        self.steps: list[Step] = []
        self.pos = 0
        self.version = 0
        self.saved_version = 0
        self.noise_profile: list[float] | None = None
        self.restored = 0
        self.listeners: list[Callable[[int, int], None]] = []
        self.closed = False
        self.autosave_error: str | None = None
        #: why the autosaved history was not restored in full (None: it was, or there was none)
        self.restore_error: str | None = None
        self.restoring = False
        self._digest: str | None = None
        #: phase reconstruction of the edited parts when playing (a request may ask for another)
        self.quality = "fast"
        if restore and source is not None:
            restore_session(self)

    # ------------------------------------------------------------------ images
    def edits(self) -> list[dict[str, Any]]:
        """The session's own history entries, up to the current step."""
        return [s.edit for s in self.steps[: self.pos]]

    def crop(self, a: int, b: int, which: str = "edited") -> SpectrogramImage:
        """Frames ``[a, b)`` as an image of their own (no copy), with the stored phase's part."""
        pixels = (self.original if which == "original" else self.pixels)[:, a:b]
        params = self.params.replace(n_samples=None, edits=())
        phase = None
        if self.phase is not None:
            valid = self.orig_valid if which == "original" else self.valid
            crc = self.phase.crc if which == "original" else self.crc
            assert valid is not None and crc is not None
            phase = StoredPhase(self.phase.codes[:, :, a:b], self.phase.present[:, :, a:b], valid[:, :, a:b],
                                crc[:, a:b], self.phase.bits)  # fmt: skip
        return SpectrogramImage(pixels, params, phase)

    def image(self, which: str = "edited", *, copy: bool = True) -> SpectrogramImage:
        """The whole image with its history (a copy of the pixels unless ``copy=False``)."""
        with self.lock:
            if which == "original":
                return SpectrogramImage(self.original, self.params, self.phase)
            params = self.params.replace(edits=(*self.base_edits, *self.edits()))
            phase = None
            if self.phase is not None:
                assert self.valid is not None and self.crc is not None
                phase = StoredPhase(self.phase.codes, self.phase.present, self.valid.copy() if copy else self.valid,
                                    self.crc.copy() if copy else self.crc, self.phase.bits)  # fmt: skip
            return SpectrogramImage(self.pixels.copy() if copy else self.pixels, params, phase)

    def source_digest(self) -> str:
        """BLAKE2b digest (hex, 32 characters) of the pixels as opened, computed once."""
        if self._digest is None:
            import hashlib

            h = hashlib.blake2b(repr((self.original.shape, self.original.dtype.str)).encode(), digest_size=16)
            rows = max(1, (16 << 20) // max(1, self.original[0].nbytes))
            for r in range(0, self.original.shape[0], rows):
                h.update(np.ascontiguousarray(self.original[r : r + rows]).data)
            self.store.release()  # the pages of the original read from disk
            self._digest = h.hexdigest()
        return self._digest

    def state(self) -> dict[str, Any]:
        """The STATE object of the page's contract (taken under :attr:`lock`)."""
        with self.lock:
            return self._state()

    def _state(self) -> dict[str, Any]:
        return {
            "version": self.version, "can_undo": self.pos > 0, "can_redo": self.pos < len(self.steps),
            "history": self.edits(), "dirty": self.version != self.saved_version,
            "noise_profile": self.noise_profile is not None, "restored": self.restored,
            "autosave_error": self.autosave_error, "restore_error": self.restore_error,
        }  # fmt: skip

    def check_selection(self, selection: Any) -> dict[str, Any]:
        """``selection`` checked against this image (ParameterError if it is outside)."""
        return check_selection(selection, self.params, self.n_frames)

    # ------------------------------------------------------------------ edits
    def edit(self, op: str, selection: Any = None, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Apply one operation of :mod:`specimg.ops` to the selection (None: the whole image).

        Returns
        -------
        dict
            ``{"changed": {"time": [t0, t1]} or None, "warning": str or None}``.

        Raises
        ------
        ParameterError
            If the operation, its arguments or the selection are invalid; nothing changes.
        """
        args = dict(args or {})
        if op not in OPS:
            raise ParameterError(f"op={op!r:.40} is unknown; use one of {', '.join(OPS)}")
        with self.lock:
            sel = None if selection is None else self.check_selection(selection)
            if op == "learn_noise":
                if sel is None:
                    raise ParameterError("learn_noise needs a selection that holds noise alone")
                bounds = selection_bounds(sel, self.params, self.n_frames)
                self.noise_profile = [*bounds["time"], *bounds["freq"]]
                self.version += 1
                return {"changed": None, "warning": None}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                edit, a, b, after, phase_after = self._compute(op, sel, args)
            self._push(edit, a, b, after, phase_after)
            warning = "; ".join(str(w.message) for w in caught if issubclass(w.category, Warning)) or None
            return {"changed": self._changed(a, b), "warning": warning}

    def _changed(self, a: int, b: int) -> dict[str, list[float]] | None:
        if b <= a:
            return None
        return {"time": [float(self.times[a]), float(self.times[b - 1])]}

    def _compute(
        self, op: str, sel: dict[str, Any] | None, args: dict[str, Any]
    ) -> tuple[dict[str, Any], int, int, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        if op == "denoise":
            return self._denoise(sel, args)
        if op in WHOLE_IMAGE_OPS:
            if sel is not None:
                raise ParameterError(f"{op} works on the whole file in the studio; clear the selection first")
            return self._whole(op, args)
        if sel is None:
            sel = {"kind": "rect", "time": None, "freq": None, "channel": None, "fade": 0.0, "fade_hz": 0.0}
        if op in ("erase", "gain") and sel["kind"] == "rect" and (sel["channel"] is None or self.params.n_channels == 1):
            return self._rect(op, sel, args)
        if op == "heal":
            return self._heal(sel, args)
        if op == "erase":
            db = -(self.params.db_max - self.params.db_min)
        elif op == "gain":
            db = check_float("db", args.get("db"))
        else:
            db = check_float("db", args.get("db", -60.0))
        return self._masked(sel, db)

    def _pieces(
        self, pieces: list[tuple[int, int, Callable[[SpectrogramImage], SpectrogramImage]]]
    ) -> tuple[list[dict[str, Any]], int, int, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Run each piece's function on its crop; the records and the pasted block."""
        if not pieces:
            return [], 0, 0, self.pixels[:, 0:0].copy(), None
        a, b = pieces[0][0], pieces[-1][1]
        if len(pieces) > 1 and all(p[1] == q[0] for p, q in zip(pieces, pieces[1:])):
            if self.pixels[:, a:b].nbytes >= self.store.spill_bytes:
                return self._stream(pieces)
        block = self.pixels[:, a:b].copy()
        valid = None if self.valid is None else self.valid[:, :, a:b].copy()
        crc = None if self.crc is None else self.crc[:, a:b].copy()
        records = []
        for pa, pb, func in pieces:
            out = self._run(func, pa, pb)
            block[:, pa - a : pb - a] = out.pixels
            if out.phase is not None and valid is not None and crc is not None:
                valid[:, :, pa - a : pb - a] = out.phase.valid
                crc[:, pa - a : pb - a] = out.phase.crc
            records.append(dict(out.params.edits[-1]))
        phase = None if valid is None or crc is None else (valid, crc)
        return records, a, b, block, phase

    def _run(self, func: Callable[[SpectrogramImage], SpectrogramImage], a: int, b: int) -> SpectrogramImage:
        """``func`` on the crop of frames ``[a, b)``, as part of the whole image: its frame times,
        duration and history entry are the whole image's (:func:`specimg.ops.frames_of`)."""
        with ops.frames_of(a, self.n_frames, n_samples=self.params.n_samples):
            return func(self.crop(a, b))

    def _stream(self, pieces: list[tuple[int, int, Callable[[SpectrogramImage], SpectrogramImage]]]) -> Any:
        """As :meth:`_pieces` for adjacent pieces of a large block: each result goes into the
        pixels at once, its frames before and after to the undo store's folder (no whole
        block in memory); on an error the frames done are put back. The step comes back
        as :class:`Streamed`."""
        a, b = pieces[0][0], pieces[-1][1]
        writers = [self.store.writer(self.pixels.shape[:-1], self.pixels.dtype) for _ in range(2)]
        if self.valid is not None and self.crc is not None:
            writers += [self.store.writer(x.shape[:-1], x.dtype) for x in (self.valid, self.valid, self.crc, self.crc)]
        changed = np.zeros(b - a, dtype=bool)
        records = []
        try:
            for pa, pb, func in pieces:
                out = self._run(func, pa, pb)
                changed[pa - a : pb - a] = np.any(self.pixels[:, pa:pb] != out.pixels, axis=0)
                pairs = [(self.pixels[:, pa:pb], out.pixels)]
                if self.valid is not None and self.crc is not None:
                    v, c = self.valid[:, :, pa:pb], self.crc[:, pa:pb]
                    ph = out.phase
                    pairs += [(v, v if ph is None else ph.valid), (c, c if ph is None else ph.crc)]
                for k, (dest, new) in enumerate(pairs):
                    writers[2 * k].write(dest)
                    writers[2 * k + 1].write(new)
                    dest[...] = new
                records.append(dict(out.params.edits[-1]))
        except BaseException:  # the frames written before are those to put back
            done = [w.block() for w in writers][::2]
            for dest, block in zip([self.pixels, self.valid, self.crc], done):
                self.store.paste(dest[..., a : a + block.shape[-1]], block)  # type: ignore[index]
            raise
        cols = np.flatnonzero(changed)
        c0, c1 = (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 0)
        blocks = [w.block(c0, c1) for w in writers]
        phases = (None, None) if len(blocks) < 6 else ((blocks[2], blocks[4]), (blocks[3], blocks[5]))
        return records, a + c0, a + c1, Streamed(a + c0, a + c1, blocks[0], blocks[1], *phases), None

    def _rect(self, op: str, sel: dict[str, Any], args: dict[str, Any]) -> Any:
        p, n = self.params, self.n_frames
        g = check_float("db", args.get("db")) if op == "gain" else 0.0
        soft = {"freq": sel["freq"], "fade": sel["fade"], "fade_hz": sel["fade_hz"]}

        def run(time: Any) -> Callable[[SpectrogramImage], SpectrogramImage]:
            if op == "erase":
                return lambda crop: ops.erase(crop, time=time, **soft)
            return lambda crop: ops.gain(crop, g, time=time, **soft)

        pieces: list[tuple[int, int, Callable[[SpectrogramImage], SpectrogramImage]]] = []
        if sel["time"] is None:
            pieces = [(a, min(a + CHUNK_FRAMES, n), run(None)) for a in range(0, n, CHUNK_FRAMES)]
        else:
            a, b = selection_frames(sel, p, n)
            a, b = max(a - 1, 0), min(b + 1, n)
            t0, t1 = sel["time"]
            inside = np.flatnonzero((self.times >= t0) & (self.times <= t1))
            if b - a <= CHUNK_FRAMES or inside.size < 3:
                pieces = [(a, b, run(sel["time"]))]
            else:  # fades at both ends, whole crops inside
                i0, i1 = int(inside[0]), int(inside[-1])
                pieces.append((a, i0 + 1, run(sel["time"])))
                pieces += [(c, min(c + CHUNK_FRAMES, i1), run(None)) for c in range(i0 + 1, i1, CHUNK_FRAMES)]
                pieces.append((i1, b, run(sel["time"])))
        records, a, b, block, phase = self._pieces(pieces)
        edit: dict[str, Any] = records[-1] if records else {"op": op}
        if not records:  # no frame under the selection
            edit.update(time=None if sel["time"] is None else [float(t) for t in sel["time"]], freq=sel["freq"], fade=sel["fade"], fade_hz=sel["fade_hz"], **({"db": g} if op == "gain" else {}))
        return edit, a, b, block, phase

    def _mask_of(self, sel: dict[str, Any], pa: int, pb: int) -> np.ndarray:
        view = SpectrogramImage(self.pixels, self.params)
        return stack_channels(selection_mask(view, sel, frames=slice(pa, pb)), self.params)

    def _masked(self, sel: dict[str, Any], db: float) -> Any:
        a, b = selection_frames(sel, self.params, self.n_frames)
        def run(c: int) -> Callable[[SpectrogramImage], SpectrogramImage]:
            return lambda crop: ops.apply_mask(crop, self._mask_of(sel, c, c + crop.n_frames), db=db, threshold=None)

        pieces = [(c, min(c + CHUNK_FRAMES, b), run(c)) for c in range(a, b, CHUNK_FRAMES)]
        records, a, b, block, phase = self._pieces(pieces)
        edit = {"op": "apply_mask", "mask": None, "db": db, "threshold": None, "fade": 0.0, "invert": False,
                "pixels": sum(r["pixels"] for r in records), "selection": sel}  # fmt: skip
        return edit, a, b, block, phase

    def _heal(self, sel: dict[str, Any], args: dict[str, Any]) -> Any:
        method = args.get("method", "telea")
        radius = check_float("radius", args.get("radius", 3.0))
        a, b = selection_frames(sel, self.params, self.n_frames)
        margin = HEAL_MARGIN + int(np.ceil(radius))
        a, b = max(a - margin, 0), min(b + margin, self.n_frames)

        def run(crop: SpectrogramImage) -> SpectrogramImage:
            return ops.inpaint(crop, self._mask_of(sel, a, b) >= HOLE_THRESHOLD, method=method, radius=radius)

        records, a, b, block, phase = self._pieces([(a, b, run)] if b > a else [])
        edit = records[-1] if records else {"op": "inpaint", "method": method, "radius": radius, "mask": None, "pixels": 0}
        edit["selection"] = sel
        return edit, a, b, block, phase

    def _denoise(self, sel: dict[str, Any] | None, args: dict[str, Any]) -> Any:
        """ops.denoise on the selection (a rectangle, time range or band), with the learned noise.

        Local denoisers with a noise region run on a crop holding the selection and the
        noise region with a margin wider than the filter, so pixels and entry equal the
        whole-image call; the others run on the whole image.
        """
        method: Any = args.get("method", "gate")
        if not isinstance(args.get("method", "gate"), str) or method not in ops.DENOISE_OPTIONS:
            raise ParameterError(f"method={method!r:.40} is unknown; use one of {', '.join(ops.DENOISE_OPTIONS)}")
        allowed = ("method", "strength", "noise", *ops.DENOISE_OPTIONS[method])
        unknown = sorted(str(k) for k in args if k not in allowed)
        if unknown:  # time, freq, fade come from the selection
            raise ParameterError(f"denoise {method} does not take {', '.join(unknown)[:80]}; it takes: {', '.join(allowed)}")
        if sel is None:
            return self._whole("denoise", args)
        if sel["kind"] != "rect" or (sel["channel"] is not None and self.params.n_channels > 1):
            raise ParameterError("denoise takes a rectangle, time range or band on every channel; "
                                 "lasso, harmonic, level and one-channel selections are not supported")  # fmt: skip
        p, n = self.params, self.n_frames
        noise = args.get("noise", self.noise_profile)
        options = {k: v for k, v in args.items() if k not in ("method", "strength", "noise")}
        region = {"freq": sel["freq"], "fade": sel["fade"], "fade_hz": sel["fade_hz"]}
        a, b = selection_frames(sel, p, n)
        if method not in LOCAL_DENOISERS or noise is None or sel["time"] is None or b <= a:
            img = self.image(copy=False)
            out = ops.denoise(img, method, strength=args.get("strength"), noise=noise, time=sel["time"], **region, **options)
            phase = None if out.phase is None else (out.phase.valid, out.phase.crc)
            return dict(out.params.edits[-1]), 0, n, out.pixels, phase
        noise = [float(v) for v in noise]
        near = np.flatnonzero((self.times >= noise[0]) & (self.times <= noise[1]))
        na, nb = (int(near[0]), int(near[-1]) + 1) if near.size else (a, b)
        sizes = [v for k, v in options.items() if k in ("size", "smooth", "search_size", "template_size", "win_size")]
        flat = [int(x) for v in sizes for x in (v if isinstance(v, (list, tuple)) else [v]) if isinstance(x, (int, float))]
        margin = 32 + sum(flat) + 4 * int(np.ceil(float(options.get("sigma_spatial", 2.0))))
        lo, hi = max(min(a, na) - margin, 0), min(max(b, nb) + margin, n)

        def run(crop: SpectrogramImage) -> SpectrogramImage:
            return ops.denoise(crop, method, strength=args.get("strength"), noise=noise, time=sel["time"], **region,
                               **options)  # fmt: skip

        records, a, b, block, phase = self._pieces([(lo, hi, run)])
        return records[-1], a, b, block, phase

    def _whole(self, op: str, args: dict[str, Any]) -> Any:
        img = self.image(copy=False)
        if op == "denoise":
            noise = args.get("noise", self.noise_profile)
            options = {k: v for k, v in args.items() if k not in ("method", "strength", "noise")}
            out = ops.denoise(img, args.get("method", "gate"), strength=args.get("strength"), noise=noise, **options)
            extra: dict[str, Any] = {}
        else:
            func, kw = apply_function(args.get("function"), args.get("kwargs"))
            out = ops.apply(img, func, domain=args.get("domain", "db"))
            extra = {"kwargs": kw}
        phase = None if out.phase is None else (out.phase.valid, out.phase.crc)
        return {**out.params.edits[-1], **extra}, 0, self.n_frames, out.pixels, phase

    def _push(self, edit: dict[str, Any], a: int, b: int, after: np.ndarray | Streamed, phase_after: Any) -> None:
        if isinstance(after, Streamed):  # already in the pixels, its blocks on disk
            del self.steps[self.pos :]
            self.steps.append(Step(after.a, after.b, after.before, after.after, after.phase_before, after.phase_after,
                                   json.loads(json.dumps(edit, allow_nan=False))))  # fmt: skip
            self.pos += 1
            self._bump(after.a, after.b)
            return
        changed = np.zeros(b - a, dtype=bool)  # by pieces: no whole-file comparison array
        for c in range(a, b, CHUNK_FRAMES):
            d = min(c + CHUNK_FRAMES, b)
            changed[c - a : d - a] = np.any(self.pixels[:, c:d] != after[:, c - a : d - a], axis=0)
        cols = np.flatnonzero(changed)
        if cols.size:  # keep only the frames that changed
            c0, c1 = int(cols[0]), int(cols[-1]) + 1
            after = after[:, c0:c1]
            if phase_after is not None:
                phase_after = (phase_after[0][:, :, c0:c1], phase_after[1][:, c0:c1])
            a, b = a + c0, a + c1
        else:
            a = b = 0
            after = self.pixels[:, 0:0]
            phase_after = None if phase_after is None else (self.valid[:, :, 0:0], self.crc[:, 0:0])  # type: ignore[index]
        keep = self.store.keep
        phase_before = None
        if self.valid is not None and self.crc is not None:
            phase_before = (keep(self.valid[:, :, a:b]), keep(self.crc[:, a:b]))
        step = Step(a, b, keep(self.pixels[:, a:b]), keep(after), phase_before,
                    None if phase_after is None else (keep(phase_after[0]), keep(phase_after[1])),
                    json.loads(json.dumps(edit, allow_nan=False)))  # fmt: skip
        del self.steps[self.pos :]
        self.steps.append(step)
        # paste the result held in memory (not the copy kept for redo, which may be on disk)
        self.pixels[:, a:b] = after
        if phase_after is not None and self.valid is not None and self.crc is not None:
            self.valid[:, :, a:b] = phase_after[0]
            self.crc[:, a:b] = phase_after[1]
        del after, phase_after
        self.pos += 1
        self._bump(a, b)

    def _apply(self, step: Step, *, forward: bool) -> None:
        a, b = step.a, step.b
        self.store.paste(self.pixels[:, a:b], step.after if forward else step.before)
        ph = step.phase_after if forward else step.phase_before
        if ph is not None and self.valid is not None and self.crc is not None:
            self.store.paste(self.valid[:, :, a:b], ph[0])
            self.store.paste(self.crc[:, a:b], ph[1])

    def close(self) -> None:
        """Remove the undo blocks kept on disk; the image and its history stay, undo and redo end."""
        with self.lock:
            self.store.close()
            self.steps = self.steps[: self.pos]
            for step in self.steps:
                step.before = step.after = self.pixels[:, 0:0]
                step.phase_before = step.phase_after = None
            self.closed = True

    def _bump(self, a: int, b: int) -> None:
        self.version += 1
        for listener in self.listeners:
            listener(a, b)
        self.autosave()

    def undo(self) -> dict[str, Any]:
        """Undo the last step (ParameterError if there is none)."""
        with self.lock:
            if self.pos == 0 or self.closed:
                raise ParameterError("nothing to undo" if not self.closed else "the session is closed: nothing to undo")
            self.pos -= 1
            step = self.steps[self.pos]
            self._apply(step, forward=False)
            self._bump(step.a, step.b)
            return {"changed": self._changed(step.a, step.b)}

    def redo(self) -> dict[str, Any]:
        """Redo the step undone last (ParameterError if there is none)."""
        with self.lock:
            if self.pos >= len(self.steps):
                raise ParameterError("nothing to redo")
            step = self.steps[self.pos]
            self.pos += 1
            self._apply(step, forward=True)
            self._bump(step.a, step.b)
            return {"changed": self._changed(step.a, step.b)}

    # ------------------------------------------------------------------ history and autosave
    def apply_record(self, record: Mapping[str, Any]) -> None:
        """Redo one history entry (as :func:`specimg.ops.replay` would) through :meth:`edit`."""
        apply_record(self, record)

    def autosave(self) -> None:
        """Write the history beside the source file (atomically); errors are kept in the state."""
        autosave(self)

    def save(self, fmt: str | None = None) -> Path:
        """Write the current image to the output path fixed when the session opened."""
        from ..formats import image_format, save

        if self.output is None:
            raise ParameterError("this studio has no output file; open it with output=PATH")
        kind = image_format(self.output)
        if fmt is not None and fmt not in (kind, {"tif": "tiff", "tiff": "tif"}.get(kind)):
            raise ParameterError(f"format={fmt!r:.20} differs from the output file {self.output.name} ({kind})")
        with self.lock:
            img = self.image(copy=False)
            save(img, self.output)
            self.saved_version = self.version
        return self.output

    # ------------------------------------------------------------------ sound
    def warm_up(self, frames: int = WARM_UP_FRAMES) -> None:
        """Decode a few frames as an edited range would be (phase rebuilt, quality fast).

        The first rebuild in a process loads numba's compiled kernels (a second or two);
        :class:`~specimg.studio.Studio` runs this in a background thread at start-up so
        the first sound after an edit comes as fast as the next ones. The autosave's
        digest of the pixels is taken here too, and an edit runs once on the crop, so
        that the first edit does not pay for either (0.42 s against 0.17 s on a
        10-minute stereo file).
        """
        from .. import ops
        from ..codec import decode

        self.source_digest()

        with self.lock:
            crop = self.crop(0, min(frames, self.n_frames))
            pixels = crop.pixels.copy()
        phase = None
        if crop.phase is not None:  # as if every bin had been edited
            phase = StoredPhase(crop.phase.codes, crop.phase.present, np.zeros_like(crop.phase.valid),
                                crop.phase.crc.copy(), crop.phase.bits)  # fmt: skip
        img = SpectrogramImage(pixels, crop.params, phase)
        ops.gain(ops.erase(img, time=(0.0, float(img.times[-1]))), -1.0, freq=(0.0, 1000.0))
        decode(img, quality="fast")

    def audio(self, t0: float | None = None, t1: float | None = None, *, which: str = "edited",
              quality: str = "fast") -> tuple[np.ndarray, int]:  # fmt: skip
        """The decoded sound of ``[t0, t1]`` (seconds; None: the ends), (n_channels, n), float32.

        Only the frames of the range and a margin are decoded, in blocks; frames whose
        stored phase still holds come back exact.
        """
        from ..codec import decode

        p = self.params
        total = p.output_length(self.n_frames)
        end = total / p.sr  # t0 below 0 and t1 past the end are clamped before any conversion to samples
        s0 = 0 if t0 is None else int(round(min(max(check_float("t0", t0), 0.0), end) * p.sr))
        s1 = total if t1 is None else int(round(min(max(check_float("t1", t1), 0.0), end) * p.sr))
        if not s0 < s1:
            raise ParameterError(f"t0={t0!r}, t1={t1!r} must satisfy 0 <= t0 < t1 <= {end:g} s (the end of the image)")
        s1 = min(s1, total)
        margin = int(np.ceil(p.n_fft / p.hop_length)) + AUDIO_MARGIN_HOPS
        shift = p.n_fft // 2 if p.center else 0  # frame k covers samples k * hop - shift ... + n_fft
        out = []
        block = CHUNK_FRAMES * p.hop_length
        for b0 in range(s0, s1, block):
            b1 = min(b0 + block, s1)
            fa = max((b0 + shift - p.n_fft) // p.hop_length - margin, 0)
            fb = min((b1 + shift) // p.hop_length + margin + 1, self.n_frames)
            with self.lock:
                crop = self.crop(fa, fb, which)
                crop = SpectrogramImage(crop.pixels.copy(), crop.params, crop.phase and StoredPhase(
                    crop.phase.codes, crop.phase.present, crop.phase.valid.copy(), crop.phase.crc.copy(), crop.phase.bits))
            y, _ = decode(crop, quality=quality)  # type: ignore[arg-type]
            y = y.reshape(p.n_channels, -1)
            start = b0 - fa * p.hop_length
            piece = y[:, start : start + (b1 - b0)]
            if piece.shape[1] < b1 - b0:
                piece = np.pad(piece, ((0, 0), (0, b1 - b0 - piece.shape[1])))
            out.append(piece)
        if which == "original":
            self.store.release()  # the pages of the original read from disk
        return np.concatenate(out, axis=1).astype(np.float32), p.sr


def open_image(path: Path) -> tuple[SpectrogramImage, bool]:
    """A specimg picture, or an audio file encoded with its phase; whether it was audio."""
    from ..audio import read_audio
    from ..codec import encode
    from ..errors import MissingFileError

    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    if path.suffix.lower() in (".png", ".tif", ".tiff"):
        from ..formats import load

        return load(path), False
    y, sr = read_audio(path)
    return encode(y, sr, store_phase=True), True


def check_output(output: Path, source: Path | None = None) -> Path:
    """``output`` resolved, once checked as a place to save the edited image of ``source``.

    Raises
    ------
    ParameterError
        If ``output`` is not a .png/.tif/.tiff name, or is ``source`` itself or its
        autosave: saving there would overwrite the file being edited or its history.

    Examples
    --------
    >>> check_output(Path("a/x.edited.png"), Path("a/x.png")).name
    'x.edited.png'
    >>> check_output(Path("a/./x.png"), Path("a/x.png"))
    Traceback (most recent call last):
    ...
    specimg.errors.ParameterError: output='a/x.png' is the file being edited: give another path, e.g. a/x.edited.png
    """
    from ..formats import image_format

    out = Path(os.path.abspath(Path(output).expanduser()))
    out = out.resolve()
    if source is not None:
        src = Path(source).resolve()
        suggestion = default_output(Path(source), audio=src.suffix.lower() not in (".png", ".tif", ".tiff"))
        same = out == src or (out.exists() and src.exists() and os.path.samefile(out, src))
        for what, path in (("the file being edited", src), ("its autosave", autosave_path(src)),
                           ("its autosave's backup", backup_path(src))):  # fmt: skip
            if out == path or (what == "the file being edited" and same):
                raise ParameterError(f"output={Path(output).as_posix()!r} is {what}: give another path, "
                                     f"e.g. {suggestion.as_posix()}")  # fmt: skip
    image_format(out)
    return out


def default_output(source: Path, *, audio: bool, params: SpectrogramParams | None = None) -> Path:
    """``<stem>.edited.png`` beside the input (``.tif`` for a TIFF input).

    >>> default_output(Path("a/speech.png"), audio=False).as_posix()
    'a/speech.edited.png'
    """
    suffix = ".png" if audio or source.suffix.lower() == ".png" else source.suffix
    return source.with_name(f"{source.stem}.edited{suffix}")


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value.

    >>> env_flag("SPECIMG_NO_SUCH_VARIABLE")
    False
    """
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
