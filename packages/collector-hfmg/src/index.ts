/** @qcal/collector-hfmg (work in progress). */
export const collectors = [];
