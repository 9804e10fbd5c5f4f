// The Importance view: for the focused model's latest calibration — the layer strip coloured by depth
// importance, the Mamba head heatmap with B/C group boundaries, FFN neuron score distributions,
// attention head scores and sorted embedding channels, each with the kept/cut line of the current
// targets. Every mark has a tooltip with exact values and is reachable from the keyboard.

import * as d3 from 'd3';
import { connect, post } from '../shared/host';
import { button, el, registerComponents } from '../shared/components';
import { formatScore, KIND_LABEL } from '../shared/format';
import type { ImportanceState } from '../protocol';
import { gridStep, heatLayout } from './layout';

registerComponents();
const app = document.getElementById('app')!;
const tooltip = el('div', 'tooltip');
tooltip.setAttribute('role', 'tooltip');
document.body.append(tooltip);

let last: ImportanceState | undefined;

connect('importance', (m) => {
  if (m.type !== 'importance/state') return;
  app.replaceChildren();
  last = undefined;
  if (m.state.kind === 'empty') {
    app.append(el('p', 'muted empty', m.state.message), button('Refresh', { onClick: () => post({ type: 'importance/refresh' }) }));
    return;
  }
  last = m.state.state;
  render(last);
});

// Charts are sized to the view: redraw when the sidebar is resized.
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
let lastWidth = window.innerWidth;
window.addEventListener('resize', () => {
  if (resizeTimer) clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!last || Math.abs(window.innerWidth - lastWidth) < 8) return;
    lastWidth = window.innerWidth;
    app.replaceChildren();
    render(last);
  }, 150);
});

function width(): number {
  return Math.max(200, app.clientWidth || document.body.clientWidth || 300) - 8;
}

function showTip(text: string, target: Element): void {
  tooltip.textContent = text;
  const r = target.getBoundingClientRect();
  tooltip.style.left = `${Math.min(window.innerWidth - 220, r.right + 6)}px`;
  tooltip.style.top = `${r.top + window.scrollY}px`;
  tooltip.classList.add('visible');
}
function hideTip(): void {
  tooltip.classList.remove('visible');
}

/** Hover and focus both show the tooltip; the same text is the mark's accessible name. */
function tip(sel: d3.Selection<any, any, any, any>, text: (d: any) => string): void {
  sel
    .attr('aria-label', text)
    .on('mouseenter focus', function (this: Element, _e: Event, d: any) {
      showTip(text(d), this);
    })
    .on('mouseleave blur', hideTip);
}

function section(title: string, note?: string): HTMLElement {
  const s = el('section', 'chart');
  s.append(el('h2', undefined, title));
  if (note) s.append(el('p', 'muted', note));
  app.append(s);
  return s;
}

function render(s: ImportanceState): void {
  const head = el('header', 'panel-header');
  head.append(el('h1', undefined, s.model.name), el('span', 'muted', `calibration ${s.run.id}${s.run.data ? ` · ${s.run.data.split(/[\\/]/).pop()}` : ''}`));
  app.append(head);
  if (s.planError) app.append(el('p', 'warning', `No cut line: ${s.planError}`));
  layerStrip(s);
  if (s.mamba) mambaHeatmap(s);
  if (s.mlp) ffnDistributions(s);
  if (s.attention) attentionHeads(s);
  if (s.embedding) embeddingChannels(s);
  app.append(button('Refresh', { onClick: () => post({ type: 'importance/refresh' }) }));
}

function layerStrip(s: ImportanceState): void {
  const sec = section('Layers', s.layers.some((l) => l.blockImportance !== undefined) ? 'Colour: depth (block) importance; outlined = dropped by the layer target.' : 'No depth scores in this calibration (run calibrate with --depth bi|kl).');
  const w = width();
  const n = s.layers.length;
  const cw = Math.max(4, Math.floor(w / n));
  const vals = s.layers.map((l) => l.kl ?? l.blockImportance).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const color = d3.scaleSequential(d3.interpolateViridis).domain([d3.min(vals) ?? 0, d3.max(vals) ?? 1]);
  const svg = d3.select(sec).append('svg').attr('class', 'layer-strip-chart').attr('width', cw * n).attr('height', 34).attr('role', 'group').attr('aria-label', `layer pattern ${s.model.pattern}`);
  const g = svg
    .selectAll('g')
    .data(s.layers)
    .join('g')
    .attr('transform', (_d, i) => `translate(${i * cw},0)`);
  const rects = g
    .append('rect')
    // With depth scores the fill is the score colour (a kind class would override the fill attribute); the letter below names the kind.
    .attr('class', (d) => `layer-cell${(d.kl ?? d.blockImportance) === undefined ? ` kind-${d.kind === 'M' ? 'mamba' : d.kind === '*' ? 'attention' : d.kind === '-' ? 'mlp' : 'moe'}` : ''}${d.kept ? '' : ' dropped'}`)
    .attr('width', cw - 1)
    .attr('height', 20)
    .attr('tabindex', 0)
    .attr('role', 'img');
  rects.filter((d) => (d.kl ?? d.blockImportance) !== undefined).attr('fill', (d) => color((d.kl ?? d.blockImportance)!));
  tip(rects, (d) => `layer ${d.index}: ${KIND_LABEL[d.kind]}${d.blockImportance !== undefined ? ` · block importance ${formatScore(d.blockImportance)}` : ''}${d.kl !== undefined ? ` · KL ${formatScore(d.kl)}` : ''}${d.kept ? '' : ' · dropped'}`);
  g.append('text').attr('class', 'kind-label').attr('x', (cw - 1) / 2).attr('y', 32).attr('text-anchor', 'middle').text((d) => (cw >= 10 ? d.kind : ''));
}

