/** A template service for unit tests that formats variables as Grafana's does. */
import type { ScopedVars, TypedVariableModel } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';

const VARIABLE = /\$(\w+)|\$\{(\w+)(?::([\w-]+))?\}|\[\[(\w+)(?::([\w-]+))?\]\]/g;

type Format = string | ((value: string | string[]) => string) | undefined;

function format(value: string | string[], fmt: Format): string {
  if (typeof fmt === 'function') {
    return fmt(value);
  }
  switch (fmt) {
    case 'json':
      return JSON.stringify(value);
    case 'csv':
      return Array.isArray(value) ? value.join(',') : value;
    case 'pipe':
      return Array.isArray(value) ? value.join('|') : value;
    default:
      // Grafana's default format of a multi-value variable is a glob: {a,b}.
      if (Array.isArray(value)) {
        return value.length === 1 ? value[0] : `{${value.join(',')}}`;
      }
      return value;
  }
}

/**
 * fakeTemplateSrv interpolates $name, ${name}, ${name:format} and [[name]] from vars (and from
 * scopedVars first), with Grafana's json, csv, pipe and default formats; an explicit format in
 * the reference wins over the one passed, as in Grafana. Unknown variables are left as written.
 */
export function fakeTemplateSrv(vars: Record<string, string | string[]>): TemplateSrv {
  return {
    getVariables: () => Object.keys(vars).map((name) => ({ name, type: 'custom' }) as unknown as TypedVariableModel),
    replace: (target?: string, scopedVars?: ScopedVars, fmt?: Format) =>
      (target ?? '').replace(VARIABLE, (match, n1, n2, f2, n3, f3) => {
        const name: string = n1 ?? n2 ?? n3;
        const value = (scopedVars?.[name]?.value as string | string[] | undefined) ?? vars[name];
        return value === undefined ? match : format(value, f2 ?? f3 ?? fmt);
      }),
    containsTemplate: (target?: string) => Boolean(target && new RegExp(VARIABLE.source).test(target)),
    updateTimeRange: () => {},
  };
}
