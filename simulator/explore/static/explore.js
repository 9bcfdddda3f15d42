// urbsd explore: the page. Every text from the model file or the user is put into the page with
// textContent or setAttribute, never as HTML. All requests go to this origin (see the CSP).
"use strict";
(function () {
  const { S, $, make, tr, L, isNum, pct, targetPct, gapText, numberText, oneLine, currentBand } = window.urbsdUtil;
  const { drawPaths, drawCounties, chartWidth } = window.urbsdCharts;
  const MAX_PINS = 8;

  // a status line kept as (key, values), so that it is said again in the other language
  function setStatus(id, key, vars) {
    S.status[id] = key ? [key, vars] : null;
    $(id).textContent = key ? tr(key, vars) : "";
  }

  function renderStatus() {
    for (const [id, entry] of Object.entries(S.status)) $(id).textContent = entry ? tr(entry[0], entry[1]) : "";
  }

  // text typed on the page (pin names) may hold characters the page's font subset lacks:
  // ask the server for a subset of them and add it as a second font face
  async function ensureGlyphs(text) {
    const missing = [...text].filter((c) => c.codePointAt(0) >= 0x80 && !S.fontChars.has(c) && !S.extraChars.has(c));
    if (!missing.length || !window.FontFace) return;
    missing.forEach((c) => S.extraChars.add(c));
    try {
      const response = await fetch("/api/font", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: [...S.extraChars].join("") }),
      });
      if (!response.ok) return;
      const face = new FontFace("urbsd CJK extra", await response.arrayBuffer());
      await face.load();
      if (S.extraFace) document.fonts.delete(S.extraFace);
      document.fonts.add(face);
      S.extraFace = face;
    } catch (e) { /* the text is drawn in a system font, if there is one */ }
  }

  function showError(message) {
    const box = $("error");
    box.textContent = tr("error", { message: oneLine(message) });
    box.hidden = false;
  }

  function clearError() { $("error").hidden = true; $("error").textContent = ""; }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) throw new Error(data && data.error ? data.error : "HTTP " + response.status);
    return data;
  }

  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

  // ---------------------------------------------------------------- settings
  function changed(lever, values) {
    return values[lever.name].some((x, i) => x !== lever.values[i]);
  }

  function settingsOf(values) {  // the `set` the server receives: only the levers that differ
    const set = {};
    for (const lever of S.meta.levers) {
      if (!changed(lever, values)) continue;
      const v = values[lever.name];
      set[lever.name] = lever.kind === "series" ? { start: v[0], end: v[1] } : v[0];
    }
    return set;
  }

  const settingsKey = (set) => JSON.stringify(set);

  function leverText(lever, values) {
    const v = values[lever.name];
    return lever.kind === "series" ? numberText(v[0], lever.step) + " → " + numberText(v[1], lever.step)
      : numberText(v[0], lever.step);
  }

  // ---------------------------------------------------------------- levers
  function setValue(lever, part, value) {
    S.values[lever.name][part] = value;
    updateChanged();
    schedule();
  }

  function buildLevers() {
    const box = $("levers");
    box.replaceChildren();
    for (const lever of S.meta.levers) {
      const wrap = make("div", { className: "lever", dataset: { lever: lever.name } });
      const head = make("div", { className: "lever-head" });
      head.append(make("span", { className: "lever-label", title: lever.doc }, L(lever.label)));
      head.append(make("span", { className: "unit" }, L(lever.unit)));
      wrap.append(head);
      const parts = lever.kind === "series"
        ? [tr("start", { year: lever.years[0] }), tr("end", { year: lever.years[1] })] : [null];
      parts.forEach((partLabel, i) => {
        const row = make("div", { className: "lever-row" });
        if (partLabel) row.append(make("span", { className: "part" }, partLabel));
        const range = make("input", {
          type: "range", min: lever.low, max: lever.high, step: lever.step,
          "aria-label": L(lever.label) + (partLabel ? " " + partLabel : ""),
          dataset: { lever: lever.name, part: String(i) },
        });
        range.value = String(S.values[lever.name][i]);
        const num = make("input", {
          type: "number", min: lever.low, max: lever.high, step: "any", className: "lever-number",
          "aria-label": L(lever.label) + (partLabel ? " " + partLabel : ""),
          dataset: { lever: lever.name, part: String(i) },
        });
        num.value = numberText(S.values[lever.name][i], lever.step);
        range.addEventListener("input", () => {
          const x = parseFloat(range.value);
          num.value = numberText(x, lever.step);
          setValue(lever, i, x);
        });
        num.addEventListener("change", () => {
          const x = parseFloat(num.value);
          if (!Number.isFinite(x)) {  // an emptied or half-typed box: back to the lever's value
            num.value = numberText(S.values[lever.name][i], lever.step);
            return;
          }
          range.value = String(x);
          setValue(lever, i, x);
        });
        row.append(range, num);
        wrap.append(row);
      });
      const foot = make("div", { className: "lever-foot" });
      foot.append(make("span", { className: "muted" },
        tr("scenario_value", { value: leverText(lever, { [lever.name]: lever.values }) })));
      const reset = make("button", { type: "button", className: "small" }, tr("reset"));
      reset.addEventListener("click", () => {
        S.values[lever.name] = lever.values.slice();
        buildLevers();
        updateChanged();
        schedule();
      });
      foot.append(reset);
      wrap.append(foot);
      for (const note of lever.notes) wrap.append(make("p", { className: "note" }, L(note)));
      box.append(wrap);
    }
    updateChanged();
  }

  function updateChanged() {
    const n = S.meta.levers.filter((lever) => changed(lever, S.values)).length;
    $("changed").textContent = n ? tr("changed", { n }) : tr("unchanged");
    for (const wrap of document.querySelectorAll(".lever")) {
      const lever = S.meta.levers.find((l) => l.name === wrap.dataset.lever);
      wrap.classList.toggle("moved", !!lever && changed(lever, S.values));
    }
  }

  // ---------------------------------------------------------------- running
  function schedule() {
    if (S.inflight) { S.pending = true; return; }
    runNow();
  }

  async function runNow() {
    S.inflight = true;
    S.pending = false;
    document.body.dataset.state = "busy";
    const set = settingsOf(S.values);
    const t0 = performance.now();
    try {
      const result = await post("/api/run", { set });
      const t1 = performance.now();
      result.key = settingsKey(set);
      S.result = result;
      draw();
      await nextFrame();
      const t2 = performance.now();
      S.timings.push({ request: t1 - t0, redraw: t2 - t1, total: t2 - t0, model: result.model_ms, cached: result.cached });
      setStatus("timing", "timing", { ms: (t2 - t0).toFixed(0) });
      clearError();
    } catch (e) {
      showError(e.message);
    }
    S.runs += 1;
    S.inflight = false;
    if (S.pending) { runNow(); return; }
    document.body.dataset.state = "idle";
    // the band of new settings once the sliders rest a moment (not for every step of a drag)
    clearTimeout(S.bandTimer);
    S.bandTimer = setTimeout(() => {
      if (S.bandOn && !S.inflight && (!S.band || S.band.key !== settingsKey(settingsOf(S.values)))) runBand();
    }, 300);
  }

  async function runBand() {
    if (S.bandBusy) { S.bandPending = true; return; }
    S.bandBusy = true;
    S.bandPending = false;
    setStatus("band-status", "band_busy");
    const set = settingsOf(S.values);
    try {
      const band = await post("/api/band", { set });
      band.key = settingsKey(set);
      S.band = band;
      if (band.available) {
        setStatus("band-status", "band_done",
          { runs: band.runs, seed: band.seed, k: band.names.length, ms: band.model_ms.toFixed(0) });
      } else setStatus("band-status", "band_none");
      draw();
    } catch (e) {
      setStatus("band-status", null);
      showError(e.message);
    }
    S.bandBusy = false;
    if (S.bandPending && S.bandOn) runBand();
  }

  // ---------------------------------------------------------------- tables
  function valueAt(result, name, year) {
    const i = result.times.indexOf(year);
    return i >= 0 && result.paths[name] ? result.paths[name][i] : null;
  }

  function firstYearText(row) {
    return row.first_year === null ? tr("not_by", { year: S.result.times[S.result.times.length - 1] })
      : String(row.first_year);
  }

  function indicatorLabel(indicator) {
    const [name, element] = indicator.replace("]", "").split("[");
    const base = L(S.meta.indicators[name]) || name;
    if (!element) return base;
    const labels = S.meta.counties && S.meta.counties.labels[element];
    return base + "（" + (labels ? L(labels) : element) + "）";
  }

  function drawFigures() {
    const res = S.result, band = currentBand();
    const table = $("figures");
    table.replaceChildren();
    const headers = ["indicator", "year", "target_value", "value", "gap", "reached", "first_year"];
    if (band) headers.push("probability");
    const head = make("tr");
    for (const h of headers) head.append(make("th", {}, tr(h)));
    table.append(make("thead"));
    table.tHead.append(head);
    const body = make("tbody");
    res.targets.forEach((row, i) => {
      const tr_ = make("tr", { dataset: { indicator: row.indicator, year: String(row.year) } });
      tr_.append(make("td", {}, indicatorLabel(row.indicator)));
      tr_.append(make("td", { className: "num" }, String(row.year)));
      tr_.append(make("td", { className: "num" }, targetPct(row.target) + "%"));
      tr_.append(make("td", { className: "num value", dataset: { value: String(row.value) } }, pct(row.value)));
      tr_.append(make("td", { className: "num gap " + (row.reached ? "good" : "bad") }, gapText(row.gap_pp)));
      tr_.append(make("td", { className: row.reached ? "good" : "bad" }, row.reached ? tr("yes") : tr("no")));
      tr_.append(make("td", { className: "num first-year" }, firstYearText(row)));
      if (band) {
        const p = band.targets[i];
        tr_.append(make("td", { className: "num probability", dataset: { value: String(p.probability) } },
          isNum(p.probability) ? (p.probability * 100).toFixed(1) + "%" : "–"));
      }
      body.append(tr_);
    });
    // the other path (hukou) in the target years, for reading the two rates together
    const names = Object.keys(res.paths);
    const years = [...new Set(res.targets.map((t) => t.year))].sort((a, b) => a - b);
    for (const name of names) {
      if (res.targets.some((t) => t.indicator === name)) continue;
      for (const y of years) {
        const v = valueAt(res, name, y);
        const tr_ = make("tr", { dataset: { indicator: name, year: String(y) } });
        tr_.append(make("td", {}, L(S.meta.indicators[name]) || name));
        tr_.append(make("td", { className: "num" }, String(y)));
        tr_.append(make("td", { className: "num" }, "–"));
        tr_.append(make("td", { className: "num value", dataset: { value: String(v) } }, pct(v)));
        for (let k = 4; k < headers.length; k++) tr_.append(make("td", {}, ""));
        body.append(tr_);
      }
    }
    table.append(body);
    const list = $("history-list");
    list.replaceChildren();
    for (const [name, pts] of Object.entries(S.meta.history.city || {})) {
      for (const p of pts) {
        list.append(make("li", {}, `${indicatorLabel(name)} ${p.year}: ${pct(p.value)} — ${p.source}` +
          (p.note ? ` (${p.note})` : "")));
      }
    }
    $("history-details").hidden = !list.children.length;
  }

  function drawCompare() {
    const table = $("compare");
    table.replaceChildren();
    $("no-pins").textContent = S.pins.length ? "" : tr("no_pins");
    if (!S.pins.length) return;
    const columns = [{ name: tr("current"), values: S.values, result: S.result, band: currentBand(), current: true }]
      .concat(S.pins);
    const head = make("tr");
    head.append(make("th", {}, ""));
    columns.forEach((c, i) => {
      const th = make("th", {}, c.name);
      if (!c.current) {
        const apply = make("button", { type: "button", className: "small" }, tr("apply"));
        apply.addEventListener("click", () => {
          for (const lever of S.meta.levers) S.values[lever.name] = c.values[lever.name].slice();
          buildLevers();
          schedule();
        });
        const remove = make("button", { type: "button", className: "small" }, tr("remove"));
        remove.addEventListener("click", () => { S.pins.splice(i - 1, 1); draw(); });
        th.append(make("br"), apply, remove);
      }
      head.append(th);
    });
    table.append(make("thead"));
    table.tHead.append(head);
    const body = make("tbody");
    for (const lever of S.meta.levers) {
      const row = make("tr", { dataset: { lever: lever.name } });
      row.append(make("th", {}, L(lever.label)));
      for (const c of columns) {
        row.append(make("td", { className: "num" + (changed(lever, c.values) ? " moved" : "") }, leverText(lever, c.values)));
      }
      body.append(row);
    }
    S.result.targets.forEach((t, k) => {
      const row = make("tr", { dataset: { indicator: t.indicator, year: String(t.year) } });
      row.append(make("th", {}, `${indicatorLabel(t.indicator)} ${tr("year_value", { year: t.year })}`));
      for (const c of columns) {
        const r = c.result.targets[k];
        let text = `${pct(r.value)} (${gapText(r.gap_pp)}) · ${firstYearText(r)}`;
        if (c.band && c.band.targets[k] && isNum(c.band.targets[k].probability)) {
          text += ` · P=${(c.band.targets[k].probability * 100).toFixed(1)}%`;
        }
        row.append(make("td", { className: "num " + (r.reached ? "good" : "bad") }, text));
      }
      body.append(row);
    });
    table.append(body);
  }

  function draw() {
    drawPaths();
    drawFigures();
    drawCounties();
    drawCompare();
  }

  // ---------------------------------------------------------------- pin and save
  function pin() {
    if (!S.result) return;
    if (S.pins.length >= MAX_PINS) S.pins.shift();
    const name = oneLine($("pin-name").value).slice(0, 40) || tr("pin_default", { n: S.pins.length + 1 });
    const values = {};
    for (const lever of S.meta.levers) values[lever.name] = S.values[lever.name].slice();
    S.pins.push({ id: Date.now() + Math.random(), name, values, result: S.result, band: currentBand() });
    $("pin-name").value = "";
    draw();
    ensureGlyphs(name);
  }

  async function save() {
    const name = $("save-name").value.trim();
    const label = $("save-label").value;
    setStatus("save-status", null);
    try {
      const saved = await post("/api/save", { set: settingsOf(S.values), name, label });
      const blob = new Blob([saved.yaml], { type: "application/x-yaml" });
      const link = make("a", { download: saved.filename });
      link.href = URL.createObjectURL(blob);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      setStatus("save-status", "saved", { file: saved.filename, sha: saved.sha256.slice(0, 12) });
      $("save-status").dataset.sha256 = saved.sha256;
      clearError();
    } catch (e) {
      showError(e.message);
    }
  }

  // ---------------------------------------------------------------- the page's words
  function buildStatic() {
    const meta = S.meta;
    document.documentElement.lang = S.lang;
    document.title = `${tr("title")} · ${L(meta.scenario.label)}`;
    $("title").textContent = tr("title");
    $("scenario-label").textContent = `${L(meta.scenario.label)} (${meta.scenario.file})`;
    $("provenance").textContent = tr("provenance", {
      model: meta.model.name, msha: meta.model.sha256.slice(0, 12),
      scenario: meta.scenario.name, ssha: meta.scenario.sha256.slice(0, 12),
    });
    for (const [id, key] of [["levers-title", "levers"], ["reset-all", "reset_all"], ["paths-title", "paths"],
      ["figures-title", "figures"], ["history-title", "history"], ["counties-title", "counties"],
      ["pins-title", "pins"], ["pin-name-label", "pin_name"], ["pin-button", "pin"], ["save-title", "save"],
      ["save-name-label", "save_name"], ["save-label-label", "save_label"], ["save-button", "save_button"]]) {
      $(id).textContent = tr(key);
    }
    $("band-label").textContent = tr("band", { runs: meta.band.runs });
    $("lang-zh").classList.toggle("active", S.lang === "zh");
    $("lang-en").classList.toggle("active", S.lang === "en");
    if (!$("save-name").value) $("save-name").value = (meta.scenario.name + "-explore").replace(/[^A-Za-z0-9_-]/g, "-");
    S.chartKeys = {};
    renderStatus();
  }

  function setLang(lang) {
    S.lang = lang;
    buildStatic();
    buildLevers();
    if (S.result) draw();
  }

  async function fontReady() {
    if (!document.fonts || !document.fonts.load) return;
    try {
      await Promise.race([document.fonts.load('16px "urbsd CJK"', "城镇"), new Promise((r) => setTimeout(r, 3000))]);
    } catch (e) { /* the page still works with a fallback font */ }
  }

  async function init() {
    try {
      const response = await fetch("/api/meta");
      if (!response.ok) throw new Error("HTTP " + response.status);
      S.meta = await response.json();
      S.lang = S.meta.lang;
      S.fontChars = new Set(S.meta.font_chars);
      for (const lever of S.meta.levers) S.values[lever.name] = lever.values.slice();
      await fontReady();
      buildStatic();
      buildLevers();
      $("lang-zh").addEventListener("click", () => setLang("zh"));
      $("lang-en").addEventListener("click", () => setLang("en"));
      $("reset-all").addEventListener("click", () => {
        for (const lever of S.meta.levers) S.values[lever.name] = lever.values.slice();
        buildLevers();
        schedule();
      });
      $("band-toggle").addEventListener("change", () => {
        S.bandOn = $("band-toggle").checked;
        if (S.bandOn && !currentBand()) runBand();
        else draw();
      });
      $("pin-button").addEventListener("click", pin);
      $("save-button").addEventListener("click", save);
      if (document.fonts) {  // a font that arrives late: draw the charts' canvas text again with it
        document.fonts.addEventListener("loadingdone", () => { S.chartKeys = {}; if (S.result) draw(); });
      }
      window.addEventListener("resize", () => {
        for (const [id, chart] of Object.entries(S.charts)) chart.setSize({ width: chartWidth(id), height: chart.height });
      });
      await runNow();
      S.ready = true;
    } catch (e) {
      if (S.meta) showError(e.message);
      else { $("error").textContent = "Error: " + oneLine(e.message); $("error").hidden = false; }
    }
  }

  document.addEventListener("DOMContentLoaded", init);
})();
