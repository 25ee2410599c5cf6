/** @qcal/collector-ifmr (work in progress). */
export const collectors = [];
