// What the page and its Worker do with a pack's NAME.js: load(), then its images as float32.
export async function loadPack(m) {
  const t0 = performance.now();
  const d = await m.load();
  const loadMs = performance.now() - t0;
  if (!(d.images instanceof Uint8Array)) throw new Error('load().images is not a Uint8Array');
  if (!(d.labels instanceof Uint8Array)) throw new Error('load().labels is not a Uint8Array');
  const {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages} = d;
  return {
    loadMs, images: m.toFloat32(d.images), labels: d.labels,
    facts: {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages},
  };
}
