// The shell line around every command Kappa runs on a host: a watchdog that ends the command when the connection
// that started it drops.
//
// Why: nothing else does. OpenSSH runs a command without a pty as `$SHELL -c LINE` in a new session (setsid), so
// `$$` is its process group; when the connection goes (worker SIGKILLed, network cut) sshd just exits and the
// command keeps running, and a retried step would submit a second Spark app. The watchdog holds the channel's
// stdin (sshd's pipe; the client never writes to it or sends EOF) and blocks reading it. sshd closes that pipe
// when the session ends: after reaping the command on a normal end, or when the connection is gone. At EOF the
// watchdog checks whether `$$` still runs: if so the connection dropped mid-command, and it sends TERM to the
// group, waits the grace time, then KILL; if not, the command ended by itself and whatever it deliberately left
// behind (`nohup … &`) is not touched. The `local` runner uses the same line, with a pipe from the worker in
// place of sshd's.
//
// The command comes last, pasted as is (it is already a quoted string, see remote-command.ts), in the same
// shell: exit codes and signal deaths reach the caller as before (bash even execs a last simple command, so a
// command killed by a signal is reported as killed by that signal). The command's stdin is /dev/null; fd 3
// carries the channel to the watchdog only (a background list would otherwise get /dev/null as stdin); the
// watchdog is forked twice so it is no child of the command, and its output goes to /dev/null so sshd does not
// wait for it. POSIX sh only: the login shell may be bash or dash.

/** The first stderr line of every remote command: the session's process group, for killing it on cancel. */
export const PID_MARKER = 'KAPPA_PGID=';

/** `command`, ended (TERM, then KILL after `graceMs`) when the shell's stdin closes while it still runs. */
export function withWatchdog(command: string, graceMs: number): string {
  const watchdog = [
    'while read -r line; do :; done', // until the channel's stdin closes
    'kill -0 $$ || exit 0', // ended by itself: leave alone what it left behind
    "trap '' TERM", // outlive the TERM sent to our own group
    'kill -s TERM -- -$$',
    `sleep ${Math.max(1, Math.ceil(graceMs / 1000))}`,
    'kill -s KILL -- -$$',
  ].join('; ');
  return [
    'exec 3<&0 </dev/null', // fd 3: the channel, for the watchdog; everything else reads /dev/null
    `( { ${watchdog}; } <&3 >/dev/null 2>&1 & )`,
    'exec 3<&-',
    command,
  ].join('; ');
}

/** The line sent to sshd: the process-group marker on stderr, then the command under its watchdog. */
export function remoteWrapper(command: string, graceMs: number): string {
  // `$$` is the session leader's pid, so it names the process group of everything the command starts.
  return `echo ${PID_MARKER}$$ >&2; ${withWatchdog(command, graceMs)}`;
}

/**
 * Reads the marker off the head of stderr. Undefined while the first line is incomplete; then the process
 * group ('' when the first line is not the marker) and the stderr text that follows it.
 */
export function takePidMarker(head: string): { pgid: string; rest: string } | undefined {
  const newline = head.indexOf('\n');
  if (newline < 0) return undefined;
  const first = head.slice(0, newline);
  if (!first.startsWith(PID_MARKER)) return { pgid: '', rest: head };
  return { pgid: first.slice(PID_MARKER.length).trim(), rest: head.slice(newline + 1) };
}
