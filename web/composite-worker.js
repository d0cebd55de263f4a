// Composites an edit's result into the original outside the area the person painted, off
// the page's main thread. The page starts it from a blob (src/composite.rs), so it runs
// under the page's Content-Security-Policy as `worker-src blob:` and needs no file of its
// own beside an embedding page.
//
// Message in:  {id, original: Blob, layers: [{result: Blob, mask: Mask|null}], result: Blob,
//               mask: Mask|null, width, height, chunk}
//   `layers` (may be absent) are laid in before `result`, in order, each through its own
//   mask: the earlier edits of a chain when `original` is its first photo.
//   Mask is src/mask.rs's JSON: {width, height, feather, marks: [{paint|erase: {radius,
//   points: [[x, y], ...]}} | {rect: [x, y, w, h]}]} in the pixels of the image it was
//   painted on; `width` × `height` is the size to write; `chunk` (bytes or null) is a PNG
//   chunk to insert after IHDR.
// Message out: {id, blob, width, height, ms} or {id, error}.

// Above this size the soft edge is worked out on fewer pixels and scaled up: its distances
// are what cost, and a feather is smooth, so a full-size photo gains nothing from more.
// Images the size of an upload are worked at their own size, so their edge is exact.
const WORK_PIXELS = 4_200_000;
const FULL_SIZE_WORK_PIXELS = 1_500_000;

function canvas2d(width, height, options) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", options);
  if (!context) throw new Error("this browser gave no 2D canvas to draw on");
  return [canvas, context];
}

// Draws the painted marks in white on transparent, scaled from the mask's own size.
function drawMarks(context, mask, width, height) {
  context.setTransform(width / mask.width, 0, 0, height / mask.height, 0, 0);
  context.lineCap = "round";
  context.lineJoin = "round";
  context.fillStyle = "#fff";
  context.strokeStyle = "#fff";
  for (const mark of mask.marks) {
    const stroke = mark.paint || mark.erase;
    if (stroke) {
      context.globalCompositeOperation = mark.erase ? "destination-out" : "source-over";
      const points = stroke.points;
      if (points.length === 0) continue;
      context.beginPath();
      if (points.length === 1) {
        context.arc(points[0][0], points[0][1], stroke.radius, 0, 2 * Math.PI);
        context.fill();
      } else {
        context.lineWidth = 2 * stroke.radius;
        context.moveTo(points[0][0], points[0][1]);
        for (let i = 1; i < points.length; i++) context.lineTo(points[i][0], points[i][1]);
        context.stroke();
      }
    } else if (mark.rect) {
      context.globalCompositeOperation = "source-over";
      const [x, y, w, h] = mark.rect;
      context.fillRect(x, y, w, h);
    }
  }
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.globalCompositeOperation = "source-over";
}

