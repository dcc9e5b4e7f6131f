// POSIX shell quoting: remote commands are built from argv, never by pasting strings.

const SAFE = /^[A-Za-z0-9_\-+=:,./@%^]+$/;

/** Quotes one argument so `sh` reads it back as exactly that string. */
export function shellQuote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
