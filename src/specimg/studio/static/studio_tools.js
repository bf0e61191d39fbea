// specimg studio: selection tools. The pointer draws a rubber band; on release the page
// describes the selection in seconds and hertz (rect, time range, band, lasso, harmonics,
// select-similar) and the server answers with its soft mask as a coloured overlay of the view.

const TOOLS = ["pan", "rect", "time", "freq", "lasso", "harmonic"];
const CLICK_PX = 3; // a press that moves less than this is a click, not a drag

export function createTools(ctx, view) {
  const $ = (id) => document.getElementById(id);
  const canvas = view.el.canvas;
  const info = $("selection-info");
  let tool = "rect";
  let drag = null;
  let current = null; // {sel, bounds, pixels, overlay}

  function setTool(name) {
    if (!TOOLS.includes(name)) return;
    tool = name;
    view.el.wrap.dataset.tool = name;
    for (const b of document.querySelectorAll("[data-tool]")) b.setAttribute("aria-pressed", String(b.dataset.tool === name));
  }

  function number(id, what, { min = -Infinity, optional = false } = {}) {
    const raw = $(id).value.trim();
    if (raw === "" && optional) return undefined;
    const v = Number(raw);
    if (raw === "" || !Number.isFinite(v) || v < min) {
      throw new Error(`${what}: "${raw}" is not a number${min > -Infinity ? ` ≥ ${min}` : ""}; type one in the box`);
    }
    return v;
  }

  function softEdges() {
    const out = {};
    const fade = number("fade", "fade (s)", { min: 0, optional: true });
    const fadeHz = number("fade-hz", "fade (Hz)", { min: 0, optional: true });
    if (fade !== undefined) out.fade = fade;
    if (fadeHz !== undefined) out.fade_hz = fadeHz;
    return out;
  }

  function selChannel() {
    const c = view.want.channel;
    return c === "all" ? null : Number(c);
  }

  const span = (a, b) => [Math.min(a, b), Math.max(a, b)];

  function build(kind, a, b, points, moved) {
    const channel = selChannel();
    switch (kind) {
      case "rect": return { kind: "rect", time: span(a.t, b.t), freq: span(a.f, b.f), channel, ...softEdges() };
      case "time": return { kind: "rect", time: span(a.t, b.t), freq: null, channel, ...softEdges() };
      case "freq": return { kind: "rect", time: null, freq: span(a.f, b.f), channel, ...softEdges() };
      case "lasso": return { kind: "lasso", points: points.map((p) => [p.t, p.f]), channel };
      case "harmonic": {
        const g = view.drawn.axes.x_to_time;
        return {
          kind: "harmonic", time: moved ? span(a.t, b.t) : [g.t0, g.t1], f0: a.f,
          n_harmonics: Math.round(number("harmonic-n", "harmonics", { min: 1 })),
          width_hz: number("harmonic-width", "harmonic width (Hz)", { min: 0 }), channel,
        };
      }
      default: return null;
    }
  }

  // --- rubber band -------------------------------------------------------------------------
  function band(a, b, points) {
    const layer = view.layer;
    layer.replaceChildren();
    const [top, bottom] = a.band;
    const W = view.drawn.width;
    const x0 = Math.min(a.x, b.x), x1 = Math.max(a.x, b.x), y0 = Math.min(a.y, b.y), y1 = Math.max(a.y, b.y);
    if (tool === "rect") view.svg("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, class: "band" }, layer);
    if (tool === "time") view.svg("rect", { x: x0, y: top, width: x1 - x0, height: bottom - top, class: "band" }, layer);
    if (tool === "freq") view.svg("rect", { x: 0, y: y0, width: W, height: y1 - y0, class: "band" }, layer);
    if (tool === "lasso") view.svg("polygon", { points: points.map((p) => `${p.x},${p.y}`).join(" "), class: "band" }, layer);
    if (tool === "harmonic") {
      const xa = Math.abs(b.x - a.x) < CLICK_PX ? 0 : x0, xb = Math.abs(b.x - a.x) < CLICK_PX ? W : x1;
      view.svg("line", { x1: xa, x2: xb, y1: a.y, y2: a.y, class: "harm" }, layer);
    }
  }

  // --- pointer -------------------------------------------------------------------------------
  canvas.addEventListener("pointerdown", (ev) => {
    if (!view.drawn) return;
    const isPan = ev.button === 1 || (ev.button === 0 && tool === "pan");
    if (!isPan && ev.button !== 0) return;
    ev.preventDefault();
    canvas.focus();
    canvas.setPointerCapture(ev.pointerId);
    const p = view.pointAt(ev.clientX, ev.clientY);
    drag = { mode: isPan ? "pan" : "select", tool, start: p, last: p, points: [p], clientX: ev.clientX, clientY: ev.clientY };
    if (isPan) view.el.wrap.classList.add("panning");
  });

  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    if (drag.mode === "pan") {
      const r = canvas.getBoundingClientRect();
      const dx = ((ev.clientX - drag.clientX) * view.drawn.width) / r.width;
      const dy = ((ev.clientY - drag.clientY) * view.drawn.height) / r.height;
      drag.clientX = ev.clientX; drag.clientY = ev.clientY;
      const [a, b] = drag.start.band;
      if (dx || dy) view.panBy(dx, dy, b - a);
      return;
    }
    const p = view.pointAt(ev.clientX, ev.clientY, drag.start.band);
    const last = drag.points[drag.points.length - 1];
    if (Math.hypot(p.x - last.x, p.y - last.y) >= 2) drag.points.push(p);
    drag.last = p;
    band(drag.start, p, drag.points);
  });

  const finish = (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    view.el.wrap.classList.remove("panning");
    if (canvas.hasPointerCapture(ev.pointerId)) canvas.releasePointerCapture(ev.pointerId);
    if (d.mode === "pan" || ev.type === "pointercancel") return;
    const end = view.pointAt(ev.clientX, ev.clientY, d.start.band);
    const moved = Math.hypot(end.x - d.start.x, end.y - d.start.y) >= CLICK_PX;
    if (!moved && d.tool !== "harmonic") { clear(); return; }
    let sel;
    try {
      sel = build(d.tool, d.start, end, [...d.points, end], moved);
    } catch (err) {
      view.layer.replaceChildren();
      ctx.error(err);
      return;
    }
    setSelection(sel);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("auxclick", (ev) => ev.preventDefault());

  // --- the selection, as the server sees it -------------------------------------------------
  async function askOverlay(sel, geom) {
    return ctx.post("/api/selection", { selection: sel, view: geom });
  }

  function describe(sel, res) {
    const fmt = (r, unit) => (r ? `${r[0].toFixed(unit === "s" ? 3 : 0)}–${r[1].toFixed(unit === "s" ? 3 : 0)} ${unit}` : "all");
    const lines = [
      `${sel.kind === "level" ? `level ≥ ${sel.above_db} dB in ${sel.within.kind}` : sel.kind}`,
      `time ${fmt(res.bounds && res.bounds.time, "s")}`,
      `freq ${fmt(res.bounds && res.bounds.freq, "Hz")}`,
      `channel ${sel.channel ?? (sel.within ? sel.within.channel ?? "all" : "all")}`,
    ];
    if (Number.isFinite(res.pixels)) lines.push(`${res.pixels} px in view`);
    info.textContent = lines.join("\n");
    info.classList.remove("muted");
  }

  async function setSelection(sel) {
    const geom = view.geometry();
    try {
      const res = await askOverlay(sel, geom);
      if (res.error) throw new Error(res.error);
      current = { sel, bounds: res.bounds, pixels: res.pixels, shownFor: JSON.stringify(geom) };
      view.layer.replaceChildren();
      view.showOverlay(res.overlay);
      describe(sel, res);
      ctx.status(`selected: ${info.textContent.split("\n").slice(0, 3).join(", ")}`);
      return current;
    } catch (err) {
      clear(false);
      ctx.error(err);
      return null;
    }
  }

  function clear(announce = true) {
    current = null;
    view.layer.replaceChildren();
    view.showOverlay(null);
    info.textContent = "none: drag on the picture";
    info.classList.add("muted");
    if (announce) ctx.status("selection cleared");
  }

  function similar() {
    if (!current) { ctx.error(new Error("select similar: select a region first, then choose a level")); return null; }
    let above;
    try { above = number("similar-db", "select similar (dB)"); } catch (err) { ctx.error(err); return null; }
    const within = current.sel.kind === "level" ? current.sel.within : current.sel;
    return setSelection({ kind: "level", within, above_db: above });
  }

  // The view asks for the overlay of its next picture together with the picture itself.
  // The overlay on screen still holds for the same view, unless it depends on the levels
  // (select similar), which an edit changes: then undefined keeps it, with no request.
  ctx.overlayFor = (geom) => {
    if (!current) return Promise.resolve(null);
    const key = JSON.stringify(geom), asked = current;
    if (asked.shownFor === key && asked.sel.kind !== "level") return Promise.resolve(undefined);
    return askOverlay(asked.sel, geom).then((res) => {
      if (current !== asked) return undefined; // the selection changed meanwhile: leave its overlay
      asked.shownFor = key;
      return res.overlay;
    }, (err) => { ctx.error(err); return null; });
  };

  for (const b of document.querySelectorAll("[data-tool]")) b.addEventListener("click", () => setTool(b.dataset.tool));
  $("select-similar").addEventListener("click", similar);
  $("select-clear").addEventListener("click", () => clear());
  setTool("rect");

  return {
    setTool, setSelection, clear, similar,
    get tool() { return tool; },
    get current() { return current; },
  };
}
