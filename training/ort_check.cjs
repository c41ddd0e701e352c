// Runs an ONNX model with onnxruntime-node on float32 inputs stored as raw little-endian files and writes the
// outputs the same way. Used by export.py to verify ONNX Runtime against PyTorch (python3-onnxruntime is not in
// Debian). Usage: node training/ort_check.cjs <spec.json>
//   spec: { "model": "path.onnx", "inputs": { name: { "file": "...", "dims": [..] } }, "outDir": "dir" }
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(spec.model, { intraOpNumThreads: 2 });
  const feeds = {};
  for (const [name, { file, dims }] of Object.entries(spec.inputs)) {
    const buf = fs.readFileSync(file);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    feeds[name] = new ort.Tensor('float32', Float32Array.from(data), dims);
  }
  const t0 = Date.now();
  const out = await session.run(feeds);
  const ms = Date.now() - t0;
  const meta = { ms, outputs: {} };
  for (const [name, t] of Object.entries(out)) {
    const f = path.join(spec.outDir, `${name}.bin`);
    fs.writeFileSync(f, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    meta.outputs[name] = { file: f, dims: t.dims };
  }
  meta.inputNames = session.inputNames;
  meta.outputNames = session.outputNames;
  console.log(JSON.stringify(meta));
}
main().catch((e) => { console.error(e); process.exit(1); });