// Squared Euclidean distance transform of one line (Felzenszwalb and Huttenlocher).
function distanceLine(f, n, d, v, z) {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (f[v[k]] === Infinity) {
      v[k] = q;
      continue;
    }
    let s;
    for (;;) {
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
      if (s > z[k] || k === 0) break;
      k--;
    }
    if (s <= z[k] && k === 0) {
      v[0] = q;
      z[1] = Infinity;
      continue;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (f[v[0]] === Infinity) {
    d.fill(Infinity, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

// Per pixel: the squared distance to the nearest pixel outside the area (0 outside).
function distances(inside, width, height) {
  const grid = new Float64Array(width * height);
  for (let i = 0; i < grid.length; i++) grid[i] = inside[i] ? Infinity : 0;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = grid[y * width + x];
    distanceLine(f, height, d, v, z);
    for (let y = 0; y < height; y++) grid[y * width + x] = d[y];
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = grid[row + x];
    distanceLine(f, width, d, v, z);
    for (let x = 0; x < width; x++) grid[row + x] = d[x];
  }
  return grid;
}

// How much of the result each pixel takes, as the alpha of a white canvas of `width` ×
// `height`: 0 outside the area, rising evenly to 1 at `feather` pixels inside it. `margin`
// pixels along the edge stay 0, so that scaling this canvas up cannot reach outside.
function areaAlpha(mask, width, height, feather, margin) {
  const [canvas, context] = canvas2d(width, height, { willReadFrequently: true });
  drawMarks(context, mask, width, height);
  const image = context.getImageData(0, 0, width, height);
  const pixels = image.data;
  const count = width * height;
  if (feather > 0 || margin > 0) {
    const inside = new Uint8Array(count);
    for (let i = 0; i < count; i++) inside[i] = pixels[4 * i + 3] >= 128 ? 1 : 0;
    const squared = distances(inside, width, height);
    for (let i = 0; i < count; i++) {
      if (!inside[i]) {
        pixels[4 * i + 3] = 0;
        continue;
      }
      const beyond = Math.sqrt(squared[i]) - margin;
      const soft = feather > 0 ? Math.min(1, Math.max(0, beyond / feather)) : beyond > 0 ? 1 : 0;
      pixels[4 * i + 3] = Math.round(pixels[4 * i + 3] * soft);
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

// The bounds of the pixels with any alpha, in `canvas`'s pixels, or null when none has.
function bounds(canvas) {
  const { width, height } = canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let left = width, top = height, right = -1, bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (pixels[4 * (row + x) + 3] !== 0) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        bottom = y;
      }
    }
  }
  return right < 0 ? null : { left, top, right: right + 1, bottom: bottom + 1 };
}

// Lays `bitmap` scaled to `width` × `height` into `outContext` through `mask`: all of it
// when nothing is painted.
function layIn(outContext, bitmap, mask, width, height) {
  let area = null;
  let alpha = null;
  let scale = 1;
  if (mask && mask.marks.length > 0) {
    const work = width * height <= WORK_PIXELS ? WORK_PIXELS : FULL_SIZE_WORK_PIXELS;
    scale = Math.min(1, Math.sqrt(work / (width * height)));
    const workWidth = Math.max(1, Math.round(width * scale));
    const workHeight = Math.max(1, Math.round(height * scale));
    const feather = Math.max(0, mask.feather) * (workWidth / mask.width);
    // Scaled up, a pixel of the alpha reaches one pixel beyond itself; two keep it inside.
    const margin = scale < 1 ? 2 : 0;
    alpha = areaAlpha(mask, workWidth, workHeight, feather, margin);
    area = bounds(alpha);
  }
  if (!area) {
    // Nothing painted (or all of it erased): the whole image may change.
    outContext.drawImage(bitmap, 0, 0, width, height);
  } else {
    // Only the area's box is drawn twice: the cost follows what was painted, not the
    // photo's size. Drawn through a translation rather than a source rectangle so each
    // pixel is sampled exactly as drawing the whole image would.
    const pad = 4;
    const left = Math.max(0, Math.floor(area.left / scale) - pad);
    const top = Math.max(0, Math.floor(area.top / scale) - pad);
    const right = Math.min(width, Math.ceil(area.right / scale) + pad);
    const bottom = Math.min(height, Math.ceil(area.bottom / scale) + pad);
    const [layer, layerContext] = canvas2d(right - left, bottom - top);
    layerContext.imageSmoothingEnabled = true;
    layerContext.imageSmoothingQuality = "high";
    layerContext.translate(-left, -top);
    layerContext.drawImage(alpha, 0, 0, width, height);
    layerContext.globalCompositeOperation = "source-in";
    layerContext.drawImage(bitmap, 0, 0, width, height);
    outContext.drawImage(layer, left, top);
    layer.width = layer.height = 0;
  }
  if (alpha) alpha.width = alpha.height = 0;
}

async function composite({ original, layers, result, mask, width, height, chunk }) {
  const started = performance.now();
  const originalBitmap = await createImageBitmap(original);
  width = width || originalBitmap.width;
  height = height || originalBitmap.height;
  // Opaque: the file needs no alpha channel, which makes it smaller and faster to write.
  const [out, outContext] = canvas2d(width, height, { alpha: false });
  outContext.imageSmoothingEnabled = true;
  outContext.imageSmoothingQuality = "high";
  outContext.drawImage(originalBitmap, 0, 0, width, height);
  originalBitmap.close();
  for (const layer of [...(layers || []), { result, mask }]) {
    const bitmap = await createImageBitmap(layer.result);
    layIn(outContext, bitmap, layer.mask, width, height);
    bitmap.close();
  }
  let blob = await out.convertToBlob({ type: "image/png" });
  out.width = out.height = 0;
  if (chunk) {
    // Inserted after IHDR (signature 8 bytes, IHDR 25) without copying the image data.
    const head = new Uint8Array(await blob.slice(0, 33).arrayBuffer());
    const ihdr = String.fromCharCode(head[12], head[13], head[14], head[15]);
    if (ihdr === "IHDR") {
      blob = new Blob([blob.slice(0, 33), chunk, blob.slice(33)], { type: "image/png" });
    }
  }
  return { blob, width, height, ms: performance.now() - started };
}

self.onmessage = async (event) => {
  const job = event.data;
  try {
    const { blob, width, height, ms } = await composite(job);
    self.postMessage({ id: job.id, blob, width, height, ms });
  } catch (error) {
    self.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
};
