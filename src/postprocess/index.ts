/**
 * Detection post-processing: box selection (torchvision's `postprocess_detections`), mask
 * selection (`maskrcnn_inference`), and mapping back to the original image (`resize_boxes`,
 * `paste_masks_in_image`).
 */
export * from './detections';
export * from './mask_inference';
export * from './paste_masks';
export * from './resize_boxes';
