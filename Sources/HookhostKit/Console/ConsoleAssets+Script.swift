extension ConsoleAssets {
    /// The script's first part: DOM helpers (text only: data never reaches innerHTML), the API
    /// client with the token header, the token and confirmation dialogs, routing, polling, charts.
    static let scriptCore = #"""
"use strict";
(() => {
  const TOKEN_KEY = "hookhost.console.token";
  const POLL_MS = 1000;
  const CUT_CHARS = 65536;
  const OUTCOMES = ["ok", "retry", "failed", "timeout", "dead", "skipped"];
  const STATES = ["received", "running", "retry_scheduled", "fetching", "fetched", "done", "dead", "skipped"];
  const FINISHED = ["done", "dead", "skipped"];
  const main = document.getElementById("main");
  const pages = {};
  const state = { token: sessionStorage.getItem(TOKEN_KEY) || "", authNeeded: null, page: null, busy: false, seq: 0, ticks: 0 };

  function append(node, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      node.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return node;
  }
  function el(tag, attrs, ...kids) {
    const n = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") n.textContent = String(v);
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    return append(n, kids);
  }
  const svg = (tag, attrs, ...kids) => el("svg:" + tag, attrs, ...kids);
  const enc = encodeURIComponent;

  /** Replaces a region's content; focus inside it goes back to the element with the same data-key. */
  function swap(region, ...kids) {
    const active = document.activeElement;
    const key = active && region.contains(active) ? active.getAttribute("data-key") : null;
    region.replaceChildren();
    append(region, kids);
    if (key) {
      const again = region.querySelector('[data-key="' + CSS.escape(key) + '"]');
      if (again) again.focus();
    }
  }

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function request(path, options) {
    const opts = options || {};
    const headers = { "Accept": "application/json" };
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    if (opts.etag) headers["If-None-Match"] = opts.etag;
    const init = { method: "GET", headers, cache: "no-store", credentials: "same-origin" };
    if (opts.post) {
      init.method = "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body || {});
    }
    const r = await fetch("api/" + path, init);
    if (r.status === 304) return { notModified: true };
    if (opts.blob && r.ok) return r.blob();
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!r.ok) {
      const message = (body && body.error) || ("HTTP " + r.status);
      if (r.status === 401 && !opts.post) state.authNeeded = message;
      throw new HttpError(r.status, message);
    }
    return { body, text, etag: r.headers.get("ETag") };
  }
  const get = (path) => request(path);
  const post = (path, body) => request(path, { post: true, body });

  function flash(text, error) {
    const f = document.getElementById("flash");
    if (!text) return f.replaceChildren();
    f.replaceChildren(el("p", { class: error ? "error" : null, text }));
  }
  function live(text) { document.getElementById("live").textContent = text; }

  function openTokenDialog(why) {
    const d = document.getElementById("token-dialog");
    if (d.open) return;
    document.getElementById("token-why").textContent = (why ? why + ". " : "") +
      "Enter the host's HOOKHOST_ADMIN_TOKEN. It is kept in this tab only and sent in a header, never in a URL.";
    const input = document.getElementById("token-input");
    input.value = "";
    d.returnValue = "";
    d.showModal();
    input.focus();
  }
  document.getElementById("token-dialog").addEventListener("close", () => {
    const d = document.getElementById("token-dialog");
    const input = document.getElementById("token-input");
    const v = input.value.trim();
    input.value = "";
    if (d.returnValue === "ok" && v) { state.token = v; sessionStorage.setItem(TOKEN_KEY, v); }
    else if (d.returnValue === "forget") { state.token = ""; sessionStorage.removeItem(TOKEN_KEY); }
    else return;
    state.authNeeded = null;
    flash(state.token ? "Token set for this tab." : "Token forgotten.");
    render();
  });
  document.getElementById("token-button").addEventListener("click", () => openTokenDialog(""));

  function confirmAction(text, okLabel) {
    return new Promise((resolve) => {
      const d = document.getElementById("confirm");
      document.getElementById("confirm-text").textContent = text;
      document.getElementById("confirm-ok").textContent = okLabel;
      d.returnValue = "";
      d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
      d.showModal();
      document.getElementById("confirm-cancel").focus();
    });
  }

  function describe(body) {
    if (!body) return "Done.";
    if (body.message) return body.message;
    if (body.replayed !== undefined) return "Replayed " + body.replayed + ".";
    if (body.purged !== undefined) return "Purged " + body.purged + ".";
    if (body.function !== undefined && body.paused !== undefined) {
      return body.function + (body.paused ? " is paused." : " is resumed.") + (body.waiting ? " " + body.waiting + " deliveries waiting." : "");
    }
    return "Done.";
  }

  /** Asks, posts, says what happened; a refused token opens the token dialog. */
  async function act(question, okLabel, path, body, after) {
    if (!(await confirmAction(question, okLabel))) return;
    try {
      const r = await post(path, body);
      flash(describe(r.body));
      if (after) after(r.body);
      tick(true);
    } catch (e) {
      flash(e.message, true);
      if (e.status === 401) openTokenDialog(e.message);
    }
  }

  async function download(path, filename) {
    try {
      const blob = await request(path, { blob: true });
      saveBlob(blob, filename);
    } catch (e) {
      flash(e.message, true);
    }
  }
  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  const when = (s) => (s ? String(s).replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
  function age(s) {
    if (s === null || s === undefined) return "—";
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function num(v, digits) {
    if (v === null || v === undefined) return "—";
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 2 : digits });
  }
  function bytes(v) {
    if (v === null || v === undefined) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return num(v, i ? 1 : 0) + " " + units[i];
  }
  const badge = (s, extra) => el("span", { class: "badge st-" + s, text: extra || s });
  const deliveryLink = (id) => el("a", { href: "#/delivery/" + enc(id), "data-key": "d:" + id, text: id });
  const label = (text, control) => el("label", {}, text, control);
  const cell = (...kids) => el("td", {}, ...kids);
  const head = (...names) => el("thead", {}, el("tr", {}, names.map((n) => el("th", { scope: "col", text: n }))));

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * e) return m * e;
    return 10 * e;
  }

  /** A line chart of the last hour (of less on a host younger than that): one polyline per
      series, the newest value in the caption. */
  function chart(title, series, format, now) {
    const W = 600, H = 140, P = 6;
    let first = now;
    for (const s of series) for (const [t] of s.points) if (t < first) first = t;
    const t0 = Math.max(now - 3600, first), span = Math.max(1, now - t0);
    let max = 0;
    for (const s of series) for (const [, v] of s.points) if (v !== null && v > max) max = v;
    const top = niceMax(max * 1.15);  // headroom: a line at the top would hide under its label
    const parts = [];
    for (const f of [0, 0.5, 1]) {
      const y = P + (H - 2 * P) * (1 - f);
      parts.push(svg("line", { class: "grid", x1: 0, x2: W, y1: y, y2: y }));
    }
    parts.push(svg("text", { class: "axis", x: 4, y: 16, text: format(top) }));
    parts.push(svg("text", { class: "axis", x: 4, y: H - 8, text: "−" + age(span) }));
    parts.push(svg("text", { class: "axis", x: W - 4, y: H - 8, "text-anchor": "end", text: "now" }));
    const latest = [];
    for (const s of series) {
      const pts = s.points.filter(([, v]) => v !== null && v !== undefined);
      latest.push(pts.length ? pts[pts.length - 1][1] : null);
      const coords = pts.map(([t, v]) => {
        const x = Math.max(0, Math.min(W, ((t - t0) / span) * W));
        const y = P + (H - 2 * P) * (1 - v / top);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      if (coords.length === 1) coords.push((W).toFixed(1) + "," + coords[0].split(",")[1]);
      if (coords.length) parts.push(svg("polyline", { class: "s-" + s.cls, points: coords.join(" ") }));
    }
    const nowText = series.length === 1 ? format(latest[0]) : series.map((s, i) => s.name + " " + format(latest[i])).join(", ");
    return el("figure", { class: "chart" },
      el("figcaption", {}, el("span", { text: title }), el("span", { class: "now", text: "now " + nowText })),
      svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title + " over the last hour; now " + nowText }, parts),
      series.length > 1 ? el("ul", { class: "legend" }, series.map((s) => el("li", { class: "l-" + s.cls, text: s.name }))) : null);
  }

  function parseHash() {
    const h = location.hash || "#/overview";
    const q = h.indexOf("?");
    const path = (q < 0 ? h : h.slice(0, q)).slice(1);
    const parts = path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    return { name: parts[0] || "overview", arg: parts.slice(1).join("/"), params: new URLSearchParams(q < 0 ? "" : h.slice(q + 1)) };
  }

  function render() {
    const route = parseHash();
    // Own pages only: `#/__proto__` or `#/constructor` name what every object has.
    const page = Object.hasOwn(pages, route.name) ? pages[route.name] : pages.missing;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === page.nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    document.title = page.title(route) + " · hookhost console";
    main.replaceChildren();
    state.seq++;
    state.page = page.mount(main, route);
    tick(true);
  }

  function showAuth() {
    swap(main, el("div", { class: "notice" },
      el("h1", { text: "The admin token is needed" }),
      el("p", { text: state.authNeeded }),
      el("button", { type: "button", class: "primary", "data-key": "auth", text: "Enter token", onclick: () => openTokenDialog(state.authNeeded) })));
    state.page = null;
  }

  async function tick(force) {
    if (state.busy || !state.page) return;
    state.ticks++;
    if (force !== true && (document.hidden || state.authNeeded)) return;
    state.busy = true;
    const seq = state.seq;
    try {
      await state.page.refresh(force === true);
      if (seq === state.seq) live("updated " + new Date().toLocaleTimeString("en-GB"));
    } catch (e) {
      if (seq !== state.seq) return;
      if (e.status === 401) showAuth(); else flash(e.message, true);
    } finally {
      state.busy = false;
    }
  }
"""#
}
