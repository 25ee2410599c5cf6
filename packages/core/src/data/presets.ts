import type { PreprocessOptions } from './preprocess-options';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * Preprocessing presets: one word instead of eight numbers. Means and scales are in tpu-mlir's
 * form, y = (x − mean)·scale on 0–255 pixels, so x/255 − m)/s becomes mean 255·m, scale 1/(255·s).
 */
export const PRESETS: Readonly<Record<string, Readonly<PreprocessOptions>>> = {
  /** No preprocessing but layout: pixels 0–255 as float, RGB, stretched to fixed dims. */
  none: { resize: 'stretch', mean: [0], scale: [1], pixelFormat: 'rgb', interpolation: 'bilinear', padValue: 0 },

  /**
   * torchvision / timm ImageNet evaluation: RGB, Resize(256) on the short side + CenterCrop(224)
   * (crop ratio 0.875), ToTensor (x/255), Normalize(mean=[0.485,0.456,0.406], std=[0.229,0.224,0.225]).
   * The model's fixed H×W (or `size`, default 224×224) is the crop.
   */
  imagenet: {
    resize: 'crop', cropRatio: 0.875, size: [224, 224], pixelFormat: 'rgb', interpolation: 'bilinear',
    mean: IMAGENET_MEAN.map((m) => m * 255), scale: IMAGENET_STD.map((s) => 1 / (s * 255)), padValue: 0,
  },

  /**
   * PaddleOCR text detection (tools/infer/predict_det.py, PP-OCRv3/v4 det): image as cv2 reads it
   * (BGR), DetResizeForTest with det_limit_side_len 960 and det_limit_type 'max' (the defaults of
   * tools/infer/utility.py): shrink so the longest side is at most 960, then each side
   * round(side/32)·32, at least 32; cv2.resize INTER_LINEAR. NormalizeImage: scale 1/255, ImageNet
   * mean/std applied in the image's own channel order (so 0.485/0.229 go to B), order 'hwc';
   * ToCHWImage. A model exported with fixed H×W is fed exactly that size.
   */
  'paddleocr-det': {
    resize: 'limit-side', limitSideLen: 960, limitType: 'max', multipleOf: 32, pixelFormat: 'bgr', interpolation: 'bilinear',
    mean: IMAGENET_MEAN.map((m) => m * 255), scale: IMAGENET_STD.map((s) => 1 / (s * 255)), padValue: 0,
  },

  /**
   * PaddleOCR text recognition (tools/infer/predict_rec.py resize_norm_img, rec_image_shape
   * "3, 48, 320", PP-OCRv3/v4 SVTR_LCNet): BGR, height 48, width ceil(48·w/h) capped at 320,
   * cv2.resize INTER_LINEAR; x/255, −0.5, /0.5; zero-padded on the right (after normalisation) to
   * the model's fixed width. For a dynamic width the line keeps its own width (the PP-OCRv4
   * recognizer takes lines of varying width); set padToWidth: 320 for PaddleOCR's padded batches.
   */
  'paddleocr-rec': {
    resize: 'height', height: 48, maxWidth: 320, pixelFormat: 'bgr', interpolation: 'bilinear',
    mean: [127.5], scale: [1 / 127.5], padValue: 0,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);
