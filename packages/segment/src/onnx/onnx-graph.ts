import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;

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
    const model: proto.IModelProto = {
      irVersion: IR_VERSION,
      producerName: 'diffusekit',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.name,
        node: this.#nodes.map(nodeProto),
        initializer: this.#constants.map(tensorProto),
        input: this.#inputs.map(valueInfoProto),
        output: this.#outputs.map(valueInfoProto),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

const isIntList = (v: AttributeValue): v is readonly number[] => Array.isArray(v);

function attributeProto(name: string, value: AttributeValue): proto.IAttributeProto {
  if (typeof value === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
  if (isIntList(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...value] };
  if ('text' in value) return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value.text) };
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
}

function nodeProto(node: GraphNode): proto.INodeProto {
  return {
    input: node.inputs,
    output: node.outputs,
    name: node.outputs[0]!,
    opType: node.op,
    attribute: Object.entries(node.attributes).map(([name, value]) => attributeProto(name, value)),
  };
}

function tensorProto(c: Constant): proto.ITensorProto {
  const common = { name: c.name, dims: [...c.dims] };
  return c.type === 'float32'
    ? { ...common, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(Float32Array.from(c.values)) }
    : { ...common, dataType: onnx.TensorProto.DataType.INT64, int64Data: [...c.values] };
}

function valueInfoProto(v: ValueInfo): proto.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}