function mambaHeatmap(s: ImportanceState): void {
  const m = s.mamba!;
  const sec = section('Mamba heads', `Head scores per layer (row) and head (column), scaled within each layer; lines separate the ${m.nGroups} B/C groups. Dimmed = cut at ${m.keepHeads} of ${m.numHeads} heads (${m.keepHeads / m.nGroups} per group).`);
  const L = heatLayout(m.rows, m.numHeads, m.nGroups, width());
  const svg = d3.select(sec).append('svg').attr('class', 'heatmap').attr('width', L.width).attr('height', L.height + 14).attr('role', 'grid').attr('aria-label', 'Mamba head importance heatmap');
  svg
    .selectAll('text.row-label')
    .data(m.rows)
    .join('text')
    .attr('class', 'row-label')
    .attr('x', 0)
    .attr('y', (_d, i) => i * L.cellH + L.cellH - 2)
    .text((d) => `L${d.layer}`);
  const color = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]);
  const cells = svg
    .append('g')
    .selectAll('rect')
    .data(L.cells)
    .join('rect')
    .attr('class', (d) => `heat-cell${d.cell.kept ? ' kept' : ' cut'}`)
    .attr('x', (d) => d.x)
    .attr('y', (d) => d.y)
    .attr('width', L.cellW - 1)
    .attr('height', L.cellH - 1)
    .attr('role', 'gridcell')
    .attr('tabindex', (_d, i) => (i === 0 ? 0 : -1))
    .attr('fill', (d) => color(d.norm));
  tip(cells, (d) => `layer ${d.layer} · head ${d.cell.head} (group ${d.cell.group}) · score ${formatScore(d.cell.score)} · ${d.cell.kept ? 'kept' : 'cut'}`);
  // Roving tabindex: one Tab stop for the grid, arrows move within it.
  const nodes = cells.nodes() as SVGRectElement[];
  cells.on('keydown', function (e: KeyboardEvent) {
    const i = nodes.indexOf(this as SVGRectElement);
    const j = gridStep(i, e.key, m.numHeads, nodes.length);
    if (j !== i) {
      e.preventDefault();
      nodes[i]!.setAttribute('tabindex', '-1');
      nodes[j]!.setAttribute('tabindex', '0');
      (nodes[j] as unknown as HTMLElement).focus();
    }
  });
  svg
    .selectAll('line.group-line')
    .data(L.groupLines)
    .join('line')
    .attr('class', 'group-line')
    .attr('x1', (d) => d - 0.5)
    .attr('x2', (d) => d - 0.5)
    .attr('y1', 0)
    .attr('y2', L.height);
  svg.append('text').attr('class', 'axis-label').attr('x', L.width / 2).attr('y', L.height + 12).attr('text-anchor', 'middle').text('head index');
}

