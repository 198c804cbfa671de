/**
 * The status page: one self-contained HTML document (its style and script inline,
 * nothing fetched from elsewhere) that listens to the server's event stream and
 * redraws itself on each snapshot. Data reaches the DOM as text (`textContent`),
 * never as markup; only the lineage SVG, which the server lays out, is inserted.
 */
import { RUN_OUTCOMES } from '../db/bookkeeping/run-list.js';
import { TONE_COLOURS } from '../docs/lineage.js';

export interface StatusPageOptions {
  readonly title: string;
  /** Sent back with every POST (server.ts checks it). */
  readonly token: string;
  readonly allowActions: boolean;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
:root { --fg: #1f2d3a; --muted: #5d6b79; --line: #d9dfe5; --head: #f2f5f8; --bad: #a3261b; --warn: #8a5a00; --good: #2f6b2f; --busy: #1f5d99; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0; background: #fbfcfd; }
header { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: baseline; padding: .9rem 1.4rem; border-bottom: 1px solid var(--line); background: white; position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 1.25rem; margin: 0; }
.muted { color: var(--muted); }
.small { font-size: .8rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .7rem; font-size: .8rem; border: 1px solid var(--line); background: var(--head); }
.badge.live { color: var(--good); border-color: #b8d8b8; background: #eef7ee; }
.badge.stale { color: var(--bad); border-color: #e6b7b2; background: #fbeeec; }
main { padding: .4rem 1.4rem 2rem; max-width: 1500px; }
section { margin-top: 1.2rem; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: white; border: 1px solid var(--line); font-size: .9rem; }
th, td { text-align: left; padding: .28rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: .85rem; white-space: nowrap; }
td[data-field="startedAt"], td[data-field="lastAt"], [data-field="lastWhere"] { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.empty td { color: var(--muted); font-style: italic; }
.status-ok { color: var(--good); } .status-running { color: var(--busy); }
.status-failed, .status-dead { color: var(--bad); font-weight: 600; }
.status-stopped, .status-rows-failed, .status-stopped-waiting, .status-not-started { color: var(--warn); }
.bad { color: var(--bad); font-weight: 600; } .warn { color: var(--warn); }
#lineage { background: white; border: 1px solid var(--line); padding: .5rem; overflow-x: auto; }
#lineage svg { max-width: 100%; height: auto; }
.legend { display: flex; flex-wrap: wrap; gap: .9rem; margin-top: .4rem; font-size: .85rem; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -.1rem; border: 1px solid #9aa5b1; background: var(--swatch); }
.error { max-width: 40rem; white-space: pre-wrap; word-break: break-word; }
pre.stack { margin: .3rem 0 0; padding: .5rem; background: #f6f7f9; border: 1px solid var(--line); font-size: .8rem; white-space: pre-wrap; max-height: 20rem; overflow: auto; }
button { font: inherit; font-size: .85rem; padding: .1rem .55rem; border: 1px solid #b9c3cd; background: white; border-radius: .3rem; cursor: pointer; }
button:hover { background: var(--head); }
button.danger { color: var(--bad); border-color: #e6b7b2; }
.filters { display: flex; gap: .8rem; align-items: center; margin-bottom: .5rem; }
select { font: inherit; padding: .1rem .3rem; }
#problem { margin: .8rem 1.4rem 0; padding: .5rem .8rem; border: 1px solid #e6b7b2; background: #fbeeec; color: var(--bad); }
#notice { min-height: 1.2rem; margin: .3rem 0; color: var(--busy); }
`;

/** The page's script: plain browser JavaScript, kept readable (it is served as is). */
const SCRIPT = `
const TOKEN = document.querySelector('meta[name="corral-token"]').content;
const ACTIONS = document.body.dataset.actions === 'on';
const $ = (selector) => document.querySelector(selector);
const number = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
const when = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–');
const duration = (s) => (s === null || s === undefined ? '–' : s < 1 ? Math.round(s * 1000) + ' ms' : s < 60 ? s.toFixed(1) + ' s' : s < 3600 ? (s / 60).toFixed(1) + ' min' : (s / 3600).toFixed(1) + ' h');

function cell(row, text, field, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (field) td.dataset.field = field;
  if (className) td.className = className;
  return td;
}

function span(text, field, className) {
  const element = document.createElement('span');
  element.textContent = text;
  element.dataset.field = field;
  if (className) element.className = className;
  return element;
}

function emptyRow(table, columns, text) {
  const row = table.tBodies[0].insertRow();
  row.className = 'empty';
  const td = row.insertCell();
  td.colSpan = columns;
  td.textContent = text;
}

function renderProcessors(processors) {
  const body = $('#processors').tBodies[0];
  body.replaceChildren();
  for (const p of processors) {
    const row = body.insertRow();
    row.dataset.processor = p.name;
    row.dataset.tone = p.tone;
    cell(row, p.name, 'name');
    cell(row, p.kind, 'kind');
    cell(row, p.backlog === null ? '–' : number(p.backlog), 'backlog', 'num');
    cell(row, number(p.running), 'running', 'num');
    cell(row, number(p.inFlight), 'inFlight', 'num');
    cell(row, number(p.doneLastHour), 'doneLastHour', 'num');
    cell(row, number(p.doneLastDay), 'doneLastDay', 'num');
    cell(row, number(p.retrying), 'retrying', 'num' + (p.retrying ? ' warn' : ''));
    cell(row, number(p.quarantined), 'quarantined', 'num' + (p.quarantined ? ' bad' : ''));
    const workers = [p.staleWorkers ? p.staleWorkers + ' stale' : '', p.deadWorkers ? p.deadWorkers + ' dead' : ''].filter(Boolean).join(', ');
    cell(row, workers || '–', 'workers', workers ? 'bad' : '');
    // The last run in one cell: status, rows, duration; then where and when, smaller.
    const last = p.lastRun;
    const lastCell = row.insertCell();
    if (!last) {
      lastCell.append(span('never', 'lastStatus', 'muted'));
    } else {
      lastCell.append(
        span(last.status, 'lastStatus', 'status-' + last.status), ' · ',
        span(number(last.rows) + ' rows' + (last.failedRows ? ' (' + number(last.failedRows) + ' failed)' : ''), 'lastRows'), ' · ',
        span(duration(last.seconds), 'lastDuration'),
        document.createElement('br'),
        span(last.host + ':' + last.pid + ' · ' + when(last.startedAt), 'lastWhere', 'muted small'),
      );
    }
  }
}

/** Stacks the user opened, by failure id: kept open across the redraws of each snapshot. */
const openStacks = new Map();

function stackBlock(text) {
  const pre = document.createElement('pre');
  pre.className = 'stack';
  pre.textContent = text || '(no stack recorded)';
  return pre;
}

async function toggleStack(id) {
  if (openStacks.has(id)) openStacks.delete(id);
  else openStacks.set(id, (await fetch('api/failures/' + id + '/stack').then((r) => r.json())).stack);
  const row = document.querySelector('#failures tr[data-failure-id="' + id + '"]');
  if (!row) return;
  const error = row.querySelector('td[data-field="error"]');
  error.querySelector('pre.stack')?.remove();
  error.querySelector('button[data-action="stack"]').textContent = openStacks.has(id) ? 'hide stack' : 'stack';
  if (openStacks.has(id)) error.append(stackBlock(openStacks.get(id)));
}

async function act(action, failure) {
  const what = failure.table + ' ' + failure.key + ' of ' + failure.processor;
  const question = action === 'retry' ? 'Retry row ' + what + ' on the next run?' : 'Forget the failure of row ' + what + '? It will be processed again as if it never failed.';
  if (!window.confirm(question)) return;
  const response = await fetch('api/failures/' + action, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-corral-token': TOKEN },
    body: JSON.stringify({ ids: [failure.id] }),
  });
  const answer = await response.json();
  $('#notice').textContent = response.ok ? (action === 'retry' ? 'Row ' + what + ' will be retried on the next run.' : 'The failure of row ' + what + ' was cleared.') : 'Refused: ' + answer.error;
}

function renderFailures(failures, total) {
  const table = $('#failures');
  table.tBodies[0].replaceChildren();
  $('#failure-count').textContent = total > failures.length ? '(latest ' + failures.length + ' of ' + number(total) + ')' : '(' + number(total) + ')';
  if (failures.length === 0) return emptyRow(table, 7, 'No failed rows.');
  for (const f of failures) {
    const row = table.tBodies[0].insertRow();
    row.dataset.failureId = f.id;
    row.dataset.processor = f.processor;
    cell(row, f.processor, 'processor');
    cell(row, f.table + ' ' + f.key, 'row');
    cell(row, number(f.attempts), 'attempts', 'num');
    cell(row, f.quarantined ? 'quarantined' : 'retry after ' + when(f.nextAt), 'state', f.quarantined ? 'bad' : 'warn');
    cell(row, when(f.lastAt), 'lastAt');
    const error = cell(row, f.error, 'error', 'error');
    if (f.hasStack) {
      const button = document.createElement('button');
      button.textContent = openStacks.has(f.id) ? 'hide stack' : 'stack';
      button.dataset.action = 'stack';
      button.addEventListener('click', () => toggleStack(f.id));
      error.append(document.createElement('br'), button);
      if (openStacks.has(f.id)) error.append(stackBlock(openStacks.get(f.id)));
    }
    const actions = row.insertCell();
    if (ACTIONS) {
      for (const action of ['retry', 'clear']) {
        const button = document.createElement('button');
        button.textContent = action;
        button.dataset.action = action;
        if (action === 'clear') button.className = 'danger';
        button.addEventListener('click', () => act(action, f));
        actions.append(button, ' ');
      }
    } else {
      actions.textContent = '–';
      actions.className = 'muted';
    }
  }
}

let filtersFilled = false;
function fillFilters(processors) {
  if (filtersFilled) return;
  filtersFilled = true;
  for (const p of processors) $('#run-processor').add(new Option(p.name, p.name));
}

let runsAsked = 0;
async function refreshRuns() {
  const asked = ++runsAsked;
  const query = new URLSearchParams({ processor: $('#run-processor').value, status: $('#run-status').value, limit: '100' });
  const runs = await fetch('api/runs?' + query).then((r) => r.json());
  if (asked !== runsAsked) return;
  const table = $('#runs');
  table.tBodies[0].replaceChildren();
  if (runs.length === 0) return emptyRow(table, 10, 'No runs match.');
  for (const r of runs) {
    const row = table.tBodies[0].insertRow();
    row.dataset.runId = r.id;
    row.dataset.processor = r.processor;
    row.dataset.status = r.status;
    cell(row, String(r.id), 'id', 'num');
    cell(row, r.processor + (r.partition ? ' (' + r.partition + ')' : ''), 'processor');
    cell(row, r.status, 'status', 'status-' + r.status);
    cell(row, number(r.rows), 'rows', 'num');
    cell(row, number(r.failedRows), 'failedRows', 'num' + (r.failedRows ? ' warn' : ''));
    cell(row, duration(r.seconds), 'duration', 'num');
    cell(row, when(r.startedAt), 'startedAt');
    cell(row, r.host, 'host');
    cell(row, String(r.pid), 'pid', 'num');
    cell(row, r.error || '', 'error', 'error');
  }
}

function render(update) {
  const s = update.snapshot;
  $('#database').textContent = s.database;
  const live = $('#live');
  live.textContent = 'live · updated ' + when(s.at) + ' UTC';
  live.className = 'badge live';
  document.body.dataset.updatedAt = s.at;
  $('#problem').hidden = true;
  fillFilters(s.processors);
  renderProcessors(s.processors);
  $('#lineage').innerHTML = update.lineageSvg;
  renderFailures(s.failures, s.failureCount);
  refreshRuns().catch(() => undefined);
}

$('#run-processor').addEventListener('change', () => refreshRuns());
$('#run-status').addEventListener('change', () => refreshRuns());

const events = new EventSource('api/events');
events.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
events.addEventListener('problem', (event) => {
  const problem = $('#problem');
  problem.textContent = JSON.parse(event.data).message;
  problem.hidden = false;
});
events.addEventListener('error', () => {
  const live = $('#live');
  live.textContent = 'disconnected: is serve still running?';
  live.className = 'badge stale';
});
`;

export function statusPageHtml(options: StatusPageOptions): string {
  const legend = Object.entries({ 'never ran': '#f4f5f7', done: TONE_COLOURS.ok, 'rows waiting': TONE_COLOURS.waiting, running: TONE_COLOURS.running, 'rows retrying': TONE_COLOURS.failing, 'needs a human': TONE_COLOURS.broken })
    .map(([label, colour]) => `<span style="--swatch: ${colour}">${escape(label)}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="corral-token" content="${escape(options.token)}">
<title>${escape(options.title)}</title>
<style>${STYLE}</style>
</head>
<body data-actions="${options.allowActions ? 'on' : 'off'}">
<header>
  <h1>${escape(options.title)}</h1>
  <span id="database" class="muted"></span>
  <span id="live" class="badge">connecting…</span>
  <span id="mode" class="badge">${options.allowActions ? 'actions allowed: retry and clear' : 'read-only (start with --allow-actions to retry or clear)'}</span>
</header>
<div id="problem" hidden></div>
<main>
<section>
  <h2>Processors</h2>
  <table id="processors">
    <thead><tr><th>Processor</th><th>Kind</th><th class="num">Backlog</th><th class="num">Running</th><th class="num">In flight</th><th class="num">Done 1 h</th><th class="num">Done 24 h</th><th class="num">Retrying</th><th class="num">Quarantined</th><th>Stale / dead</th><th>Last run (UTC)</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section>
  <h2>Lineage</h2>
  <div id="lineage"></div>
  <div class="legend">${legend}</div>
</section>
<section>
  <h2>Failed rows <span id="failure-count" class="muted"></span></h2>
  <div id="notice" role="status"></div>
  <table id="failures">
    <thead><tr><th>Processor</th><th>Row</th><th class="num">Attempts</th><th>State</th><th>Last failure (UTC)</th><th>Error</th><th>${options.allowActions ? 'Actions' : ''}</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section>
  <h2>Run history</h2>
  <div class="filters">
    <label>Processor <select id="run-processor"><option value="">all</option></select></label>
    <label>Status <select id="run-status"><option value="">all</option>${RUN_OUTCOMES.map((s) => `<option value="${s}">${s}</option>`).join('')}</select></label>
  </div>
  <table id="runs">
    <thead><tr><th class="num">#</th><th>Processor</th><th>Status</th><th class="num">Rows</th><th class="num">Failed</th><th class="num">Duration</th><th>Started (UTC)</th><th>Host</th><th class="num">PID</th><th>Error</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
