// LeNet-5's forward pass in plain JavaScript, for the book's "Draw a digit" page.
//
// A mirror of lenet_course/reference.py: each layer function below has the same
// name (in camelCase), the same arguments and the same sums as its Python twin,
// so you can read one beside the other. Arrays are nested JavaScript arrays in
// Keras's shapes: one image is [height][width][maps].
//
// Public API (also from the browser console):
//   await lenet5.ready;                    // the weights are loaded
//   const r = lenet5.predict(pixels);      // pixels: 28 rows of 28 numbers 0-255,
//                                          // white digit on black, as in MNIST
//   r.digit, r.distances, r.layers.C1 ... r.layers.F6
(function () {
  "use strict";

  // ---- the layers: one function per function of reference.py ----

  // The paper's squashing function, 1.7159 * tanh(2a/3).
  function scaledTanh(a) {
    return 1.7159 * Math.tanh((2.0 / 3.0) * a);
  }

  // A 'valid' convolution with stride 1, as in C1 and C5.
  // image [h][w][inMaps], kernels [k][k][inMaps][outMaps], biases [outMaps].
  function conv2d(image, kernels, biases) {
    const k = kernels.length;
    const outH = image.length - k + 1, outW = image[0].length - k + 1;
    const out = zeros([outH, outW, biases.length]);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const sums = out[y][x]; // one sum per output map
        for (let dy = 0; dy < k; dy++) {
          for (let dx = 0; dx < k; dx++) { // the k x k window of every input map times its kernel
            const pixel = image[y + dy][x + dx], kernel = kernels[dy][dx]; // [inMaps], [inMaps][outMaps]
            for (let i = 0; i < pixel.length; i++)
              for (let m = 0; m < sums.length; m++) sums[m] += pixel[i] * kernel[i][m];
          }
        }
        for (let m = 0; m < sums.length; m++) sums[m] += biases[m];
      }
    }
    return out;
  }

  // A convolution where output map j only sees input maps i with table[i][j] (C3).
  // kernels [k][k][connections]: one kernel per 1 of the table, in row-major order.
  function partialConv2d(image, kernels, biases, table) {
    const k = kernels.length;
    const outH = image.length - k + 1, outW = image[0].length - k + 1;
    const out = zeros([outH, outW, table[0].length]);
    let connection = 0;
    for (let i = 0; i < table.length; i++) { // row-major: the order the kernels are stored in
      for (let j = 0; j < table[0].length; j++) {
        if (!table[i][j]) continue;
        for (let y = 0; y < outH; y++) {
          for (let x = 0; x < outW; x++) {
            let sum = 0; // input map i's k x k window times kernel `connection`
            for (let dy = 0; dy < k; dy++)
              for (let dx = 0; dx < k; dx++) sum += image[y + dy][x + dx][i] * kernels[dy][dx][connection];
            out[y][x][j] += sum;
          }
        }
        connection++;
      }
    }
    return out.map(row => row.map(pixel => pixel.map((v, j) => v + biases[j])));
  }

  // The paper's subsampling: each block's sum, times a coefficient, plus a bias, per map.
  function subsample(maps, coefficients, biases, poolSize = 2) {
    const p = poolSize;
    const outH = Math.floor(maps.length / p), outW = Math.floor(maps[0].length / p);
    const out = zeros([outH, outW, maps[0][0].length]);
    for (let y = 0; y < outH; y++)
      for (let x = 0; x < outW; x++)
        for (let c = 0; c < coefficients.length; c++) {
          let blockSum = 0;
          for (let dy = 0; dy < p; dy++)
            for (let dx = 0; dx < p; dx++) blockSum += maps[y * p + dy][x * p + dx][c];
          out[y][x][c] = coefficients[c] * blockSum + biases[c];
        }
    return out;
  }

  // A fully connected layer (F6): vector [n] times kernel [n][units], plus the bias.
  function dense(vector, kernel, biases) {
    return biases.map((b, u) => vector.reduce((sum, v, n) => sum + v * kernel[n][u], b));
  }

  // The RBF output: the squared Euclidean distance from features [84] to each code [10][84].
  function rbfDistances(features, codes) {
    return codes.map(code => code.reduce((sum, w, j) => sum + (features[j] - w) ** 2, 0));
  }

  // ---- the input, as lenet_course.data prepares it ----

  // 28x28 -> 32x32: 2 background pixels on each side (data.pad_to_32).
  function padTo32(pixels) {
    return Array.from({ length: 32 }, (_, y) => Array.from({ length: 32 }, (_, x) =>
      (y < 2 || y >= 30 || x < 2 || x >= 30) ? 0 : pixels[y - 2][x - 2]));
  }

  // 0..255 -> -0.1 (background) .. 1.175 (foreground), one map (data.paper_scale).
  function paperScale(image) {
    return image.map(row => row.map(v => [-0.1 + (v / 255) * (1.175 - -0.1)]));
  }

  // ---- the whole network ----

  // One image [32][32][1] through every layer (models.build_lenet5("paper")).
  function forward(image, w) {
    const C1 = squash(conv2d(image, w.C1.kernel, w.C1.bias));
    const S2 = squash(subsample(C1, w.S2.coefficient, w.S2.bias));
    const C3 = squash(partialConv2d(S2, w.C3.kernel, w.C3.bias, w.C3.table));
    const S4 = squash(subsample(C3, w.S4.coefficient, w.S4.bias));
    const C5 = squash(conv2d(S4, w.C5.kernel, w.C5.bias));
    const F6 = squash(dense(C5.flat(2), w.F6.kernel, w.F6.bias));
    const distances = rbfDistances(F6, w.output.prototypes);
    return { distances, layers: { C1, S2, C3, S4, C5, F6 } };
  }

  // The public entry point: raw pixels in, the digit (the nearest code) out.
  function predict(pixels) {
    if (!weights) throw new Error("lenet5: the weights are not loaded yet; `await lenet5.ready` first");
    checkPixels(pixels);
    const result = forward(paperScale(padTo32(pixels)), weights);
    const digit = result.distances.indexOf(Math.min(...result.distances));
    return { digit, distances: result.distances, layers: result.layers };
  }

  // ---- helpers ----

  function squash(t) { // scaledTanh on every number of a nested array
    return Array.isArray(t) ? t.map(squash) : scaledTanh(t);
  }

  function zeros(shape) {
    return shape.length === 1 ? new Array(shape[0]).fill(0)
      : Array.from({ length: shape[0] }, () => zeros(shape.slice(1)));
  }

  function reshape(flat, shape, start = 0) { // flat numbers (C order) -> nested arrays
    if (shape.length === 1) return Array.from(flat.subarray(start, start + shape[0]));
    const size = shape.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[0] }, (_, i) => reshape(flat, shape.slice(1), start + i * size));
  }

  function checkPixels(pixels) {
    const ok = Array.isArray(pixels) && pixels.length === 28 && pixels.every(row =>
      (Array.isArray(row) || ArrayBuffer.isView(row)) && row.length === 28 &&
      Array.from(row).every(v => typeof v === "number" && v >= 0 && v <= 255));
    if (!ok) throw new Error("lenet5.predict expects 28 rows of 28 numbers 0-255 (white digit on black)");
  }

  // ---- the weights: lenet5_weights.bin, described by lenet5_weights.json ----

  let weights = null;
  const here = document.currentScript ? document.currentScript.src : location.href;

  async function load(metadataUrl = new URL("lenet5_weights.json", here).href) {
    const metadata = await (await fetch(metadataUrl)).json();
    const blob = await (await fetch(new URL(metadata.file, metadataUrl))).arrayBuffer();
    if (blob.byteLength !== metadata.bytes)
      throw new Error(`lenet5: ${metadata.file} has ${blob.byteLength} bytes, expected ${metadata.bytes}`);
    if (crypto.subtle) { // only in secure contexts (https, localhost)
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", blob)))
        .map(b => b.toString(16).padStart(2, "0")).join("");
      if (digest !== metadata.sha256) throw new Error(`lenet5: ${metadata.file} does not match its sha256`);
    }
    const view = new DataView(blob), numbers = new Float32Array(blob.byteLength / 4);
    for (let i = 0; i < numbers.length; i++) numbers[i] = view.getFloat32(4 * i, true); // little-endian
    const w = {};
    for (const array of metadata.arrays) {
      const [layer, name] = array.name.split("/");
      (w[layer] = w[layer] || {})[name] = reshape(numbers, array.shape, array.offset);
    }
    w.C3.table = metadata.c3_table;
    weights = w;
    lenet5.metadata = metadata;
    return metadata;
  }

  const lenet5 = {
    predict, load, metadata: null,
    // the layer functions, to try one at a time from the console
    scaledTanh, conv2d, partialConv2d, subsample, dense, rbfDistances, padTo32, paperScale, forward,
    get weights() { return weights; },
  };
  lenet5.ready = load();
  lenet5.ready.catch(error => console.warn(String(error)));
  window.lenet5 = lenet5;
})();
