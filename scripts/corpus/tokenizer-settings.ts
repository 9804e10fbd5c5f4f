// Settings of the bundled tokenizer (examples/tokenizer/), shared by the script that trains it and the
// test that checks the committed files are what training produces.

import type { SpecialTokenRoles } from '../../src/core/tokenizer-train/index';

export const BUNDLED_VOCAB_SIZE = 4096;

/** Nemotron-H's special tokens and ids: `<unk>`=0, `<s>`=1, `</s>`=2. */
export const BUNDLED_SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;

/** PAD is `<unk>` (id 0), matching Nemotron-H's pad_token_id 0; a byte-level BPE never emits `<unk>`. */
export const BUNDLED_ROLES: SpecialTokenRoles = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<unk>' };
