// MnistData, the drop-in for tfjs-examples' data.js, with a small fake tf that records what it is
// given and infers dtypes by tf's own rule (tfjs-core util.inferDtype: Float32Array is float32;
// Int32Array, Uint8Array and Uint8ClampedArray are int32), so the tensors' shapes and dtypes are
// what data.js's would be: xs float32, labels int32 (data.js passes its Uint8Array labels too).
import assert from "node:assert/strict";
import {test} from "node:test";
import {FIX, bytes, loader, path, rejection, same} from "./fixtures.mjs";

const inferDtype = (v) => v instanceof Int32Array || v instanceof Uint8Array ||
  v instanceof Uint8ClampedArray ? "int32" : "float32";
function fakeTf() {
  const tensor = (values, shape, rank) => {
    assert.equal(values.length, shape.reduce((a, b) => a * b, 1), `values for shape ${shape}`);
    if (rank) assert.equal(shape.length, rank);
    return {values, shape, dtype: inferDtype(values)};
  };
  return {
    tensor: (v, s) => tensor(v, s), tensor2d: (v, s) => tensor(v, s, 2), tensor4d: (v, s) => tensor(v, s, 4),
    data: {generator: (make) => ({make})},
  };
}

const rows = (file, first, n, width) => bytes(file).subarray(first * width, (first + n) * width);
const floats = (b, first, n) => {
  const width = b.height * b.width * b.channels * 4;
  return new Float32Array(rows(b.f32, first, n, width).slice().buffer);
};

for (const name of ["gray", "rgb"]) {
  const b = FIX.bundles[name], values = b.height * b.width * b.channels, test_ = b.images - b.train;

  test(`${name}: getTrainData and getTestData: data.js's shapes and dtypes, numpy's values`, async () => {
    const {MnistData} = await loader(b);
    const data = new MnistData({url: path(b.json), tf: fakeTf()});
    await data.load();
    const train = data.getTrainData();
    assert.deepEqual(train.xs.shape, [b.train, b.height, b.width, b.channels]);
    assert.deepEqual([train.xs.dtype, train.labels.dtype], ["float32", "int32"]);
    assert.deepEqual(train.labels.shape, [b.train, b.classes]);
    assert.ok(same(train.xs.values, floats(b, 0, b.train)));
    assert.ok(same(train.labels.values, rows(b.y, 0, b.train, b.classes)));
    const all = data.getTestData(), three = data.getTestData(3);
    assert.deepEqual(all.xs.shape, [test_, b.height, b.width, b.channels]);
    assert.deepEqual(three.xs.shape, [3, b.height, b.width, b.channels]);
    assert.deepEqual(three.labels.shape, [3, b.classes]);
    assert.ok(same(three.xs.values, floats(b, b.train, 3)));
    assert.ok(same(all.labels.values, rows(b.y, b.train, test_, b.classes)));
    assert.throws(() => data.getTestData(test_ + 1), /there are \d+ test images/);
  });

  test(`${name}: nextTrainBatch and nextTestBatch: [n, H*W*C] float32 and [n, classes] int32`, async () => {
    const {MnistData} = await loader(b);
    const data = new MnistData({url: path(b.json), tf: fakeTf()});
    await data.load();
    const batch = data.nextTrainBatch(5), testBatch = data.nextTestBatch(2);
    assert.deepEqual([batch.xs.shape, batch.xs.dtype], [[5, values], "float32"]);
    assert.deepEqual([batch.labels.shape, batch.labels.dtype], [[5, b.classes], "int32"]);
    assert.deepEqual([testBatch.xs.shape, testBatch.labels.shape], [[2, values], [2, b.classes]]);
    const again = new MnistData({url: path(b.json), tf: fakeTf()});  // seed 0 again: same rows
    await again.load();
    assert.ok(same(again.nextTrainBatch(5).xs.values, batch.xs.values));
  });

  test(`${name}: dataset() is a tf.data generator of {xs: [n, H, W, C], ys: [n, classes]}`, async () => {
    const {dataset} = await loader(b);
    for (const flat of [false, true]) {
      const ds = await dataset(path(b.json), {batchSize: 4, part: "train", tf: fakeTf(), flat});
      let seen = 0;
      for await (const {xs, ys} of ds.make()) {
        const n = xs.shape[0];
        assert.deepEqual(xs.shape, flat ? [n, values] : [n, b.height, b.width, b.channels]);
        assert.deepEqual([ys.shape, xs.dtype, ys.dtype], [[n, b.classes], "float32", "int32"]);
        assert.ok(same(xs.values, floats(b, seen, n)));
        seen += n;
      }
      assert.equal(seen, b.train);
    }
  });
}

test("tf comes from the page's tf global when none is given", async () => {
  const {MnistData} = await loader(FIX.bundles.gray);
  globalThis.tf = fakeTf();
  try {
    const data = new MnistData({url: path(FIX.bundles.gray.json)});
    await data.load();
    assert.equal(data.getTrainData().xs.dtype, "float32");
  } finally {
    delete globalThis.tf;
  }
});

test("without tf anywhere, MnistData says what to add; the plain load() needs none", async () => {
  const {MnistData, load} = await loader(FIX.bundles.gray);
  const e = await rejection(new MnistData({url: path(FIX.bundles.gray.json)}).load());
  assert.match(e.message, /need TensorFlow\.js.*@tensorflow\/tfjs/s);
  assert.equal((await load(path(FIX.bundles.gray.json))).images.length,
               FIX.bundles.gray.images * 20);
  assert.throws(() => new MnistData().getTrainData(), /await load\(\) first/);
});
