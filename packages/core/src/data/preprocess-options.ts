/**
 * Image preprocessing settings, after tpu-mlir's model_transform (--resize_dims,
 * --keep_aspect_ratio, --mean, --scale, --pixel_format, --channel_format, --pad_value).
 * Normalisation is tpu-mlir's: y = (x − mean[c]) · scale[c] with x the 0–255 pixel value of
 * channel c *in the declared pixel format's order* (so BGR mean/scale apply to B, G, R).
 */
export interface PreprocessOptions {
  /** Start from a preset ('imagenet', 'paddleocr-det', 'paddleocr-rec', 'none') and override. */
  preset?: string;
  /**
   * How the image becomes H×W. Fixed model dims always set the output size; the mode says how
   * the picture is fitted into it, and for dynamic dims how the size is chosen:
   * - 'stretch': resize to H×W ignoring aspect (default).
   * - 'letterbox': keep aspect, fit inside H×W, pad (tpu-mlir --keep_aspect_ratio).
   * - 'crop': resize the short side to round(min(H,W)/cropRatio), centre-crop H×W (torchvision eval).
   * - 'limit-side': PaddleOCR DetResizeForTest type 0: scale so the max (or min) side is
   *   limitSideLen, then round each side to a multiple of `multipleOf` (≥ multipleOf).
   * - 'height': PaddleOCR rec: height H, width ceil(H·w/h) capped at maxWidth, right-padded to
   *   the model's fixed W (or to padToWidth), never stretched.
   * - 'none': keep the image size (rounded to multipleOf when given).
   */
  resize?: 'stretch' | 'letterbox' | 'crop' | 'limit-side' | 'height' | 'none';
  /** Output [H, W] for dims the model leaves dynamic (stretch, letterbox, crop). */
  size?: [number, number];
  /** 'limit-side': the side limit (PaddleOCR det_limit_side_len). */
  limitSideLen?: number;
  /** 'limit-side': 'max' shrinks when the longest side exceeds the limit; 'min' grows the shortest to it. */
  limitType?: 'max' | 'min';
  /** Round dynamic H and W to a multiple of this ('limit-side', 'none'). */
  multipleOf?: number;
  /** 'height': target height when the model's H is dynamic. */
  height?: number;
  /** 'height': the widest a line is resized to (PaddleOCR rec_image_shape W, 320). */
  maxWidth?: number;
  /** 'height': pad every line to this width when the model's W is dynamic (stackable batches). */
  padToWidth?: number;
  /** 'crop': fraction of the resized short side kept (0.875 = 224/256). */
  cropRatio?: number;
  /** 'letterbox': where the picture sits ('topleft' pads right/bottom as tpu-mlir's 'normal'). */
  padPosition?: 'center' | 'topleft';
  /** Value of padded elements in the *normalised* tensor (PaddleOCR: 0). */
  padValue?: number;
  /** Per channel (or one for all), in the 0–255 domain. */
  mean?: number[];
  /** Per channel (or one for all): y = (x − mean) · scale. */
  scale?: number[];
  /** Channel order of the tensor. 'gray' uses ITU-R 601 luma as OpenCV's cvtColor. */
  pixelFormat?: 'rgb' | 'bgr' | 'gray';
  /** Tensor layout; default from the model input (dims[1] of 1 or 3 → nchw, dims[3] → nhwc). */
  layout?: 'nchw' | 'nhwc';
  /** Resampling; 'bilinear' follows OpenCV INTER_LINEAR (half-pixel centres, no antialiasing). */
  interpolation?: 'bilinear' | 'nearest';
}
