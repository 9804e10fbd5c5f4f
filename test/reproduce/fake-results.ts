// Made-up results in which every claim of the paper holds, for the report tests to perturb.

import type { Results } from '../../scripts/reproduce/results';
import { FULL } from '../../scripts/reproduce/settings';

export function fakeResults(): Results {
  return {
    meta: {
      command: 'npm run reproduce',
      date: '2025-01-01',
      teacher: 'examples/teacher',
      teacherDesc: 'nemotron_h, pattern `M-M*M-M-`',
      teacherParams: 1_000_000,
      fingerprint: 'abc-def',
      code: { commit: '1234abc', dirty: false, hash: 'feedbeef' },
      data: { train: 'examples/data/train.txt', val: 'examples/data/val.txt' },
      machine: { cpu: 'Test CPU', cores: 2, threads: 'default threads', node: '20.0.0', ort: '1.30.0', usage: { cpuPerWall: 1.9, loadMedian: 2.0, loadMax: 2.2 } },
      quick: false,
      settings: FULL,
      calibration: { rows: 64, tokens: 16384, depthRows: 64, seconds: 12 },
      totalSeconds: 1800,
      sectionSeconds: { 'Mamba heads: group-aware vs global ranking': 600 },
      reused: 0,
      measured: 70,
      unigramLoss: 6.86,
    },
    teacher: { loss: 4.0, params: 1_000_000, tokensPerS: 5000 },
    groupAware: [
      { heads: '16→12 (3 per group)', params: 930_000, group: { zs: 4.3, kd: 4.1, misgrouped: 0 }, global: { zs: 4.6, kd: 4.2, misgrouped: 9, kept: 48 } },
      { heads: '16→8 (2 per group)', params: 860_000, group: { zs: 4.9, kd: 4.3, misgrouped: 0 }, global: { zs: 5.4, kd: 4.5, misgrouped: 11, kept: 32 } },
    ],
    headsVsChannels: [
      { cut: '25.0 % (512→384)', heads: { config: '12 heads × 32', params: 930_000, zs: 4.3, kd: 4.1 }, channels: { config: '16 heads × 24', params: 931_000, zs: 4.5, kd: 4.15 } },
      { cut: '50.0 % (512→256)', heads: { config: '8 heads × 32', params: 860_000, zs: 4.9, kd: 4.3 }, channels: { config: '16 heads × 16', params: 861_000, zs: 5.2, kd: 4.4 } },
    ],
    metrics: [
      { axis: 'Mamba heads', config: '16→12', params: 930_000, activation: 4.3, flap: 4.5, random: [4.7, 4.8, 4.9] },
      { axis: 'FFN neurons', config: '1024→768', params: 930_000, activation: 4.2, flap: 4.15, random: [4.5, 4.6, 4.4] },
      { axis: 'Attention heads', config: '8→4', params: 980_000, activation: 4.1, random: [4.3, 4.2, 4.25] },
    ],
    ffnTap: [{ config: '1024→768', params: 930_000, post: 4.2, pre: 4.3 }],
    widthDepth: {
      search: {
        budget: 540_000,
        lower: 513_000,
        depthKept: [0, 1],
        gridSize: 900,
        candidates: 60,
        byKind: { width: 5, depth: 1, mixed: 54 },
        gridSteps: 'hidden-size=16,ffn-hidden-size=128,mamba-head-dim=8',
        widthLimits: 'hidden-size=25%,ffn-hidden-size=54%,mamba-num-heads=50%,mamba-head-dim=50%,num-attention-heads=0%',
        depthLimit: 0.75,
        rows: { count: 64, seqLen: 256 },
        kdSteps: 30,
        kdLr: 1e-3,
        topK: 12,
        seconds: 100,
      },
      rows: [
        { name: 'width-only', config: 'hidden 256→144', params: 535_000, layers: 4, searchLoss: 5.9, searchRank: 1, shortKd: 5.0, inTopK: true, zs: 6.0, kd: 4.6, tokensPerS: 9000 },
        { name: 'depth-only', config: 'layers 4→2', params: 540_000, layers: 2, searchLoss: 7.4, searchRank: 50, shortKd: 5.8, inTopK: false, zs: 7.5, kd: 5.4, tokensPerS: 12000 },
        { name: 'mixed', config: 'hidden 256→160, layers 4→3', params: 530_000, layers: 3, searchLoss: 6.2, searchRank: 3, shortKd: 5.1, inTopK: true, zs: 6.3, kd: 4.7, tokensPerS: 9500 },
      ],
      depthNote: 'Depth note.',
    },
    kdVsCe: {
      config: 'hidden 256→144',
      params: 505_000,
      zeroShot: 6.0,
      kd: { loss: 4.6, firstTrainLoss: 2.0, lastTrainLoss: 0.6 },
      ce: { loss: 4.8, firstTrainLoss: 6.0, lastTrainLoss: 4.9 },
      msPerStep: { kd: 700, ce: 450 },
    },
    depth: {
      layers: [
        { index: 0, kind: 'M', bi: 0.5, kl: 2.0, dropLoss: 6.0 },
        { index: 1, kind: '-', bi: 0.2, kl: 0.5, dropLoss: 4.5 },
        { index: 2, kind: '*', bi: 0.3, kl: 0.1, dropLoss: 4.1 },
        { index: 3, kind: '-', bi: 0.1, kl: 1.0, dropLoss: 5.0 },
      ],
      drops: [
        { metric: 'BI', which: 'top-ranked', layers: [0], loss: 6.0 },
        { metric: 'BI', which: 'bottom-ranked', layers: [3], loss: 5.0 },
        { metric: 'KL', which: 'top-ranked', layers: [0], loss: 6.0 },
        { metric: 'KL', which: 'bottom-ranked', layers: [2], loss: 4.1 },
        { metric: 'BI', which: 'top-ranked', layers: [0, 2], loss: 6.5 },
        { metric: 'BI', which: 'bottom-ranked', layers: [1, 3], loss: 5.5 },
        { metric: 'KL', which: 'top-ranked', layers: [0, 3], loss: 7.0 },
        { metric: 'KL', which: 'bottom-ranked', layers: [1, 2], loss: 4.6 },
      ],
    },
  };
}
