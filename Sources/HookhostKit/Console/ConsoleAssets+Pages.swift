extension ConsoleAssets {
    /// The script's second part: the overview, deliveries, dead letters and functions pages.
    static let scriptPages = #"""
  const rate = (v) => num(v, 2) + "/s";
  const count = (v) => num(v, 0);

  pages.missing = { nav: "", title: () => "Not found", mount(root) {
    append(root, [el("h1", { text: "No such page" }), el("p", {}, el("a", { href: "#/overview", text: "Back to the overview" }))]);
    return { async refresh() {} };
  } };

  pages.overview = { nav: "overview", title: () => "Overview", mount(root) {
    const cards = el("div", { class: "cards" });
    const problems = el("div");
    const charts = el("div", { class: "charts" });
    const verify = el("div");
    append(root, [el("h1", { text: "Overview" }), cards, problems, el("h2", { text: "Last hour" }), charts,
      el("h2", { text: "Verification" }), verify]);
    let last = "";
    const card = (name, value) => el("div", { class: "card" }, el("div", { class: "label", text: name }), el("div", { class: "value", text: value }));
    return { async refresh() {
      const [st, sm] = await Promise.all([get("status"), get("samples")]);
      if (st.text + sm.text === last) return;
      last = st.text + sm.text;
      const s = st.body, samples = sm.body.samples;
      const now = samples.length ? samples[samples.length - 1].at : Date.now() / 1000;
      const q = s.queue || {};
      swap(cards,
        card("State", s.ready ? "ready" : "not ready"),
        card("Queue depth", count(q.depth)),
        card("Running", count(q.running)),
        card("Retry scheduled", count(q.retry_scheduled)),
        card("Oldest unfinished", age(q.oldest_unfinished_age_s)),
        card("Dead letters", count((s.dead_letters || {}).total)));
      swap(problems, (s.problems || []).length ? el("ul", { class: "problems" }, s.problems.map((p) => el("li", { text: p }))) : null);
      const pts = (f) => samples.map((x) => [x.at, f(x)]);
      swap(charts,
        chart("Deliveries accepted", [{ name: "accepted", cls: "main", points: pts((x) => x.accepted_per_s) }], rate, now),
        chart("Runs by outcome", OUTCOMES.map((o) => ({ name: o, cls: o, points: pts((x) => x.runs_per_s[o]) })), rate, now),
        chart("Queue depth", [{ name: "queue", cls: "main", points: pts((x) => x.queue_depth) }], count, now),
        chart("Oldest unfinished", [{ name: "age", cls: "main", points: pts((x) => x.oldest_unfinished_age_s) }], age, now),
        chart("Dead letters", [{ name: "dead", cls: "dead", points: pts((x) => x.dead_letters) }], count, now),
        chart("Result downloads", [{ name: "bytes", cls: "main", points: pts((x) => x.download_bytes_per_s) }], (v) => bytes(v) + "/s", now));
      const v = s.verification || {}, j = v.jwks || {};
      swap(verify, el("dl", { class: "facts" },
        el("dt", { text: "HMAC secrets loaded" }), el("dd", { text: (v.secrets || []).length + ((v.secrets || []).length ? " (" + v.secrets.join(", ") + ")" : "") }),
        el("dt", { text: "JWKS" }), el("dd", { text: (j.source || "—") + " · " + (j.state || "—") + " · " + num(j.keys, 0) + " keys" }),
        el("dt", { text: "JWKS age" }), el("dd", { text: j.age_s === null || j.age_s === undefined ? "never fetched" : age(j.age_s) }),
        j.error ? [el("dt", { text: "JWKS error" }), el("dd", { text: j.error })] : null,
        el("dt", { text: "Version" }), el("dd", { text: (s.version || "—") + " · pid " + (s.pid || "—") + " · up since " + when(s.started_at) })));
    } };
  } };

  const FILTERS = ["state", "type", "function", "since", "until"];
  function toLocalInput(epoch) {
    if (!epoch) return "";
    const d = new Date(Number(epoch) * 1000);
    if (isNaN(d)) return "";
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }

  pages.deliveries = { nav: "deliveries", title: () => "Deliveries", mount(root, route) {
    const p = route.params;
    const form = el("form", { class: "filters", role: "search", "aria-label": "Filter deliveries" },
      label("State", el("select", { name: "state", id: "f-state" }, el("option", { value: "", text: "any" }),
        STATES.map((s) => el("option", { value: s, text: s, selected: p.get("state") === s })))),
      label("Type (and its family)", el("input", { name: "type", id: "f-type", value: p.get("type") || "", placeholder: "batch.succeeded" })),
      label("Function", el("input", { name: "function", id: "f-function", value: p.get("function") || "" })),
      label("Received since", el("input", { name: "since", id: "f-since", type: "datetime-local", step: 1, value: toLocalInput(p.get("since")) })),
      label("Received before", el("input", { name: "until", id: "f-until", type: "datetime-local", step: 1, value: toLocalInput(p.get("until")) })),
      el("button", { type: "submit", class: "primary", text: "Apply" }),
      el("button", { type: "button", text: "Clear", onclick: () => { location.hash = "#/deliveries"; } }));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const name of FILTERS) {
        const v = form.elements[name].value.trim();
        if (!v) continue;
        q.set(name, name === "since" || name === "until" ? String(Math.floor(new Date(v).getTime() / 1000)) : v);
      }
      const s = q.toString();
      location.hash = "#/deliveries" + (s ? "?" + s : "");
    });
    const summary = el("p", { class: "muted", id: "matched" });
    const table = el("div");
    const stack = [""];
    let next = null, last = "";
    const newer = el("button", { type: "button", id: "newer", text: "← Newer", onclick: () => { stack.pop(); last = ""; tick(true); } });
    const older = el("button", { type: "button", id: "older", text: "Older →", onclick: () => { if (next) { stack.push(next); last = ""; tick(true); } } });
    append(root, [el("h1", { text: "Deliveries" }), form, summary, table, el("div", { class: "pager" }, newer, older)]);
    return { async refresh() {
      const q = new URLSearchParams();
      for (const name of FILTERS) if (p.get(name)) q.set(name, p.get(name));
      q.set("limit", "50");
      if (stack[stack.length - 1]) q.set("before", stack[stack.length - 1]);
      const r = await get("deliveries?" + q.toString());
      if (r.text === last) return;
      last = r.text;
      const b = r.body;
      next = b.next;
      newer.disabled = stack.length === 1;
      older.disabled = !next;
      summary.textContent = num(b.matched, 0) + " matching · page " + stack.length + (stack.length === 1 ? " (newest first, live)" : "");
      swap(table, el("table", { id: "deliveries" },
        el("caption", { class: "muted", text: "Newest first; each id opens the delivery." }),
        head("id", "type", "state", "attempt", "function", "received", "updated", "error"),
        el("tbody", {}, b.deliveries.map((d) => el("tr", { "data-id": d.id },
          el("td", { class: "id" }, deliveryLink(d.id)), cell(d.type),
          cell(badge(d.state), d.waiting ? [" ", badge("paused", d.waiting)] : null),
          el("td", { class: "num", text: d.attempt }), cell(d.function || "—"),
          cell(when(d.received_at)), cell(when(d.updated_at)), cell(d.error ? d.error.slice(0, 160) : "")))),
        b.deliveries.length ? null : el("tbody", {}, el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No deliveries match." })))));
    } };
  } };

  pages.dead = { nav: "dead", title: () => "Dead letters", mount(root) {
    const body = el("div");
    append(root, [el("h1", { text: "Dead letters" }),
      el("p", { class: "muted", text: "Grouped by the function they were for and why they died. Fix the cause, then replay a group." }), body]);
    let last = "";
    return { async refresh() {
      const r = await get("dead");
      if (r.text === last) return;
      last = r.text;
      const g = r.body.groups;
      if (!g.length) return swap(body, el("p", { text: "No dead letters." }));
      swap(body, el("p", { text: num(r.body.total, 0) + " dead letter" + (r.body.total === 1 ? "" : "s") + " in " + g.length + " group" + (g.length === 1 ? "" : "s") + "." }),
        el("table", { id: "dead-groups" }, head("function", "reason", "count", "died", "types", "newest", ""),
          el("tbody", {}, g.map((x, i) => el("tr", {},
            cell(x.function || "—"), cell(x.reason), el("td", { class: "num", text: x.count }),
            cell(when(x.oldest), " … ", when(x.newest)), cell(x.types.join(", ")),
            cell(x.ids.map((id) => [deliveryLink(id), " "]),
              el("a", { href: "#/deliveries?state=dead" + (x.function ? "&function=" + enc(x.function) : ""), "data-key": "all:" + i, text: "list all" })),
            cell(el("button", { type: "button", class: "primary", "data-key": "replay:" + i, "data-group": i,
              text: "Replay " + x.count, "aria-label": "Replay the " + x.count + " dead letters of " + (x.function || "no function") + ": " + x.reason,
              onclick: () => act("Replay the " + x.count + " dead letters of " + (x.function || "no function") + " that died with “" + x.reason + "”?",
                "Replay " + x.count, "dead/replay", { function: x.function, reason: x.reason }) })))))));
    } };
  } };

  pages.functions = { nav: "functions", title: () => "Functions", mount(root) {
    const body = el("div");
    append(root, [el("h1", { text: "Functions" }), body]);
    let last = "";
    return { async refresh(force) {
      // Each function's last runs cost a pass over the index: every 5 s is live enough here.
      if (!force && state.ticks % 5 !== 0) return;
      const r = await get("functions");
      if (r.text === last) return;
      last = r.text;
      const b = r.body;
      const problems = [];
      for (const n of b.not_executable || []) problems.push("NOT EXECUTABLE: " + n + " (chmod +x " + n + "); its deliveries are skipped or go to the next match");
      for (const p of b.problems || []) if (!/not executable/.test(p)) problems.push(p);
      const rows = b.functions.map((f) => {
        const e = f.effective || {};
        const issues = [];
        if (f.sidecar_error) issues.push("SIDECAR ERROR: " + f.sidecar_error);
        if ((f.unknown_keys || []).length) issues.push("SIDECAR WARNING: unknown keys " + f.unknown_keys.join(", "));
        for (const c of f.route_conflicts || []) issues.push("ROUTE CONFLICT: " + c);
        const runs = f.runs_since_start || {};
        const hour = f.last_hour || {};
        const toggle = f.paused
          ? el("button", { type: "button", "data-key": "resume:" + f.name, text: "Resume", "aria-label": "Resume " + f.name, onclick: () => act("Resume " + f.name + "? Its waiting deliveries run now.", "Resume", "functions/" + enc(f.name) + "/resume", {}) })
          : el("button", { type: "button", "data-key": "pause:" + f.name, text: "Pause", "aria-label": "Pause " + f.name, onclick: () => act("Pause " + f.name + "? Its deliveries are still accepted and stored, but none runs until it is resumed.", "Pause", "functions/" + enc(f.name) + "/pause", {}) });
        return el("tr", { "data-function": f.name },
          cell(el("strong", { text: f.name }), f.paused ? [" ", badge("paused", "paused since " + when(f.since))] : null),
          cell("timeout " + num(e.timeout) + " s · max_concurrency " + e.max_concurrency + " · max_attempts " + e.max_attempts +
            " · retry_later_for " + num(e.retry_later_for) + " s · fetch " + e.fetch + (f.on ? " · on " + f.on.join(", ") : "")),
          cell(issues.length ? el("ul", { class: "problems" }, issues.map((i) => el("li", { text: i }))) : "—"),
          cell(OUTCOMES.filter((o) => o !== "skipped").map((o) => o + " " + num(runs[o] || 0, 0)).join(" · ")),
          el("td", { class: "num", text: hour.error_rate === null || hour.error_rate === undefined ? "—" : num(hour.error_rate * 100, 1) + " % of " + num(hour.runs, 0) }),
          cell((f.last_runs || []).map((d) => el("div", {}, badge(d.state), " ", deliveryLink(d.id)))),
          cell(toggle));
      });
      swap(body, problems.length ? [el("h2", { text: "Problems" }), el("ul", { class: "problems", id: "function-problems" }, problems.map((p) => el("li", { text: p })))] : null,
        el("p", { class: "muted", text: "Directory " + b.directory }),
        el("table", { id: "functions" }, head("function", "effective settings", "problems", "runs since start", "errors, last hour", "last runs", ""),
          el("tbody", {}, rows)));
    } };
  } };
"""#
}
