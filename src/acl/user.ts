/**
 * An ACL user (Redis 7.0 acl.c `user`): flags (on/off, nopass, sanitize-payload), SHA-256
 * password hashes and its selectors, the first being the root selector that plain rules
 * change. `setUser` applies one rule as ACLSetUser does; `describe` gives the ACL LIST line.
 * Rules are applied to a copy by the caller (store.ts) so a failing ACL SETUSER changes
 * nothing, as in Redis.
 */
import { createHash } from 'node:crypto';
import { Selector, type CommandIndex, type RuleError } from './selector';

export const FLAG_NAMES = ['on', 'off', 'nopass', 'skip-sanitize-payload', 'sanitize-payload'] as const;

export function hashPassword(pass: Buffer): string {
  return createHash('sha256').update(pass).digest('hex');
}

const HASH_RE = /^[0-9a-f]{64}$/;

export class User {
  enabled = false;
  nopass = false;
  /** null: neither sanitize-payload nor skip-sanitize-payload set. */
  sanitize: 'sanitize-payload' | 'skip-sanitize-payload' | null = null;
  passwords: string[] = [];
  selectors: Selector[];
  /**
   * Every command, key and channel allowed (the check's fast path: one flag, no work).
   * Kept current by `refresh` after every change.
   */
  unrestricted = false;

  constructor(
    readonly name: string,
    readonly index: CommandIndex,
  ) {
    this.selectors = [new Selector(index)];
  }

  get root(): Selector {
    return this.selectors[0];
  }

  clone(name = this.name): User {
    const u = new User(name, this.index);
    u.copyFrom(this);
    return u;
  }

  /** ACLCopyUser: take over another user's whole state (the object itself stays). */
  copyFrom(o: User): void {
    this.enabled = o.enabled;
    this.nopass = o.nopass;
    this.sanitize = o.sanitize;
    this.passwords = [...o.passwords];
    this.selectors = o.selectors.map((s) => s.clone());
    this.refresh();
  }

  refresh(): void {
    this.unrestricted = this.root.unrestricted;
  }

  /** One rule (ACLSetUser); null, or the errno of the failure. */
  apply(op: string): RuleError | null {
    const r = this.applyOne(op);
    this.refresh();
    return r;
  }

  private applyOne(op: string): RuleError | null {
    const lower = op.toLowerCase();
    if (op === '') return null;
    if (lower === 'on') this.enabled = true;
    else if (lower === 'off') this.enabled = false;
    else if (lower === 'skip-sanitize-payload' || lower === 'sanitize-payload') this.sanitize = lower;
    else if (lower === 'nopass') {
      this.nopass = true;
      this.passwords = [];
    } else if (lower === 'resetpass') {
      this.nopass = false;
      this.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      let hash: string;
      if (op[0] === '>') hash = hashPassword(Buffer.from(op.slice(1), 'latin1'));
      else {
        hash = op.slice(1);
        if (!HASH_RE.test(hash)) return 'EBADMSG';
      }
      if (!this.passwords.includes(hash)) this.passwords.push(hash);
      this.nopass = false;
    } else if (op[0] === '<' || op[0] === '!') {
      let hash: string;
      if (op[0] === '<') hash = hashPassword(Buffer.from(op.slice(1), 'latin1'));
      else {
        hash = op.slice(1);
        if (!HASH_RE.test(hash)) return 'EBADMSG';
      }
      const i = this.passwords.indexOf(hash);
      if (i < 0) return 'ENODEV';
      this.passwords.splice(i, 1);
    } else if (op[0] === '(' && op[op.length - 1] === ')') {
      const s = new Selector(this.index);
      for (const part of op.slice(1, -1).split(' ')) {
        if (part === '') continue;
        const r = s.apply(part);
        if (r !== null) return r;
      }
      this.selectors.push(s);
    } else if (lower === 'clearselectors') {
      this.selectors = [this.root];
    } else if (lower === 'reset') {
      this.applyOne('resetpass');
      this.root.apply('resetkeys');
      this.root.apply('resetchannels');
      this.enabled = false;
      this.sanitize = 'sanitize-payload';
      this.selectors = [this.root];
      this.root.apply('-@all');
    } else return this.root.apply(op);
    return null;
  }

  flags(): string[] {
    const out: string[] = [this.enabled ? 'on' : 'off'];
    if (this.nopass) out.push('nopass');
    if (this.sanitize === 'skip-sanitize-payload') out.push('skip-sanitize-payload');
    if (this.sanitize === 'sanitize-payload') out.push('sanitize-payload');
    return out;
  }

  /** ACLDescribeUser: what follows `user <name> ` in ACL LIST and the ACL file. */
  describe(): string {
    let res = this.flags().join(' ') + ' ';
    for (const p of this.passwords) res += '#' + p + ' ';
    res += this.selectors.map((s, i) => (i === 0 ? s.describe() : `(${s.describe()})`)).join(' ');
    return res;
  }

  /** ACLCheckUserCredentials. */
  checkPassword(pass: Buffer): boolean {
    if (!this.enabled) return false;
    if (this.nopass) return true;
    return this.passwords.includes(hashPassword(pass));
  }
}

/**
 * ACLMergeSelectorArguments: `(` ... `)` given as several arguments become one rule.
 * Returns the rules, or the argument where an unmatched parenthesis starts.
 */
export function mergeSelectorArgs(args: readonly string[]): string[] | { unmatched: string } {
  const out: string[] = [];
  let open: string | null = null;
  for (const a of args) {
    if (open !== null) {
      open += ' ' + a;
      if (a.endsWith(')')) {
        out.push(open);
        open = null;
      }
    } else if (a.startsWith('(') && !a.endsWith(')')) open = a;
    else out.push(a);
  }
  if (open !== null) return { unmatched: open.split(' ')[0] };
  return out;
}
