import { createRequire } from 'node:module';
import type DcmjsModule from 'dcmjs';
import { DiffusekitError } from '../errors.js';
import { str, writePart10 } from './dicom.js';
import type { Volume } from './types.js';

const dcmjs = createRequire(import.meta.url)('dcmjs') as typeof DcmjsModule;
const { DicomMetaDictionary } = dcmjs.data;

type Dataset = Record<string, unknown>;

const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
/** Attributes of the Patient, General Study, Frame of Reference and Clinical Trial modules, copied from the source. */
const COPIED = [
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'PatientBirthDate', 'PatientSex', 'PatientAge', 'PatientWeight', 'PatientIdentityRemoved',
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'StudyID', 'AccessionNumber', 'ReferringPhysicianName', 'StudyDescription',
  'FrameOfReferenceUID', 'PositionReferenceIndicator', 'SpecificCharacterSet',
  'ClinicalTrialSponsorName', 'ClinicalTrialProtocolID', 'ClinicalTrialSubjectID', 'ClinicalTrialSiteID',
];
/** Type 2 attributes of those modules: present in every file, empty where the source has no value. */
const TYPE_2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'StudyID', 'AccessionNumber', 'ReferringPhysicianName', 'PositionReferenceIndicator'];
const code = (value: string, scheme: string, meaning: string) => [{ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning }];

export interface DicomSegOptions {
  /** One name per class index; class k becomes segment k + 1. */
  classes: readonly { name: string }[];
  /** What made the segmentation, for SegmentAlgorithmName and SeriesDescription. */
  algorithm?: string;
  /** The software version written to SoftwareVersions. */
  softwareVersion?: string;
}

