// Maps a uid to its user name through /etc/passwd (the host's), as `list` shows owners.
import { readFileSync } from 'node:fs';

export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length > 2 && fields[2] === String(uid)) return fields[0] as string;
    }
  } catch {
    // no passwd file: fall through to the number
  }
  return String(uid);
}
