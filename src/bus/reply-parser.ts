/**
 * Typed face of the `redis-parser` package (v3, no type declarations of its own), the
 * designated RESP reply parser on the client side of the bus. With returnBuffers, bulk
 * strings come back as Buffers (views into received chunks or into the parser's pool, never
 * overwritten), arrays as arrays, integers as numbers, top-level errors through returnError.
 */
export type ParsedReply = Buffer | number | null | Error | ParsedReply[];

export interface ReplyParser {
  execute(chunk: Buffer): void;
  reset(): void;
}

interface ParserOptions {
  returnReply(reply: ParsedReply): void;
  returnError(err: Error): void;
  returnFatalError(err: Error): void;
  returnBuffers: boolean;
}

type ParserConstructor = new (opts: ParserOptions) => ReplyParser;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Parser = require('redis-parser') as ParserConstructor;

export function createReplyParser(
  onReply: (reply: ParsedReply) => void,
  onError: (err: Error) => void,
): ReplyParser {
  return new Parser({ returnReply: onReply, returnError: onError, returnFatalError: onError, returnBuffers: true });
}
