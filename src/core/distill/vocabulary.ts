// Distillation compares logits token by token, so teacher and student must share one vocabulary:
// the same size and, where both folders carry one, the same tokenizer.json bytes.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';

function tokenizerHash(dir: string): string | undefined {
  const p = join(dir, 'tokenizer.json');
  return existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : undefined;
}

export function checkSameVocabulary(teacher: HybridModelSpec, teacherDir: string, student: HybridModelSpec, studentDir: string): void {
  if (teacher.vocabSize !== student.vocabSize) {
    throw new HybridCompressError('OPTION_INVALID', `teacher ${teacherDir} has vocab_size ${teacher.vocabSize} but student ${studentDir} has ${student.vocabSize}; distillation needs the same tokenizer`, { option: 'teacher' });
  }
  const a = tokenizerHash(teacherDir);
  const b = tokenizerHash(studentDir);
  if (a && b && a !== b) throw new HybridCompressError('OPTION_INVALID', `teacher ${teacherDir} and student ${studentDir} have different tokenizer.json files; distillation needs the same tokenizer`, { option: 'teacher' });
}
