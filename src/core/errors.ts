// Typed errors. Every error a user can cause carries what it is about (file, tensor, option)
// and a message that says what would be valid; the CLI prints `message` on one line.

export type ErrorCode =
  | 'SAFETENSORS_INVALID'
  | 'CHECKPOINT_INVALID'
  | 'CONFIG_INVALID'
  | 'UNSUPPORTED_ARCHITECTURE'
  | 'SHAPE_MISMATCH'
  | 'UNSAFE_FORMAT'
  | 'DATA_INVALID'
  | 'TOKENIZER_MISSING'
  | 'OPTION_INVALID'
  | 'IO_ERROR'
  | 'RUNTIME_ERROR'
  | 'CANCELLED'
  | 'NON_FINITE';

export interface ErrorContext {
  file?: string;
  tensor?: string;
  option?: string;
  rule?: string;
}

export class HybridCompressError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;
  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = 'HybridCompressError';
    this.code = code;
    this.context = context;
  }
}

/** A safetensors file violates a format rule; `rule` names the rule (e.g. "offsets-contiguous"). */
export class SafetensorsError extends HybridCompressError {
  constructor(file: string, rule: string, message: string, tensor?: string) {
    super('SAFETENSORS_INVALID', `${file}: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${message} [rule: ${rule}]`, {
      file,
      tensor,
      rule,
    });
    this.name = 'SafetensorsError';
  }
}

export function isHybridCompressError(e: unknown): e is HybridCompressError {
  return e instanceof HybridCompressError;
}

/** One-line description of any thrown value, for CLI stderr and worker error results. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}
