// The SHA-256 of the stored mnist_sprite/loader.js (for contexts without SubtleCrypto), imported
// as it is, against node:crypto's.
import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {test} from "node:test";
import {sha256} from "../../../mnist_sprite/loader.js";

test("its own SHA-256 is node:crypto's at every length around a block, and for 1 MB", () => {
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
  for (const n of [...Array(200).keys(), 1000, 65539, data.length]) {
    const part = data.subarray(0, n);
    const want = createHash("sha256").update(part).digest("hex");
    assert.equal(Buffer.from(sha256(part)).toString("hex"), want, `length ${n}`);
  }
});

test("its own SHA-256 is node:crypto's for random lengths and bytes, and at 55 to 64 bytes mod 64", () => {
  let s = 5;
  const next = () => (s = (s * 48271) % 2147483647);
  for (let k = 0; k < 300; k++) {
    const n = k < 40 ? 64 * (1 + (k >> 2)) + 55 + (k % 10) : next() % 5000;
    const part = Uint8Array.from({length: n}, () => next() & 255);
    const want = createHash("sha256").update(part).digest("hex");
    assert.equal(Buffer.from(sha256(part)).toString("hex"), want, `length ${n}`);
  }
});