function dicomDateTime(now: Date): { date: string; time: string } {
  const iso = now.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

/**
 * Why a label volume cannot become a DICOM Segmentation, or undefined when it can: it must lie on a grid read from
 * DICOM whose orientation and per-slice positions are known, since the Segmentation references those images.
 */
export function dicomSegBlocker(labels: Volume): string | undefined {
  const dicom = labels.medical.dicom;
  if (labels.medical.format !== 'dicom' || !dicom || dicom.datasets.length === 0) return 'the label volume is not on a grid read from DICOM';
  if (!dicom.orientation || dicom.positions?.length !== labels.depth) {
    return `the source states no ImageOrientationPatient and one ImagePositionPatient per slice (${dicom.positions?.length ?? 0} for ${labels.depth} slices)`;
  }
  return undefined;
}

/**
 * A DICOM Segmentation (BINARY; PS3.3 A.51) of a label volume read from DICOM: class k of every slice becomes frame
 * "segment k + 1 at that slice", with its plane position and a reference to the source image it was derived from, so
 * that viewers overlay it on the source series. `labels` holds class indices (uint8) on the source's grid and slice
 * order, with the source's medical metadata (its DICOM data sets). The data set is encoded by dcmjs.
 */
export function encodeDicomSeg(labels: Volume, options: DicomSegOptions): Buffer {
  const blocker = dicomSegBlocker(labels);
  if (blocker) {
    throw new DiffusekitError('ENCODE_FAILED', `A DICOM Segmentation references its source images, but ${blocker}; write NIfTI instead`, { details: { format: 'dicom-seg' } });
  }
  if (labels.dtype !== 'uint8') throw new DiffusekitError('ENCODE_FAILED', `A DICOM Segmentation is made of class indices (uint8), not ${labels.dtype}`, { details: { dtype: labels.dtype } });
  const medical = labels.medical;
  const dicom = medical.dicom!;
  const { width, height, depth } = labels;
  const positions = dicom.positions!;
  const orientation = dicom.orientation!;
  const source = dicom.datasets[0]!;
  const perSlice = dicom.layout === 'series';
  const reference = (z: number): Dataset => {
    const ds = dicom.datasets[perSlice ? z : 0]!;
    return {
      ReferencedSOPClassUID: str(ds.SOPClassUID) ?? dicom.sopClassUid,
      ReferencedSOPInstanceUID: str(ds.SOPInstanceUID),
      ...(perSlice ? {} : { ReferencedFrameNumber: z + 1 }),
    };
  };
  const classes = options.classes;
  const plane = width * height;
  const [colSpacing, rowSpacing, sliceSpacing] = medical.spacing;
  const frames: Dataset[] = [];
  // Pixel data holds an even number of bytes.
  const bits = new Uint8Array(2 * Math.ceil((classes.length * depth * plane) / 16));
  let bit = 0;
  const dimensionOrganizationUid = DicomMetaDictionary.uid();
  for (let k = 0; k < classes.length; k++) {
    for (let z = 0; z < depth; z++) {
      frames.push({
        FrameContentSequence: [{ DimensionIndexValues: [k + 1, z + 1] }],
        PlanePositionSequence: [{ ImagePositionPatient: positions[z] }],
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: k + 1 }],
        DerivationImageSequence: [{
          SourceImageSequence: [{ ...reference(z), PurposeOfReferenceCodeSequence: code('121322', 'DCM', 'Source image for image processing operation') }],
          DerivationCodeSequence: code('113076', 'DCM', 'Segmentation'),
        }],
      });
      // BINARY frames are one bit per pixel, least significant bit first, packed across frame boundaries.
      const slice = labels.data.subarray(z * plane, (z + 1) * plane);
      for (let i = 0; i < plane; i++, bit++) if (slice[i] === k) bits[bit >> 3]! |= 1 << (bit & 7);
    }
  }
  const { date, time } = dicomDateTime(new Date());
  const algorithm = options.algorithm ?? 'diffusekit segment';
  const sopUid = DicomMetaDictionary.uid();
  const ds: Dataset = {
    ...Object.fromEntries(TYPE_2.map((key) => [key, ''])),
    ...Object.fromEntries(COPIED.filter((key) => source[key] !== undefined).map((key) => [key, source[key]])),
    // A source without a frame of reference still needs one here (type 1); its images are referenced by instance.
    FrameOfReferenceUID: str(source.FrameOfReferenceUID) ?? DicomMetaDictionary.uid(),
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: sopUid,
    Modality: 'SEG',
    SeriesInstanceUID: DicomMetaDictionary.uid(),
    SeriesNumber: 300,
    SeriesDescription: algorithm.slice(0, 64),
    SeriesDate: date,
    SeriesTime: time,
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    ContentLabel: 'SEGMENTATION',
    ContentDescription: algorithm.slice(0, 64),
    ContentCreatorName: '',
    Manufacturer: 'diffusekit',
    ManufacturerModelName: 'diffusekit',
    DeviceSerialNumber: '1',
    SoftwareVersions: options.softwareVersion ?? '0',
    ImageType: ['DERIVED', 'PRIMARY'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: height,
    Columns: width,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentSequence: classes.map((c, k) => ({
      SegmentNumber: k + 1,
      SegmentLabel: c.name.slice(0, 64),
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: algorithm.slice(0, 64),
      SegmentedPropertyCategoryCodeSequence: code('91723000', 'SCT', 'Anatomical Structure'),
      SegmentedPropertyTypeCodeSequence: code('85756007', 'SCT', 'Tissue'),
    })),
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'ReferencedSegmentNumber' },
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'ImagePositionPatient' },
    ],
    SharedFunctionalGroupsSequence: [{
      PlaneOrientationSequence: [{ ImageOrientationPatient: orientation }],
      PixelMeasuresSequence: [{ PixelSpacing: [rowSpacing, colSpacing], SliceThickness: medical.sliceThickness ?? sliceSpacing, SpacingBetweenSlices: sliceSpacing }],
    }],
    PerFrameFunctionalGroupsSequence: frames,
    NumberOfFrames: frames.length,
    ReferencedSeriesSequence: [{
      SeriesInstanceUID: str(source.SeriesInstanceUID) ?? dicom.seriesInstanceUid,
      ReferencedInstanceSequence: (perSlice ? dicom.datasets : [source]).map((d) => ({ ReferencedSOPClassUID: str(d.SOPClassUID) ?? dicom.sopClassUid, ReferencedSOPInstanceUID: str(d.SOPInstanceUID) })),
    }],
    PixelData: [bits.buffer],
    _vrMap: { PixelData: 'OB' },
  };
  return writePart10(ds, SEGMENTATION_STORAGE, sopUid, 'the DICOM Segmentation');
}
