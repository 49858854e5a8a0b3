// The log's static copy (C2SP tlog-tiles, as the registry's TilePublisher
// writes it to a bucket or CDN) read in the browser: proofs rebuilt from
// its hash tiles, as client/static_log.cc does for `loupe verify
// --log-url`. Nothing here is trusted: checks.js verifies the copy's
// checkpoint and the proofs built here. `get(key)` returns an object's
// bytes (Uint8Array) or throws.
import {concat, sha256} from './trust.js';

const WIDTH = 256;
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// "tile/<L>/<N>[.p/<W>]"; level -1: "tile/entries/...".
export function tileKey(level, index, width) {
  const groups = [];
  let n = index;
  do {
    groups.unshift(n % 1000);
    n = Math.floor(n / 1000);
  } while (n > 0);
  const path = groups.map((g, i) =>
    `${i < groups.length - 1 ? 'x' : ''}${String(g).padStart(3, '0')}`).join('/');
  return `tile/${level < 0 ? 'entries' : level}/${path}${width < WIDTH ? `.p/${width}` : ''}`;
}

// The largest power of two smaller than n (n >= 2).
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// Reads the tiles of the tree of `size` entries.
export function staticLog(get, size) {
  const tiles = new Map();
  const read = new Set();
  async function tile(level, index) {
    const width = Math.min(WIDTH, Math.floor(size / WIDTH ** level) - index * WIDTH);
    const key = tileKey(level, index, width);
    read.add(key);
    if (!tiles.has(key)) {
      const bytes = await get(key);
      if (bytes.length !== 32 * width) {
        throw new Error(`${key}: ${bytes.length} bytes, not ${32 * width} (the copy is damaged)`);
      }
      tiles.set(key, Array.from({length: width}, (_, i) => bytes.slice(32 * i, 32 * i + 32)));
    }
    return tiles.get(key);
  }
  async function span(hashes, begin, end) {
    if (end - begin === 1) return hashes[begin];
    const mid = begin + (end - begin) / 2;
    return nodeHash(await span(hashes, begin, mid), await span(hashes, mid, end));
  }
  // MTH of leaves [begin, end).
  async function subtree(begin, end) {
    const n = end - begin;
    if (Number.isInteger(Math.log2(n)) && begin % n === 0) {
      const k = Math.log2(n), level = Math.floor(k / 8), r = k % 8;
      const first = (begin / n) * 2 ** r;
      const offset = first % WIDTH;
      return span(await tile(level, Math.floor(first / WIDTH)), offset, offset + 2 ** r);
    }
    const k = split(n);
    return nodeHash(await subtree(begin, begin + k), await subtree(begin + k, end));
  }
  return {
    root: () => subtree(0, size),
    // RFC 9162 2.1.3.1.
    async inclusionProof(index) {
      const proof = [];
      let begin = 0, end = size;
      while (end - begin > 1) {
        const k = split(end - begin);
        if (index - begin < k) {
          proof.push(await subtree(begin + k, end));
          end = begin + k;
        } else {
          proof.push(await subtree(begin, begin + k));
          begin += k;
        }
      }
      return proof.reverse();
    },
    // RFC 9162 2.1.4.1, from old size m.
    async consistencyProof(m) {
      const proof = [];
      let begin = 0, end = size, whole = true;
      for (;;) {
        const n = end - begin;
        if (m === n) {
          if (!whole) proof.push(await subtree(begin, end));
          break;
        }
        const k = split(n);
        if (m <= k) {
          proof.push(await subtree(begin + k, end));
          end = begin + k;
        } else {
          proof.push(await subtree(begin, begin + k));
          begin += k;
          m -= k;
          whole = false;
        }
      }
      return proof.reverse();
    },
    // The tiles read since the last call, for messages.
    takeRead() {
      const out = [...read];
      read.clear();
      return out;
    },
  };
}
