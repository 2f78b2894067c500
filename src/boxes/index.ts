/** Box operations shared by the pipeline: xyxy boxes in absolute pixels. */
export * from './box_coder';
export * from './box_iou';
export * from './clip_boxes';
export * from './nms';
export * from './remove_small_boxes';
