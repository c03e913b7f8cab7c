extension ConsoleAssets {
    /// Plain CSS; colours with enough contrast, a visible focus ring on everything focusable.
    static let css = #"""
:root { --bg: #f7f7f5; --fg: #1c1c1c; --muted: #5a5a5a; --line: #d6d6d0; --card: #fff; --accent: #1f5fbf;
  --ok: #1b7a3a; --warn: #9a6200; --bad: #b3261e; --info: #5b3cc4; --idle: #6b6b6b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
:focus-visible, input:focus, select:focus, input:focus-within { outline: 3px solid #f0a000; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
.top { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #20242b; color: #fff; flex-wrap: wrap; }
.top a { color: #d8e4ff; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
.top a[aria-current="page"] { background: #3b4453; color: #fff; }
.top a:hover { text-decoration: underline; }
.brand { font-weight: 700; letter-spacing: .02em; }
.top nav { display: flex; gap: 4px; flex-wrap: wrap; }
.live { margin-left: auto; color: #b9c2d0; font-size: 12px; }
main { padding: 16px; max-width: 1400px; }
main:focus { outline: none; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
.flash { padding: 0 16px; }
.flash p { margin: 8px 0 0; padding: 8px 12px; border-radius: 4px; background: #e8f1ff; border: 1px solid #b7cdf2; }
.flash p.error { background: #fdecea; border-color: #f0b7b2; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
figure.chart { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
figure.chart figcaption { font-weight: 600; display: flex; justify-content: space-between; gap: 8px; }
figure.chart figcaption .now { font-weight: 400; color: var(--muted); }
figure.chart svg { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.s-main { stroke: var(--accent); } .s-ok { stroke: var(--ok); } .s-retry { stroke: var(--warn); } .s-failed { stroke: var(--bad); }
.s-timeout { stroke: #d9480f; } .s-dead { stroke: #111; } .s-skipped { stroke: var(--idle); }
.legend { display: flex; gap: 10px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin: 0; padding: 0; list-style: none; }
.legend li::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; background: currentColor; }
.l-ok { color: var(--ok); } .l-retry { color: var(--warn); } .l-failed { color: var(--bad); } .l-timeout { color: #d9480f; } .l-dead { color: #111; } .l-skipped { color: var(--idle); }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #efefeb; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #444; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eee; color: #333; }
.st-done { background: #dcf3e3; color: var(--ok); } .st-dead { background: #fde1de; color: var(--bad); }
.st-running, .st-fetching { background: #e3ebff; color: var(--accent); } .st-retry_scheduled { background: #fff1d6; color: var(--warn); }
.st-received, .st-fetched { background: #ece6ff; color: var(--info); } .st-skipped { background: #eee; color: var(--idle); }
.st-paused { background: #fff1d6; color: var(--warn); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; }
input, select { padding: 4px 6px; border: 1px solid #aaa; border-radius: 4px; background: #fff; }
button { padding: 5px 12px; border: 1px solid #888; border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { background: #f0f0f0; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
button:disabled { opacity: .5; cursor: not-allowed; }
.top button { background: #3b4453; color: #fff; border-color: #59657a; }
.pager { display: flex; gap: 8px; align-items: center; margin: 10px 0; }
.muted { color: var(--muted); }
.actions { display: flex; gap: 8px; margin: 10px 0; flex-wrap: wrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
pre { background: #14171c; color: #e6e6e6; padding: 10px; border-radius: 6px; overflow: auto; max-height: 480px; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
.cut { color: var(--warn); font-weight: 600; }
details { margin: 4px 0; }
summary { cursor: pointer; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; max-width: 520px; }
dialog::backdrop { background: rgba(0, 0, 0, .35); }
dialog .buttons { display: flex; gap: 8px; justify-content: flex-end; margin-top: 12px; }
dialog label { display: block; margin: 8px 0 4px; font-weight: 600; }
dialog input { width: 100%; }
.problems li { color: var(--bad); }
.notice { padding: 12px; border: 1px solid #f0b7b2; background: #fdecea; border-radius: 6px; }
"""#
}
