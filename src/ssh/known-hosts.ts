// OpenSSH known_hosts: parsing and host key checking (hashed entries, wildcards, negation, [host]:port,
// @revoked). No I/O: the caller reads the file.
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string[];
  keyType: string;
  key: Buffer;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority')
      marker = parts.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, key] = parts;
    if (!hosts || !keyType || !key) return; // malformed lines are skipped, as ssh does
    entries.push({
      ...(marker ? { marker } : {}),
      patterns: hosts.split(','),
      keyType,
      key: Buffer.from(key, 'base64'),
      line: i + 1,
    });
  });
  return entries;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(name);
}

/** Whether an entry names the host: one positive pattern matches and no negated one does. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('!')) {
      if (matchesPattern(pattern.slice(1), name)) return false;
    } else if (matchesPattern(pattern, name)) matched = true;
  }
  return matched;
}

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type a public key blob declares (its first SSH string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

export type HostKeyVerdict =
  { ok: true; line: number } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; message: string };

export function checkHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  offered: Buffer,
  file: string,
): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => entryMatches(e, name));
  const offeredType = keyTypeOf(offered);
  const print = `${offeredType} ${fingerprint(offered)}`;
  if (forHost.some((e) => e.marker === '@revoked' && e.key.equals(offered))) {
    return {
      ok: false,
      reason: 'revoked',
      message: `host key ${print} of ${name} is marked @revoked in ${file}`,
    };
  }
  const plain = forHost.filter((e) => e.marker === undefined);
  const match = plain.find((e) => e.key.equals(offered));
  if (match) return { ok: true, line: match.line };
  if (plain.length === 0) {
    return {
      ok: false,
      reason: 'unknown',
      message: `host ${name} is not in ${file}; its key is ${print}. Check that fingerprint out of band, then add the key (for example with ssh-keyscan)`,
    };
  }
  const known = plain.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`).join(', ');
  return {
    ok: false,
    reason: 'changed',
    message: `HOST KEY CHANGED for ${name}: ${file} has ${known}, the server offered ${print}. Refusing to connect`,
  };
}

/** Key types known for a host, so the client asks the server for one of those (as OpenSSH does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  return [
    ...new Set(entries.filter((e) => e.marker === undefined && entryMatches(e, name)).map((e) => e.keyType)),
  ];
}
