// process.user: supplementary groups, gid and uid of the calling thread, as runc's setupUser:
// stdio ownership first, then setgroups, setresgid, setresuid. The caller sets
// PR_SET_KEEPCAPS around this so the permitted capabilities survive leaving uid 0.
//
// set*id go through the raw system calls (see LinuxSyscalls): they change the main thread
// only, the one that execs.
import { fstatSync, readFileSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { User } from '../../spec';
import { isErrno } from '../../linux/errors';
import { devMajor, devMinor, type Syscalls } from '../../linux/syscalls';
import { describeError, stepError } from './errors';

export interface PlannedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

function id(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw new Error(`${what} must be an integer from 0 to 4294967294, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function planUser(user: User | undefined): PlannedUser {
  return {
    uid: id(user?.uid ?? 0, 'user.uid'),
    gid: id(user?.gid ?? 0, 'user.gid'),
    additionalGids: (user?.additionalGids ?? []).map((g, i) => id(g, `user.additionalGids[${i}]`)),
  };
}

/** The content of /proc/self/setgroups ("allow" or "deny"), undefined on kernels without it. */
export function readSetgroups(procSelf = '/proc/self'): string | undefined {
  try {
    return readFileSync(posix.join(procSelf, 'setgroups'), 'utf8').trim();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw stepError('reading /proc/self/setgroups', err);
  }
}

/**
 * Gives fds 0-2 to `uid` (owner only) unless already its own or /dev/null, so the user can use
 * its console, as runc's fixStdioPermissions. Failures are only warnings (EPERM for an inode
 * owned by an unmapped user, EROFS...).
 */
export function fixStdioOwnership(sys: Syscalls, uid: number, warn: (message: string) => void = () => undefined): void {
  for (const fd of [0, 1, 2]) {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch {
      continue; // closed: nothing to give
    }
    if (Number(st.uid) === uid) continue;
    if (st.isCharacterDevice() && devMajor(st.rdev) === 1 && devMinor(st.rdev) === 3) continue; // /dev/null
    try {
      sys.fchown(fd, uid, 0xffffffff);
    } catch (err) {
      warn(`cannot give fd ${fd} to uid ${uid}: ${describeError(err)}`);
    }
  }
}

/** setgroups (unless denied and none asked for), setresgid, setresuid. */
export function switchUser(sys: Syscalls, user: PlannedUser, setgroups: string | undefined): void {
  if (setgroups === 'deny') {
    if (user.additionalGids.length > 0) {
      throw new Error(
        `setting supplementary groups [${user.additionalGids.join(' ')}]: setgroups(2) is denied in this user namespace (/proc/self/setgroups is "deny")`,
      );
    }
  } else {
    try {
      sys.setgroups(user.additionalGids);
    } catch (err) {
      throw stepError(`setting supplementary groups [${user.additionalGids.join(' ')}]`, err);
    }
  }
  try {
    sys.setresgid(user.gid, user.gid, user.gid);
  } catch (err) {
    if (isErrno(err, 'EINVAL')) throw new Error(`cannot setgid to unmapped gid ${user.gid} in user namespace`, { cause: err });
    throw stepError(`setting gid ${user.gid}`, err);
  }
  try {
    sys.setresuid(user.uid, user.uid, user.uid);
  } catch (err) {
    if (isErrno(err, 'EINVAL')) throw new Error(`cannot setuid to unmapped uid ${user.uid} in user namespace`, { cause: err });
    throw stepError(`setting uid ${user.uid}`, err);
  }
}
