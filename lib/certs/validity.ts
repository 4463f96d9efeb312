/** The notBefore/notAfter pair of a certificate. */
export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * How far notBefore is back-dated. Peers on hosts whose clocks lag ours would otherwise reject
 * brand-new certificates as "not yet valid"; cryptogen uses the same five minutes.
 */
const CLOCK_SKEW_MS = 5 * 60_000;

const DAY_MS = 86_400_000;

/**
 * The validity window cryptogen uses: now rounded to the minute, minus the skew allowance,
 * for `days` whole days. Every certificate of one run shares it (as in Fabric's output), so a
 * CA never starts after the leaves it issues.
 * @throws RangeError when `days` is not a positive finite number.
 */
export function validityWindow(days: number, now: Date = new Date()): Validity {
  if (!Number.isFinite(days) || days <= 0) {
    throw new RangeError(`validityDays must be a positive number, got ${days}`);
  }
  const minute = Math.round(now.getTime() / 60_000) * 60_000;
  const notBefore = new Date(minute - CLOCK_SKEW_MS);
  return { notBefore, notAfter: new Date(notBefore.getTime() + Math.round(days * DAY_MS)) };
}
