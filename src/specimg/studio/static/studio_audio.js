// specimg studio: listening. The sound of a time range comes decoded from the server
// (/api/audio, WAV); the page plays it in an <audio> element, reports the playhead
// (t0 + currentTime) on the player element and draws it on the view, loops, and switches
// between the original and the edited sound at the same playhead (A/B).

export function createPlayer(ctx, view) {
  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const player = $("player");
  const abButton = $("ab");
  const loopButton = $("loop");
  let which = "edited";
  let segment = null; // {t0, t1 | null}
  let raf = 0;

  function position() {
    return segment ? segment.t0 + (audio.currentTime || 0) : 0;
  }

  function report() {
    const playing = !audio.paused && !audio.ended;
    const pos = position();
    player.dataset.playing = String(playing);
    player.dataset.position = pos.toFixed(3);
    player.textContent = `${playing ? "▶" : "■"} ${pos.toFixed(3)} s${which === "original" ? " (original)" : ""}`;
    view.setPlayhead(segment && (playing || audio.currentTime > 0) ? pos : null);
  }

  function tick() {
    report();
    raf = audio.paused ? 0 : requestAnimationFrame(tick);
  }

  // The sounds are fetched whole (a blob can be sought anywhere at once, which A/B needs)
  // and the last few are kept, so that switching A/B back and forth does not ask again.
  const cache = new Map(); // request URL -> object URL
  let loading = 0;

  async function sound(seg) {
    const params = { which, quality: "fast", version: ctx.state.version };
    if (seg.t1 !== null) { params.t0 = seg.t0; params.t1 = seg.t1; }
    const key = ctx.url("/api/audio", params);
    if (cache.has(key)) {
      const hit = cache.get(key);
      cache.delete(key); cache.set(key, hit);
      return hit;
    }
    const blob = await ctx.get("/api/audio", params, "blob");
    const obj = URL.createObjectURL(blob);
    cache.set(key, obj);
    while (cache.size > 4) {
      const [k, old] = cache.entries().next().value;
      cache.delete(k);
      if (old !== audio.src) URL.revokeObjectURL(old);
    }
    return obj;
  }

  // Load seg, seek to offset (seconds into it), play if asked; resolves when it plays.
  async function load(seg, offset, play) {
    const mine = ++loading;
    let obj;
    try {
      obj = await sound(seg);
    } catch (err) {
      ctx.error(err);
      return;
    }
    if (mine !== loading) return; // another sound was asked for meanwhile
    segment = seg;
    audio.loop = loopButton.getAttribute("aria-pressed") === "true";
    if (audio.src !== obj) {
      audio.src = obj;
      await new Promise((resolve) => {
        audio.addEventListener("loadedmetadata", resolve, { once: true });
        audio.addEventListener("error", resolve, { once: true });
      });
      if (audio.error) { ctx.error(new Error(`playback: the browser could not read the sound (${audio.error.message || audio.error.code})`)); return; }
    }
    audio.currentTime = Math.min(Math.max(offset, 0), Math.max((audio.duration || 0) - 0.01, 0));
    report();
    if (!play) return;
    try {
      await audio.play();
    } catch (err) {
      ctx.error(new Error(`playback: ${err.message}`));
    }
  }

  let label = "";
  function play(t0, t1) {
    label = `${t1 === null ? "all" : `${t0.toFixed(2)}–${t1.toFixed(2)} s`}`;
    ctx.status(`decoding the sound of ${label}…`, "busy");
    return load({ t0, t1 }, 0, true);
  }

  function playAll() { return play(0, null); }
  function playView() {
    const g = view.geometry();
    return g ? play(g.t0, g.t1) : Promise.resolve();
  }
  function playSelection(selection) {
    const b = selection && selection.bounds && selection.bounds.time;
    if (!b) { ctx.error(new Error("play selection: select a region first (drag on the picture)")); return Promise.resolve(); }
    return play(b[0], b[1]);
  }
  function stop() {
    audio.pause();
    if (segment) audio.currentTime = 0;
    segment = null;
    report();
    ctx.status("stopped");
  }
  function toggle() {
    if (!audio.paused) { stop(); return Promise.resolve(); }
    return playView();
  }

  // A/B: the other sound of the same range, at the same playhead.
  async function ab() {
    which = which === "edited" ? "original" : "edited";
    abButton.dataset.state = which;
    abButton.textContent = `A/B: ${which}`;
    ctx.status(`listening to the ${which} sound`);
    if (segment) {
      const playing = !audio.paused;
      await load(segment, audio.currentTime || 0, playing);
    }
    report();
  }

  function loop() {
    const on = loopButton.getAttribute("aria-pressed") !== "true";
    loopButton.setAttribute("aria-pressed", String(on));
    audio.loop = on;
    ctx.status(on ? "loop on" : "loop off");
  }

  audio.addEventListener("playing", () => {
    if (!raf) raf = requestAnimationFrame(tick);
    ctx.status(`playing ${label}${which === "original" ? " (original)" : ""}`);
    report();
  });
  audio.addEventListener("pause", report);
  audio.addEventListener("ended", report);
  audio.addEventListener("timeupdate", report);
  audio.addEventListener("seeked", report);

  $("play-all").addEventListener("click", playAll);
  $("play-view").addEventListener("click", playView);
  $("stop").addEventListener("click", stop);
  abButton.addEventListener("click", ab);
  loopButton.addEventListener("click", loop);

  return {
    playAll, playView, playSelection, stop, toggle, ab, loop, position,
    get which() { return which; },
    get playing() { return !audio.paused; },
  };
}
