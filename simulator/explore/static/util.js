// urbsd explore: the page's state and small helpers, shared by charts.js and explore.js. Text is
// put into the page with textContent or setAttribute only, never as HTML.
"use strict";
window.urbsdUtil = (function () {
  const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac"];
  const PIN_COLOURS = ["#59a14f", "#b07aa1", "#9c755f", "#76b7b2", "#edc948", "#ff9da7", "#bab0ac", "#000000"];
  const RESIDENT = "#4e79a7", HUKOU = "#f28e2b", TARGET = "#e15759";
  const FONT = '"urbsd CJK", "urbsd CJK extra", sans-serif';

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

  function currentBand() {  // the band of the current settings only (a stale one is not drawn)
    return S.bandOn && S.band && S.band.available && S.result && S.band.key === S.result.key ? S.band : null;
  }

  return { COLOURS, PIN_COLOURS, RESIDENT, HUKOU, TARGET, FONT, S, $, make, tr, L, isNum, pct, targetPct, gapText, numberText, oneLine, currentBand };
})();
