// Each container gets a session keyring of its own (unless --no-new-keyring), so it never
// sees or links the keys of the session tsrun was started from.
import { KEY_SESSION_PERM } from '../linux/constants';
import { isErrno } from '../linux/errors';
import type { Syscalls } from '../linux/syscalls';

export function joinContainerKeyring(sys: Syscalls, id: string): void {
  let key: number;
  try {
    key = sys.joinSessionKeyring(`_ses.${id}`);
  } catch (err) {
    if (isErrno(err, 'ENOSYS')) return; // a kernel without keyrings: nothing to isolate
    throw err;
  }
  sys.setKeyPermissions(key, KEY_SESSION_PERM);
}