function ffnDistributions(s: ImportanceState): void {
  const f = s.mlp!;
  const sec = section('FFN neurons', `Distribution of neuron scores per MLP layer; the dashed line is the cut for ${f.keep} of ${f.size} neurons (neurons left of it are pruned).`);
  const w = Math.min(width(), 420);
  // Room below the axis for its tick labels (they were cut off at the SVG's edge).
  const h = 66;
  const axisY = h - 20;
  for (const row of f.rows) {
    const x = d3.scaleLinear().domain([row.min, row.max === row.min ? row.min + 1 : row.max]).range([30, w - 6]);
    const y = d3.scaleLinear().domain([0, d3.max(row.bins, (b) => b.count) ?? 1]).range([axisY, 4]);
    const svg = d3.select(sec).append('svg').attr('class', 'ffn-hist').attr('width', w).attr('height', h).attr('role', 'group').attr('aria-label', `layer ${row.layer} FFN score distribution`);
    svg.append('text').attr('class', 'row-label').attr('x', 0).attr('y', h / 2).text(`L${row.layer}`);
    const bars = svg
      .selectAll('rect')
      .data(row.bins)
      .join('rect')
      .attr('class', (b) => `bar${b.hi <= row.threshold && f.keep < f.size ? ' cut' : ''}`)
      .attr('x', (b) => x(b.lo))
      .attr('width', (b) => Math.max(1, x(b.hi) - x(b.lo) - 1))
      .attr('y', (b) => y(b.count))
      .attr('height', (b) => y(0) - y(b.count))
      .attr('tabindex', 0)
      .attr('role', 'img');
    tip(bars, (b) => `layer ${row.layer}: ${b.count} neurons with score ${formatScore(b.lo)}–${formatScore(b.hi)}`);
    if (f.keep < f.size && Number.isFinite(row.threshold)) {
      const cut = svg.append('line').attr('class', 'cut-line').attr('x1', x(row.threshold)).attr('x2', x(row.threshold)).attr('y1', 2).attr('y2', axisY).attr('tabindex', 0).attr('role', 'img');
      tip(cut, () => `layer ${row.layer}: lowest kept score ${formatScore(row.threshold)}`);
    }
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${axisY})`).call(d3.axisBottom(x).ticks(4, '~g'));
  }
}

function attentionHeads(s: ImportanceState): void {
  const a = s.attention!;
  const sec = section('Attention heads', `Query-head scores; heads are kept within their KV group (${a.numKvHeads} groups). Grey = cut at ${a.keep} heads.`);
  const w = Math.min(width(), 420);
  const h = 56;
  for (const row of a.rows) {
    const n = row.heads.length;
    const x = d3.scaleBand<number>().domain(row.heads.map((d) => d.head)).range([30, w - 6]).padding(0.1);
    const y = d3.scaleLinear().domain([0, d3.max(row.heads, (d) => d.score) ?? 1]).range([h - 4, 4]);
    const svg = d3.select(sec).append('svg').attr('class', 'attn-heads').attr('width', w).attr('height', h).attr('role', 'group').attr('aria-label', `layer ${row.layer} attention head scores`);
    svg.append('text').attr('class', 'row-label').attr('x', 0).attr('y', h / 2).text(`L${row.layer}`);
    const bars = svg
      .selectAll('rect')
      .data(row.heads)
      .join('rect')
      .attr('class', (d) => `bar${d.kept ? '' : ' cut'}`)
      .attr('x', (d) => x(d.head)!)
      .attr('width', x.bandwidth())
      .attr('y', (d) => y(Math.max(0, d.score)))
      .attr('height', (d) => y(0) - y(Math.max(0, d.score)))
      .attr('tabindex', 0)
      .attr('role', 'img');
    tip(bars, (d) => `layer ${row.layer} · head ${d.head} (KV group ${Math.floor(d.head / (n / a.numKvHeads))}) · score ${formatScore(d.score)} · ${d.kept ? 'kept' : 'cut'}`);
    for (let g = 1; g < a.numKvHeads; g++) {
      const xh = x(g * (n / a.numKvHeads))! - (x.step() * x.paddingInner()) / 2;
      svg.append('line').attr('class', 'group-line').attr('x1', xh).attr('x2', xh).attr('y1', 0).attr('y2', h);
    }
  }
}

function embeddingChannels(s: ImportanceState): void {
  const e = s.embedding!;
  const sec = section('Embedding channels', `Hidden channels sorted by score; the dashed line keeps the best ${e.keep} of ${e.size}.`);
  const w = Math.min(width(), 420);
  // Margins that hold the axes' labels: 44 px left for y ticks like "1.5e+1", 22 px below for x ticks, 10 px on top.
  const h = 132;
  const left = 44;
  const axisY = h - 22;
  const x = d3.scaleLinear().domain([0, e.size - 1 || 1]).range([left, w - 8]);
  const y = d3.scaleLinear().domain([0, d3.max(e.sorted, (d) => d.score) ?? 1]).nice().range([axisY, 10]);
  const svg = d3.select(sec).append('svg').attr('class', 'embedding-chart').attr('width', w).attr('height', h).attr('role', 'group').attr('aria-label', 'embedding channel scores, sorted');
  svg
    .append('path')
    .datum(e.sorted)
    .attr('class', 'series-line')
    .attr('d', d3.line<{ rank: number; score: number }>().x((d) => x(d.rank)).y((d) => y(d.score)));
  const pts = svg
    .selectAll('circle')
    .data(e.sorted.filter((_d, i) => i % Math.max(1, Math.floor(e.sorted.length / 48)) === 0))
    .join('circle')
    .attr('class', (d) => `point${d.rank < e.keep ? '' : ' cut'}`)
    .attr('cx', (d) => x(d.rank))
    .attr('cy', (d) => y(d.score))
    .attr('r', 2.5)
    .attr('tabindex', 0)
    .attr('role', 'img');
  tip(pts, (d) => `rank ${d.rank} · channel ${d.channel} · score ${formatScore(d.score)} · ${d.rank < e.keep ? 'kept' : 'cut'}`);
  if (e.keep < e.size) svg.append('line').attr('class', 'cut-line').attr('x1', x(e.keep - 0.5)).attr('x2', x(e.keep - 0.5)).attr('y1', 8).attr('y2', axisY);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${axisY})`).call(d3.axisBottom(x).ticks(5));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${left},0)`).call(d3.axisLeft(y).ticks(4, '~g'));
}
