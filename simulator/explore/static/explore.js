// urbsd explore: the page. Every text from the model file or the user is put into the page with
// textContent or setAttribute, never as HTML. All requests go to this origin (see the CSP).
"use strict";
(function () {
  const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac"];
  const PIN_COLOURS = ["#59a14f", "#b07aa1", "#9c755f", "#76b7b2", "#edc948", "#ff9da7", "#bab0ac", "#000000"];
  const RESIDENT = "#4e79a7", HUKOU = "#f28e2b", TARGET = "#e15759";
  const FONT = '"urbsd CJK", "urbsd CJK extra", sans-serif';
  const MAX_PINS = 8;

  // state; window.urbsd lets tests and benchmarks read the timings and the last answer
  const S = {
    meta: null, lang: "zh", values: {}, result: null, band: null, bandOn: false, bandBusy: false,
    bandPending: false, pins: [], inflight: false, pending: false, timings: [], runs: 0, ready: false,
    charts: {}, chartKeys: {}, status: {}, fontChars: new Set(), extraChars: new Set(), extraFace: null,
  };
  window.urbsd = S;

  // ---------------------------------------------------------------- small helpers
  const $ = (id) => document.getElementById(id);

  function make(tag, props, text) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "className") el.className = value;
      else el.setAttribute(key, value);
    }
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  function tr(key, vars) {
    const entry = S.meta.text[key];
    let text = entry ? (entry[S.lang] || entry.en) : key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return text;
  }

  const L = (pair) => (pair ? (pair[S.lang] || pair.en || pair.zh || "") : "");
  const isNum = (x) => typeof x === "number" && Number.isFinite(x);
  const pct = (x) => (isNum(x) ? (x * 100).toFixed(1) + "%" : "–");
  const targetPct = (x) => String(+(x * 100).toFixed(4));

  function gapText(gap) {  // percentage points; a near miss is never shown as 0.0
    if (!isNum(gap)) return "–";
    const digits = gap !== 0 && Math.abs(gap) < 0.05 ? 2 : 1;
    return (gap > 0 ? "+" : gap < 0 ? "−" : "") + Math.abs(gap).toFixed(digits);
  }

  function numberText(x, step) {
    if (!isNum(x)) return "–";
    const digits = Math.max(0, Math.min(8, -Math.floor(Math.log10(step || 1))));
    const rounded = x.toFixed(digits);
    return Math.abs(+rounded - x) > 1e-12 * Math.max(1, Math.abs(x)) ? String(+x.toPrecision(8)) : rounded;
  }

  function oneLine(text) { return String(text).replace(/\s+/g, " ").trim(); }

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

  function currentBand() {  // the band of the current settings only (a stale one is not drawn)
    return S.bandOn && S.band && S.band.available && S.result && S.band.key === S.result.key ? S.band : null;
  }

  // ---------------------------------------------------------------- charts
  function chartWidth(id) { return Math.max(320, $(id).clientWidth || 600); }

  function axisOptions(label, percent) {
    return {
      label, font: "12px " + FONT, labelFont: "13px " + FONT, stroke: "#333",
      grid: { stroke: "#e6e6e6" },
      values: percent ? (u, vals) => vals.map((v) => v.toFixed(0))
        : (u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : "")),
    };
  }

  function percentRange(values) {
    const finite = values.filter(isNum);
    const lo = Math.min(...finite), hi = Math.max(...finite);
    return [Math.max(0, Math.floor(lo / 5) * 5 - 5), Math.min(100, Math.ceil(hi / 5) * 5 + 5)];
  }

  function upsertChart(id, key, makeOpts, data) {
    const box = $(id);
    if (S.charts[id] && S.chartKeys[id] === key) {
      S.charts[id].setData(data);
      return;
    }
    if (S.charts[id]) S.charts[id].destroy();
    box.replaceChildren();
    S.charts[id] = new uPlot(makeOpts(), data, box);
    S.chartKeys[id] = key;
  }

  function alignedYears(extra) {
    const years = new Set(S.result.times);
    for (const y of extra) years.add(y);
    return [...years].sort((a, b) => a - b);
  }

  function column(xs, pairs) {  // [[year, share], ...] -> percent values aligned on xs (null elsewhere)
    const map = new Map(pairs.map(([year, v]) => [year, isNum(v) ? v * 100 : null]));
    return xs.map((x) => (map.has(x) ? map.get(x) : null));
  }

  const zip = (xs, ys) => xs.map((x, i) => [x, ys[i]]);

  function drawTargetLabels(u, targets) {
    const ctx = u.ctx;
    const ratio = devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${Math.round(12 * ratio)}px ${FONT}`;
    ctx.fillStyle = TARGET;
    ctx.textAlign = "right";
    for (const t of targets) {
      const x = u.valToPos(t.year, "x", true), y = u.valToPos(t.value * 100, "y", true);
      if (!isNum(x) || !isNum(y)) continue;
      ctx.fillText(tr("target_label", { year: t.year, value: targetPct(t.value) }), x - 8 * ratio, y - 8 * ratio);
    }
    ctx.restore();
  }

  function drawPaths() {
    const meta = S.meta, res = S.result, band = currentBand();
    const ind = meta.indicators;
    const history = meta.history.city || {};
    const chartTargets = meta.targets.filter((t) => t.indicator in res.paths);
    const historyYears = Object.values(history).flat().map((p) => p.year);
    const xs = alignedYears([...historyYears, ...chartTargets.map((t) => t.year)]);
    const series = [{ label: tr("year") }];
    const data = [xs];
    const names = Object.keys(res.paths);
    names.forEach((name, i) => {
      const colour = i === 0 ? RESIDENT : HUKOU;
      series.push({ label: L(ind[name]) || name, stroke: colour, width: 2.5, points: { show: false },
        value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–") });
      data.push(column(xs, zip(res.times, res.paths[name])));
    });
    names.forEach((name, i) => {
      const pts = history[name] || [];
      if (!pts.length) return;
      const colour = i === 0 ? RESIDENT : HUKOU;
      series.push({
        label: tr("published", { label: L(ind[name]) || name }), stroke: colour, paths: () => null,
        points: { show: true, size: 9, width: 2, stroke: colour, fill: "#fff" },
        value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–"),
      });
      data.push(column(xs, pts.map((p) => [p.year, p.value])));
    });
    if (chartTargets.length) {
      series.push({
        label: tr("target"), stroke: TARGET, paths: () => null,
        points: { show: true, size: 11, width: 2, stroke: TARGET, fill: TARGET },
        value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–"),
      });
      data.push(column(xs, chartTargets.map((t) => [t.year, t.value])));
    }
    const bands = [];
    if (band && band.bands[names[0]]) {
      const b = band.bands[names[0]], years = band.years;
      const first = series.length;
      for (const key of ["p95", "p5", "p75", "p25"]) {
        series.push({ label: tr("percentile", { p: key.slice(1) }), stroke: "rgba(78,121,167,0.35)", width: 1, points: { show: false },
          value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–") });
        data.push(column(xs, zip(years, b[key])));
      }
      bands.push({ series: [first, first + 1], fill: "rgba(78,121,167,0.13)" });
      bands.push({ series: [first + 2, first + 3], fill: "rgba(78,121,167,0.25)" });
    }
    S.pins.forEach((pin, i) => {
      const colour = PIN_COLOURS[i % PIN_COLOURS.length];
      series.push({ label: pin.name, stroke: colour, width: 1.8, dash: [6, 4], points: { show: false },
        value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–") });
      data.push(column(xs, zip(pin.result.times, pin.result.paths[names[0]])));
    });
    const targetValues = chartTargets.map((t) => t.value * 100);
    const key = [S.lang, xs.join(","), series.length, bands.length, S.pins.map((p) => p.id).join(",")].join("|");
    upsertChart("paths-chart", key, () => ({
      width: chartWidth("paths-chart"), height: 380,
      scales: { x: { time: false }, y: { range: (u, lo, hi) => percentRange([lo, hi, ...targetValues]) } },
      axes: [axisOptions(tr("year"), false), axisOptions(tr("rate_axis"), true)],
      series, bands,
      hooks: { draw: [(u) => drawTargetLabels(u, chartTargets)] },
    }), data);
  }

  function drawCounties() {
    const meta = S.meta, res = S.result;
    const section = $("counties-section");
    if (!meta.counties || !res.counties) { section.hidden = true; return; }
    section.hidden = false;
    const elements = meta.counties.elements;
    const history = meta.history.counties || {};
    const xs = alignedYears(Object.values(history).flat().map((p) => p.year));
    const series = [{ label: tr("year") }], data = [xs];
    elements.forEach((e, i) => {
      series.push({ label: L(meta.counties.labels[e]), stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: false },
        value: (u, v) => (isNum(v) ? v.toFixed(1) + "%" : "–") });
      data.push(column(xs, zip(res.times, res.counties[e])));
    });
    const historyValues = Object.values(history).flat().map((p) => p.value * 100);
    const drawHistory = (u) => {
      const ctx = u.ctx, ratio = devicePixelRatio || 1;
      ctx.save();
      elements.forEach((e, i) => {
        for (const p of history[e] || []) {
          const x = u.valToPos(p.year, "x", true), y = u.valToPos(p.value * 100, "y", true);
          ctx.beginPath();
          ctx.arc(x, y, 4 * ratio, 0, 2 * Math.PI);
          ctx.fillStyle = "#fff";
          ctx.fill();
          ctx.lineWidth = 2 * ratio;
          ctx.strokeStyle = COLOURS[i % COLOURS.length];
          ctx.stroke();
        }
      });
      ctx.restore();
    };
    upsertChart("counties-chart", [S.lang, xs.join(",")].join("|"), () => ({
      width: chartWidth("counties-chart"), height: 320,
      scales: { x: { time: false }, y: { range: (u, lo, hi) => percentRange([lo, hi, ...historyValues]) } },
      axes: [axisOptions(tr("year"), false), axisOptions(tr("rate_axis"), true)],
      series, hooks: { draw: [drawHistory] },
    }), data);
    // the county table: each county's rate in the target years
    const years = [...new Set(meta.targets.map((t) => t.year))].sort((a, b) => a - b);
    const table = $("county-table");
    table.replaceChildren();
    const head = make("tr");
    head.append(make("th", {}, ""));
    for (const y of years) head.append(make("th", {}, tr("year_value", { year: y })));
    table.append(make("thead"));
    table.tHead.append(head);
    const body = make("tbody");
    elements.forEach((e) => {
      const row = make("tr", { dataset: { county: e } });
      row.append(make("th", {}, L(meta.counties.labels[e])));
      for (const y of years) {
        const i = res.times.indexOf(y);
        const v = i >= 0 ? res.counties[e][i] : null;
        row.append(make("td", { className: "num", dataset: { year: String(y), value: String(v) } }, pct(v)));
      }
      body.append(row);
    });
    table.append(body);
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
