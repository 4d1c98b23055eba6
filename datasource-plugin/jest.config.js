// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  transform: {
    ...base.transform,
    // @grafana/data 13 pulls in d3 packages that ship only .mjs files, which the scaffold's
    // transform (.js/.ts) leaves untouched.
    '^.+\\.mjs$': base.transform['^.+\\.(t|j)sx?$'],
  },
  // ES-module-only dependencies of @grafana/* 13 that the scaffold's list (made for 12) lacks.
  transformIgnorePatterns: [
    nodeModulesToTransform([
      ...grafanaESModules,
      '@grafana/react-data-grid',
      '@react-hookz',
      '@ver0',
      'd3-array',
      'd3-format',
      'd3-scale',
      'd3-time',
      'd3-time-format',
      'internmap',
      'quick-lru',
      'uwrap',
    ]),
  ],
};
