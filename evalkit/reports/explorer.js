// The item explorer of report.html (see evalkit/reports/explorer.py).
// Every string from the data is untrusted: it reaches the page only through
// textContent, text nodes and option labels, never as HTML.
(() => {
  'use strict';
  const PAGE = 50;
  const CLIP = 160;
  const root = document.getElementById('explorer');
  const $ = (id) => document.getElementById(id);
  const ui = {
    search: $('ex-search'), show: $('ex-show'), sort: $('ex-sort'), dir: $('ex-dir'), reset: $('ex-reset'),
    pick: $('ex-pick'), pickText: $('ex-pick-text'), pickClear: $('ex-pick-clear'), status: $('ex-status'),
    table: $('ex-table'), prev: $('ex-prev'), next: $('ex-next'), page: $('ex-page'), detail: $('ex-detail'),
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clip(text) {
    return text.length > CLIP ? text.slice(0, CLIP - 1) + '…' : text;
  }
  function fmt(value, scale) {
    if (value === null || value === undefined) return 'unscored';
    return value.toFixed(scale === '0-100' ? 2 : 3);
  }
  function fmtDiff(value, scale) {
    if (value === null || value === undefined) return '';
    const text = value.toFixed(scale === '0-100' ? 2 : 3);
    return (value > 0 ? '+' : value < 0 ? '' : '±') + text;
  }

  async function decode(node) {
    const text = node.textContent;
    if (node.getAttribute('data-encoding') !== 'gzip+base64') return JSON.parse(text);
    let bytes;
    if (typeof Uint8Array.fromBase64 === 'function') {
      bytes = Uint8Array.fromBase64(text.trim());
    } else {
      const binary = atob(text.trim());
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return JSON.parse(await new Response(stream).text());
  }

  // ---- derived per-item facts ------------------------------------------
  const FLAG_INCONSISTENT = 1, FLAG_HUMAN = 2, FLAG_FLAGGED = 4, FLAG_UNSCORED = 8;

  function prepare(D) {
    D.base = D.baseline === null ? -1 : D.systems.indexOf(D.baseline);
    D.byItem = new Map();
    D.flags = new Uint8Array(D.n);
    D.judge.forEach((j, k) => {
      if (!D.byItem.has(j.item)) D.byItem.set(j.item, []);
      D.byItem.get(j.item).push(k);
      if (j.consistent === false) D.flags[j.item] |= FLAG_INCONSISTENT;
      if (j.agrees === false) D.flags[j.item] |= FLAG_HUMAN;
      if (j.flags.length) D.flags[j.item] |= FLAG_FLAGGED;
      if (j.unscored !== null || j.calls.some((c) => c[3] !== null)) D.flags[j.item] |= FLAG_UNSCORED;
    });
    for (let i = 0; i < D.n; i++) {
      if (D.outputs.some((o) => o[i] === null)) D.flags[i] |= FLAG_UNSCORED;
      if (D.scores.some((m) => m.some((s) => s[i] === null))) D.flags[i] |= FLAG_UNSCORED;
    }
    D.hasHuman = D.judge.some((j) => j.human !== null);
    D.hay = null;
  }

  function haystack(D, i) {
    const parts = [];
    if (D.prompts && D.prompts[i] !== null) parts.push(D.prompts[i]);
    if (D.references) parts.push(...D.references[i]);
    for (const o of D.outputs) if (o[i] !== null) parts.push(o[i]);
    return parts.join('\n').toLowerCase();
  }

  // ---- sort keys ---------------------------------------------------------
  // A key: {id, label, value(i) -> number or null, natural: the order that puts the worst (or largest) first}
  function sortKeys(D) {
    const keys = [{ id: 'item', label: 'item number', value: (i) => i, natural: 'asc' }];
    D.metrics.forEach((m, k) => {
      const low = m.higher ? 'asc' : 'desc';
      const s = D.scores[k];
      keys.push({
        id: `spread:${k}`, label: `${m.name}: systems disagree most (largest spread)`, natural: 'desc',
        value: (i) => {
          let lo = Infinity, hi = -Infinity, n = 0;
          for (const per of s) if (per[i] !== null) { lo = Math.min(lo, per[i]); hi = Math.max(hi, per[i]); n++; }
          return n >= 2 ? hi - lo : null;
        },
      });
      D.systems.forEach((name, j) => {
        keys.push({ id: `score:${k}:${j}`, label: `${m.name} of ${name}`, natural: low, value: (i) => s[j][i] });
        if (D.base >= 0 && j !== D.base) {
          keys.push({
            id: `diff:${k}:${j}`, label: `${m.name}: ${name} − ${D.baseline}`, natural: low,
            value: (i) => (s[j][i] === null || s[D.base][i] === null ? null : s[j][i] - s[D.base][i]),
          });
        }
      });
    });
    return keys;
  }

  function showOptions(D) {
    const count = (bit) => D.flags.reduce((n, f) => n + ((f & bit) ? 1 : 0), 0);
    const options = [{ id: 'all', label: `all items (${D.n})`, test: () => true }];
    const add = (id, text, bit) => options.push({ id, label: `${text} (${count(bit)})`, test: (i) => (D.flags[i] & bit) !== 0 });
    if (D.judge.some((j) => j.mode === 'pairwise')) add('inconsistent', 'judge inconsistent across orders', FLAG_INCONSISTENT);
    if (D.hasHuman) add('human', 'judge disagrees with humans', FLAG_HUMAN);
    if (D.judge.length) add('flagged', 'flagged by the judge (possible injection)', FLAG_FLAGGED);
    add('unscored', 'unscored (a missing output, score or verdict)', FLAG_UNSCORED);
    return options;
  }

  // ---- state -------------------------------------------------------------
  const state = { query: '', show: 'all', sort: 'item', dir: 'auto', pick: null, page: 0, open: null, rows: [], key: null };
  let D = null, KEYS = [], SHOWS = [];

  function fillSelect(select, options) {
    select.replaceChildren(...options.map((o) => {
      const option = el('option', null, o.label);
      option.value = o.id;
      return option;
    }));
  }

  // The lower-cased text of every item, built in idle time after the first
  // render so that the first search need not wait for it.
  function buildHaystack(deadline) {
    if (D.hay === null) D.hay = [];
    while (D.hay.length < D.n && (!deadline || deadline.timeRemaining() > 2)) {
      const end = Math.min(D.n, D.hay.length + 500);
      for (let i = D.hay.length; i < end; i++) D.hay.push(haystack(D, i));
    }
    if (deadline && D.hay.length < D.n) idle(buildHaystack);
  }
  function idle(callback) {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(callback);
    else setTimeout(() => callback({ timeRemaining: () => 10 }), 50);
  }

  // A sort key's values for all items, computed once: NaN for unscored.
  const keyCache = new Map();
  function keyValues(key) {
    if (!keyCache.has(key.id)) {
      const values = new Float64Array(D.n);
      for (let i = 0; i < D.n; i++) {
        const v = key.value(i);
        values[i] = v === null ? NaN : v;
      }
      keyCache.set(key.id, values);
    }
    return keyCache.get(key.id);
  }

  function compute() {
    const show = SHOWS.find((o) => o.id === state.show) || SHOWS[0];
    const key = KEYS.find((k) => k.id === state.sort) || KEYS[0];
    const terms = state.query.toLowerCase().split(/\s+/).filter(Boolean);
    if (terms.length && (D.hay === null || D.hay.length < D.n)) buildHaystack(null);
    const rows = [];
    for (let i = 0; i < D.n; i++) {
      if (!show.test(i)) continue;
      if (state.pick && !state.pick.test(i)) continue;
      if (terms.length && !terms.every((t) => D.hay[i].includes(t))) continue;
      rows.push(i);
    }
    const dir = state.dir === 'auto' ? key.natural : state.dir;
    const sign = dir === 'desc' ? -1 : 1;
    const values = keyValues(key);
    rows.sort((a, b) => {
      const va = values[a], vb = values[b];
      const na = Number.isNaN(va), nb = Number.isNaN(vb);
      if (na || nb) return na && nb ? a - b : na ? 1 : -1; // unscored last, whatever the order
      return (va - vb) * sign || a - b;
    });
    state.rows = rows;
    state.key = key;
  }

  // ---- the table -----------------------------------------------------------
  function header() {
    const tr = el('tr');
    tr.append(el('th', null, '#'));
    if (D.prompts) tr.append(el('th', null, 'prompt'));
    if (D.references) tr.append(el('th', null, 'reference'));
    D.systems.forEach((name, j) => tr.append(el('th', j === D.base ? 'ex-base' : null, j === D.base ? `${name} (baseline)` : name)));
    if (D.judge.length) tr.append(el('th', null, 'judge'));
    ui.table.tHead.replaceChildren(tr);
    // Fixed column widths: the browser lays a page out without measuring every cell.
    const weights = [];
    if (D.prompts) weights.push(1.1);
    if (D.references) weights.push(1);
    for (const _ of D.systems) weights.push(1);
    if (D.judge.length) weights.push(0.9);
    const total = weights.reduce((a, b) => a + b, 0);
    const cols = el('colgroup');
    const first = el('col');
    first.style.width = '56px';
    cols.append(first);
    for (const w of weights) {
      const col = el('col');
      col.style.width = `${((100 * w) / total).toFixed(2)}%`;
      cols.append(col);
    }
    ui.table.querySelector('colgroup')?.remove();
    ui.table.prepend(cols);
    ui.table.style.minWidth = `${56 + Math.round(total * 170)}px`;
  }

  function scoreLines(i, j) {
    const box = el('div', 'ex-scores');
    D.metrics.forEach((m, k) => {
      const v = D.scores[k][j][i];
      const line = el('div', v === null ? 'ex-unscored' : null);
      line.append(el('span', 'ex-mname', m.name + ' '), el('span', 'ex-value', fmt(v, m.scale)));
      if (D.base >= 0 && j !== D.base && v !== null && D.scores[k][D.base][i] !== null) {
        const d = v - D.scores[k][D.base][i];
        const better = d !== 0 && (d > 0) === m.higher;
        line.append(el('span', d === 0 ? 'ex-diff' : better ? 'ex-diff ex-better' : 'ex-diff ex-worse', ' ' + fmtDiff(d, m.scale)));
      }
      box.append(line);
    });
    return box;
  }

  function judgeSummary(j) {
    const who = j.systems.join(' vs ');
    if (j.unscored !== null) return `${who}: unscored`;
    if (j.mode === 'single') return `${who}: ${j.score === null ? 'unscored' : j.score}`;
    let text = `${who}: ${j.outcome} for ${j.systems[0]}`;
    if (j.consistent === false) text += ' · orders disagree';
    if (j.agrees === false) text += ' · human says ' + j.human;
    return text;
  }

  function row(i) {
    const tr = el('tr');
    tr.dataset.item = String(i);
    if (state.open === i) tr.className = 'ex-open-row';
    const first = el('td');
    const button = el('button', 'ex-open', String(i + 1));
    button.type = 'button';
    button.title = `open item ${i + 1}`;
    first.append(button);
    tr.append(first);
    if (D.prompts) tr.append(textCell(D.prompts[i]));
    if (D.references) tr.append(textCell(D.references[i].length ? D.references[i][0] : null, D.references[i].length - 1));
    D.systems.forEach((_, j) => {
      const td = textCell(D.outputs[j][i]);
      td.append(scoreLines(i, j));
      tr.append(td);
    });
    if (D.judge.length) {
      const td = el('td', 'ex-judge');
      for (const k of D.byItem.get(i) || []) {
        const j = D.judge[k];
        td.append(el('div', j.flags.length ? 'ex-flag' : null, (j.flags.length ? '⚑ ' : '') + judgeSummary(j)));
      }
      tr.append(td);
    }
    return tr;
  }

  function textCell(text, more) {
    const td = el('td', 'ex-text');
    if (text === null) {
      td.append(el('em', 'ex-missing', 'missing'));
      return td;
    }
    td.append(el('div', null, clip(text)));
    if (more) td.append(el('div', 'ex-muted', `+${more} more`));
    return td;
  }

  // recompute: filter and sort again (not needed to turn a page)
  function render(recompute = true) {
    const started = performance.now();
    if (recompute || !state.key) compute();
    const key = state.key;
    const pages = Math.max(1, Math.ceil(state.rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE;
    const shown = state.rows.slice(start, start + PAGE);
    ui.table.tBodies[0].replaceChildren(...shown.map(row));
    ui.prev.disabled = state.page === 0;
    ui.next.disabled = state.page >= pages - 1;
    ui.page.textContent = `page ${state.page + 1} of ${pages}`;
    const dir = state.dir === 'auto' ? key.natural : state.dir;
    ui.status.textContent = state.rows.length
      ? `Items ${start + 1}–${start + shown.length} of ${state.rows.length}` +
        (state.rows.length < D.n ? ` (of ${D.n} in all)` : '') +
        `, sorted by ${key.label}, ${dir === 'asc' ? 'ascending' : 'descending'}.`
      : `No item matches (of ${D.n}).`;
    ui.status.dataset.matching = String(state.rows.length);
    ui.pick.hidden = state.pick === null;
    ui.pickText.textContent = state.pick ? state.pick.label : '';
    // For benchmarks: how long filtering, sorting, drawing and laying out the
    // rows took (reading a size makes the layout happen now, not later).
    void ui.table.offsetHeight;
    root.dataset.lastRenderMs = (performance.now() - started).toFixed(1);
  }

  // ---- an opened item ------------------------------------------------------
  const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

  function words(text) {
    return new Set((text.toLowerCase().match(WORD) || []));
  }

  // The output as text nodes, with the words it shares with a reference marked.
  function highlighted(text, shared) {
    const box = el('div', 'ex-output');
    let last = 0;
    for (const m of text.matchAll(WORD)) {
      if (!shared.has(m[0].toLowerCase())) continue;
      if (m.index > last) box.append(document.createTextNode(text.slice(last, m.index)));
      box.append(el('mark', null, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) box.append(document.createTextNode(text.slice(last)));
    return box;
  }

  function block(title, text) {
    const section = el('div', 'ex-block');
    section.append(el('h4', null, title));
    section.append(text === null ? el('em', 'ex-missing', 'missing') : el('div', 'ex-output', text));
    return section;
  }

  function scoreTable(i) {
    const table = el('table', 'ex-score-table');
    const head = el('tr');
    head.append(el('th', null, 'metric'));
    D.systems.forEach((name, j) => head.append(el('th', j === D.base ? 'ex-base' : null, name)));
    table.append(head);
    D.metrics.forEach((m, k) => {
      const tr = el('tr');
      tr.append(el('td', null, m.name));
      D.systems.forEach((_, j) => {
        const v = D.scores[k][j][i];
        const td = el('td', v === null ? 'ex-unscored' : null, fmt(v, m.scale));
        if (D.base >= 0 && j !== D.base && v !== null && D.scores[k][D.base][i] !== null) {
          const d = v - D.scores[k][D.base][i];
          td.append(el('span', d === 0 ? 'ex-diff' : (d > 0) === m.higher ? 'ex-diff ex-better' : 'ex-diff ex-worse', ` (${fmtDiff(d, m.scale)})`));
        }
        tr.append(td);
      });
      table.append(tr);
    });
    return table;
  }

  function judgeBlock(j) {
    const box = el('div', 'ex-judge-item');
    box.append(el('h4', null, j.mode === 'pairwise' ? `Judge: ${j.systems[0]} vs ${j.systems[1]}` : `Judge: ${j.systems[0]}`));
    const facts = [];
    if (j.mode === 'pairwise') {
      facts.push(`outcome for ${j.systems[0]}: ${j.outcome === null ? 'unscored' : j.outcome}`);
      if (j.score !== null) facts.push(`P(${j.systems[0]} wins) ${j.score.toFixed(2)}`);
      facts.push(`same verdict in both orders: ${j.consistent === null ? 'n/a' : j.consistent ? 'yes' : 'no'}`);
    } else {
      facts.push(`grade: ${j.score === null ? 'unscored' : j.score}`);
    }
    box.append(el('p', null, facts.join(' · ')));
    if (j.unscored !== null) box.append(el('p', 'ex-unscored', `unscored: ${j.unscored}`));
    for (const flag of j.flags) box.append(el('p', 'ex-flag', `⚑ ${flag}`));
    if (j.human !== null) {
      box.append(el('p', j.agrees === false ? 'ex-worse' : null,
        `human label: ${j.human}` + (j.agrees === null ? '' : j.agrees ? ' — the judge agrees' : ' — the judge disagrees')));
    }
    const table = el('table', 'ex-calls');
    const head = el('tr');
    for (const name of ['order', 'verdict', 'unscored', 'raw answer']) head.append(el('th', null, name));
    table.append(head);
    for (const [order, verdict, raw, unscored] of j.calls) {
      const tr = el('tr');
      const shownFirst = order === 'ab' ? j.systems[0] : order === 'ba' ? j.systems[1] : null;
      tr.append(el('td', null, shownFirst === null ? 'single' : `${order}: ${shownFirst} shown first`));
      tr.append(el('td', null, verdict === null ? '—' : verdict));
      tr.append(el('td', unscored === null ? null : 'ex-unscored', unscored === null ? '' : unscored));
      const answer = el('td', 'ex-raw');
      answer.append(raw === null ? el('em', 'ex-missing', 'no answer') : el('div', 'ex-output', raw));
      tr.append(answer);
      table.append(tr);
    }
    box.append(table);
    return box;
  }

  function markOpenRow() {
    for (const tr of ui.table.tBodies[0].rows) {
      tr.classList.toggle('ex-open-row', Number(tr.dataset.item) === state.open);
    }
  }

  function open(i) {
    const started = performance.now();
    state.open = i;
    const detail = ui.detail;
    const head = el('div', 'ex-detail-head');
    head.append(el('h3', null, `Item ${i + 1}`));
    const close = el('button', null, 'close');
    close.type = 'button';
    close.id = 'ex-close';
    head.append(close);
    const parts = [head];
    if (D.prompts) parts.push(block('Prompt', D.prompts[i]));
    let shared = new Set();
    if (D.references) {
      D.references[i].forEach((r, k) => {
        parts.push(block(D.references[i].length > 1 ? `Reference ${k + 1}` : 'Reference', r));
        for (const w of words(r)) shared.add(w);
      });
    }
    const grid = el('div', 'ex-outputs');
    grid.style.gridTemplateColumns = `repeat(${Math.min(D.systems.length, 4)}, minmax(0, 1fr))`;
    D.systems.forEach((name, j) => {
      const col = el('div', 'ex-block ex-system');
      col.dataset.system = String(j);
      col.append(el('h4', j === D.base ? 'ex-base' : null, j === D.base ? `${name} (baseline)` : name));
      col.append(D.outputs[j][i] === null ? el('em', 'ex-missing', 'missing') : highlighted(D.outputs[j][i], shared));
      grid.append(col);
    });
    parts.push(grid);
    if (D.references) parts.push(el('p', 'ex-muted', 'Marked: words the output shares with a reference.'));
    parts.push(scoreTable(i));
    for (const k of D.byItem.get(i) || []) parts.push(judgeBlock(D.judge[k]));
    detail.replaceChildren(...parts);
    detail.hidden = false;
    detail.dataset.item = String(i);
    markOpenRow();
    detail.scrollIntoView({ block: 'start' });
    root.dataset.lastRenderMs = (performance.now() - started).toFixed(1);
  }

  // ---- clicks on the plots ---------------------------------------------------
  function pick(target) {
    const kind = target.getAttribute('data-pick');
    const metric = D.metrics.findIndex((m) => m.name === target.getAttribute('data-metric'));
    const system = D.systems.indexOf(target.getAttribute('data-system'));
    state.pick = null;
    if ((kind === 'score' || kind === 'delta' || kind === 'bin') && (metric < 0 || system < 0)) return false;
    if (kind === 'score' || kind === 'delta') {
      state.sort = kind === 'score' || system === D.base ? `score:${metric}:${system}` : `diff:${metric}:${system}`;
      state.dir = 'auto';
    } else if (kind === 'bin') {
      const lo = Number(target.getAttribute('data-lo')), width = Number(target.getAttribute('data-width'));
      const bin = Number(target.getAttribute('data-bin')), bins = Number(target.getAttribute('data-bins'));
      const values = D.scores[metric][system];
      state.pick = {
        label: `${D.metrics[metric].name} of ${D.systems[system]} in [${target.getAttribute('data-from')}, ${target.getAttribute('data-to')})`,
        test: (i) => values[i] !== null && Math.min(bins - 1, Math.floor((values[i] - lo) / width)) === bin,
      };
      state.sort = `score:${metric}:${system}`;
      state.dir = 'auto';
    } else if (kind === 'pair' || kind === 'pair-inconsistent') {
      const a = target.getAttribute('data-system-a'), b = target.getAttribute('data-system-b');
      const only = kind === 'pair-inconsistent';
      const match = (j) => ((j.systems[0] === a && j.systems[1] === b) || (j.systems[0] === b && j.systems[1] === a)) && (!only || j.consistent === false);
      state.pick = {
        label: `judge: ${a} vs ${b}` + (only ? ', verdict changed with the order' : ''),
        test: (i) => (D.byItem.get(i) || []).some((k) => match(D.judge[k])),
      };
    } else {
      return false;
    }
    state.page = 0;
    ui.sort.value = state.sort;
    ui.dir.value = state.dir;
    render();
    root.scrollIntoView({ block: 'start' });
    return true;
  }

  // ---- wiring ----------------------------------------------------------------
  function wire() {
    let timer = 0;
    ui.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.query = ui.search.value; state.page = 0; render(); }, 150);
    });
    ui.show.addEventListener('change', () => { state.show = ui.show.value; state.page = 0; render(); });
    ui.sort.addEventListener('change', () => { state.sort = ui.sort.value; state.page = 0; render(); });
    ui.dir.addEventListener('change', () => { state.dir = ui.dir.value; state.page = 0; render(); });
    ui.prev.addEventListener('click', () => { state.page -= 1; render(false); });
    ui.next.addEventListener('click', () => { state.page += 1; render(false); });
    ui.pickClear.addEventListener('click', () => { state.pick = null; state.page = 0; render(); });
    ui.reset.addEventListener('click', () => {
      Object.assign(state, { query: '', show: 'all', sort: 'item', dir: 'auto', pick: null, page: 0 });
      ui.search.value = ''; ui.show.value = 'all'; ui.sort.value = 'item'; ui.dir.value = 'auto';
      render();
    });
    ui.table.tBodies[0].addEventListener('click', (event) => {
      const tr = event.target.closest('tr[data-item]');
      if (tr) open(Number(tr.dataset.item));
    });
    ui.detail.addEventListener('click', (event) => {
      if (event.target.id === 'ex-close') {
        ui.detail.hidden = true;
        state.open = null;
        markOpenRow();
      }
    });
    document.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target.closest('[data-pick]') : null;
      if (target && pick(target)) event.preventDefault();
    });
  }

  async function main() {
    D = await decode($('explorer-data'));
    prepare(D);
    KEYS = sortKeys(D);
    SHOWS = showOptions(D);
    fillSelect(ui.sort, KEYS);
    fillSelect(ui.show, SHOWS);
    header();
    wire();
    render();
    root.dataset.state = 'ready';
    root.dataset.firstRenderMs = String(Math.round(performance.now()));
    idle(buildHaystack);
  }

  main().catch((error) => {
    ui.status.textContent = `The item explorer could not load its data: ${error}`;
    root.dataset.state = 'failed';
    console.error(error);
  });
})();
