/** Kept for compatibility: the testkit is `@qcal/plugin-kit/testkit`. */
export * from '@qcal/plugin-kit/testkit';
