// Live loss curves: one d3 line chart per group (losses, learning rate, others) against step, with a
// log-scale toggle, a smoothing slider, a hover crosshair with exact values, and SVG/PNG export.
// Live updates append to the existing paths and axes (no rebuild of the SVG), at most once per frame.

import * as d3 from 'd3';
import { connect, post, setState, getState } from '../shared/host';
import { badge, button, checkbox, el, registerComponents } from '../shared/components';
import { formatScore } from '../shared/format';
import type { MetricPoint, CurvesState } from '../protocol';
import { appendSeries, groupCharts, nearestIndex, smooth, thin, toSeries, yDomain, type ChartGroup, type Series } from './series';

registerComponents();
const app = document.getElementById('app')!;
const MAX_DRAWN = 2000;
const M = { top: 8, right: 12, bottom: 22, left: 52 };

interface ViewState {
  key?: string;
  log?: boolean;
  smoothing?: number;
}
const view: ViewState = { log: false, smoothing: 0.6, ...getState<ViewState>() };

let key: string | undefined;
let points = 0;
let status: CurvesState['status'] = 'following';
let series = new Map<string, Series>();
let charts = new Map<string, Chart>();
let chartsEl: HTMLElement;
let statusEl: HTMLElement;
let countEl: HTMLElement;
let pending = false;

interface Chart {
  group: ChartGroup;
  svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  plot: d3.Selection<SVGGElement, unknown, null, undefined>;
  xAxis: d3.Selection<SVGGElement, unknown, null, undefined>;
  yAxis: d3.Selection<SVGGElement, unknown, null, undefined>;
  cross: d3.Selection<SVGLineElement, unknown, null, undefined>;
  tip: HTMLElement;
  width: number;
  height: number;
  x: d3.ScaleLinear<number, number>;
  y: d3.ScaleLinear<number, number> | d3.ScaleLogarithmic<number, number>;
}

connect('curves', (m) => {
  if (m.type === 'curves/state') {
    key = m.state.key;
    view.key = key;
    setState(view);
    status = m.state.status;
    series = toSeries(m.state.points);
    points = m.state.points.length;
    build(m.state);
  } else if (m.type === 'curves/append') {
    if (m.key !== key) return;
    if (m.from !== points) {
      // Missed an update (the page was hidden): ask for a full snapshot.
      post({ type: 'curves/resync', key: m.key });
      return;
    }
    status = m.status;
    append(m.points);
  }
});

function build(s: CurvesState): void {
  app.replaceChildren();
  const head = el('header', 'panel-header');
  head.append(el('h1', undefined, s.title));
  statusEl = badge(status);
  statusEl.id = 'curve-status';
  countEl = el('span', 'muted', '');
  countEl.id = 'point-count';
  head.append(statusEl, countEl);
  const controls = el('div', 'row controls');
  controls.append(
    checkbox('Log scale', view.log === true, (v) => {
      view.log = v;
      setState(view);
      redrawAll();
    }, 'log-scale'),
  );
  const smoothLabel = el('label', undefined, 'Smoothing');
  const slider = el('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '0.99';
  slider.step = '0.01';
  slider.value = String(view.smoothing ?? 0);
  slider.id = 'smoothing';
  smoothLabel.htmlFor = 'smoothing';
  const smoothOut = el('output', undefined, Number(slider.value).toFixed(2));
  slider.addEventListener('input', () => {
    view.smoothing = Number(slider.value);
    smoothOut.textContent = view.smoothing.toFixed(2);
    setState(view);
    redrawAll();
  });
  controls.append(smoothLabel, slider, smoothOut, button('Export SVG', { onClick: () => exportAs('svg') }), button('Export PNG', { onClick: () => exportAs('png') }));
  app.append(head, el('p', 'muted source', s.source), controls);
  chartsEl = el('div', 'charts');
  app.append(chartsEl);
  charts = new Map();
  ensureCharts();
  redrawAll();
}

// Charts are sized to the panel: rebuild them (from the series held here) when it is resized.
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
let lastWidth = window.innerWidth;
window.addEventListener('resize', () => {
  if (resizeTimer) clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!chartsEl || Math.abs(window.innerWidth - lastWidth) < 8) return;
    lastWidth = window.innerWidth;
    chartsEl.replaceChildren();
    charts = new Map();
    ensureCharts();
    redrawAll();
  }, 150);
});

