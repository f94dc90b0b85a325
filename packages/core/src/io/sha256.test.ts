import { describe, expect, it } from 'vitest';
import { sha256Hex, sha256HexJs } from './sha256.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180 test vectors (Web Crypto and the JS fallback)', async () => {
    const vectors: [string, string][] = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ];
    for (const [msg, hex] of vectors) {
      expect(await sha256Hex(enc(msg))).toBe(hex);
      expect(sha256HexJs(enc(msg))).toBe(hex);
    }
  });

  it('the JS fallback agrees with Web Crypto at every padding boundary and on a 1 MiB buffer', async () => {
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, big.length]) {
      const data = big.subarray(3, 3 + Math.min(n, big.length - 3)); // unaligned view into a larger buffer
      expect(sha256HexJs(data), `length ${data.length}`).toBe(await sha256Hex(data));
    }
  });
});
