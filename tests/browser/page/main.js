// Loads the sprite as data.js does, hands the images to TensorFlow.js as data.js's
// getTrainData() does (a float32 tensor), and sends what the tensor holds and the label bytes
// back to the Python side, which compares them with what `mnist-sprite convert` writes.
import {loadSprite} from './loader.js';
import {post} from './post.js';

async function run() {
  const cfg = await (await fetch('config.json')).json();
  await tf.setBackend('cpu');  // the same numbers on any machine; no GPU here anyway
  const t0 = performance.now();
  const {datasetImages, datasetLabels} = await loadSprite(cfg);
  const loadMs = performance.now() - t0;
  const xs = tf.tensor2d(datasetImages, [cfg.images, datasetImages.length / cfg.images]);
  const values = await xs.data();
  xs.dispose();
  await post('images', values);
  await post('labels', datasetLabels);
  return {tfjs: tf.version.tfjs, backend: tf.getBackend(), loadMs};
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
