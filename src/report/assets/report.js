// The report page's script (inlined by report_page.cpp; docs/console.md).
// Data: two JSON documents, one per line, in #bto-data (gzip + base64 when
// large, data-encoding says): what the lists need, then the details (parsed on
// the first click). Columns written by report_page.cpp (write_data):
//   strings   every text, interned; other columns hold indexes into it
//   traceIds  32 hex digits per trace; spanIds 16 per row
//   traces    TRACE_STRIDE numbers per trace, by start time
//   rows      ROW_STRIDE numbers per span, each trace's rows in tree order;
//             parent: -1 none, a row index, or -2 - k: strings[k] (not in the files)
//   attrs     2 numbers per attribute (key * 3 + kind, value), rows' in row order;
//   events    3 per event (name, offset, attribute count), attributes in eventAttrs
// Lists are virtual (only the rows in view exist), so 100,000 spans open fast.
// Every text from the data goes through textContent, never innerHTML.
"use strict";
(async function () {
  const started = performance.now();
  const TRACE_STRIDE = 7, ROW_STRIDE = 11, EVENT_STRIDE = 3;
  const T_FIRST = 0, T_ROWS = 1, T_ROOT = 2, T_SERVICE = 3, T_START_US = 4, T_DURATION = 5, T_ERRORS = 6;
  const R_NAME = 0, R_SERVICE = 1, R_KIND = 2, R_OFFSET = 3, R_DURATION = 4, R_STATUS = 5, R_MESSAGE = 6,
    R_DEPTH = 7, R_PARENT = 8, R_NATTRS = 9, R_NEVENTS = 10;
  const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];
  const ROW_HEIGHT = 24;
  const MAX_INDENT = 40;

  // The data's text: main part, newline, details part.
  async function readText() {
    const script = document.getElementById("bto-data");
    if (script.dataset.encoding !== "gzip-base64") return script.textContent;
    let bytes;
    if (Uint8Array.fromBase64) {
      bytes = Uint8Array.fromBase64(script.textContent);
    } else {
      const binary = atob(script.textContent);
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    }
    // Reading the stream directly: several times faster than new Response(stream).
    const inflate = new DecompressionStream("gzip");
    const writer = inflate.writable.getWriter();
    writer.write(bytes);
    writer.close();
    const reader = inflate.readable.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
    const all = new Uint8Array(size);  // one decode of the whole: faster than joining decoded pieces
    for (let i = 0, at = 0; i < chunks.length; at += chunks[i].length, i++) all.set(chunks[i], at);
    return new TextDecoder().decode(all);
  }
  const text = await readText();
  const split = text.indexOf("\n");
  const data = JSON.parse(split < 0 ? text : text.slice(0, split));
  let details = null;  // {attrs, events, eventAttrs}, parsed on the first click
  const detailsText = split < 0 ? '{"attrs":[],"events":[],"eventAttrs":[]}' : text.slice(split + 1);
  const S = data.strings, T = data.traces, R = data.rows;
  const traceCount = T.length / TRACE_STRIDE, rowCount = R.length / ROW_STRIDE;
  // Where each row's attributes and events start (their counts are in the rows).
  const attrStart = new Int32Array(rowCount + 1), eventStart = new Int32Array(rowCount + 1);
  for (let r = 0; r < rowCount; r++) {
    attrStart[r + 1] = attrStart[r] + R[r * ROW_STRIDE + R_NATTRS];
    eventStart[r + 1] = eventStart[r] + R[r * ROW_STRIDE + R_NEVENTS];
  }
  let eventAttrStart = null;
  function loadDetails() {
    if (details) return details;
    details = JSON.parse(detailsText);
    const E = details.events;
    eventAttrStart = new Int32Array(E.length / EVENT_STRIDE + 1);
    for (let e = 0; e < E.length / EVENT_STRIDE; e++) eventAttrStart[e + 1] = eventAttrStart[e] + E[e * EVENT_STRIDE + 2];
    return details;
  }
  const traceId = (t) => data.traceIds.substr(t * 32, 32);
  const spanId = (r) => data.spanIds.substr(r * 16, 16);
  const traceStartMs = (t) => data.baseMs + T[t * TRACE_STRIDE + T_START_US] / 1e3;
  function parentId(r) {
    const p = R[r * ROW_STRIDE + R_PARENT];
    return p === -1 ? "" : p >= 0 ? spanId(p) : S[-p - 2];
  }
  const parsedAt = performance.now();

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function fmtDuration(ns) {
    if (ns < 1e3) return ns + "ns";
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + "µs";
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + "ms";
    return (ns / 1e9).toFixed(2) + "s";
  }
  function fmtTime(ms) {
    const d = new Date(ms);
    const pad = (n, w) => String(n).padStart(w, "0");
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." +
      pad(d.getMilliseconds(), 3);
  }
  function fmtDate(ms) {
    return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
  }

  // ---- a virtual list: only the rows in view are in the DOM ----------------
  function VirtualList(container, render, onSelect) {
    this.container = container;
    this.spacer = container.querySelector(".spacer");
    this.render = render;
    this.onSelect = onSelect;
    this.count = 0;
    this.selected = -1;
    this.drawn = new Map();
    container.addEventListener("scroll", () => this.draw());
    container.addEventListener("click", (event) => {
      const row = event.target.closest("[data-index]");
      if (row) this.select(Number(row.dataset.index));
    });
    container.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      event.preventDefault();
      const next = Math.min(this.count - 1, Math.max(0, this.selected + (event.key === "ArrowDown" ? 1 : -1)));
      this.select(next);
      this.reveal(next);
    });
    new ResizeObserver(() => this.draw()).observe(container);
  }
  VirtualList.prototype.reset = function (count) {
    this.count = count;
    this.selected = -1;
    this.spacer.style.height = count * ROW_HEIGHT + "px";
    for (const node of this.drawn.values()) node.remove();
    this.drawn.clear();
    this.container.scrollTop = 0;
    this.draw();
  };
  VirtualList.prototype.draw = function () {
    const top = this.container.scrollTop, height = this.container.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
    const last = Math.min(this.count - 1, Math.ceil((top + height) / ROW_HEIGHT) + 10);
    for (const [index, node] of this.drawn) {
      if (index < first || index > last) {
        node.remove();
        this.drawn.delete(index);
      }
    }
    for (let i = first; i <= last; i++) {
      if (this.drawn.has(i)) continue;
      const node = this.render(i);
      node.dataset.index = i;
      node.style.top = i * ROW_HEIGHT + "px";
      if (i === this.selected) node.classList.add("selected");
      this.container.appendChild(node);
      this.drawn.set(i, node);
    }
  };
  VirtualList.prototype.select = function (index) {
    if (index < 0 || index >= this.count) return;
    const old = this.drawn.get(this.selected);
    if (old) old.classList.remove("selected");
    this.selected = index;
    const node = this.drawn.get(index);
    if (node) node.classList.add("selected");
    this.onSelect(index);
  };
  VirtualList.prototype.reveal = function (index) {
    const top = index * ROW_HEIGHT, view = this.container;
    if (top < view.scrollTop || top + ROW_HEIGHT > view.scrollTop + view.clientHeight) {
      view.scrollTop = Math.max(0, top - view.clientHeight / 2);
    }
    this.draw();
  };

  // ---- the trace list -------------------------------------------------------
  let shown = new Int32Array(0);  // trace indexes passing the filters, in sort order
  let sortKey = "start";
  let currentTrace = -1;
  let searchText = null;  // per trace: lower-case span names, services and id (built on first search)

  function traceSearchText(t) {
    if (!searchText) searchText = new Array(traceCount);
    let text = searchText[t];
    if (text === undefined) {
      const base = t * TRACE_STRIDE, first = T[base + T_FIRST], rows = T[base + T_ROWS];
      const parts = new Set([traceId(t)]);
      for (let r = first; r < first + rows; r++) {
        parts.add(S[R[r * ROW_STRIDE + R_NAME]]);
        parts.add(S[R[r * ROW_STRIDE + R_SERVICE]]);
      }
      text = searchText[t] = Array.from(parts).join("\n").toLowerCase();
    }
    return text;
  }

  function applyFilters() {
    const needle = $("filter-name").value.trim().toLowerCase();
    const status = $("filter-status").value;
    const minNs = (parseFloat($("filter-duration").value) || 0) * 1e6;
    const out = [];
    for (let t = 0; t < traceCount; t++) {
      const base = t * TRACE_STRIDE;
      if (T[base + T_DURATION] < minNs) continue;
      const errors = T[base + T_ERRORS];
      if ((status === "error" && errors === 0) || (status === "ok" && errors > 0)) continue;
      if (needle && traceSearchText(t).indexOf(needle) < 0) continue;
      out.push(t);
    }
    if (sortKey === "duration") out.sort((a, b) => T[b * TRACE_STRIDE + T_DURATION] - T[a * TRACE_STRIDE + T_DURATION]);
    if (sortKey === "spans") out.sort((a, b) => T[b * TRACE_STRIDE + T_ROWS] - T[a * TRACE_STRIDE + T_ROWS]);
    shown = Int32Array.from(out);
    $("trace-count").textContent = traceCount + " traces" + (shown.length === traceCount ? "" : ", " + shown.length + " shown");
    traceList.reset(shown.length);
    const at = shown.indexOf(currentTrace);
    if (at >= 0) traceList.select(at);
  }

  function renderTraceRow(i) {
    const t = shown[i], base = t * TRACE_STRIDE;
    const row = el("div", "trace-row");
    row.dataset.trace = traceId(t);
    row.setAttribute("role", "option");
    row.appendChild(el("span", "col-start", fmtTime(traceStartMs(t))));
    const name = el("span", "col-name");
    if (T[base + T_ERRORS] > 0) {
      const mark = el("span", "error-mark", "✖" + (T[base + T_ERRORS] > 1 ? T[base + T_ERRORS] : ""));
      mark.title = T[base + T_ERRORS] + " span(s) in error";
      name.appendChild(mark);
    }
    name.appendChild(document.createTextNode(S[T[base + T_ROOT]]));
    name.title = S[T[base + T_ROOT]];
    row.appendChild(name);
    row.appendChild(el("span", "col-service", S[T[base + T_SERVICE]]));
    row.appendChild(el("span", "col-duration", fmtDuration(T[base + T_DURATION])));
    row.appendChild(el("span", "col-spans", String(T[base + T_ROWS])));
    return row;
  }

  // ---- one trace: the waterfall and the details ------------------------------
  let waterfallFirst = 0, waterfallDuration = 1;

  function showTrace(t, wanted) {
    currentTrace = t;
    const base = t * TRACE_STRIDE;
    waterfallFirst = T[base + T_FIRST];
    waterfallDuration = Math.max(T[base + T_DURATION], 1);
    const head = $("trace-head");
    head.textContent = "";
    const title = el("strong", "", S[T[base + T_ROOT]]);
    head.appendChild(title);
    head.appendChild(document.createTextNode("  " + fmtDuration(T[base + T_DURATION]) + " · " + T[base + T_ROWS] +
      " spans · " + (T[base + T_ERRORS] ? T[base + T_ERRORS] + " in error · " : "") + fmtDate(traceStartMs(t)) + " "));
    head.appendChild(el("span", "trace-id", traceId(t)));
    waterfall.reset(T[base + T_ROWS]);
    $("details").textContent = "";
    let pick = 0;
    if (wanted) {
      for (let i = 0; i < T[base + T_ROWS]; i++) {
        if (spanId(waterfallFirst + i) === wanted) pick = i;
      }
    }
    waterfall.select(pick);
    waterfall.reveal(pick);
  }

  function renderSpanRow(i) {
    const r = (waterfallFirst + i) * ROW_STRIDE;
    const row = el("div", "span-row");
    row.dataset.span = spanId(waterfallFirst + i);
    row.dataset.depth = R[r + R_DEPTH];
    row.setAttribute("role", "treeitem");
    const label = el("div", "span-label");
    label.style.paddingLeft = 16 + Math.min(R[r + R_DEPTH], MAX_INDENT) * 16 + "px";
    if (R[r + R_PARENT] <= -2) {
      const mark = el("span", "orphan", "↖");
      mark.title = "parent " + parentId(waterfallFirst + i) + " is not in the file (a remote caller, or not recorded)";
      label.appendChild(mark);
    }
    label.appendChild(el("span", "span-name", S[R[r + R_NAME]]));
    label.appendChild(el("span", "kind", KINDS[R[r + R_KIND]] || ""));
    label.title = S[R[r + R_NAME]];
    row.appendChild(label);
    const track = el("div", "span-track");
    const left = (R[r + R_OFFSET] / waterfallDuration) * 100;
    const width = Math.max((R[r + R_DURATION] / waterfallDuration) * 100, 0.2);
    const bar = el("div", "span-bar" + (R[r + R_STATUS] === 2 ? " error" : ""));
    bar.style.left = left + "%";
    bar.style.width = width + "%";
    track.appendChild(bar);
    const text = el("span", "span-duration", fmtDuration(R[r + R_DURATION]));
    if (left + width <= 80) {
      text.style.left = left + width + "%";  // after the bar
    } else if (width >= 12) {
      text.classList.add("inside");  // inside a wide bar's end
      text.style.right = 100 - left - width + "%";
    } else {
      text.style.right = 100 - left + "%";  // before a short bar near the end
    }
    track.appendChild(text);
    row.appendChild(track);
    return row;
  }

  function addRow(table, key, value, cls) {
    const tr = el("tr");
    tr.appendChild(el("th", "", key));
    tr.appendChild(el("td", cls || "", value));
    table.appendChild(tr);
  }

  function attributeTable(list, begin, count) {
    const table = el("table", "attributes");
    for (let a = begin; a < begin + count; a++) {
      const keyKind = list[2 * a], kind = keyKind % 3;
      addRow(table, S[(keyKind - kind) / 3], S[list[2 * a + 1]], kind === 1 ? "number" : kind === 2 ? "bool" : "");
    }
    return table;
  }

  function showSpan(i) {
    const row = waterfallFirst + i, r = row * ROW_STRIDE;
    const { attrs: A, events: E, eventAttrs: EA } = loadDetails();
    const details = $("details");
    details.textContent = "";
    details.appendChild(el("h2", "", S[R[r + R_NAME]]));
    const table = el("table", "span-fields");
    addRow(table, "service", S[R[r + R_SERVICE]]);
    addRow(table, "kind", KINDS[R[r + R_KIND]] || String(R[r + R_KIND]));
    addRow(table, "span id", spanId(row));
    addRow(table, "parent span id", parentId(row) + (R[r + R_PARENT] <= -2 ? " (not in the file)" : ""));
    addRow(table, "trace id", traceId(currentTrace));
    addRow(table, "start", "+" + fmtDuration(R[r + R_OFFSET]) + " (" + fmtDate(traceStartMs(currentTrace) + R[r + R_OFFSET] / 1e6) + ")");
    addRow(table, "duration", fmtDuration(R[r + R_DURATION]));
    const status = R[r + R_STATUS];
    addRow(table, "status", (status === 2 ? "error" : status === 1 ? "ok" : "unset") +
      (S[R[r + R_MESSAGE]] ? ": " + S[R[r + R_MESSAGE]] : ""), status === 2 ? "status-error" : status === 1 ? "status-ok" : "");
    details.appendChild(table);
    details.appendChild(el("h2", "", "attributes (" + R[r + R_NATTRS] + ")"));
    details.appendChild(attributeTable(A, attrStart[row], R[r + R_NATTRS]));
    if (R[r + R_NEVENTS] > 0) {
      details.appendChild(el("h2", "", "events (" + R[r + R_NEVENTS] + ")"));
      for (let e = eventStart[row]; e < eventStart[row] + R[r + R_NEVENTS]; e++) {
        const b = e * EVENT_STRIDE;
        details.appendChild(el("div", "event", "+" + fmtDuration(E[b + 1]) + "  " + S[E[b]]));
        details.appendChild(attributeTable(EA, eventAttrStart[e], E[b + 2]));
      }
    }
    history.replaceState(null, "", "#trace=" + traceId(currentTrace) + "&span=" + spanId(row));
  }

  // ---- wiring ------------------------------------------------------------------
  const traceList = new VirtualList($("trace-list"), renderTraceRow, (i) => {
    if (shown[i] !== currentTrace) showTrace(shown[i]);
  });
  const waterfall = new VirtualList($("waterfall"), renderSpanRow, showSpan);

  $("title").textContent = data.title;
  const files = data.files.map((f) => f.path + " (" + f.spans + " spans" + (f.skipped ? ", " + f.skipped + " lines skipped" : "") + ")");
  $("summary").textContent = traceCount + " traces, " + rowCount + " spans from " + files.join(", ") +
    (data.duplicates ? ", " + data.duplicates + " duplicate spans left out" : "") + " · made " + data.generated;
  for (const id of ["filter-name", "filter-status", "filter-duration"]) $(id).addEventListener("input", applyFilters);
  for (const head of document.querySelectorAll(".sortable")) {
    head.addEventListener("click", () => {
      sortKey = head.dataset.sort;
      for (const other of document.querySelectorAll(".sortable")) other.classList.toggle("active", other === head);
      applyFilters();
    });
  }
  document.querySelector('.sortable[data-sort="start"]').classList.add("active");

  function selectFromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const want = params.get("trace");
    let t = 0;
    if (want) {
      for (let i = 0; i < traceCount; i++) {
        if (traceId(i) === want) t = i;
      }
    }
    if (traceCount === 0) return;
    showTrace(t, params.get("span"));
    const at = shown.indexOf(t);
    if (at >= 0) {
      traceList.select(at);
      traceList.reveal(at);
    }
  }

  applyFilters();
  selectFromHash();
  window.addEventListener("hashchange", selectFromHash);
  window.btoReport = {
    traces: traceCount,
    spans: rowCount,
    parseMs: parsedAt - started,
    renderMs: performance.now() - started,
    readyAt: performance.now(),  // since navigation start: file read, HTML parsed, data parsed, first view built
    paintedAt: 0,  // the first frame showing it
    shown: () => shown.length,
  };
  requestAnimationFrame(() => requestAnimationFrame(() => { window.btoReport.paintedAt = performance.now(); }));
  document.documentElement.dataset.ready = "true";
})();
