// NAME.js under Node: a real pack read from a path, a file: URL, an http URL and its default
// URL; every byte and float32 bit compared with numpy's; each broken bundle an Error naming
// the file; the plain batch functions.
import assert from "node:assert/strict";
import {mkdtempSync, readFileSync} from "node:fs";
import {createServer} from "node:http";
import {tmpdir} from "node:os";
import {join, normalize} from "node:path";
import {after, before, test} from "node:test";
import {DIR, FIX, bytes, fileUrl, loader, path, rejection, same} from "./fixtures.mjs";

const {gray} = FIX.bundles;
let server, base;
const requests = [];

before(async () => {
  server = createServer((req, res) => {  // DIR's files; 404 for anything else
    requests.push(req.url);
    const file = normalize(join(DIR, decodeURIComponent(new URL(req.url, "http://x").pathname)));
    try {
      const body = readFileSync(file);
      res.writeHead(200, {"content-length": body.length}).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
});
after(() => server.close());

function checkData(d, b) {
  assert.ok(d.images instanceof Uint8Array && d.labels instanceof Uint8Array);
  assert.ok(same(d.images, bytes(b.x)), "images differ from the source's bytes");
  assert.ok(same(d.labels, bytes(b.y)), "labels differ from the source's one-hot rows");
  assert.deepEqual([d.imageHeight, d.imageWidth, d.channels, d.classes, d.trainImages, d.testImages],
                   [b.height, b.width, b.channels, b.classes, b.train, b.images - b.train]);
}

for (const [name, b] of Object.entries(FIX.bundles)) {
  test(`${name}: load() from a path, a file: URL and an http URL gives the source's bytes`, async () => {
    const {load} = await loader(b);
    checkData(await load(path(b.json)), b);
    checkData(await load(fileUrl(b.json)), b);
    checkData(await load(fileUrl(b.json).href), b);
    checkData(await load(base + b.json), b);
  });

  test(`${name}: toFloat32 of load()'s bytes is numpy's float32(v / 255), bit for bit`, async () => {
    const {load, toFloat32} = await loader(b);
    assert.ok(same(toFloat32((await load(path(b.json))).images), bytes(b.f32)));
  });

  test(`${name}: its constants are NAME.json's`, async () => {
    const m = await loader(b);
    assert.deepEqual([m.IMAGE_H, m.IMAGE_W, m.CHANNELS, m.NUM_CLASSES, m.IMAGE_SIZE],
                     [b.height, b.width, b.channels, b.classes, b.height * b.width * b.channels]);
  });
}

test("load() with no url reads NAME.json beside the module, whatever the working directory", async () => {
  const {load} = await loader(gray);
  process.chdir(tmpdir());
  checkData(await load(), gray);
});

test("a url given is relative to the working directory, even ./NAME.json (the default's string)", async () => {
  const {load} = await loader(gray);
  process.chdir(path(gray.json.replace(/[^/]*$/, "")));
  checkData(await load("./digits.json"), gray);
  process.chdir(DIR);
  checkData(await load("gray/pack/digits.json"), gray);
  const empty = mkdtempSync(join(tmpdir(), "no-bundle-"));
  process.chdir(empty);
  const e = await rejection(load("./digits.json"));  // not the module's folder's, which exists
  assert.ok(e.message.includes(join(empty, "digits.json")) && e.message.includes("missing"), e.message);
});

for (const c of FIX.broken) {
  for (const how of ["path", "http"]) {
    test(`${c.name} (${how}): an Error naming ${c.file}: ${c.error}`, async () => {
      const {load} = await loader(gray);
      const e = await rejection(load(how === "path" ? path(c.json) : base + c.json));
      assert.ok(e instanceof Error && e.message.includes(c.file), String(e));
      const said = how === "http" && c.error === "missing" ? "HTTP 404" : c.error;
      assert.ok(e.message.includes(said), e.message);
    });
  }
}

test("a missing NAME.json, or a file that is not one, is an Error naming it", async () => {
  const {load} = await loader(gray);
  assert.match((await rejection(load(path("nothing.json")))).message, /nothing\.json: is missing/);
  assert.match((await rejection(load(path(gray.x)))).message, /x\.raw: is not JSON/);
  assert.match((await rejection(load(path("fixtures.json")))).message, /not a NAME\.json/);
});

// Each row of xs with its label row, as one key: which source row a batch row is.
function rowKeys(b) {
  const f32 = new Float32Array(bytes(b.f32).slice().buffer), y = bytes(b.y);
  const values = b.height * b.width * b.channels, keys = new Map();
  for (let r = 0; r < b.images; r++) {
    keys.set(key(f32.subarray(r * values, (r + 1) * values), y.subarray(r * b.classes, (r + 1) * b.classes)), r);
  }
  return keys;
}
const key = (xs, labels) => Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength).toString("hex") +
  Buffer.from(labels).toString("hex");

function walked(batch, b, keys) {
  const values = b.height * b.width * b.channels, rows = [];
  for (let i = 0; i < batch.xsShape[0]; i++) {
    rows.push(keys.get(key(batch.xs.subarray(i * values, (i + 1) * values),
                           batch.labels.subarray(i * b.classes, (i + 1) * b.classes))));
  }
  return rows;
}

test("nextBatch walks each part in a seeded shuffle, every row once an epoch, then again", async () => {
  const {load, nextBatch} = await loader(gray);
  const keys = rowKeys(gray), test = gray.images - gray.train;
  const d = await load(path(gray.json));
  const first = nextBatch(d, "train", gray.train);
  assert.deepEqual(first.xsShape, [gray.train, 20]);
  assert.deepEqual(first.labelsShape, [gray.train, 3]);
  assert.ok(first.xs instanceof Float32Array && first.labels instanceof Uint8Array);
  const order = walked(first, gray, keys);
  assert.deepEqual([...order].sort((a, b) => a - b), [...Array(gray.train).keys()]);
  assert.notDeepEqual(order, [...Array(gray.train).keys()], "not shuffled");
  assert.deepEqual(walked(nextBatch(d, "train", 3), gray, keys), order.slice(0, 3));
  const tests = walked(nextBatch(d, "test", test), gray, keys);
  assert.deepEqual([...tests].sort((a, b) => a - b), [...Array(test).keys()].map((i) => i + gray.train));
  const again = await load(path(gray.json));  // the same seed: the same order
  assert.deepEqual(walked(nextBatch(again, "train", gray.train), gray, keys), order);
  const other = await load(path(gray.json));
  assert.notDeepEqual(walked(nextBatch(other, "train", gray.train, {seed: 1}), gray, keys), order);
  assert.throws(() => nextBatch(d, "validation", 1), /give "train" or "test"/);
  assert.throws(() => nextBatch(d, "train", 0), /batch size 0/);
});

test("batches() streams a part in order, across shards, the last batch smaller", async () => {
  const {batches} = await loader(gray);
  const keys = rowKeys(gray);
  const seen = [], sizes = [];
  for await (const b of batches(path(gray.json), {batchSize: 8, part: "all"})) {
    sizes.push(b.size);
    assert.deepEqual(b.xsShape, [b.size, 20]);
    seen.push(...walked(b, gray, keys));
  }
  assert.deepEqual(sizes, [8, 8, 8, 8, 5]);
  assert.deepEqual(seen, [...Array(gray.images).keys()]);
  const tests = [];
  for await (const b of batches(base + gray.json, {batchSize: 4, part: "test"})) tests.push(...walked(b, gray, keys));
  assert.deepEqual(tests, [...Array(gray.images - gray.train).keys()].map((i) => i + gray.train));
  const e = await rejection(batches(path(FIX.broken[0].json), {batchSize: 64}).next());
  assert.ok(e.message.includes(FIX.broken[0].file), e.message);
});

test("a bundle in Node without SubtleCrypto: its own SHA-256 checks each file", async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  Object.defineProperty(globalThis, "crypto", {value: undefined, configurable: true});
  try {
    const {load} = await loader(gray);
    checkData(await load(path(gray.json)), gray);
    const bad = FIX.broken.find((c) => c.name === "sha256");
    assert.match((await rejection(load(path(bad.json)))).message, /sha256 differs/);
  } finally {  // Node 18 has no global crypto (it needs --experimental-global-webcrypto)
    if (saved) Object.defineProperty(globalThis, "crypto", saved);
    else delete globalThis.crypto;
  }
});

// load() over http with fetch() standing in: `body(url, bytes)` is the Response for each file.
async function withFetch(body, run) {
  const real = globalThis.fetch;
  globalThis.fetch = async (url) => body(String(url), new Uint8Array(await (await real(url)).arrayBuffer()));
  try {
    await run();
  } finally {
    globalThis.fetch = real;
  }
}

test("over http, a body read in 64 KiB or in odd chunks, or with no byte stream, is the same", async () => {
  const {load} = await loader(gray);
  // a plain stream (no BYOB reader: arrayBuffer() reads it), in chunks of 7 bytes
  await withFetch((url, bytes) => {
    let at = 0;
    return new Response(new ReadableStream({
      pull(c) {
        if (at >= bytes.length) c.close();
        else c.enqueue(bytes.slice(at, at += 7));
      },
    }));
  }, async () => checkData(await load(base + gray.json), gray));
  // a byte stream handing out 3 bytes a read, whatever the reader's buffer holds
  await withFetch((url, bytes) => {
    let at = 0;
    return new Response(new ReadableStream({
      type: "bytes",
      pull(c) {
        if (at >= bytes.length) {
          c.close();
          return c.byobRequest?.respond(0);  // a pending read learns that the stream ended
        }
        const view = c.byobRequest?.view, n = Math.min(3, bytes.length - at);
        if (view) view.set(bytes.subarray(at, at + n)), c.byobRequest.respond(n);
        else c.enqueue(bytes.slice(at, at + n));
        at += n;
      },
    }));
  }, async () => checkData(await load(base + gray.json), gray));
});

test("over http, a shard longer than NAME.json says is an Error giving its length", async () => {
  const {load} = await loader(gray);
  const extra = 100_000;  // more than twice the file: the body's buffer grows to hold it all
  await withFetch((url, bytes) => new Response(/_images_001\.[0-9a-f]{16}\.png$/.test(url) ?
    Buffer.concat([bytes, Buffer.alloc(extra)]) : bytes), async () => {
    const e = await rejection(load(base + gray.json));
    const [, got, says] = e.message.match(/digits_images_001\.[0-9a-f]{16}\.png: (\d+) bytes, digits\.json says (\d+)/) ?? [];
    assert.ok(got && Number(got) === Number(says) + extra, e.message);
  });
});

test("NAME.json is fetched past the HTTP cache; its shards, named by their content, are not", async () => {
  const {load} = await loader(gray);
  const real = globalThis.fetch, asked = [];
  globalThis.fetch = (url, init) => (asked.push([String(url), init]), real(url, init));
  try {
    checkData(await load(base + gray.json), gray);
  } finally {
    globalThis.fetch = real;
  }
  const [[jsonUrl, jsonInit], ...files] = asked;
  assert.equal(jsonUrl, base + gray.json);
  assert.equal(jsonInit?.headers?.["cache-control"], "no-cache");  // Node: no cache of its own
  assert.ok(files.length > 0 && files.every(([u, init]) =>
    /\.[0-9a-f]{16}(\.png)?$/.test(u) && init === undefined), JSON.stringify(files));
});

test("a NAME.js whose constants differ from the NAME.json it reads is an Error naming both", async () => {
  const {rgb} = FIX.bundles;
  const {load} = await loader(rgb);  // 3x4 RGB images, 4 classes; gray's are 4x5 gray, 3 classes
  const e = await rejection(load(path(gray.json)));
  assert.ok(e.message.startsWith(`${fileUrl(gray.json).href}: image_height is 4, but ` +
    `${fileUrl(rgb.js).href} was made for 3: they come from two packs;`), e.message);
});
