// A test that needs something absent fails loudly (CI must not pass by skipping).
export function need(condition: unknown, what: string): void {
  if (!condition) throw new Error(`requirement missing: ${what}`);
}
