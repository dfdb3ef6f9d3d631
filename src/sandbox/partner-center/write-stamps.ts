import { formatInstant, nowInstant, type Instant } from '../../util/instant.ts';


export interface WriteStamp {
  ticks: Instant;
  /** `updatedDateTime` for the write. */
  timestamp: string;
  /** The quoted, Cosmos-style entity tag, e.g. `"00006d10-0000-0000-0000-5c70aa630000"`. */
  eTag: string;
}

/**
 * Issues strictly increasing timestamps and unique eTags, one per write. Two writes in the same millisecond still get
 * different `updatedDateTime` values, so a client using it as a watermark or change detector never misses a write.
 */
export class WriteStamper {
  private last: Instant = 0n;
  private sequence = 0x6d10;

  /** `now` is the sandbox clock, which tests can move forward; real time by default. */
  constructor(private readonly now: () => Instant = nowInstant) {}

  next(): WriteStamp {
    const now = this.now();
    const ticks = now > this.last ? now : this.last + 1n;
    this.last = ticks;
    this.sequence = (this.sequence + 1) % 0x1_0000_0000;
    const seconds = Number(ticks / 10_000_000n);
    const counter = this.sequence.toString(16).padStart(8, '0');
    const time = seconds.toString(16).padStart(8, '0').slice(-8);
    return { ticks, timestamp: formatInstant(ticks), eTag: `"${counter}-0000-0000-0000-${time}0000"` };
  }
}

/**
 * If-Match matching that tolerates the ways clients mangle this eTag: with or without the surrounding quotes, with
 * the JSON escaping left in (`\"…\"`), or weak (`W/"…"`). `*` matches any existing referral.
 */
export function eTagMatches(ifMatch: string, eTag: string): boolean {
  const normalize = (value: string): string =>
    value.trim().replace(/^W\//i, '').replace(/\\"/g, '"').replace(/^"+|"+$/g, '');
  return ifMatch
    .split(',')
    .map((candidate) => candidate.trim())
    .some((candidate) => candidate === '*' || normalize(candidate) === normalize(eTag));
}
