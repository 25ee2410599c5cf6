/** @qcal/collector-entropy (work in progress). */
export const collectors = [];
