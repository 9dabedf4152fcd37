// A private dbus-daemon for tests: its own configuration and socket in a temporary directory,
// open to everyone on this machine who can reach the socket (the tests run as root).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { need } from './need';

export const DBUS_DAEMON = '/usr/bin/dbus-daemon';

export interface PrivateBus {
  dir: string;
  socket: string;
  /** The D-Bus address, for DBUS_SYSTEM_BUS_ADDRESS. */
  address: string;
  stop(): Promise<void>;
}

export async function startPrivateBus(): Promise<PrivateBus> {
  need(existsSync(DBUS_DAEMON), `${DBUS_DAEMON} (Debian package dbus-daemon)`);
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-test-bus-'));
  const socket = join(dir, 'bus');
  const config = join(dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>tsrun-test</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const daemon: ChildProcess = spawn(DBUS_DAEMON, [`--config-file=${config}`, '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  daemon.stderr!.on('data', (d) => (stderr += String(d)));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`dbus-daemon did not print its address within 10 s: ${stderr}`)), 10_000);
    daemon.stdout!.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    daemon.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with ${code}: ${stderr}`));
    });
  });
  return {
    dir,
    socket,
    address,
    stop: async () => {
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const exited = new Promise((r) => daemon.once('exit', r));
        daemon.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
