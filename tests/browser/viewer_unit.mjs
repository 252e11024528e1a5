// viewer_unit.mjs - the viewer's pure helpers (render/html/viewer.js, loaded
// as a CommonJS module) in node, against values C printed:
//   node tests/browser/viewer_unit.mjs CASES
// CASES: lines "fmt HEX64 EXPECTED" (EXPECTED = printf("%.9g") of the double
// with those bits) and "csv EXPECTED<TAB>FIELD" (vv_csv_field of FIELD).
// Exit status 0 when every case matches.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const VV = require('../../render/html/viewer.js');
let bad = 0, n = 0;
const dv = new DataView(new ArrayBuffer(8));
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (!line) continue;
  n++;
  if (line.startsWith('fmt ')) {
    const [, hex, want] = line.split(' ');
    dv.setBigUint64(0, BigInt('0x' + hex));
    const got = VV.fmtG(dv.getFloat64(0));
    if (got !== want && bad++ < 10) console.log(`FAIL: fmtG(${dv.getFloat64(0)}) = ${got}, printf %.9g = ${want}`);
  } else if (line.startsWith('csv ')) {
    const [want, field] = line.slice(4).split('\t');
    const got = VV.csvField(JSON.parse(field));
    if (got !== JSON.parse(want) && bad++ < 10) console.log(`FAIL: csvField(${field}) = ${JSON.stringify(got)}, vv_csv_field = ${want}`);
  }
}
// the lasso's polygon test and #step=N
const sq = [0, 0, 10, 0, 10, 10, 0, 10];
if (!VV.inPolygon(5, 5, sq) || VV.inPolygon(11, 5, sq) || VV.inPolygon(-1, 5, sq)) { bad++; console.log('FAIL: inPolygon'); }
if (VV.frameForStep([100, 200, 300], 200) !== 1 || VV.frameForStep([100, 200, 300], 250) !== 1 ||
    VV.frameForStep([100, 200, 300], 5) !== 0 || VV.frameForStep([100, 200, 300], 9999) !== 2) { bad++; console.log('FAIL: frameForStep'); }
n += 2;
console.log(`viewer units: ${n} cases, ${bad} failed`);
process.exit(bad ? 1 : 0);