function ensureCharts(): void {
  const groups = groupCharts(series.keys());
  if (groups.length === 0 && chartsEl.childElementCount === 0) {
    chartsEl.append(el('p', 'muted empty', 'Waiting for the first metric points…'));
    return;
  }
  for (const g of groups) {
    const existing = charts.get(g.id);
    if (existing) {
      existing.group = g;
      continue;
    }
    chartsEl.querySelector('.empty')?.remove();
    charts.set(g.id, makeChart(g));
  }
}

function makeChart(group: ChartGroup): Chart {
  const box = el('section', 'chart curve-chart');
  box.append(el('h2', undefined, group.title));
  chartsEl.append(box);
  const width = Math.max(280, Math.min(900, (chartsEl.clientWidth || 600) - 8));
  const height = 200;
  const svg = d3.select(box).append('svg').attr('class', 'curve').attr('data-chart', group.id).attr('width', width).attr('height', height).attr('role', 'img').attr('aria-label', `${group.title} against step`);
  const plot = svg.append('g').attr('transform', `translate(${M.left},${M.top})`);
  const xAxis = plot.append('g').attr('class', 'axis x').attr('transform', `translate(0,${height - M.top - M.bottom})`);
  const yAxis = plot.append('g').attr('class', 'axis y');
  const cross = plot.append('line').attr('class', 'crosshair').attr('y1', 0).attr('y2', height - M.top - M.bottom).style('display', 'none');
  const tip = el('div', 'tooltip');
  box.append(tip);
  const chart: Chart = { group, svg, plot, xAxis, yAxis, cross, tip, width, height, x: d3.scaleLinear(), y: d3.scaleLinear() };
  // Crosshair: nearest step under the pointer, values of every series of the chart at that step.
  svg
    .append('rect')
    .attr('class', 'hover-target')
    .attr('x', M.left)
    .attr('y', M.top)
    .attr('width', width - M.left - M.right)
    .attr('height', height - M.top - M.bottom)
    .attr('fill', 'transparent')
    .on('mousemove', (e: MouseEvent) => hover(chart, d3.pointer(e, plot.node())[0]))
    .on('mouseleave', () => {
      cross.style('display', 'none');
      tip.classList.remove('visible');
    });
  return chart;
}

function hover(c: Chart, px: number): void {
  const step = c.x.invert(px);
  const lines: string[] = [];
  let at: number | undefined;
  for (const name of c.group.series) {
    const s = series.get(name);
    if (!s) continue;
    const i = nearestIndex(s.steps, step);
    if (i < 0) continue;
    at ??= s.steps[i]!;
    const sm = smooth(s.values, view.smoothing ?? 0);
    lines.push(`${name}: ${formatScore(s.values[i]!)}${(view.smoothing ?? 0) > 0 ? ` (smoothed ${formatScore(sm[i]!)})` : ''}`);
  }
  if (at === undefined) return;
  c.cross.style('display', null).attr('x1', c.x(at)).attr('x2', c.x(at));
  c.tip.textContent = [`step ${at}`, ...lines].join('\n');
  c.tip.style.left = `${Math.min(c.width - 160, c.x(at) + M.left + 8)}px`;
  c.tip.classList.add('visible');
}

function append(pts: MetricPoint[]): void {
  if (pts.length === 0) {
    statusEl.textContent = status;
    return;
  }
  appendSeries(series, pts);
  points += pts.length;
  if (!pending) {
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      ensureCharts();
      redrawAll();
    });
  }
}

function redrawAll(): void {
  statusEl.textContent = status;
  countEl.textContent = `${points} points`;
  countEl.dataset['points'] = String(points);
  for (const c of charts.values()) redraw(c);
}

