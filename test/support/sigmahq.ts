/** The rule directories of the SigmaHQ repository (../shared/data/sigmahq) that hold rules, for the conformance test and bench:sigma. */
export const SIGMAHQ_RULE_DIRS = [
  'rules',
  'rules-compliance',
  'rules-dfir',
  'rules-emerging-threats',
  'rules-placeholder',
  'rules-threat-hunting',
];
