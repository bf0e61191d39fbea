// specimg studio: the page's entry. It talks to the local server (every request carries the
// token from the page's own URL), wires the toolbar, the keyboard, edits, undo/redo, save and
// export, and shows what happens in the status line. Everything numeric (levels, masks, edits,
// sound) is done by the server with specimg itself; the page draws and asks.

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function query(path, params, withToken) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
  if (withToken) u.searchParams.set("token", token);
  return u.pathname + u.search;
}

async function request(method, path, { params, body, as = "json" } = {}) {
  const headers = { "X-Specimg-Token": token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(query(path, params, false), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, `the studio server does not answer (${path}): is \`specimg studio\` still running?`);
  }
  if (!res.ok) {
    let msg = `${path}: HTTP ${res.status}`;
    try { const j = await res.json(); if (j && j.error) msg = j.error; } catch (_) { /* not JSON */ }
    throw new ApiError(res.status, msg);
  }
  if (as === "buffer") return res.arrayBuffer();
  return as === "blob" ? res.blob() : res.json();
}

const statusEl = $("status");
const ctx = {
  info: null, state: null, lastRenderMs: null, overlayFor: null,
  url: (path, params) => query(path, params, true),
  get: (path, params, as) => request("GET", path, { params, as }),
  post: (path, body) => request("POST", path, { body: body || {} }),
  status(msg, kind = "info") {
    statusEl.textContent = msg;
    statusEl.dataset.kind = kind;
  },
  error(err) {
    const msg = err && err.message ? err.message : String(err);
    statusEl.textContent = `error: ${msg}`;
    statusEl.dataset.kind = "error";
    console.error(`specimg studio: ${msg}`);
  },
};

async function loadModules() {
  const t = encodeURIComponent(token);
  return Promise.all(["studio_view", "studio_tools", "studio_audio"].map((n) => import(`./${n}.js?token=${t}`)));
}

function fillSelect(id, values, selected, label = (v) => v) {
  const s = $(id);
  s.replaceChildren(...values.map((v) => {
    const o = document.createElement("option");
    o.value = String(v); o.textContent = label(v); o.selected = String(v) === String(selected);
    return o;
  }));
}

// --- state: history list, undo/redo buttons, title ------------------------------------------
function describeEdit(e) {
  const parts = [e.op];
  if (e.db !== undefined) parts.push(`${e.db} dB`);
  if (e.time) parts.push(`${Number(e.time[0]).toFixed(2)}–${Number(e.time[1]).toFixed(2)} s`);
  if (e.freq) parts.push(`${Number(e.freq[0]).toFixed(0)}–${Number(e.freq[1]).toFixed(0)} Hz`);
  if (e.method) parts.push(e.method);
  if (e.function) parts.push(e.function);
  return parts.join(" · ");
}

function setState(state) {
  ctx.state = state;
  $("undo").disabled = !state.can_undo;
  $("redo").disabled = !state.can_redo;
  $("file-name").classList.toggle("dirty", Boolean(state.dirty));
  const where = $("op-denoise").dataset.whole === "true" ? "the whole file" : "the selection (nothing selected: the whole file)";
  $("op-denoise").title = state.noise_profile
    ? `De-noise ${where} with the noise profile learned from a selection`
    : `De-noise ${where}; learn a noise profile from a selection first for a better result`;
  $("op-learn-noise").classList.toggle("active", Boolean(state.noise_profile));
  const list = $("history");
  list.replaceChildren(...state.history.map((e) => {
    const li = document.createElement("li");
    li.textContent = describeEdit(e);
    li.title = JSON.stringify(e);
    return li;
  }));
  document.title = `${state.dirty ? "• " : ""}${ctx.info.name} — specimg studio`;
}

