// Shell quoting for generated bash scripts. Everything a user supplied (paths, names) goes through
// `shq`, so spaces, quotes, `$`, backticks and globs reach the program verbatim.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One bash word that expands to exactly `s`. */
export function shq(s: string): string {
  if (s.length > 0 && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A number as a shell word (plain decimal or exponent form, never locale-formatted). */
export function shNum(x: number): string {
  return String(x);
}
