/** The status page's style sheet. */
export const STYLE_CSS = String.raw`
:root { --fg: #1d2430; --muted: #667085; --bg: #f7f8fa; --card: #fff; --line: #e3e6eb; --up: #1a7f37; --down: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 24px; padding: 12px 20px; background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 18px; margin: 0; }
h1 span { color: var(--muted); font-weight: normal; }
h2 { font-size: 15px; margin: 0 0 8px; }
main { display: grid; grid-template-columns: 340px 1fr; gap: 16px; padding: 16px 20px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; overflow-x: auto; }
#nodes-section { grid-column: 2; }
#ring-section { grid-row: span 2; }
#repair, #transfers { grid-column: 2; }
#ring { width: 100%; max-width: 320px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.badge.up { background: var(--up); }
.badge.down { background: var(--down); }
tr.down td { color: var(--muted); }
.note { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.conn { color: var(--muted); font-size: 12px; margin-left: auto; }
.conn.error { color: var(--down); }
.bar { position: relative; height: 14px; background: #eef0f3; border-radius: 7px; overflow: hidden; min-width: 160px; }
.bar > div { height: 100%; background: #2f81f7; transition: width 0.4s; }
.bar.done > div { background: var(--up); }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin-top: 8px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; }
.muted { color: var(--muted); }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } #nodes-section, #repair, #transfers { grid-column: 1; } }
`;
