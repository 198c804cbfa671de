/**
 * The interactive page of `profile`: one self-contained HTML document (inline CSS
 * and script, no network) with an icicle graph of the call tree (hover for
 * details, click to zoom, search to highlight) and a sortable, filterable table
 * of functions by self and total time.
 */
import type { FunctionKind, ProfileSummary, TreeNode } from '../qa/profile.js';

export interface ProfilePageMeta {
  /** e.g. `iris: tests`. */
  readonly title: string;
  /** One line under the title. */
  readonly subtitle: string;
  /** Link to the raw `.cpuprofile`, when the page is served with it. */
  readonly downloadHref?: string;
}

const KINDS: readonly FunctionKind[] = ['pipeline', 'corral', 'dependency', 'node', 'system'];

type PackedNode = [name: string, kind: number, location: string, selfMs: number, totalMs: number, children: PackedNode[]];

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function pack(node: TreeNode): PackedNode {
  return [node.name, KINDS.indexOf(node.kind), node.location, round(node.selfMs), round(node.totalMs), node.children.filter((c) => c.totalMs > 0).map(pack)];
}

/** JSON that can sit inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root { --fg: #1d2630; --muted: #5b6773; --line: #d6dde4; --bg: #fff; --head: #f2f5f8;
  --pipeline: #e69a4c; --corral: #7fa7cf; --dependency: #95bfa5; --node: #cfc8b4; --system: #dfe2e6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 1rem 1.5rem .6rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
header p { margin: 0; color: var(--muted); }
a { color: #2f6f9f; }
section { padding: .9rem 1.5rem; }
.toolbar { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; margin-bottom: .6rem; }
.toolbar input[type=search] { font: inherit; padding: .25rem .5rem; border: 1px solid var(--line); border-radius: 4px; min-width: 16rem; }
.toolbar button { font: inherit; padding: .2rem .7rem; border: 1px solid var(--line); border-radius: 4px; background: var(--head); cursor: pointer; }
.legend { display: flex; gap: .8rem; color: var(--muted); font-size: .85rem; }
.legend span::before { content: ""; display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; background: var(--c); }
#crumbs { color: var(--muted); font-size: .85rem; margin-bottom: .3rem; min-height: 1.2rem; }
#flame { position: relative; width: 100%; overflow: hidden; border: 1px solid var(--line); border-radius: 4px; background: #fbfcfd; }
.bar { position: absolute; height: 19px; padding: 0 4px; font-size: 12px; line-height: 19px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  border-right: 1px solid #fff; border-bottom: 1px solid #fff; cursor: pointer; color: #17202a; }
.bar.ancestor { opacity: .55; }
.bar.dim { opacity: .25; }
.bar.match { outline: 2px solid #b0302a; outline-offset: -2px; }
#tip { position: fixed; pointer-events: none; background: #1f2933; color: #fff; padding: .45rem .6rem; border-radius: 4px; font-size: 12px; max-width: 32rem; display: none; z-index: 10; box-shadow: 0 2px 8px rgba(0,0,0,.25); }
#tip b { font-size: 13px; }
#tip .loc { color: #c9d4de; word-break: break-all; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left; }
th { background: var(--head); cursor: pointer; user-select: none; position: sticky; top: 0; }
th.sorted::after { content: " ▾"; }
th.sorted.asc::after { content: " ▴"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.loc { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; word-break: break-all; }
tr.pipeline td:first-child { border-left: 4px solid var(--pipeline); font-weight: 600; }
tbody tr:hover { background: #f6f8fa; cursor: pointer; }
.kind { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin-right: .4rem; vertical-align: -1px; }
.note { color: var(--muted); font-size: .85rem; }
`;

const SCRIPT = `
(function () {
  var DATA = JSON.parse(document.getElementById('profile-data').textContent);
  var KINDS = DATA.kinds;
  var COLORS = { pipeline: [28, 72, 62], corral: [210, 45, 68], dependency: [145, 25, 66], node: [45, 18, 74], system: [210, 10, 86] };
  var ROW = 20;
  var nodes = [];
  function unpack(p, parent, depth) {
    var n = { name: p[0], kind: KINDS[p[1]], loc: p[2], self: p[3], total: p[4], parent: parent, depth: depth, children: [], i: nodes.length };
    nodes.push(n);
    for (var k = 0; k < p[5].length; k++) n.children.push(unpack(p[5][k], n, depth + 1));
    n.idle = n.name === '(idle)' ? n.total : 0;
    for (var j = 0; j < n.children.length; j++) n.idle += n.children[j].idle;
    return n;
  }
  var root = unpack(DATA.tree, null, 0);
  // The pipeline's processors at work: its functions that corral calls (process,
  // generate, setup...), and what they call. Module loading is not among them.
  var entries = nodes.filter(function (n) { return n.kind === 'pipeline' && n.parent && n.parent.kind === 'corral'; });
  var processorKeys = {};
  (function mark(n, under) {
    var inside = under || entries.indexOf(n) >= 0;
    if (inside && n.kind === 'pipeline') processorKeys[n.name + ' | ' + n.loc] = true;
    for (var k = 0; k < n.children.length; k++) mark(n.children[k], inside);
  })(root, false);
  function commonAncestor(list) {
    if (list.length === 0) return root;
    var chain = [];
    for (var a = list[0]; a; a = a.parent) chain.unshift(a);
    var depth = chain.length;
    for (var k = 1; k < list.length; k++) {
      var other = [];
      for (var b = list[k]; b; b = b.parent) other.unshift(b);
      var d = 0;
      while (d < depth && d < other.length && other[d] === chain[d]) d++;
      depth = d;
    }
    return depth > 0 ? chain[depth - 1] : root;
  }
  var processorsView = commonAncestor(entries);
  var zoom = processorsView;
  var hideIdle = false;
  var query = '';
  var flame = document.getElementById('flame');
  var tip = document.getElementById('tip');
  var crumbs = document.getElementById('crumbs');
  var allMs = root.total;

  function size(n) { return hideIdle ? n.total - n.idle : n.total; }
  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return Math.abs(h); }
  function color(n) { var c = COLORS[n.kind] || COLORS.node; var l = c[2] + (hash(n.name) % 9) - 4; return 'hsl(' + c[0] + ',' + c[1] + '%,' + l + '%)'; }
  function ms(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  function pct(v) { return allMs > 0 ? (100 * v / allMs).toFixed(1) + '%' : '-'; }
  function matches(n) { if (!query) return false; var q = query.toLowerCase(); return n.name.toLowerCase().indexOf(q) >= 0 || n.loc.toLowerCase().indexOf(q) >= 0; }

  function bar(n, x, w, depth, ancestor) {
    var d = document.createElement('div');
    d.className = 'bar' + (ancestor ? ' ancestor' : '') + (query ? (matches(n) ? ' match' : ' dim') : '');
    d.style.left = x + 'px';
    d.style.width = Math.max(1, w) + 'px';
    d.style.top = depth * ROW + 'px';
    d.style.background = color(n);
    d.dataset.i = n.i;
    if (w > 24) d.textContent = n.name;
    flame.appendChild(d);
  }
  var maxDepth = 0;
  function layout(n, x, w, depth) {
    if (w < 0.6) return;
    if (hideIdle && n.name === '(idle)') return;
    bar(n, x, w, depth, false);
    if (depth > maxDepth) maxDepth = depth;
    var s = size(n);
    var cx = x;
    for (var k = 0; k < n.children.length; k++) {
      var c = n.children[k];
      if (hideIdle && c.name === '(idle)') continue;
      var cw = s > 0 ? w * size(c) / s : 0;
      layout(c, cx, cw, depth + 1);
      cx += cw;
    }
  }
  function render() {
    flame.textContent = '';
    var width = flame.clientWidth || 1000;
    var chain = [];
    for (var a = zoom.parent; a; a = a.parent) chain.unshift(a);
    for (var k = 0; k < chain.length; k++) bar(chain[k], 0, width, k, true);
    maxDepth = chain.length;
    layout(zoom, 0, width, chain.length);
    flame.style.height = (maxDepth + 1) * ROW + 'px';
    // The processors' view first: when they ran in several processes their common
    // ancestor is the root itself, and the view is still theirs.
    crumbs.textContent = zoom === processorsView && entries.length > 0 ? "The pipeline's processors at work, " + ms(size(zoom)) + ' ms: click a faded bar above to zoom out, Whole profile for everything.'
      : zoom === root ? 'Whole profile (module loading included): click a bar to zoom in.'
      : 'Zoomed into ' + zoom.name + ', ' + ms(size(zoom)) + ' ms: click a faded bar above to zoom out, Whole profile for everything.';
  }
  flame.addEventListener('click', function (e) {
    var t = e.target.closest('.bar'); if (!t) return;
    zoom = nodes[Number(t.dataset.i)]; render();
  });
  flame.addEventListener('mousemove', function (e) {
    var t = e.target.closest('.bar');
    if (!t) { tip.style.display = 'none'; return; }
    var n = nodes[Number(t.dataset.i)];
    tip.innerHTML = '';
    var b = document.createElement('b'); b.textContent = n.name; tip.appendChild(b);
    if (n.loc) { var l = document.createElement('div'); l.className = 'loc'; l.textContent = n.loc; tip.appendChild(l); }
    var d = document.createElement('div');
    d.textContent = n.kind + ' · self ' + ms(n.self) + ' ms (' + pct(n.self) + ') · total ' + ms(n.total) + ' ms (' + pct(n.total) + ')';
    tip.appendChild(d);
    tip.style.display = 'block';
    var x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = e.clientY + 16 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 10 : e.clientY + 16;
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  });
  flame.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  document.getElementById('reset').addEventListener('click', function () { zoom = root; render(); });
  document.getElementById('processors').addEventListener('click', function () { zoom = processorsView; render(); });
  document.getElementById('hide-idle').addEventListener('change', function (e) { hideIdle = e.target.checked; render(); });
  document.getElementById('search').addEventListener('input', function (e) { query = e.target.value.trim(); render(); });
  window.addEventListener('resize', render);

  // The table of functions.
  var rows = DATA.functions.map(function (f) { return { name: f[0], kind: KINDS[f[1]], loc: f[2], self: f[3], total: f[4], selfPct: f[3], totalPct: f[4] }; });
  var sortKey = 'total', ascending = false, filter = '', onlyPipeline = true;
  var anyProcessor = Object.keys(processorKeys).length > 0;
  var tbody = document.querySelector('#functions tbody');
  var count = document.getElementById('count');
  function renderTable() {
    var q = filter.toLowerCase();
    var shown = rows.filter(function (r) {
      if (onlyPipeline && (r.kind !== 'pipeline' || (anyProcessor && !processorKeys[r.name + ' | ' + r.loc]))) return false;
      return !q || r.name.toLowerCase().indexOf(q) >= 0 || r.loc.toLowerCase().indexOf(q) >= 0;
    });
    shown.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      var c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    var limit = 500;
    tbody.textContent = '';
    shown.slice(0, limit).forEach(function (r) {
      var tr = document.createElement('tr');
      if (r.kind === 'pipeline') tr.className = 'pipeline';
      var name = document.createElement('td');
      var chip = document.createElement('span'); chip.className = 'kind'; chip.style.background = 'var(--' + r.kind + ')'; chip.title = r.kind;
      name.appendChild(chip); name.appendChild(document.createTextNode(r.name));
      var loc = document.createElement('td'); loc.className = 'loc'; loc.textContent = r.loc;
      tr.appendChild(name); tr.appendChild(loc);
      [ms(r.self), pct(r.self), ms(r.total), pct(r.total)].forEach(function (v) { var td = document.createElement('td'); td.className = 'num'; td.textContent = v; tr.appendChild(td); });
      tr.addEventListener('click', function () { var s = document.getElementById('search'); s.value = r.name; query = r.name; render(); flame.scrollIntoView({ behavior: 'smooth' }); });
      tbody.appendChild(tr);
    });
    count.textContent = shown.length > limit ? 'Showing ' + limit + ' of ' + shown.length + ' functions.' : shown.length + ' functions.';
    document.querySelectorAll('#functions th').forEach(function (th) {
      th.classList.toggle('sorted', th.dataset.key === sortKey);
      th.classList.toggle('asc', th.dataset.key === sortKey && ascending);
    });
  }
  document.querySelectorAll('#functions th').forEach(function (th) {
    th.addEventListener('click', function () {
      var key = th.dataset.key;
      if (key === sortKey) ascending = !ascending; else { sortKey = key; ascending = key === 'name' || key === 'loc'; }
      renderTable();
    });
  });
  document.getElementById('filter').addEventListener('input', function (e) { filter = e.target.value.trim(); renderTable(); });
  document.getElementById('only-pipeline').addEventListener('change', function (e) { onlyPipeline = e.target.checked; renderTable(); });
  render();
  renderTable();
})();
`;

/** The whole page for a profile summary. */
export function profilePageHtml(summary: ProfileSummary, meta: ProfilePageMeta): string {
  const data = {
    kinds: KINDS,
    tree: pack(summary.tree),
    functions: summary.functions.filter((f) => f.totalMs > 0).map((f) => [f.name, KINDS.indexOf(f.kind), f.location, round(f.selfMs), round(f.totalMs)]),
  };
  const download = meta.downloadHref
    ? ` · <a href="${escapeHtml(meta.downloadHref)}" download>download the .cpuprofile</a> (Chrome DevTools → Performance → Load profile)`
    : '';
  const legend = KINDS.map((k) => `<span style="--c: var(--${k})">${k === 'dependency' ? 'dependencies' : k === 'node' ? 'Node.js' : k}</span>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Profile: ${escapeHtml(meta.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Profile: ${escapeHtml(meta.title)}</h1>
<p>${escapeHtml(meta.subtitle)}${download}</p>
</header>
<section id="graph">
<h2>Call tree</h2>
<div class="toolbar">
<input id="search" type="search" placeholder="Highlight functions or files…" aria-label="Highlight functions">
<label><input id="hide-idle" type="checkbox"> hide idle time</label>
<button id="processors" type="button">The processors</button>
<button id="reset" type="button">Whole profile</button>
<div class="legend">${legend}</div>
</div>
<div id="crumbs"></div>
<div id="flame" role="img" aria-label="Icicle graph of the call tree"></div>
<p class="note">Each bar is a function in its calling context, as wide as the time spent in it and in what it called; callers above, callees below.</p>
</section>
<section id="functions">
<h2>Functions</h2>
<div class="toolbar">
<input id="filter" type="search" placeholder="Filter by function or file…" aria-label="Filter functions">
<label><input id="only-pipeline" type="checkbox" checked> the pipeline's processors only (uncheck for every function: module loading, corral, dependencies)</label>
<span id="count" class="note"></span>
</div>
<table>
<thead><tr><th data-key="name">Function</th><th data-key="loc">Location</th><th class="num" data-key="self">Self ms</th><th class="num" data-key="selfPct">Self %</th><th class="num sorted" data-key="total">Total ms</th><th class="num" data-key="totalPct">Total %</th></tr></thead>
<tbody></tbody>
</table>
</section>
<div id="tip"></div>
<script type="application/json" id="profile-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
