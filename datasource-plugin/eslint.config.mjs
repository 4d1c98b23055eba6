import { defineConfig } from 'eslint/config';
import baseConfig from './.config/eslint.config.mjs';

export default defineConfig([
  {
    ignores: ['**/node_modules/', '**/dist/', '**/coverage/', '**/.eslintcache', 'pkg/'],
  },
  ...baseConfig,
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      // @grafana/ui 13 deprecates Select and MultiSelect for Combobox, which the Grafana versions
      // this plugin supports (grafanaDependency >=11.0.0) do not all have: the plugin uses the
      // host's @grafana/ui, so it keeps the components every supported version ships.
      '@typescript-eslint/no-deprecated': [
        'warn',
        { allow: [{ from: 'package', package: '@grafana/ui', name: ['Select', 'MultiSelect'] }] },
      ],
    },
  },
]);