function redraw(c: Chart): void {
  const w = c.width - M.left - M.right;
  const h = c.height - M.top - M.bottom;
  const log = view.log === true;
  const drawn = c.group.series.map((name) => series.get(name)).filter((s): s is Series => s !== undefined);
  const smoothed = drawn.map((s) => smooth(s.values, view.smoothing ?? 0));
  const steps = drawn.flatMap((s) => [s.steps[0]!, s.steps[s.steps.length - 1]!]).filter((v) => v !== undefined);
  const x = d3.scaleLinear().domain([d3.min(steps) ?? 0, Math.max((d3.max(steps) ?? 1), (d3.min(steps) ?? 0) + 1)]).range([0, w]);
  const dom = yDomain(smoothed.flat().concat(drawn.flatMap((s) => s.values)), log);
  const y = (log ? d3.scaleLog() : d3.scaleLinear()).domain(dom ?? [1, 10]).range([h, 0]);
  c.x = x;
  c.y = y;
  c.xAxis.call(d3.axisBottom(x).ticks(6));
  c.yAxis.call(d3.axisLeft(y as d3.AxisScale<number>).ticks(5, log ? '~g' : undefined));
  const line = d3
    .line<[number, number]>()
    .defined((d) => Number.isFinite(d[1]) && (!log || d[1] > 0))
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  const data = drawn.map((s, k) => {
    const idx = thin(smoothed[k]!, MAX_DRAWN);
    return { s, pts: idx.map((i) => [s.steps[i]!, smoothed[k]![i]!] as [number, number]) };
  });
  // Keyed join: existing paths are updated in place, new series get a path.
  c.plot
    .selectAll<SVGPathElement, (typeof data)[number]>('path.series-line')
    .data(data, (d) => d.s.name)
    .join((enter) => enter.append('path').attr('class', (_d, i) => `series-line series-${i % 6}`))
    .attr('data-series', (d) => d.s.name)
    .attr('data-count', (d) => d.s.values.length)
    .attr('d', (d) => line(d.pts) ?? '');
  // Legend.
  c.plot
    .selectAll<SVGTextElement, (typeof data)[number]>('text.legend')
    .data(data, (d) => d.s.name)
    .join((enter) => enter.append('text').attr('class', (_d, i) => `legend series-${i % 6}`))
    .attr('x', w - 4)
    .attr('y', (_d, i) => 12 + i * 13)
    .attr('text-anchor', 'end')
    .text((d) => `${d.s.name} ${formatScore(d.s.values[d.s.values.length - 1]!)}`);
}

/** The charts as one standalone SVG, with theme colours resolved (CSS variables do not survive export). */
function exportSvg(): { text: string; width: number; height: number } {
  const svgs = Array.from(chartsEl.querySelectorAll('svg.curve')) as SVGSVGElement[];
  const width = Math.max(...svgs.map((s) => s.width.baseVal.value), 1);
  const height = svgs.reduce((a, s) => a + s.height.baseVal.value, 0);
  const ns = 'http://www.w3.org/2000/svg';
  const out = document.createElementNS(ns, 'svg');
  out.setAttribute('xmlns', ns);
  out.setAttribute('width', String(width));
  out.setAttribute('height', String(height));
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', getComputedStyle(document.body).backgroundColor);
  out.append(bg);
  let y = 0;
  for (const s of svgs) {
    const g = document.createElementNS(ns, 'g');
    g.setAttribute('transform', `translate(0,${y})`);
    const clone = s.cloneNode(true) as SVGSVGElement;
    // Copy computed paint onto the clone, element by element.
    const src = [s, ...Array.from(s.querySelectorAll('*'))];
    const dst = [clone, ...Array.from(clone.querySelectorAll('*'))];
    src.forEach((node, i) => {
      const cs = getComputedStyle(node as Element);
      const d = dst[i] as SVGElement;
      for (const p of ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'opacity', 'font-size', 'font-family']) d.setAttribute(p, cs.getPropertyValue(p));
    });
    clone.querySelector('.hover-target')?.remove();
    g.append(...Array.from(clone.childNodes));
    out.append(g);
    y += s.height.baseVal.value;
  }
  return { text: new XMLSerializer().serializeToString(out), width, height };
}

function exportAs(format: 'svg' | 'png'): void {
  if (!key) return;
  const svg = exportSvg();
  if (format === 'svg') {
    post({ type: 'curves/export', key, format, data: svg.text });
    return;
  }
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = svg.width * 2;
    canvas.height = svg.height * 2;
    const ctx = canvas.getContext('2d')!;
    ctx.scale(2, 2);
    ctx.drawImage(img, 0, 0);
    post({ type: 'curves/export', key: key!, format, data: canvas.toDataURL('image/png') });
  };
  img.onerror = () => post({ type: 'log', level: 'error', text: 'PNG export: the SVG could not be rasterised' });
  img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg.text)))}`;
}
