// Creation times as runc records them: RFC 3339 in UTC with the fraction's trailing zeros cut.
export function rfc3339Nano(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
