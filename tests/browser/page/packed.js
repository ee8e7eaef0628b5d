// Loads a folder `mnist-sprite pack` wrote through the ES module it generated, NAME.js, as a
// user's page would (import it, await load() with its default URL, NAME.json beside it), and
// sends load()'s images and labels back with its numbers. The check serves the folder under
// pack/ and puts the module's file name in place of __LOADER__.
import {load} from './pack/__LOADER__';
import {post} from './post.js';

async function run() {
  const t0 = performance.now();
  const d = await load();
  const loadMs = performance.now() - t0;
  if (!(d.images instanceof Float32Array)) throw new Error('load().images is not a Float32Array');
  if (!(d.labels instanceof Uint8Array)) throw new Error('load().labels is not a Uint8Array');
  await post('images', d.images);
  await post('labels', d.labels);
  const {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages} = d;
  return {
    loadMs, facts: {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages},
  };
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
