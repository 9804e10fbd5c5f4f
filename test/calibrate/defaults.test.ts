// calibrate's defaults are the paper's (KL depth ranking, 1024 rows × 8192 tokens), with rows shortened
// only when the memory does not allow 8192, and FFN neurons scored after relu² unless --ffn-tap pre.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_8B } from '../../src/core/testing/nemotron-h-8b';
import { CALIBRATE_SCHEMA, calibrationSettingsFrom } from '../../src/core/calibrate/settings';
import { calibrationBytes, fitCalibrationSeqLen, MIN_AUTO_SEQ_LEN, SEQ_FIT_FRACTION } from '../../src/core/calibrate/seq-len';
import { helpOf, parseArgv } from '../../src/core/util/option-schema';

test('calibrate defaults: KL depth ranking on 256 rows, 1024 rows of 8192 tokens (automatic), FFN tap post; each documented in --help', () => {
  const s = calibrationSettingsFrom(parseArgv(CALIBRATE_SCHEMA, ['m', '--data', 'd.txt'], '/w'));
  assert.deepEqual([s.depth, s.depthSamples, s.samples, s.seqLen, s.seqLenAuto, s.ffnTap], ['kl', 256, 1024, 8192, true, 'post']);
  const given = calibrationSettingsFrom(parseArgv(CALIBRATE_SCHEMA, ['m', '--data', 'd.txt', '--seq-len', '8192', '--ffn-tap', 'pre', '--depth', 'bi'], '/w'));
  assert.deepEqual([given.seqLen, given.seqLenAuto, given.ffnTap, given.depth], [8192, undefined, 'pre', 'bi']);
  const help = helpOf(CALIBRATE_SCHEMA, 'calibrate');
  for (const re of [/default 8192, the paper's; ModelOpt uses 4096/, /kl \(the paper/, /ModelOpt: the down_proj input after relu²/, /the paper's Eq\. 26/]) assert.match(help, re);
});

test('the automatic row length stays 8192 where the memory allows and halves until it fits where it does not', () => {
  const small = buildSpec(fixtureConfig({ pattern: 'M-M*M-', hiddenSize: 64, vocabSize: 1000, intermediateSize: 128 }));
  const s = { seqLen: 8192, seqLenAuto: true, batch: 1, depth: 'kl' as const, mode: 'auto' as const };
  assert.deepEqual(fitCalibrationSeqLen(small, s, 16e9), { seqLen: 8192 });
  // Memory for 2048 but not 4096 tokens per row (same path at both lengths: a fixed whole-model choice).
  const whole = { ...s, mode: 'whole' as const };
  const avail = calibrationBytes(small, whole, 3000, 1e12) / SEQ_FIT_FRACTION;
  assert.ok(calibrationBytes(small, whole, 2048, avail) <= SEQ_FIT_FRACTION * avail && calibrationBytes(small, whole, 4096, avail) > SEQ_FIT_FRACTION * avail);
  const fit = fitCalibrationSeqLen(small, whole, avail);
  assert.equal(fit.seqLen, 2048);
  assert.match(fit.note!, /rows of 8192 tokens \(the paper's\) × --batch 1 need about .* using 2048 tokens per row \(give --seq-len to choose/);
  // An explicit --seq-len is never changed; nothing goes below the floor.
  assert.deepEqual(fitCalibrationSeqLen(small, { ...whole, seqLenAuto: undefined }, avail), { seqLen: 8192 });
  assert.equal(fitCalibrationSeqLen(small, whole, 1e6).seqLen, MIN_AUTO_SEQ_LEN);
  // Nemotron-H 8B: layer-streamed, 8192 tokens fit on a 24 GB machine with --batch 1, not with --batch 16.
  const big = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  assert.equal(fitCalibrationSeqLen(big, s, 20e9).seqLen, 8192);
  assert.ok(fitCalibrationSeqLen(big, { ...s, batch: 16 }, 20e9).seqLen < 8192);
});
