/**
 * Short ASCII strings interned by their bytes: the words a connection repeats message after message
 * (HTTP methods, header names and common values, reason phrases, Redis command names) come back as
 * the same string object instead of a new one each time. That saves the allocation, and lookups
 * keyed by these strings (lower-case names, command tables) hash them once.
 *
 * A direct-mapped table of fixed size: a slot holds the last string that hashed there, so memory
 * is bounded whatever the traffic, and a miss costs only the string it would have cost anyway.
 */
import { latin1At } from './text.js';

/** Strings longer than this are not interned (values that long rarely repeat byte for byte). */
export const MAX_INTERNED = 48;
const SLOTS = 2048;

const keys = new Uint8Array(SLOTS * MAX_INTERNED);
const lengths = new Int32Array(SLOTS).fill(-1);
const strings: string[] = new Array<string>(SLOTS).fill('');

/**
 * `b[start, end)` as a string; the caller has checked that every byte is ASCII (then Latin-1 and
 * UTF-8 read the same), so the string is the one utf8At would give.
 */
export function internAscii(b: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len <= 0) return '';
  if (len > MAX_INTERNED) return latin1At(b, start, end);
  let h = len;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const at = slot * MAX_INTERNED;
  if (lengths[slot] === len) {
    let k = 0;
    while (k < len && keys[at + k] === b[start + k]) k++;
    if (k === len) return strings[slot]!;
  }
  const s = latin1At(b, start, end);
  for (let k = 0; k < len; k++) keys[at + k] = b[start + k]!;
  lengths[slot] = len;
  strings[slot] = s;
  return s;
}
