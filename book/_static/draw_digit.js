// The "Draw a digit" page: a canvas to draw on, the drawing prepared as MNIST's
// digits were, lenet5.predict (lenet5.js) on it, and every layer drawn.
//
// MNIST's digits were made from scanned strokes in three steps (LeCun, Cortes &
// Burges), which prepareDrawing repeats on the canvas:
//   1. the strokes' bounding box is scaled, keeping its aspect ratio, so that its
//      longer side is 20 pixels, anti-aliased (each pixel is the mean of the area it covers);
//   2. the result is put in a 28x28 field so that its centre of mass is at the centre;
//   3. (the network's own step, in lenet5.js) padded to 32x32 and scaled to -0.1..1.175.
(function () {
  "use strict";

  const BOX = 20, FIELD = 28;      // MNIST: a 20x20 box centred in a 28x28 field
  const PEN_WIDTH = 22;            // on the 280x280 canvas: about 2 MNIST pixels once scaled
  const TANH_MAX = 1.7159;         // every layer's outputs lie in -1.7159..1.7159

  // ---- the drawing -> 28x28, as MNIST's digits were made ----

  // The canvas's pixels as rows of numbers 0-255 (white ink on black).
  function canvasPixels(canvas) {
    const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    return Array.from({ length: height }, (_, y) =>
      Array.from({ length: width }, (_, x) => data[4 * (y * width + x)])); // the red channel
  }

  // The smallest box holding every inked pixel: {top, left, height, width}, or null if blank.
  function boundingBox(pixels) {
    let top = Infinity, left = Infinity, bottom = -1, right = -1;
    pixels.forEach((row, y) => row.forEach((v, x) => {
      if (v > 0) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
    }));
    return bottom < 0 ? null : { top, left, height: bottom - top + 1, width: right - left + 1 };
  }

  // For each of n output pixels of size `step` from `start`: the source pixels it covers, and how much.
  function coverage(start, n, step) {
    return Array.from({ length: n }, (_, o) => {
      const a = start + o * step, b = a + step, parts = [];
      for (let s = Math.floor(a); s < Math.ceil(b); s++) parts.push([s, Math.min(b, s + 1) - Math.max(a, s)]);
      return parts;
    });
  }

  // Step 1: the box scaled so its longer side is `size` pixels; each pixel the mean of what it covers.
  function scaleInto(pixels, box, size = BOX) {
    const step = Math.max(box.height, box.width) / size; // source pixels per output pixel
    const rows = coverage(box.top, Math.max(1, Math.round(box.height / step)), step);
    const cols = coverage(box.left, Math.max(1, Math.round(box.width / step)), step);
    const at = (y, x) => (pixels[y] && pixels[y][x]) || 0;
    return rows.map(ys => cols.map(xs => {
      let sum = 0;
      for (const [y, wy] of ys) for (const [x, wx] of xs) sum += wy * wx * at(y, x);
      return sum / (step * step);
    }));
  }

  // The centre of mass of an image, in pixels (pixel i spans i..i+1): [y, x].
  function centreOfMass(image) {
    let total = 0, cy = 0, cx = 0;
    image.forEach((row, y) => row.forEach((v, x) => {
      total += v; cy += v * (y + 0.5); cx += v * (x + 0.5);
    }));
    return [cy / total, cx / total];
  }

  // Step 2: into a 28x28 field, moved by whole pixels so its centre of mass is at (14, 14).
  function centreIn28(image) {
    const [cy, cx] = centreOfMass(image);
    const dy = Math.round(FIELD / 2 - cy), dx = Math.round(FIELD / 2 - cx);
    const out = Array.from({ length: FIELD }, () => new Array(FIELD).fill(0));
    image.forEach((row, y) => row.forEach((v, x) => {
      if (y + dy >= 0 && y + dy < FIELD && x + dx >= 0 && x + dx < FIELD)
        out[y + dy][x + dx] = Math.min(255, Math.round(v));
    }));
    return out;
  }

  // The whole preparation: canvas pixels -> the 28x28 digit the network reads (null if blank).
  function prepareDrawing(pixels) {
    const box = boundingBox(pixels);
    return box ? centreIn28(scaleInto(pixels, box)) : null;
  }

  // ---- drawing numbers as pictures ----

  // A 2-D array of values in lo..hi into a canvas, grey: lo black, hi white.
  function paint(canvas, image, lo = -TANH_MAX, hi = TANH_MAX) {
    const h = image.length, w = image[0].length;
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d"), picture = ctx.createImageData(w, h);
    image.forEach((row, y) => row.forEach((v, x) => {
      const g = Math.round(255 * Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
      picture.data.set([g, g, g, 255], 4 * (y * w + x));
    }));
    ctx.putImageData(picture, 0, 0);
  }

  const channel = (maps, c) => maps.map(row => row.map(pixel => pixel[c])); // map c of [h][w][maps]
  const rowsOf = (values, width) => // a flat list as rows of `width`
    Array.from({ length: values.length / width }, (_, r) => values.slice(r * width, (r + 1) * width));

  function mapCanvases(container, count, label) {
    container.replaceChildren();
    return Array.from({ length: count }, (_, i) => {
      const canvas = document.createElement("canvas");
      canvas.title = `${label} map ${i}`;
      canvas.dataset.map = i;
      container.append(canvas);
      return canvas;
    });
  }

  // ---- the page ----

  function start(root) {
    const $ = id => root.querySelector(`#dd-${id}`);
    const canvas = $("canvas"), pen = canvas.getContext("2d", { willReadFrequently: true });
    const maps = {
      C1: mapCanvases($("C1"), 6, "C1"), S2: mapCanvases($("S2"), 6, "S2"),
      C3: mapCanvases($("C3"), 16, "C3"), S4: mapCanvases($("S4"), 16, "S4"),
    };
    const bars = Array.from({ length: 10 }, (_, d) => {
      const row = document.createElement("div");
      row.className = "dd-bar";
      row.innerHTML = `<span class="dd-bar-digit">${d}</span>` +
        `<span class="dd-bar-track"><span class="dd-bar-fill"></span></span><span class="dd-bar-value"></span>`;
      $("distances").append(row);
      return row;
    });
    const state = { pixels: null, result: null, c3: null, drawing: false, pending: false };
    window.drawDigit = { state, prepareDrawing, canvasPixels, update: () => update() };

    function clear() {
      pen.fillStyle = "black";
      pen.fillRect(0, 0, canvas.width, canvas.height);
      state.pixels = state.result = null;
      show();
    }

    // Pointer events: mouse, touch and pen alike.
    function point(event) {
      const r = canvas.getBoundingClientRect();
      return [(event.clientX - r.left) * canvas.width / r.width,
              (event.clientY - r.top) * canvas.height / r.height];
    }
    canvas.addEventListener("pointerdown", event => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      state.drawing = true;
      const [x, y] = point(event);
      pen.beginPath(); pen.moveTo(x, y); pen.lineTo(x, y + 0.01); pen.stroke(); // a dot for a tap
      later();
    });
    canvas.addEventListener("pointermove", event => {
      if (!state.drawing) return;
      const [x, y] = point(event);
      pen.lineTo(x, y); pen.stroke();
      later();
    });
    for (const type of ["pointerup", "pointercancel"])
      canvas.addEventListener(type, () => { state.drawing = false; later(); });

    function later() { // at most one reading per frame, however fast the pointer moves
      if (!state.pending) { state.pending = true; requestAnimationFrame(update); }
    }

    function update() {
      state.pending = false;
      state.pixels = prepareDrawing(canvasPixels(canvas));
      state.result = state.pixels && lenet5.predict(state.pixels);
      show();
    }

    function loadSample(pixels) { // the sample itself is what the network reads; the canvas shows it enlarged
      const small = document.createElement("canvas");
      paint(small, pixels, 0, 255);
      pen.imageSmoothingEnabled = true;
      pen.drawImage(small, 0, 0, canvas.width, canvas.height);
      state.pixels = pixels;
      state.result = lenet5.predict(pixels);
      show();
    }

    function show() {
      const r = state.result;
      root.classList.toggle("dd-blank", !r);
      $("answer").textContent = r ? r.digit : "–";
      paint($("seen"), state.pixels || [[0]], 0, 255);
      if (!r) return;
      for (const name of ["C1", "S2", "C3", "S4"])
        maps[name].forEach((c, i) => paint(c, channel(r.layers[name], i)));
      paint($("C5"), rowsOf(r.layers.C5.flat(2), 20));
      paint($("F6"), rowsOf(r.layers.F6, 7), -1, 1); // on the codes' scale: -1 black, +1 white
      paint($("code"), rowsOf(lenet5.weights.output.prototypes[r.digit], 7), -1, 1);
      $("code-digit").textContent = r.digit;
      const longest = Math.max(...r.distances);
      r.distances.forEach((d, i) => {
        bars[i].classList.toggle("dd-nearest", i === r.digit);
        bars[i].querySelector(".dd-bar-fill").style.width = `${(100 * d) / longest}%`;
        bars[i].querySelector(".dd-bar-value").textContent = d.toFixed(1);
      });
    }

    // Table I: pointing at (or tapping) a C3 map lights up the S2 maps it reads.
    function showInputs(j) {
      const table = lenet5.weights.C3.table;
      maps.C3.forEach((c, k) => c.classList.toggle("dd-selected", k === j));
      maps.S2.forEach((c, i) => c.classList.toggle("dd-feeds", table[i][j] === 1));
      const inputs = table.map((row, i) => (row[j] ? i : null)).filter(i => i !== null);
      $("table-note").textContent = `C3 map ${j} reads S2 maps ${inputs.join(", ")} (Table I)`;
    }
    maps.C3.forEach((c, j) => {
      c.addEventListener("pointerenter", () => showInputs(j));
      c.addEventListener("click", () => showInputs(j));
    });

    pen.lineWidth = PEN_WIDTH; pen.lineCap = pen.lineJoin = "round"; pen.strokeStyle = "white";
    clear();
    $("clear").addEventListener("click", clear);
    lenet5.ready.then(async metadata => {
      const t = metadata.training;
      $("accuracy").textContent = `${(100 * metadata.validation_accuracy).toFixed(2)}%`;
      $("provenance").textContent =
        `${t.data.split("\n")[0]}; ${t.recipe}, ${t.passes} passes, seed ${t.seed}; ` +
        `weights: ${metadata.bytes.toLocaleString("en")} bytes`;
      const samples = await (await fetch(new URL(SAMPLES, lenet5Script))).json();
      for (const { label, pixels } of samples.digits) {
        const button = document.createElement("button");
        button.textContent = label;
        button.title = `load a ${label} from the MNIST sample`;
        button.addEventListener("click", () => loadSample(pixels));
        $("samples").append(button);
      }
      showInputs(0);
      loadSample(samples.digits[FIRST_SAMPLE].pixels); // something to look at before the first stroke
      root.classList.add("dd-ready");
    }).catch(error => { $("status").textContent = `The network could not be loaded: ${error}`; });
  }

  const SAMPLES = "draw_digit_samples.json", FIRST_SAMPLE = 3;
  const lenet5Script = document.currentScript ? document.currentScript.src : location.href;
  const root = document.getElementById("draw-digit");
  if (root) start(root);
})();
