// Who may submit: named submit tokens compared in constant time, and a
// throttle that slows an address guessing tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares two secrets in constant time, whatever their lengths. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Submit tokens by name ("default" for a single --token). */
export class TokenSet {
  private readonly entries: { name: string; digest: Buffer }[];

  constructor(tokens: Record<string, string>) {
    this.entries = Object.entries(tokens).map(([name, token]) => {
      if (token.length === 0) throw new Error(`token "${name}" is empty`);
      return { name, digest: digest(token) };
    });
    if (this.entries.length === 0) throw new Error('at least one submit token is needed');
  }

  /** The name of the token given, or undefined. Every entry is compared, in
   * constant time, so timing tells nothing about which one nearly matched. */
  match(given: string): string | undefined {
    const d = digest(given);
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e.name;
    return found;
  }

  get names(): string[] {
    return this.entries.map((e) => e.name);
  }
}

/** Parses named tokens: `name=token` per line or comma-separated (env), or a JSON object. */
export function parseTokens(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a tokens JSON file holds an object of name: token');
    const out: Record<string, string> = {};
    for (const [name, token] of Object.entries(parsed)) {
      if (typeof token !== 'string') throw new Error(`token "${name}" must be a string`);
      out[name] = token;
    }
    return out;
  }
  const out: Record<string, string> = {};
  for (const entry of trimmed.split(/[\n,]/)) {
    const line = entry.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`expected name=token, got "${line.slice(0, 40)}"`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export function readTokensFile(path: string): Record<string, string> {
  return parseTokens(readFileSync(path, 'utf8'));
}

/** Addresses the throttle remembers at most; the oldest are forgotten first,
 * so a flood of addresses (IPv6) cannot grow its memory without bound. */
const ADDRESSES_KEPT = 10_000;

/** After `limit` failed attempts within `windowMs`, an address is locked
 * out until the window passes: guessing tokens becomes slow.
 *
 * A guesser must not lock out the right token holder behind the same
 * address (a classroom's NAT): a token that has succeeded from an address
 * before stays usable there during a lockout. While locked out, a token is
 * compared only against those proven from the address; every comparison that
 * does not match one spends from a small budget (`lockedGuessesPerMinute`),
 * and once it is spent everything from the address is refused unchecked
 * until it refills. So a guesser sharing the address learns at most that
 * many answers a minute more, and the holder passes unless the guesser keeps
 * spending the budget (a client resuming its session, by its secret, always
 * passes: see ClientGateway.admit). A success does not clear the failures: the
 * holder's uploads must not refill a guesser's attempts. */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly proven = new Map<string, { names: Set<string>; lockedGuesses: RateLimit }>();

  constructor(
    private readonly limit = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly lockedGuessesPerMinute = 10,
  ) {}

  /** Seconds to wait before trying again, or 0 if allowed now. */
  retryAfter(address: string): number {
    const f = this.failures.get(address);
    if (!f) return 0;
    const elapsed = this.now() - f.since;
    if (elapsed >= this.windowMs) {
      this.failures.delete(address);
      return 0;
    }
    return f.count >= this.limit ? Math.ceil((this.windowMs - elapsed) / 1000) : 0;
  }

  failed(address: string): void {
    const f = this.failures.get(address);
    if (f && this.now() - f.since < this.windowMs) f.count++;
    else remember(this.failures, address, { count: 1, since: this.now() });
  }

  /** Token `name` was right from `address`: it stays usable there through a lockout. */
  succeeded(address: string, name = ''): void {
    const p = this.proven.get(address);
    if (p) p.names.add(name);
    else {
      const budget = new RateLimit(this.lockedGuessesPerMinute / 60, this.lockedGuessesPerMinute, this.now);
      remember(this.proven, address, { names: new Set([name]), lockedGuesses: budget });
    }
  }

  /** During a lockout: whether a token from `address` may still be compared
   * against the tokens proven there (a budget of wrong ones is left). */
  mayCompare(address: string): boolean {
    return this.proven.get(address)?.lockedGuesses.has(1) ?? false;
  }

  /** During a lockout: `name` (undefined: no match) was presented from `address`. */
  comparedLocked(address: string, name: string | undefined): boolean {
    const p = this.proven.get(address);
    if (p && name !== undefined && p.names.has(name)) return true;
    p?.lockedGuesses.take(1);
    return false;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= ADDRESSES_KEPT) map.delete(map.keys().next().value!);
  map.set(key, value);
}

export type TokenCheck = { ok: true; name: string } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'throttled'; retryAfter: number };

/** The name an admin token goes by (token names are trimmed: none starts with a space). */
export const ADMIN = ' admin';

/** Every token check, over HTTP and WebSocket alike, goes through one gate:
 * the submit tokens, the admin token (it may view the grid's details, not
 * submit), and one throttle. */
export class TokenGate {
  private readonly admin: TokenSet | undefined;

  constructor(
    readonly tokens: TokenSet,
    readonly throttle = new AuthThrottle(),
    adminToken?: string,
  ) {
    this.admin = adminToken ? new TokenSet({ [ADMIN]: adminToken }) : undefined;
  }

  /** Checks `given` from `address`; `admin: true` accepts the admin token too. */
  check(address: string, given: string, options: { admin?: boolean } = {}): TokenCheck {
    const match = (t: string) => this.tokens.match(t) ?? (options.admin ? this.admin?.match(t) : undefined);
    const wait = this.throttle.retryAfter(address);
    if (wait > 0) {
      if (this.throttle.mayCompare(address)) {
        const name = match(given);
        // True only for a token proven from this address; anything else spends the budget.
        if (this.throttle.comparedLocked(address, name)) return { ok: true, name: name! };
      }
      return { ok: false, reason: 'throttled', retryAfter: wait };
    }
    const name = match(given);
    if (name === undefined) {
      this.throttle.failed(address);
      return { ok: false, reason: 'invalid' };
    }
    this.throttle.succeeded(address, name);
    return { ok: true, name };
  }
}

/** A token bucket: `rate` units a second, bursts up to `capacity`. */
export class RateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Whether `n` units are there now (none taken). */
  has(n: number): boolean {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    return this.tokens >= n;
  }

  take(n: number): boolean {
    if (!this.has(n)) return false;
    this.tokens -= n;
    return true;
  }
}
