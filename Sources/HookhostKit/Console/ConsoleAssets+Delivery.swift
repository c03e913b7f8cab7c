extension ConsoleAssets {
    /// The script's last part: one delivery's page (long texts cut, with a download), and the start.
    static let scriptDelivery = #"""
  /** A long text: the first CUT_CHARS shown, the whole one a download away (the page stays fast). */
  function longText(id, text, filename, fetchPath) {
    if (text.length <= CUT_CHARS) return el("pre", { id, tabindex: 0 }, text);
    const save = () => (fetchPath ? download(fetchPath, filename) : saveBlob(new Blob([text], { type: "application/json" }), filename));
    return el("div", {},
      el("p", { class: "cut" }, "Showing the first " + bytes(CUT_CHARS) + " of " + bytes(text.length) + ". ",
        el("button", { type: "button", class: "download", "data-key": "dl:" + id, text: "Download all (" + bytes(text.length) + ")", onclick: save })),
      el("pre", { id, tabindex: 0 }, text.slice(0, CUT_CHARS)));
  }

  pages.delivery = { nav: "deliveries", title: (r) => "Delivery " + r.arg, mount(root, route) {
    const id = route.arg;
    const path = "deliveries/" + enc(id);
    let last = "", etag = null, finished = false;
    const replay = el("button", { type: "button", class: "primary", id: "replay", text: "Replay",
      onclick: () => act("Replay " + id + "? It runs again with a fresh attempt budget.", "Replay", path + "/replay", {}, () => { finished = false; }) });
    const purge = el("button", { type: "button", class: "danger", id: "purge", text: "Purge",
      onclick: () => act("Purge " + id + " for good? Its record and outputs are deleted; its id stays remembered for dedup.", "Purge", path + "/purge", {},
        () => { location.hash = "#/deliveries"; }) });
    const body = el("div");
    append(root, [el("p", {}, el("a", { href: "#/deliveries", text: "← Deliveries" })), el("h1", {}, "Delivery ", el("code", { text: id })),
      el("div", { class: "actions" }, replay, purge), body]);
    return { async refresh(force) {
      // A finished delivery changes only by an action: looked at every 5 s, not every second.
      if (finished && !force && state.ticks % 5 !== 0) return;
      // Asked with the last answer's tag: an unchanged delivery is a 304, not its whole stdin again.
      const r = await request(path, { etag });
      if (r.notModified) return;
      etag = r.etag;
      if (r.text === last) return;
      last = r.text;
      const x = r.body, d = x.delivery;
      finished = FINISHED.includes(d.state);
      purge.disabled = !finished;
      purge.title = finished ? "" : "only done, dead or skipped deliveries can be purged";
      const facts = el("dl", { class: "facts", id: "facts" },
        el("dt", { text: "state" }), el("dd", {}, badge(d.state), d.waiting ? [" ", badge("paused", d.waiting)] : null),
        el("dt", { text: "type" }), el("dd", { text: d.type }),
        el("dt", { text: "function" }), el("dd", { text: d.function || "—" }),
        el("dt", { text: "attempt" }), el("dd", { text: d.attempt }),
        el("dt", { text: "received" }), el("dd", { text: when(d.received_at) }),
        el("dt", { text: "updated" }), el("dd", { text: when(d.updated_at) }),
        d.next_at ? [el("dt", { text: "next attempt" }), el("dd", { text: when(d.next_at) })] : null,
        el("dt", { text: "verified by" }), el("dd", { text: d.verified_by }),
        d.error ? [el("dt", { text: "error" }), el("dd", { text: d.error })] : null);
      const attempts = x.attempts.length ? el("table", { id: "attempts" },
        head("#", "outcome", "started", "ended", "duration", "exit code", "function", "error", "next attempt"),
        el("tbody", {}, x.attempts.map((a) => el("tr", { class: "attempt" },
          el("td", { class: "num", text: a.attempt }), cell(badge(a.state)), cell(when(a.started_at)), cell(when(a.ended_at)),
          el("td", { class: "num", text: a.ms === null ? "—" : num(a.ms, 0) + " ms" }),
          el("td", { class: "num", text: a.exit_code === null ? "—" : a.exit_code }), cell(a.function || "—"), cell(a.error || ""),
          cell(when(a.next_at)))))) : el("p", { class: "muted", text: "No attempt has ended yet." });
      const streams = x.attempts.filter((a) => a.stderr || a.stdout_head).map((a) => el("details", { open: a === x.attempts[x.attempts.length - 1] },
        el("summary", { text: "attempt " + a.attempt + ": stderr and stdout" }),
        a.stderr ? [el("h3", { text: "stderr (the end)" }), el("pre", { tabindex: 0 }, a.stderr)] : null,
        a.stdout_head ? [el("h3", { text: "stdout (the start; not one JSON object)" }), el("pre", { tabindex: 0 }, a.stdout_head)] : null));
      const l = x.last;
      const output = l && l.output !== null && l.output !== undefined
        ? longText("output", JSON.stringify(l.output, null, 2), id + "-output.json", path + "/output")
        : el("p", { class: "muted", text: l && l.stdout_head ? "The last run printed no JSON object (its stdout's start is above)." : "No output kept." });
      const dl = x.download;
      const result = dl ? el("dl", { class: "facts", id: "result" },
        el("dt", { text: "uri" }), el("dd", { text: dl.uri }), el("dt", { text: "bytes" }), el("dd", { text: bytes(dl.bytes) }),
        el("dt", { text: "sha256" }), el("dd", { text: dl.sha256 }), el("dt", { text: "download time" }), el("dd", { text: dl.ms === null ? "—" : dl.ms + " ms" }))
        : el("p", { class: "muted", text: "No result file." });
      const chain = el("div", { id: "chain" },
        el("p", {}, "Parent: ", x.parent ? deliveryLink(x.parent) : "— (an outside delivery)"),
        x.children.length ? el("ul", {}, x.children.map((c) => el("li", {}, deliveryLink(c.id), " ", c.type, " ", badge(c.state)))) : el("p", { class: "muted", text: "No emitted events." }));
      swap(body, el("h2", { text: "Summary" }), facts,
        el("h2", { text: "Attempts" }), attempts, streams,
        el("h2", { text: "Output of the last run" }), output,
        el("h2", { text: "Result file" }), result,
        el("h2", { text: "Pipeline" }), chain,
        el("h2", { text: "stdin (what the function read)" }), longText("stdin", JSON.stringify(x.stdin, null, 2), id + "-stdin.json", null));
    } };
  } };

  window.addEventListener("hashchange", () => { flash(""); render(); main.focus(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(true); });
  setInterval(tick, POLL_MS);
  render();
})();
"""#
}
