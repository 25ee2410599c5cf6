/** @qcal/collector-autotune (work in progress). */
export const collectors = [];
