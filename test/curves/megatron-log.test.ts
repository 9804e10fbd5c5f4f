import { test } from 'node:test';
import { seriesOf } from '../../src/core/runs/metric-point';
import assert from 'node:assert/strict';
import { MegatronLogParser, parseMegatronLine } from '../../src/core/curves/megatron-log';
import { megatronBridgeTrainLine, megatronLmTrainLine, pyE, validationLines, type TrainFields } from './helpers/megatron-lines';

// Verbatim-format lines (as the two code bases print them; see helpers/megatron-lines.ts).
const LM_KD_LINE =
  ' [2026-08-22 10:01:02.123456] iteration      100/   16000 | consumed samples:        76800 | elapsed time per iteration (ms): 12345.6 | throughput per GPU (TFLOP/s/GPU): 412.3 | learning rate: 9.999000E-05 | global batch size:   768 | lm loss: 0.000000E+00 | total loss: 1.234567E+00 | logits distillation loss: 1.234567E+00 | loss scale: 1.0 | grad norm: 0.532 | number of skipped iterations:   0 | number of nan iterations:   0 |';
const BRIDGE_LINE =
  ' [2026-08-22 10:01:02] iteration       10/    1000 | consumed samples:         7680 | elapsed time per iteration (ms): 9876.5 | learning rate: 2.000000E-05 | global batch size:   768 | lm loss: 3.210000E+00 | loss scale: 1.0 | grad norm: 1.234 | num zeros: 0 | params norm: 345.678 | max attention logit: 12.345 | number of skipped iterations:   0 | number of nan iterations:   0 |';

test('Megatron-LM KD training line (microsecond timestamp): every field, distillation keys, local names', () => {
  const [p] = new MegatronLogParser().push(LM_KD_LINE + '\n');
  assert.ok(p);
  assert.equal(p.step, 100);
  const line = parseMegatronLine(LM_KD_LINE);
  assert.equal(line?.kind === 'train' ? line.time : undefined, Date.UTC(2026, 7, 22, 10, 1, 2) + 123.456);
  assert.deepEqual(Object.fromEntries(seriesOf(p)), {
    consumed_samples: 76800,
    iter_ms: 12345.6,
    tflops_per_gpu: 412.3,
    lr: 9.999e-5,
    global_batch_size: 768,
    ce_loss: 0,
    loss: 1.234567,
    kd_loss: 1.234567,
    loss_scale: 1,
    grad_norm: 0.532,
    skipped_iterations: 0,
    nan_iterations: 0,
  });
});

test('Megatron-Bridge training line (whole-second timestamp): plain training maps lm loss to loss and ce_loss', () => {
  const parser = new MegatronLogParser({ seqLength: 4096 });
  const [p] = parser.push(BRIDGE_LINE + '\n');
  assert.ok(p);
  assert.equal(p.step, 10);
  const line = parseMegatronLine(BRIDGE_LINE);
  assert.equal(line?.kind === 'train' ? line.time : undefined, Date.UTC(2026, 7, 22, 10, 1, 2));
  assert.equal(parser.trainIters, 1000);
  assert.equal(p['loss'], 3.21);
  assert.equal(p['ce_loss'], 3.21);
  assert.equal(p['params_norm'], 345.678);
  assert.equal(p['max_attention_logit'], 12.345);
  assert.equal(p['num_zeros'], 0);
  assert.equal(p['tokens_per_s'], (768 * 4096) / 9.8765);
});

test('any "<name> loss" key is kept (MoE aux losses, intermediate distillation loss)', () => {
  const line = megatronLmTrainLine({
    timeMs: Date.UTC(2026, 0, 5, 0, 0, 0),
    iteration: 7,
    trainIters: 10,
    consumed: 56,
    iterMs: 10,
    gbs: 8,
    losses: [['lm loss', 2], ['total loss', 1.5], ['logits distillation loss', 1.25], ['intermediate distillation loss', 0.25], ['load_balancing_loss', 0.0125], ['mtp_1 loss', 3.5]],
    lossScale: 1,
  });
  const [p] = new MegatronLogParser().push(line + '\n');
  assert.equal(p!['intermediate_kd_loss'], 0.25);
  assert.equal(p!['load_balancing_loss'], 0.0125);
  assert.equal(p!['mtp_1_loss'], 3.5);
  assert.equal(p!['loss'], 1.5, 'total loss is the objective when present');
  assert.equal(p!['ce_loss'], 2);
  assert.equal(p!['lr'], undefined, 'Megatron-LM omits the learning rate when it is None');
});

