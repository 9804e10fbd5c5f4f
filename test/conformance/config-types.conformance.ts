// The project's table of upstream config field types (src/core/arch/config-codec.ts) against the dataclass
// annotations of the installed transformers (config_types.py): every numeric field of NemotronHConfig and
// Mamba2Config is in the table with the type its annotation gives, and every key of the table is a field,
// a legacy name __post_init__ maps onto a field of the same type, or a property of the class.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { upstreamFieldTypes, type FieldType } from '../../src/core/arch/config-codec';
import { venvPython } from './harness';

interface Declared {
  transformers: string;
  classes: Record<string, Record<string, string>>;
  aliases: Record<string, Record<string, string>>;
  properties: Record<string, string[]>;
}

/** What an annotation means for how a number is written; undefined: not a numeric field. */
function kindOf(annotation: string): FieldType | undefined {
  if (/^dict\[/.test(annotation)) return undefined; // id2label / label2id: keys, not values
  if (/^list\[float\]/.test(annotation)) return 'float[]';
  if (/\bfloat\b/.test(annotation)) return 'float';
  if (/\bint\b/.test(annotation)) return 'int';
  return undefined;
}

test('the upstream field-type table agrees with the installed transformers config classes', () => {
  const r = spawnSync(venvPython(), [join(__dirname, 'config_types.py')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as Declared;
  assert.equal(d.transformers, '5.18.0');
  for (const modelType of ['nemotron_h', 'mamba2']) {
    const ours = upstreamFieldTypes(modelType);
    assert.ok(ours, modelType);
    const fields = d.classes[modelType]!;
    const problems: string[] = [];
    for (const [field, annotation] of Object.entries(fields)) {
      const want = kindOf(annotation);
      if (want !== undefined && ours[field] !== want) problems.push(`${field}: transformers ${annotation} → ${want}, table ${ours[field] ?? 'missing'}`);
    }
    for (const [key, kind] of Object.entries(ours)) {
      if (key in fields) continue;
      const target = d.aliases[modelType]![key];
      if (target !== undefined) {
        if (kindOf(fields[target]!) !== kind) problems.push(`${key} (legacy name of ${target}: ${fields[target]}) is ${kind} in the table`);
      } else if (!d.properties[modelType]!.includes(key)) problems.push(`${key} is neither a field, a legacy name nor a property of transformers' ${modelType} config`);
    }
    assert.deepEqual(problems, [], `${modelType}:\n${problems.join('\n')}`);
  }
});
