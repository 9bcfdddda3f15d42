// urbsd explore: the two charts (uPlot) and the county table, drawn from the state in urbsdUtil.S.
"use strict";
window.urbsdCharts = (function (U) {
  const { COLOURS, PIN_COLOURS, RESIDENT, HUKOU, TARGET, FONT, S, $, make, tr, L, isNum, pct, targetPct, currentBand } = U;

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

  return { drawPaths, drawCounties, chartWidth };
})(window.urbsdUtil);
