/** Hinted handoff: the hint store and the replay throttle (the replay loop lives in the node shell). */
export * from './hint-store';