// --- the page ---------------------------------------------------------------------------------
async function main() {
  if (!token) {
    ctx.error(new Error("this page needs the token of its URL: open the address `specimg studio` printed"));
    return;
  }
  let info;
  try {
    info = await ctx.get("/api/info");
  } catch (err) {
    ctx.error(err);
    return;
  }
  ctx.info = info;
  $("file-name").textContent = info.name;
  $("file-name").title = `${info.name}: ${info.n_channels} channel(s), ${info.sr} Hz, ${info.duration.toFixed(2)} s, ` +
    `${info.n_bins} bins × ${info.n_frames} frames, ${info.scale} axis, ${info.db_min}..${info.db_max} dB` +
    `${info.has_phase ? ", phase stored" : ""}`;
  setState(info.state);

  const [{ createView, formatHz, formatDb }, { createTools }, { createPlayer }] = await loadModules();
  const view = createView(ctx);
  const tools = createTools(ctx, view);
  const player = createPlayer(ctx, view);

  // toolbar: view options
  fillSelect("colormap", info.colormaps, view.want.cmap);
  fillSelect("freq-axis", info.freq_axes, view.want.freq_axis);
  fillSelect("channel", [...(info.n_channels > 1 ? ["all"] : []), ...Array.from({ length: info.n_channels }, (_, i) => i)],
    view.want.channel, (v) => (v === "all" ? "all, stacked" : `${v}`));
  fillSelect("apply-function", info.apply_functions, info.apply_functions[0], (f) => f.replace(/^scipy\.ndimage\./, "ndimage."));
  fillSelect("denoise-method", info.denoise_methods || ["gate", "nlmeans", "tv", "wavelet", "bilateral", "median"], "gate");
  $("colormap").addEventListener("change", (e) => view.setOption("cmap", e.target.value));
  $("freq-axis").addEventListener("change", (e) => view.setOption("freq_axis", e.target.value));
  $("channel").addEventListener("change", (e) => view.setOption("channel", e.target.value));
  $("zoom-in").addEventListener("click", () => view.zoom(0.5));
  $("zoom-out").addEventListener("click", () => view.zoom(2));
  $("zoom-fit").addEventListener("click", () => view.fit());
  for (const id of ["op-heal", "op-learn-noise", "op-denoise", "op-mask", "op-apply"]) {
    const op = $(id).dataset.op === "learn_noise" ? "learn_noise" : $(id).dataset.op;
    if (!info.ops.includes(op) && !(op === "learn_noise" && info.ops.includes("denoise"))) $(id).hidden = true;
  }

  // readout under the pointer: time and frequency at once, the level when the server answers
  const readout = $("readout");
  let probeBusy = false, probeNext = null;
  async function probe(p) {
    if (probeBusy) { probeNext = p; return; }
    probeBusy = true;
    try {
      const r = await ctx.get("/api/probe", { t: p.t, f: p.f, channel: p.channel });
      readout.textContent = `${view.drawn && view.drawn.axes.channel_rows.length > 1 ? `ch ${r.channel} · ` : ""}` +
        `${r.time.toFixed(3)} s · ${formatHz(r.freq)} · ${formatDb(r.db)}`;
    } catch (_) { /* the readout is best effort; errors of real actions go to the status line */ }
    probeBusy = false;
    if (probeNext) { const q = probeNext; probeNext = null; probe(q); }
  }
  view.el.canvas.addEventListener("pointermove", (ev) => {
    const p = view.pointAt(ev.clientX, ev.clientY);
    if (!p) return;
    readout.textContent = `${p.t.toFixed(3)} s · ${formatHz(p.f)} · …`;
    probe(p);
  });
  view.el.canvas.addEventListener("pointerleave", () => { readout.textContent = ""; });

  // edits: the server applies specimg.ops; the page sends the selection and the arguments
  const NEEDS_SELECTION = new Set(["erase", "gain", "heal", "mask", "learn_noise"]);
  const WHOLE = new Set(info.whole_image_ops || ["denoise", "apply"]);
  $("op-denoise").dataset.whole = String(WHOLE.has("denoise"));
  $("op-denoise").textContent = WHOLE.has("denoise") ? "Denoise all" : "Denoise";
  setState(ctx.state);
  function args(op) {
    const num = (id, what) => {
      const v = Number($(id).value);
      if ($(id).value.trim() === "" || !Number.isFinite(v)) throw new Error(`${what}: "${$(id).value}" is not a number; type one in the box`);
      return v;
    };
    if (op === "gain") return { db: num("gain-db", "gain (dB)") };
    if (op === "mask") return { db: num("mask-db", "mask (dB)") };
    if (op === "heal") return { method: $("heal-method").value };
    if (op === "denoise") return { method: $("denoise-method").value, strength: null };
    if (op === "apply") {
      const raw = $("apply-kwargs").value.trim();
      let kwargs = {};
      if (raw) {
        try { kwargs = JSON.parse(raw); } catch (_) { throw new Error(`apply: the arguments ${raw} are not JSON; write e.g. {"sigma": 2}`); }
        if (typeof kwargs !== "object" || Array.isArray(kwargs) || kwargs === null) throw new Error("apply: the arguments must be a JSON object, e.g. {\"sigma\": 2}");
      }
      return { function: $("apply-function").value, kwargs, domain: $("apply-domain").value };
    }
    return {};
  }

  let editing = false;
  async function edit(op) {
    if (editing) return null;
    // some edits work on the whole file only (the server says which)
    const selection = tools.current && !WHOLE.has(op) ? tools.current.sel : null;
    if (NEEDS_SELECTION.has(op) && !selection) {
      ctx.error(new Error(`${op.replace("_", " ")}: select a region first (drag on the picture)`));
      return null;
    }
    let a;
    try { a = args(op); } catch (err) { ctx.error(err); return null; }
    editing = true;
    document.body.dataset.busy = "true";
    ctx.status(`${op.replace("_", " ")}${selection ? "" : " (whole image)"}…`, "busy");
    try {
      const res = await ctx.post("/api/edit", { op, selection, args: a });
      setState(res.state);
      ctx.status(op === "learn_noise" ? "noise profile learned from the selection" : `${op} done (${res.state.history.length} edits)`, "ok");
      view.redraw();
      return res;
    } catch (err) {
      ctx.error(err);
      return null;
    } finally {
      editing = false;
      document.body.dataset.busy = "false";
    }
  }
  for (const b of document.querySelectorAll("[data-op]")) b.addEventListener("click", () => edit(b.dataset.op));

  async function step(which) {
    try {
      const res = await ctx.post(`/api/${which}`);
      setState(res.state);
      ctx.status(`${which} (${res.state.history.length} edits)`, "ok");
      view.redraw();
    } catch (err) { ctx.error(err); }
  }
  $("undo").addEventListener("click", () => step("undo"));
  $("redo").addEventListener("click", () => step("redo"));
  $("play-selection").addEventListener("click", () => player.playSelection(tools.current));

  // save and export
  async function save() {
    ctx.status("saving…", "busy");
    try {
      const res = await ctx.post("/api/save", { format: $("save-format").value });
      setState(res.state);
      ctx.status(`saved ${res.path}`, "ok");
      return res;
    } catch (err) { ctx.error(err); return null; }
  }
  function download(path, params) {
    const a = document.createElement("a");
    a.href = ctx.url(path, params);
    a.download = "";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  $("save").addEventListener("click", save);
  $("export-audio").addEventListener("click", () => {
    const params = { which: "edited", format: $("export-format").value, quality: "balanced" };
    if ($("export-scope").value === "selection") {
      const b = tools.current && tools.current.bounds && tools.current.bounds.time;
      if (!b) { ctx.error(new Error("export the selection: select a region first, or choose 'all'")); return; }
      params.t0 = b[0]; params.t1 = b[1];
    }
    ctx.status("exporting audio…", "busy");
    download("/api/export/audio", params);
  });
  $("export-history").addEventListener("click", () => { download("/api/export/history", {}); ctx.status("history exported", "ok"); });

  // keyboard
  document.addEventListener("keydown", (ev) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName);
    const mod = ev.ctrlKey || ev.metaKey;
    const key = ev.key.toLowerCase();
    if (mod && key === "z") { ev.preventDefault(); step(ev.shiftKey ? "redo" : "undo"); return; }
    if (mod && key === "y") { ev.preventDefault(); step("redo"); return; }
    if (mod && key === "s") { ev.preventDefault(); save(); return; }
    if (typing || mod || ev.altKey) return;
    const actions = {
      " ": () => player.toggle(), escape: () => tools.clear(), delete: () => edit("erase"), backspace: () => edit("erase"),
      p: () => tools.setTool("pan"), r: () => tools.setTool("rect"), t: () => tools.setTool("time"),
      f: () => tools.setTool("freq"), l: () => tools.setTool("lasso"), h: () => tools.setTool("harmonic"),
      a: () => player.ab(), "+": () => view.zoom(0.5), "=": () => view.zoom(0.5), "-": () => view.zoom(2),
      0: () => view.fit(),
      arrowleft: () => view.panBy(view.drawn.width / 4, 0, 1), arrowright: () => view.panBy(-view.drawn.width / 4, 0, 1),
      arrowup: () => view.panBy(0, view.drawn.height / 4, view.drawn.height),
      arrowdown: () => view.panBy(0, -view.drawn.height / 4, view.drawn.height),
    };
    const fn = actions[key];
    if (fn && (view.drawn || !key.startsWith("arrow"))) { ev.preventDefault(); fn(); }
  });

  // hooks for tests and benchmarks
  window.specimgStudio = {
    get state() { return ctx.state; },
    get view() { return view.geometry(); },
    get selection() { return tools.current; },
    get lastRenderMs() { return ctx.lastRenderMs; },
    get info() { return ctx.info; },
    setSelection: (sel) => tools.setSelection(sel),
    showRange: (t0, t1) => view.showRange(t0, t1),
    edit, save, undo: () => step("undo"), redo: () => step("redo"), player,
  };
  window.addEventListener("error", (ev) => ctx.error(ev.error || new Error(ev.message)));
  window.addEventListener("unhandledrejection", (ev) => ctx.error(ev.reason));

  const restored = info.state.restored;
  ctx.status(info.state.restore_error ? info.state.restore_error : restored ? `restored the session: ${restored} edits` : `${info.name}: ${info.duration.toFixed(2)} s, ${info.n_channels} channel(s), ${info.sr} Hz`);
  await view.redraw();
}

main().catch((err) => ctx.error(err));