test('validation lines: lm loss → val_loss / val_ppl, other keys, named sets, test set, end-of-training prefix', () => {
  const parser = new MegatronLogParser();
  const text = [
    ...validationLines('iteration 100', [['lm loss', 2.5], ['logits distillation loss', 0.75]]),
    ...validationLines('iteration 200', [['lm loss', 2.25]], '-wiki'),
    ...validationLines('iteration 1000 on validation set', [['lm loss', 2]]),
    ...validationLines('iteration 1000 on test set', [['lm loss', 2.125]]),
  ].join('\n') + '\n';
  const pts = parser.push(text);
  assert.deepEqual(
    pts.map((p) => [p.step, Object.fromEntries(seriesOf(p))]),
    [
      [100, { val_loss: 2.5, val_ppl: Number(pyE(Math.exp(2.5))), val_kd_loss: 0.75, val_kd_loss_ppl: Number(pyE(Math.exp(0.75))) }],
      [200, { val_wiki_loss: 2.25, val_wiki_ppl: Number(pyE(Math.exp(2.25))) }],
      [1000, { val_loss: 2, val_ppl: Number(pyE(Math.exp(2))) }],
      [1000, { test_loss: 2.125, test_ppl: Number(pyE(Math.exp(2.125))) }],
    ],
  );
});

test('unknown lines are ignored, including ones that mention iterations', () => {
  const noise = [
    'using world size: 8, data-parallel size: 8, context-parallel size: 1',
    ' saving checkpoint at iteration     100 to /ckpt in torch_dist format',
    '[after training is done] datetime: 2026-08-22 12:00:00',
    ' exiting program at iteration 1000',
    '(min, max) time across ranks (ms):',
    '    forward-backward ...............................: (1234.56, 1240.12)',
    ' iteration abc/def |',
    '',
  ];
  const parser = new MegatronLogParser();
  assert.deepEqual(parser.push(noise.join('\n') + '\n'), []);
  assert.equal(parser.linesSeen, noise.length);
  assert.equal(parser.linesMatched, 0);
});

test('launcher prefixes and CRLF line ends do not hide a line', () => {
  const pts = new MegatronLogParser().push(`[default7]:${BRIDGE_LINE}\r\n0: ${LM_KD_LINE}\r\n`);
  assert.deepEqual(pts.map((p) => p.step), [10, 100]);
});

test('a truncated last line is completed by the next read; flush only accepts a complete line', () => {
  const parser = new MegatronLogParser();
  const cut = LM_KD_LINE.indexOf('1.234567E+00') + 5; // inside a number: "1.234" would be wrong
  assert.deepEqual(parser.push(BRIDGE_LINE + '\n' + LM_KD_LINE.slice(0, cut)).map((p) => p.step), [10]);
  const [p] = parser.push(LM_KD_LINE.slice(cut) + '\n');
  assert.equal(p!['loss'], 1.234567);

  const p2 = new MegatronLogParser();
  p2.push(LM_KD_LINE.slice(0, cut));
  assert.deepEqual(p2.flush(), [], 'a half-written line is not parsed at end of stream');
  const p3 = new MegatronLogParser();
  p3.push(LM_KD_LINE);
  assert.equal(p3.flush().length, 1, 'a complete unterminated last line is');
});

test('a whole synthetic run parses identically in one piece and byte by byte', () => {
  const lines: string[] = [];
  const t0 = Date.UTC(2026, 2, 1, 8, 0, 0);
  const expected: { step: number; loss: number }[] = [];
  for (let it = 10; it <= 300; it += 10) {
    const f: TrainFields = { timeMs: t0 + it * 1500, iteration: it, trainIters: 300, consumed: it * 768, iterMs: 1500 + (it % 7), lr: 1e-4 * Math.min(1, it / 50), gbs: 768, losses: [['lm loss', 5 / Math.sqrt(it)]], lossScale: 1, gradNorm: 1 / it };
    // Alternate the two formats, as a log that moved from one stack to the other would.
    lines.push(it % 20 === 0 ? megatronLmTrainLine(f) : megatronBridgeTrainLine(f));
    expected.push({ step: it, loss: Number(pyE(5 / Math.sqrt(it))) });
    if (it % 100 === 0) lines.push(...validationLines(`iteration ${it}`, [['lm loss', 4 / Math.sqrt(it)]]));
  }
  const text = lines.join('\n') + '\n';
  const whole = new MegatronLogParser().push(text);
  const train = whole.filter((p) => p['loss'] !== undefined);
  assert.deepEqual(train.map((p) => ({ step: p.step, loss: p['loss']! })), expected);
  assert.equal(whole.filter((p) => p['val_loss'] !== undefined).length, 3);
  const bytes = new TextEncoder().encode(text);
  const inc = new MegatronLogParser();
  const got = [];
  for (let i = 0; i < bytes.length; i++) got.push(...inc.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(got, whole);
});

test('parseMegatronLine distinguishes training, validation and other lines', () => {
  assert.equal(parseMegatronLine(LM_KD_LINE)?.kind, 'train');
  assert.equal(parseMegatronLine(validationLines('iteration 5', [['lm loss', 1]])[1]!)?.kind, 'validation');
  assert.equal(parseMegatronLine('-'.repeat(80)), undefined);
});
