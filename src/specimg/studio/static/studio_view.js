// specimg studio: the view. Pictures of the spectrogram come from the server at the size and
// zoom shown (/api/view), with their axes (/api/axes); this module only maps pointer pixels to
// (time, frequency, channel) through the geometry the server returned, zooms, pans and draws
// marks (channel separators, the playhead). No level, STFT or mask is computed here.

const SVG_NS = "http://www.w3.org/2000/svg";
const FULL_ROWS = 2048; // rows of the full-range frequency lookup table (display axis ↔ Hz)

export function formatHz(f) {
  if (!Number.isFinite(f)) return "–";
  return Math.abs(f) >= 1000 ? `${(f / 1000).toFixed(f >= 10000 ? 2 : 3)} kHz` : `${f.toFixed(f < 100 ? 1 : 0)} Hz`;
}

export function formatDb(db) {
  return `${db < 0 ? "\u2212" : ""}${Math.abs(db).toFixed(1)} dB`;
}

export function createView(ctx) {
  const { info } = ctx;
  const $ = (id) => document.getElementById(id);
  const el = {
    wrap: $("view-wrap"), canvas: $("view"), overlay: $("overlay"), marks: $("marks"),
    faxis: $("freq-axis-labels"), taxis: $("time-axis-labels"),
    cbar: $("colorbar"), cbarLabels: $("colorbar-labels"),
  };
  const g2d = el.canvas.getContext("2d");
  const minTime = Math.max(2 * info.hop_length / info.sr, 1e-3); // two frames
  const minHz = 2 * info.sr / info.n_fft; // two bins
  const tables = {}; // freq_axis -> Float64Array, Hz at each row of the full range, top→bottom
  // Raw RGBA views skip the PNG coding on both sides (localhost), when the server offers them.
  const rawPixels = (info.view_formats || []).includes("rgba");

  // What the page asks for next; `drawn` is the geometry of the picture on screen.
  const want = {
    t0: 0, t1: info.duration, f0: info.fmin, f1: info.fmax,
    channel: info.n_channels > 1 ? "all" : "0",
    freq_axis: info.scale === "mel" && info.freq_axes.includes("mel") ? "mel" : "linear",
    cmap: info.colormaps.includes("magma") ? "magma" : info.colormaps[0],
    vmin: info.db_min, vmax: info.db_max,
  };
  let drawn = null;
  let busy = false, again = false, rendered = 0, panShift = null;
  const listeners = { redraw: [] };

  async function axisTable(axis) {
    if (!tables[axis]) {
      const ax = await ctx.get("/api/axes", {
        t0: 0, t1: info.duration, f0: info.fmin, f1: info.fmax, width: 64, height: FULL_ROWS,
        channel: 0, freq_axis: axis,
      });
      tables[axis] = Float64Array.from(ax.y_to_freq);
    }
    return tables[axis];
  }

  // Display coordinate u in [0, 1] (0 = fmin at the bottom) ↔ Hz, read off the server's table.
  function hzAt(u) {
    const tab = tables[want.freq_axis];
    const r = Math.min(Math.max((1 - u) * (tab.length - 1), 0), tab.length - 1);
    const i = Math.floor(r), j = Math.min(i + 1, tab.length - 1);
    return tab[i] + (tab[j] - tab[i]) * (r - i);
  }
  function uAt(f) {
    const tab = tables[want.freq_axis];
    let lo = 0, hi = tab.length - 1; // tab descends from fmax (row 0) to fmin
    if (f >= tab[0]) return 1;
    if (f <= tab[hi]) return 0;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (tab[mid] >= f) lo = mid; else hi = mid;
    }
    const r = lo + (tab[lo] - f) / ((tab[lo] - tab[hi]) || 1);
    return 1 - r / (tab.length - 1);
  }

  function size() {
    const r = el.wrap.getBoundingClientRect();
    return { width: Math.max(16, Math.min(4096, Math.round(r.width))), height: Math.max(16, Math.min(4096, Math.round(r.height))) };
  }

  function request() {
    const { width, height } = size();
    return {
      t0: want.t0, t1: want.t1, f0: want.f0, f1: want.f1, width, height,
      channel: want.channel, freq_axis: want.freq_axis,
    };
  }

  // Redraw: at most one request in flight; input arriving meanwhile folds into one more.
  async function redraw() {
    if (busy) { again = true; return; }
    busy = true;
    document.body.dataset.drawing = "true";
    try {
      do {
        again = false;
        await axisTable(want.freq_axis);
        const geom = request();
        const started = performance.now();
        const shifted = panShift ? { ...panShift } : { dx: 0, dy: 0 }; // the part of a pan this picture shows
        const viewParams = {
          ...geom, cmap: want.cmap, vmin: want.vmin, vmax: want.vmax, which: "edited",
          version: ctx.state ? ctx.state.version : 0,
        };
        const overlayJob = ctx.overlayFor ? ctx.overlayFor(geom) : null;
        if (rawPixels) viewParams.format = "rgba";
        const [picture, axes, overlay] = await Promise.all([
          ctx.get("/api/view", viewParams, rawPixels ? "buffer" : "blob"), ctx.get("/api/axes", geom), overlayJob,
        ]);
        if (el.canvas.width !== geom.width || el.canvas.height !== geom.height) {
          el.canvas.width = geom.width; el.canvas.height = geom.height;
        }
        if (rawPixels) {
          // uncompressed RGBA rows, top to bottom, exactly as the server coloured them
          if (picture.byteLength !== geom.width * geom.height * 4) {
            throw new Error(`/api/view sent ${picture.byteLength} bytes for ${geom.width} × ${geom.height} RGBA`);
          }
          g2d.putImageData(new ImageData(new Uint8ClampedArray(picture), geom.width, geom.height), 0, 0);
        } else {
          const bitmap = await createImageBitmap(picture);
          g2d.drawImage(bitmap, 0, 0);
          bitmap.close();
        }
        if (panShift && (panShift.dx !== shifted.dx || panShift.dy !== shifted.dy)) {
          panShift = { dx: panShift.dx - shifted.dx, dy: panShift.dy - shifted.dy };
          shiftPicture();
        } else {
          panShift = null;
          el.canvas.style.transform = el.overlay.style.transform = "";
        }
        drawn = { ...geom, axes };
        drawAxes(axes, geom);
        if (overlay !== undefined) showOverlay(overlay);
        drawMarks();
        ctx.lastRenderMs = performance.now() - started;
        document.body.dataset.rendered = String(++rendered);
        for (const fn of listeners.redraw) fn(drawn);
      } while (again);
    } catch (err) {
      ctx.error(err);
    } finally {
      busy = false;
      document.body.dataset.drawing = "false";
    }
  }

  function shiftPicture() {
    const r = el.canvas.getBoundingClientRect();
    el.canvas.style.transform = el.overlay.style.transform =
      `translate(${(panShift.dx * r.width) / drawn.width}px, ${(panShift.dy * r.height) / drawn.height}px)`;
  }

  function showOverlay(dataUrl) {
    if (dataUrl) { el.overlay.src = dataUrl; el.overlay.hidden = false; }
    else { el.overlay.hidden = true; el.overlay.removeAttribute("src"); }
  }

  function tick(parent, cls, text, style) {
    const d = document.createElement("div");
    d.className = cls; d.textContent = text;
    Object.assign(d.style, style);
    parent.appendChild(d);
  }

  function drawAxes(axes, geom) {
    const sx = el.wrap.clientWidth / geom.width, sy = el.wrap.clientHeight / geom.height;
    el.taxis.replaceChildren(); el.faxis.replaceChildren();
    for (const [x, label] of axes.time_ticks) tick(el.taxis, "tick", label, { left: `${x * sx}px` });
    for (const [y, label] of axes.freq_ticks) tick(el.faxis, "tick", label, { top: `${y * sy}px` });
    if (axes.channel_rows.length > 1) {
      for (const [top, , c] of axes.channel_rows) tick(el.faxis, "chan", `ch ${c}`, { top: `${top * sy + 2}px` });
    }
    drawColorbar();
  }

  function drawColorbar() {
    const h = Math.max(16, Math.round(el.cbar.parentElement.clientHeight));
    const src = ctx.url("/api/colorbar", { cmap: want.cmap, height: h, vmin: want.vmin, vmax: want.vmax });
    if (el.cbar.getAttribute("src") !== src) el.cbar.src = src;
    el.cbarLabels.replaceChildren();
    const span = want.vmax - want.vmin;
    const step = [5, 10, 20, 30, 40].find((s) => span / s <= 8) || 60;
    const ticks = [want.vmax];
    for (let v = Math.floor(want.vmax / step) * step; v > want.vmin; v -= step) if (want.vmax - v > step / 3) ticks.push(v);
    ticks.push(want.vmin);
    for (const v of ticks) {
      tick(el.cbarLabels, "tick", `${v < 0 ? "\u2212" : ""}${Math.abs(v).toFixed(0)} dB`, { top: `${((want.vmax - v) / span) * h}px` });
    }
  }

  // --- marks: channel separators, playhead, and a layer the selection tools draw into ----
  const layers = {};
  for (const name of ["chan", "tool", "play"]) {
    layers[name] = document.createElementNS(SVG_NS, "g");
    el.marks.appendChild(layers[name]);
  }
  let playheadTime = null;

  function svg(name, attrs, parent) {
    const n = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (parent) parent.appendChild(n);
    return n;
  }

  function drawMarks() {
    if (!drawn) return;
    el.marks.setAttribute("viewBox", `0 0 ${drawn.width} ${drawn.height}`);
    el.marks.setAttribute("preserveAspectRatio", "none");
    layers.chan.replaceChildren();
    for (const [top] of drawn.axes.channel_rows.slice(1)) {
      svg("line", { x1: 0, x2: drawn.width, y1: top, y2: top, class: "chan-sep" }, layers.chan);
    }
    drawPlayhead();
  }

  function drawPlayhead() {
    layers.play.replaceChildren();
    if (!drawn || playheadTime === null) return;
    const x = xOf(playheadTime);
    if (x < 0 || x > drawn.width) return;
    svg("line", { x1: x, x2: x, y1: 0, y2: drawn.height, class: "playhead", "data-testid": "playhead" }, layers.play);
  }

  // --- pointer ↔ coordinates (picture pixels of the drawn view) ---------------------------
  function toPicture(clientX, clientY) {
    const r = el.wrap.getBoundingClientRect();
    const w = drawn ? drawn.width : r.width, h = drawn ? drawn.height : r.height;
    return {
      x: Math.min(Math.max(((clientX - r.left) / r.width) * w, 0), w - 1),
      y: Math.min(Math.max(((clientY - r.top) / r.height) * h, 0), h - 1),
    };
  }
  function timeAt(x) {
    const { t0, t1 } = drawn.axes.x_to_time;
    return t0 + (x / Math.max(drawn.width - 1, 1)) * (t1 - t0);
  }
  function xOf(t) {
    const { t0, t1 } = drawn.axes.x_to_time;
    return ((t - t0) / (t1 - t0)) * Math.max(drawn.width - 1, 1);
  }
  function rowBand(y) {
    const rows = drawn.axes.channel_rows;
    return rows.find(([a, b]) => y >= a && y < b) || rows[rows.length - 1];
  }
  function freqAt(y, band) {
    const [a, b] = band || rowBand(y);
    const row = Math.round(Math.min(Math.max(y, a), b - 1));
    return drawn.axes.y_to_freq[row];
  }
  function pointAt(clientX, clientY, band) {
    if (!drawn) return null;
    const p = toPicture(clientX, clientY);
    const b = band || rowBand(p.y);
    return { ...p, t: timeAt(p.x), f: freqAt(p.y, b), channel: b[2], band: b };
  }

  // --- zoom and pan ---------------------------------------------------------------------
  function clampTime(t0, span) {
    span = Math.min(Math.max(span, minTime), info.duration);
    t0 = Math.min(Math.max(t0, 0), info.duration - span);
    want.t0 = t0; want.t1 = t0 + span;
  }
  function setFreqU(u0, u1) {
    const span = Math.min(u1 - u0, 1);
    u0 = Math.min(Math.max(u0, 0), 1 - span);
    const f0 = hzAt(u0), f1 = hzAt(u0 + span);
    if (f1 - f0 < minHz && f1 - f0 < want.f1 - want.f0) return; // not below two bins
    want.f0 = u0 <= 0 ? info.fmin : f0; want.f1 = u0 + span >= 1 ? info.fmax : f1;
  }
  function zoomTime(factor, frac = 0.5, draw = true) {
    const span = want.t1 - want.t0, at = want.t0 + frac * span;
    const next = Math.min(Math.max(span * factor, minTime), info.duration);
    clampTime(at - frac * next, next);
    if (draw) redraw();
  }
  function zoomFreq(factor, fracFromBottom = 0.5, draw = true) {
    if (!tables[want.freq_axis]) return;
    const u0 = uAt(want.f0), u1 = uAt(want.f1), at = u0 + fracFromBottom * (u1 - u0);
    const next = Math.min((u1 - u0) * factor, 1);
    setFreqU(at - fracFromBottom * next, at - fracFromBottom * next + next);
    if (draw) redraw();
  }
  function zoom(factor) { zoomTime(factor, 0.5, false); zoomFreq(factor, 0.5, false); redraw(); }
  function fit() {
    want.t0 = 0; want.t1 = info.duration; want.f0 = info.fmin; want.f1 = info.fmax;
    redraw();
  }
  // Pan by a distance in picture pixels; the drawn picture follows at once, the new one later.
  function panBy(dx, dy, bandHeight) {
    if (!drawn || !tables[want.freq_axis]) return;
    const span = want.t1 - want.t0;
    clampTime(want.t0 - (dx / drawn.width) * span, span);
    const u0 = uAt(want.f0), u1 = uAt(want.f1);
    if (dy) setFreqU(u0 + (dy / bandHeight) * (u1 - u0), u1 + (dy / bandHeight) * (u1 - u0));
    panShift = panShift || { dx: 0, dy: 0 };
    panShift.dx += dx; panShift.dy += dy;
    shiftPicture();
    redraw();
  }
  function showRange(t0, t1) {
    clampTime(t0, t1 - t0);
    redraw();
  }

  function setOption(key, value) {
    want[key] = value;
    if (key === "freq_axis") axisTable(value).then(redraw, ctx.error);
    else redraw();
  }

  el.wrap.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = pointAt(ev.clientX, ev.clientY);
    if (!p) return;
    const factor = Math.pow(1.0015, ev.deltaY || ev.deltaX);
    if (ev.shiftKey) {
      const [a, b] = p.band;
      zoomFreq(factor, (b - 1 - p.y) / Math.max(b - 1 - a, 1));
    } else {
      zoomTime(factor, p.x / Math.max(drawn.width - 1, 1));
    }
  }, { passive: false });
  new ResizeObserver(() => redraw()).observe(el.wrap);

  return {
    el, redraw, zoom, zoomTime, zoomFreq, fit, panBy, showRange, setOption, pointAt, xOf,
    svg, layer: layers.tool, showOverlay,
    get want() { return want; },
    get drawn() { return drawn; },
    onRedraw(fn) { listeners.redraw.push(fn); },
    setPlayhead(t) { playheadTime = t; drawPlayhead(); },
    geometry() {
      return drawn ? { t0: drawn.t0, t1: drawn.t1, f0: drawn.f0, f1: drawn.f1, width: drawn.width,
        height: drawn.height, channel: drawn.channel, freq_axis: drawn.freq_axis, cmap: want.cmap } : null;
    },
  };
}
