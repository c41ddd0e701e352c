import { ProtobufWriter } from './protobuf-writer.js';

/** A dimension: a fixed size, or a name that onnxruntime binds at run time. */
export type Dim = number | string;

export type AttributeValue = number | readonly number[] | { float: number } | { text: string };

interface GraphNode {
  readonly op: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

interface ValueInfo {
  name: string;
  shape: readonly Dim[];
}

interface Constant {
  name: string;
  dims: readonly number[];
  type: 'float32' | 'int64';
  values: readonly number[];
}

// Field numbers and enums of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, TypeProto).
const ELEM_FLOAT = 1;
const ELEM_INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const IR_VERSION = 8;
export const OPSET = 17;

/**
 * Builds a float32 ONNX graph operator by operator, for computations assembled in code (training steps, ensemble
 * heads) rather than exported from a framework. Every `op` call returns the name of its (first) output.
 */
export class OnnxGraphBuilder {
  readonly #nodes: GraphNode[] = [];
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #constants: Constant[] = [];
  #counter = 0;

  constructor(readonly name: string) {}

  input(name: string, shape: readonly Dim[]): string {
    this.#inputs.push({ name, shape });
    return name;
  }

  /** Exposes `value` as a graph output called `name` (renaming it in place: an Identity node would copy it). */
  output(value: string, name: string, shape: readonly Dim[]): void {
    const producer = this.#nodes.find((n) => n.outputs.includes(value));
    const alreadyOutput = this.#outputs.some((o) => o.name === value);
    if (!producer || alreadyOutput) {
      this.#nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attributes: {} });
    } else {
      const rename = (names: readonly string[]): string[] => names.map((n) => (n === value ? name : n));
      for (const node of this.#nodes) {
        node.inputs = rename(node.inputs);
        node.outputs = rename(node.outputs);
      }
    }
    this.#outputs.push({ name, shape });
  }

  constant(values: readonly number[], dims: readonly number[] = [values.length], type: Constant['type'] = 'float32'): string {
    const name = `const_${this.#counter++}`;
    this.#constants.push({ name, dims, type, values });
    return name;
  }

  scalar(value: number): string {
    return this.constant([value], []);
  }

  op(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    const output = `${op.toLowerCase()}_${this.#counter++}`;
    this.#nodes.push({ op, inputs: [...inputs], outputs: [output], attributes });
    return output;
  }

  toBytes(): Uint8Array {
    return new ProtobufWriter()
      .int(1, IR_VERSION)
      .string(2, 'diffusekit')
      .message(7, (graph) => this.#writeGraph(graph))
      .message(8, (opset) => opset.string(1, '').int(2, OPSET))
      .finish();
  }

  #writeGraph(graph: ProtobufWriter): void {
    for (const node of this.#nodes) graph.message(1, (w) => writeNode(w, node));
    graph.string(2, this.name);
    for (const c of this.#constants) graph.message(5, (w) => writeConstant(w, c));
    for (const v of this.#inputs) graph.message(11, (w) => writeValueInfo(w, v));
    for (const v of this.#outputs) graph.message(12, (w) => writeValueInfo(w, v));
  }
}

const isIntList = (v: AttributeValue): v is readonly number[] => Array.isArray(v);

function writeNode(w: ProtobufWriter, node: GraphNode): void {
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  w.string(3, node.outputs[0]!);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes)) {
    w.message(5, (a) => {
      a.string(1, name);
      if (typeof value === 'number') a.int(3, value).int(20, ATTR_INT);
      else if (isIntList(value)) a.packedInts(8, value).int(20, ATTR_INTS);
      else if ('text' in value) a.string(4, value.text).int(20, ATTR_STRING);
      else a.float(2, value.float).int(20, ATTR_FLOAT);
    });
  }
}

function writeConstant(w: ProtobufWriter, c: Constant): void {
  w.packedInts(1, c.dims);
  w.int(2, c.type === 'float32' ? ELEM_FLOAT : ELEM_INT64);
  if (c.type === 'float32') w.packedFloats(4, Float32Array.from(c.values));
  else w.packedInts(7, c.values);
  w.string(8, c.name);
}

function writeValueInfo(w: ProtobufWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}
