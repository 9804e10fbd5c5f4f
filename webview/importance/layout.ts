// Geometry and colour scaling of the Importance view's charts (no DOM, unit-tested).

import type { HeatCell } from '../protocol';

export interface HeatLayout {
  cellW: number;
  cellH: number;
  width: number;
  height: number;
  /** x positions of the lines between B/C groups (numHeads/nGroups heads apart). */
  groupLines: number[];
  cells: { row: number; layer: number; x: number; y: number; cell: HeatCell; norm: number }[];
}

/** Scores scaled to [0, 1] within each layer (heads are compared within a layer; layers differ in scale). */
export function normaliseRow(cells: readonly HeatCell[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cells) {
    if (!Number.isFinite(c.score)) continue;
    lo = Math.min(lo, c.score);
    hi = Math.max(hi, c.score);
  }
  return cells.map((c) => (!Number.isFinite(c.score) ? 0 : hi > lo ? (c.score - lo) / (hi - lo) : 1));
}

export function heatLayout(rows: readonly { layer: number; cells: HeatCell[] }[], numHeads: number, nGroups: number, maxWidth: number, labelW = 34): HeatLayout {
  const cellW = Math.max(3, Math.min(32, Math.floor((maxWidth - labelW) / Math.max(1, numHeads))));
  const cellH = Math.max(6, Math.min(22, cellW));
  const perGroup = numHeads / nGroups;
  const groupLines: number[] = [];
  for (let g = 1; g < nGroups; g++) groupLines.push(labelW + g * perGroup * cellW);
  const cells: HeatLayout['cells'] = [];
  rows.forEach((r, row) => {
    const norm = normaliseRow(r.cells);
    r.cells.forEach((cell, i) => cells.push({ row, layer: r.layer, x: labelW + cell.head * cellW, y: row * cellH, cell, norm: norm[i]! }));
  });
  return { cellW, cellH, width: labelW + numHeads * cellW, height: rows.length * cellH, groupLines, cells };
}

/** Next focus index for arrow-key navigation in a grid of `cols` columns and `count` cells. */
export function gridStep(index: number, key: string, cols: number, count: number): number {
  const move: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -(index % cols), End: cols - 1 - (index % cols) };
  const d = move[key];
  if (d === undefined) return index;
  const next = index + d;
  return next < 0 || next >= count ? index : next;
}
