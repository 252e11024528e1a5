// make_html_work.mjs - a synthetic analysed work folder for bench/html.sh:
// manifest.json, samples.csv, coords.npy, scores.npy, logits/<ckpt>.npy,
// analysis.json, loss.csv and the images as CIFAR-10 binary batches
// (data/data_batch_<k>.bin, 10,000 records each) so that thumbnails are
// decoded through vitviz's own dataset reader.
//
// Images are 32x32 smooth colour fields with a shape and +-12 noise (JPEG
// sizes near those of natural images, far from pure noise's); the clouds
// separate by class over the checkpoints as in bench/make_render_work.py.
//
//   node bench/make_html_work.mjs OUT --n 10000 --T 50 [--classes 10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const a = { n: 10000, T: 50, classes: 10 };
let out = null;
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  if (k.startsWith('--')) a[k.slice(2)] = +process.argv[++i];
  else out = k;
}
if (!out) { console.error('usage: make_html_work.mjs OUT [--n N] [--T T] [--classes C]'); process.exit(2); }
const { n, T } = a, C = a.classes;
const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].slice(0, C);
while (names.length < C) names.push(`class ${names.length}`);

let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());

function npy(path, shape, f32) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

mkdirSync(join(out, 'logits'), { recursive: true });
mkdirSync(join(out, 'data'), { recursive: true });
const label = new Int32Array(n);
for (let i = 0; i < n; i++) label[i] = i % C;
const steps = Array.from({ length: T }, (_, t) => (t + 1) * 50);
const nb = Math.ceil(n / 10000);

// images, 10,000 per batch file
writeFileSync(join(out, 'data', 'batches.meta.txt'), names.join('\n') + '\n');
for (let b = 0; b < nb; b++) {
  const m = Math.min(10000, n - b * 10000), buf = Buffer.alloc(m * 3073);
  for (let r = 0; r < m; r++) {
    const i = b * 10000 + r, o = r * 3073;
    buf[o] = label[i];
    const base = [0, 1, 2].map(() => 40 + rnd() * 170), tilt = [0, 1, 2].map(() => (rnd() - 0.5) * 5);
    const fx = rnd() * 0.3, fy = rnd() * 0.3, cx = 8 + rnd() * 16, cy = 8 + rnd() * 16, rad = 5 + rnd() * 7;
    const fg = [0, 1, 2].map((c) => 255 - base[c]);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const inside = label[i] % 2 ? Math.abs(x - cx) < rad && Math.abs(y - cy) < rad * 0.7 : (x - cx) ** 2 + (y - cy) ** 2 < rad * rad;
        for (let c = 0; c < 3; c++) {
          let v = inside ? fg[c] : base[c] + tilt[c] * (x - 16) * Math.cos(fx * y) + 20 * Math.sin(fy * x + c);
          v += (rnd() - 0.5) * 24;
          buf[o + 1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
  }
  writeFileSync(join(out, 'data', `data_batch_${b + 1}.bin`), buf);
}

const path = (i) => `data_batch_${Math.floor(i / 10000) + 1}.bin:${i % 10000}`;
const manifest = {
  format: 1, vitviz_version: '0.1.0', run: '/synthetic/html-bench-run', data: resolve(join(out, 'data')),
  data_kind: 'cifar10', n, dim: 64, num_labels: C, pool: 'cls', classes: names,
  checkpoints: steps.map((s) => ({ name: `checkpoint-${s}`, step: s, epoch: s / 100, path: `/synthetic/checkpoint-${s}`,
    format: 'safetensors', fingerprint: '0'.repeat(32), has_logits: true })),
};
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
let csv = 'index,path,label,label_name\n';
for (let i = 0; i < n; i++) csv += `${i},${path(i)},${label[i]},${names[label[i]]}\n`;
writeFileSync(join(out, 'samples.csv'), csv);

const noise = new Float32Array(2 * n).map(gauss), coords = new Float32Array(T * n * 2), scores = new Float32Array(T * n);
const frames = [];
for (let t = 0; t < T; t++) {
  const sep = (t + 1) / T, spread = 2.6 - 1.9 * sep, rot = 0.25 * t;
  const logits = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    const ang = 2 * Math.PI * label[i] / C, cx = 3 * Math.cos(ang) * sep, cy = 3 * Math.sin(ang) * sep;
    const x = cx * Math.cos(rot) - cy * Math.sin(rot) + noise[2 * i] * spread, y = cx * Math.sin(rot) + cy * Math.cos(rot) + noise[2 * i + 1] * spread;
    coords[(t * n + i) * 2] = x * 0.9;
    coords[(t * n + i) * 2 + 1] = y * 0.9;
    scores[t * n + i] = Math.exp(-Math.hypot(noise[2 * i], noise[2 * i + 1]) * (0.5 + sep)) * (0.5 + 0.5 * rnd());
    for (let c = 0; c < C; c++) logits[i * C + c] = gauss() + (c === label[i] ? 3 * sep : 0);
  }
  npy(join(out, 'logits', `checkpoint-${steps[t]}.npy`), [n, C], logits);
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => scores[t * n + p] - scores[t * n + q] || p - q).slice(0, 8);
  frames.push({ checkpoint: `checkpoint-${steps[t]}`, step: steps[t], epoch: steps[t] / 100, loss: 0.2 + 2 * Math.exp(-t / (0.3 * T)),
    top: order.map((i) => ({ index: i, score: scores[t * n + i], label: label[i] })) });
}
npy(join(out, 'coords.npy'), [T, n, 2], coords);
npy(join(out, 'scores.npy'), [T, n], scores);
writeFileSync(join(out, 'analysis.json'), JSON.stringify({ format: 1, align: 'rotate', k: 10, metric: 'cosine', ood_scale: 'median',
  display_scale: 1, has_logits: true, frames }, null, 1));
let loss = 'step,epoch,loss,eval_loss,learning_rate\n';
for (let s = 10; s <= steps[T - 1]; s += 10) loss += `${s},${s / 100},${(0.2 + 2 * Math.exp(-s / (0.3 * steps[T - 1])) + gauss() * 0.03).toFixed(5)},,5e-05\n`;
writeFileSync(join(out, 'loss.csv'), loss);
console.error(`make_html_work: ${out}: ${n} samples x ${T} checkpoints`);
