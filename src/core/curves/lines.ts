// Splits a growing UTF-8 byte stream into complete lines. The last line stays buffered until its
// newline arrives, so a line cut by a read in the middle (or in the middle of a multi-byte
// character) is completed on the next read rather than parsed half-written.

export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';

  /** Feeds bytes (or already-decoded text); returns the lines completed by them, without \n / \r\n. */
  push(chunk: Uint8Array | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    const parts = text.split('\n');
    this.partial = parts.pop()!;
    return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** The unterminated rest (the stream ended without a final newline); clears it. */
  flush(): string | undefined {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    return rest.length > 0 ? rest : undefined;
  }

  get pending(): string {
    return this.partial;
  }
}
