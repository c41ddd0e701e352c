"""Copies tiny-sr3-x2 with its batch axis fixed (1 and 3), as an exporter without dynamic axes would write it.

The tests check that a model exported this way runs through the SDK with any tiles-per-call setting.
Usage: /usr/bin/python3 training/tiny/make_fixed_batch_models.py   (needs only the onnx package; run make_tiny_models.py first)
"""
import hashlib
import json
import os

import onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE = os.path.join(ROOT, "test", "models", "tiny-sr3-x2")


def fix_batch(graph_values, size):
    for value in graph_values:
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 0:
            dims[0].Clear()
            dims[0].dim_value = size


def main():
    for size in (1, 3):
        model = onnx.load(os.path.join(SOURCE, "model.onnx"))
        fix_batch(model.graph.input, size)
        fix_batch(model.graph.output, size)
        onnx.checker.check_model(model)
        model_id = f"tiny-sr3-x2-batch{size}"
        folder = os.path.join(ROOT, "test", "models", model_id)
        os.makedirs(folder, exist_ok=True)
        onnx_path = os.path.join(folder, "model.onnx")
        onnx.save(model, onnx_path)
        with open(onnx_path, "rb") as f:
            data = f.read()
        with open(os.path.join(SOURCE, "model.json")) as f:
            manifest = json.load(f)
        manifest["id"] = model_id
        manifest["files"] = [{"role": "model", "path": "model.onnx", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}]
        with open(os.path.join(folder, "model.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(f"wrote {model_id} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
