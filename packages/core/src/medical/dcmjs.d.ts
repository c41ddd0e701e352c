// The parts of dcmjs (which ships no types) that the DICOM codec uses.
declare module 'dcmjs' {
  type Dict = Record<string, { vr: string; Value?: unknown[] }>;
  class DicomDict {
    constructor(meta: Dict);
    meta: Dict;
    dict: Dict;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean }): DicomDict };
      DicomMetaDictionary: {
        naturalizeDataset(dict: Dict): Record<string, unknown>;
        denaturalizeDataset(dataset: Record<string, unknown>): Dict;
        uid(): string;
      };
      DicomDict: typeof DicomDict;
    };
    log: { setLevel(level: string): void; getLogger?(name: string): { setLevel(level: string): void } };
  };
  export default dcmjs;
}
