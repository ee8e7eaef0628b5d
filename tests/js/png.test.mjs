// The PNG decoder and SHA-256 inside NAME.js, against Python's own files (tests/loaderkit.py).
import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {test} from "node:test";
import {FIX, bytes, loader, rejection, same} from "./fixtures.mjs";

const {decodePng, sha256, toFloat32} = await loader(FIX.bundles.gray);

for (const c of FIX.png) {
  test(`decodes ${c.file}: ${c.channels === 3 ? "RGB" : "gray"}, filters ${c.filters}`, async () => {
    const got = await decodePng(bytes(`png/${c.file}`), c.file);
    assert.deepEqual([got.width, got.height, got.channels], [c.width, c.height, c.channels]);
    assert.ok(same(got.pixels, bytes(`png/${c.raw}`)), "the decoded bytes differ from numpy's");
  });
}

for (const c of FIX.bad) {
  test(`refuses ${c.file}, naming it: ${c.error}`, async () => {
    const e = await rejection(decodePng(bytes(`bad/${c.file}`), c.file));
    assert.ok(e instanceof Error && e.message.startsWith(`${c.file}: `), String(e));
    assert.ok(e.message.includes(c.error), e.message);
  });
}

test("its own SHA-256 is node:crypto's at every length around a block, and for 1 MB", () => {
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
  for (const n of [...Array(200).keys(), 1000, 65539, data.length]) {
    const part = data.subarray(0, n);
    const want = createHash("sha256").update(part).digest("hex");
    assert.equal(Buffer.from(sha256(part)).toString("hex"), want, `length ${n}`);
  }
});

test("float32 of every byte is numpy's float32(k / 255), bit for bit", () => {
  const k = Uint8Array.from({length: 256}, (_, i) => i);
  assert.deepEqual(Array.from(new Uint32Array(toFloat32(k).buffer)), FIX.k255);
});
