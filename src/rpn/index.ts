/** Region Proposal Network: anchors, head, proposal selection. */
export * from './anchor_generator';
export * from './proposals';
export * from './region_proposal_network';
export * from './rpn_head';
