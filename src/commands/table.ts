/**
 * The command table, built from the spec lists that the command modules export. Lookup is
 * by lower-cased name; container commands (CLIENT, CONFIG, COMMAND) hold their
 * subcommands. Nothing here is maintained by hand: adding a command means adding its spec
 * beside its handler and its module to MODULES.
 */
import type { CommandEntry, CommandSpec } from './types';

export class CommandTable {
  private readonly byName = new Map<string, CommandEntry>();
  private readonly aliases = new Map<string, CommandEntry>();

  constructor(specs: readonly CommandSpec[]) {
    for (const spec of specs) {
      const entry = makeEntry(spec, null);
      if (this.byName.has(spec.name)) throw new Error(`duplicate command ${spec.name}`);
      this.byName.set(spec.name, entry);
      // Clients send upper case more often than not: find both without lower-casing.
      this.aliases.set(spec.name.toUpperCase(), entry);
    }
  }

  /** Find a command by the name as sent (any case). */
  lookup(name: Buffer | string): CommandEntry | undefined {
    const s = typeof name === 'string' ? name : name.toString('latin1');
    return this.byName.get(s) ?? this.aliases.get(s) ?? this.byName.get(s.toLowerCase());
  }

  /** All top-level commands, in table order. */
  entries(): IterableIterator<CommandEntry> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }
}

function makeEntry(spec: CommandSpec, parent: CommandEntry | null): CommandEntry {
  const fullName = parent === null ? spec.name : `${parent.fullName}|${spec.name}`;
  const subcommands = spec.subcommands === undefined ? null : new Map<string, CommandEntry>();
  const entry: CommandEntry = {
    spec,
    fullName,
    parent,
    subcommands,
    isWrite: spec.flags.includes('write') || spec.writesKeys === true,
    noAuth: spec.flags.includes('no_auth'),
  };
  if (spec.subcommands !== undefined && subcommands !== null) {
    for (const sub of spec.subcommands) subcommands.set(sub.name, makeEntry(sub, entry));
  }
  if (spec.handler === undefined && spec.subcommands === undefined) {
    throw new Error(`command ${fullName} has neither a handler nor subcommands`);
  }
  return entry;
}
