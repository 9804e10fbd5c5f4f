import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brownParagraphs, Detokenizer, isHeadline, parseTaggedToken } from '../../scripts/corpus/brown';
import { groupDocuments, isValidation, splitDocuments, splitHash, type CorpusDocument } from '../../scripts/corpus/documents';
import { rng } from './helpers/reference';

function detok(tagged: string): string {
  const d = new Detokenizer();
  for (const t of tagged.split(' ')) d.push(parseTaggedToken(t).word);
  return d.text();
}

describe('Brown detokenisation', () => {
  it('splits word/tag at the last slash', () => {
    assert.deepEqual(parseTaggedToken('1/2/cd'), { word: '1/2', tag: 'cd' });
    assert.deepEqual(parseTaggedToken('//in'), { word: '/', tag: 'in' });
    assert.deepEqual(parseTaggedToken("Atlanta's/np$"), { word: "Atlanta's", tag: 'np$' });
  });

  it('rebuilds spacing around punctuation, brackets and double quotes', () => {
    assert.equal(
      detok("the/at jury/nn said/vbd ,/, ``/`` it/pps deserves/vbz praise/nn ''/'' ./."),
      'the jury said, "it deserves praise".',
    );
    assert.equal(detok('recommended/vbd that/cs :/: (/( 1/cd )/) Four/cd deputies/nns ;/. why/wrb ?/.'), 'recommended that: (1) Four deputies; why?');
    assert.equal(detok('voted/vbd no/rb --/-- and/cc there/ex'), 'voted no -- and there');
    assert.equal(detok("``/`` (/( ``/`` nested/jj ''/'' )/) ''/''"), '"("nested")"');
  });

  it("alternates a lone ' between opening and closing quote", () => {
    assert.equal(detok("more/ap '/' pro/jj '/' letters/nns than/in '/' con/jj '/' ./."), "more 'pro' letters than 'con'.");
  });

  it('drops the sentence period after an abbreviation', () => {
    assert.equal(detok('won/vbn by/in Ivan/np Allen/np Jr./np ./.'), 'won by Ivan Allen Jr.');
  });

  it('recognises headlines', () => {
    assert.ok(isHeadline([parseTaggedToken('Merger/nn-hl'), parseTaggedToken('proposed/vbn-hl')]));
    assert.ok(isHeadline(['``/``', 'Must/md-hl', 'solve/vb-hl', 'problem/nn-hl', "''/''"].map(parseTaggedToken)));
    assert.ok(!isHeadline(['The/at', 'Fulton/np-tl', 'County/nn-tl', 'said/vbd'].map(parseTaggedToken)));
  });

  it('reads paragraphs (blank-line blocks), drops headline sentences, keeps quote state per paragraph', () => {
    const file = [
      '',
      "\tHe/pps said/vbd '/' yes/rb ./.",
      "Then/rb '/' no/rb ./.",
      '',
      '',
      'Merger/nn-hl proposed/vbn-hl ',
      'However/wrb ,/, the/at jury/nn agreed/vbd ./.',
      '',
      'Headline/nn-hl only/rb-hl',
      '',
      "\t'/' Fresh/jj start/nn ./.",
      '',
    ].join('\n');
    assert.deepEqual(brownParagraphs(file), [
      { block: 0, text: "He said 'yes. Then' no." },
      { block: 1, text: 'However, the jury agreed.' },
      { block: 3, text: "'Fresh start." },
    ]);
  });
});

describe('documents and split', () => {
  it('groups paragraphs into documents of at least minChars, a short tail joining the last one', () => {
    const paras = ['a'.repeat(50), 'b'.repeat(60), 'c'.repeat(200), 'd'.repeat(10)].map((text, block) => ({ block, text }));
    const docs = groupDocuments('ca01', paras, 100);
    assert.deepEqual(
      docs.map((d) => d.id),
      ['ca01#0', 'ca01#2'],
    );
    assert.equal(docs[0]!.text, 'a'.repeat(50) + ' ' + 'b'.repeat(60));
    assert.equal(docs[1]!.text, 'c'.repeat(200) + ' ' + 'd'.repeat(10));
    assert.deepEqual(groupDocuments('cb02', [{ block: 4, text: 'short' }], 100), [{ id: 'cb02#4', text: 'short' }]);
  });

  const docs: CorpusDocument[] = Array.from({ length: 4000 }, (_, i) => ({ id: `c${'abcdefghjklmnpr'[i % 15]}${String(i % 100).padStart(2, '0')}#${i}`, text: `doc ${i}` }));

  it('is deterministic, disjoint, complete and close to the requested fraction', () => {
    const a = splitDocuments(docs, 'seed-1', 0.05);
    const b = splitDocuments(docs, 'seed-1', 0.05);
    assert.deepEqual(a, b);
    const trainIds = new Set(a.train.map((d) => d.id));
    assert.ok(a.val.every((d) => !trainIds.has(d.id)), 'a document is on both sides');
    assert.equal(a.train.length + a.val.length, docs.length);
    const frac = a.val.length / docs.length;
    assert.ok(frac > 0.035 && frac < 0.065, `val fraction ${frac}`);
  });

  it('depends on the id and seed only, not on position', () => {
    const r = rng(8);
    const reordered = docs.slice().sort(() => r() - 0.5);
    const v1 = new Set(splitDocuments(docs, 'seed-1', 0.05).val.map((d) => d.id));
    const v2 = new Set(splitDocuments(reordered, 'seed-1', 0.05).val.map((d) => d.id));
    assert.deepEqual([...v2].sort(), [...v1].sort());
    const other = new Set(splitDocuments(docs, 'seed-2', 0.05).val.map((d) => d.id));
    assert.notDeepEqual([...other].sort(), [...v1].sort());
    // A larger fraction keeps every document the smaller one held out (same hash, higher threshold).
    const wider = new Set(splitDocuments(docs, 'seed-1', 0.1).val.map((d) => d.id));
    for (const id of v1) assert.ok(wider.has(id));
  });

  it('hashes with SHA-256 of "<seed>:<id>"', () => {
    // Python: hashlib.sha256(b"s:x").hexdigest()[:8] == "b9cc0508".
    const h = splitHash('s', 'x');
    assert.equal(h, 0xb9cc0508 / 2 ** 32);
    assert.equal(isValidation('s', 'x', h + 1e-9), true);
    assert.equal(isValidation('s', 'x', h), false);
  });
});
