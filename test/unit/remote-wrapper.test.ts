// The shell line around every command: its shape, valid POSIX sh, and exit codes and signal deaths passed on
// unchanged under dash and bash (the watchdog itself is exercised against a real sshd in ssh.test.ts).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { PID_MARKER, remoteWrapper, takePidMarker, withWatchdog } from '../../src/ssh/remote-wrapper.js';

/** Runs a line with `shell -c`, its stdin a pipe held open until it exits, as sshd's is. */
function run(
  shell: string,
  line: string,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  const child = spawn(shell, ['-c', line], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  return new Promise((resolve) => {
    child.once('exit', () => child.stdin.destroy());
    child.once('close', (code, signal) => resolve({ code, signal, out }));
  });
}

describe('remote wrapper', () => {
  const command = `printf '%s\\n' 'it'\\''s' "two\nlines" # the end`;

  test('one line: the marker, fd 3 to a twice-forked watchdog, then the command verbatim and last', () => {
    const line = remoteWrapper(command, 5_000);
    assert.ok(line.endsWith(`; exec 3<&-; ${command}`));
    const prefix = line.slice(0, -command.length);
    assert.ok(!prefix.includes('\n'));
    assert.equal(
      prefix,
      `echo ${PID_MARKER}$$ >&2; exec 3<&0 </dev/null; ( { while read -r line; do :; done; ` +
        `kill -0 $$ || exit 0; trap '' TERM; kill -s TERM -- -$$; sleep 5; kill -s KILL -- -$$; } ` +
        `<&3 >/dev/null 2>&1 & ); exec 3<&-; `,
    );
    assert.equal(withWatchdog('true', 1_500), withWatchdog('true', 2_000), 'grace in whole seconds, up');
    assert.match(withWatchdog('true', 0), /sleep 1;/);
  });

  for (const shell of ['dash', 'bash']) {
    test(`parses and keeps exit codes and signal deaths (${shell})`, async () => {
      execFileSync(shell, ['-n', '-c', remoteWrapper(command, 5_000)]);
      const wrapped = (c: string) => run(shell, withWatchdog(c, 5_000));
      assert.deepEqual(await wrapped(command), { code: 0, signal: null, out: "it's\ntwo\nlines\n" });
      assert.equal((await wrapped('exit 7')).code, 7);
      assert.equal((await wrapped("sh -c 'exit 3'")).code, 3);
      assert.equal((await wrapped('kill -TERM $$')).signal, 'SIGTERM');
      assert.equal((await wrapped('read line || echo eof')).out, 'eof\n', 'the command reads /dev/null');
    });
  }

  test('the marker is read off the first stderr line', () => {
    assert.equal(takePidMarker(`${PID_MARKER}12`), undefined);
    assert.deepEqual(takePidMarker(`${PID_MARKER}12\nwarning\n`), { pgid: '12', rest: 'warning\n' });
    assert.deepEqual(takePidMarker('motd\nmore'), { pgid: '', rest: 'motd\nmore' });
  });
});
