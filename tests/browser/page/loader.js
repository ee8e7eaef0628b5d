/**
 * The sprite loader of tfjs-examples' mnist/data.js, as this project's browser check runs it.
 *
 * Modelled on MnistData.load() in tfjs-examples mnist/data.js, Copyright 2018 Google LLC,
 * licensed under the Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0).
 * The arithmetic is data.js's, line for line: an Image, a canvas chunkSize rows tall, each chunk
 * drawn onto it with drawImage without clearing it, getImageData, the red value / 255 into a
 * Float32Array, the labels as a Uint8Array. What changed: the constants come from `cfg`, and for
 * cfg.channels 3 every pixel gives its red, green and blue in turn (the README's data.js edit
 * for RGB sprites). cfg.control 'reciprocal' is the negative control: v * float32(1/255) in
 * float32, the classic slip, which must not match.
 */
export async function loadSprite(cfg) {
  const IMAGE_SIZE = cfg.height * cfg.width * cfg.channels;
  const NUM_DATASET_ELEMENTS = cfg.images;
  const chunkSize = cfg.chunkSize;
  const scale = cfg.control === 'reciprocal' ?
      (v) => v * Math.fround(1 / 255) :
      (v) => v / 255;

  const img = new Image();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  const imgRequest = new Promise((resolve, reject) => {
    img.crossOrigin = '';
    img.onerror = () => reject(new Error(`the browser could not decode ${cfg.imagesUrl}`));
    img.onload = () => {
      img.width = img.naturalWidth;
      img.height = img.naturalHeight;

      const datasetBytesBuffer = new ArrayBuffer(NUM_DATASET_ELEMENTS * IMAGE_SIZE * 4);

      canvas.width = img.width;
      canvas.height = chunkSize;

      for (let i = 0; i < NUM_DATASET_ELEMENTS / chunkSize; i++) {
        const datasetBytesView = new Float32Array(
            datasetBytesBuffer, i * IMAGE_SIZE * chunkSize * 4, IMAGE_SIZE * chunkSize);
        ctx.drawImage(
            img, 0, i * chunkSize, img.width, chunkSize, 0, 0, img.width, chunkSize);

        const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);

        if (cfg.channels === 1) {
          for (let j = 0; j < imageData.data.length / 4; j++) {
            datasetBytesView[j] = scale(imageData.data[j * 4]);
          }
        } else {
          for (let j = 0; j < imageData.data.length / 4; j++) {
            for (let c = 0; c < 3; c++) {
              datasetBytesView[j * 3 + c] = scale(imageData.data[j * 4 + c]);
            }
          }
        }
      }
      resolve(new Float32Array(datasetBytesBuffer));
    };
    img.src = cfg.imagesUrl;
  });

  const labelsRequest = fetch(cfg.labelsUrl);
  const [datasetImages, labelsResponse] = await Promise.all([imgRequest, labelsRequest]);
  if (!labelsResponse.ok) throw new Error(`${cfg.labelsUrl}: HTTP ${labelsResponse.status}`);
  const datasetLabels = new Uint8Array(await labelsResponse.arrayBuffer());
  return {datasetImages, datasetLabels};
}
