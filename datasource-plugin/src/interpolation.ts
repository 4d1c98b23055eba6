/**
 * Template variables and ad hoc filters, applied to a query before it leaves the browser.
 *
 * Interpolation only ever produces JSON values: a variable's value lands in a string or in the
 * entries of a list, never in query text. The backend sends each of them to PostgreSQL as a
 * bound parameter, so a value such as "'; DROP TABLE bdc.users; --" is just a region that no
 * beneficiary has.
 */
import { AdHocVariableFilter, ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { BdcQuery, FILTER_KEYS, FilterKey, Filters } from './types';

type Replace = TemplateSrv['replace'];

/**
 * WHOLE_VARIABLE matches an entry that is exactly one variable: $name, ${name}, ${name:format}
 * or [[name]], [[name:format]]. The format is group 3 or 5.
 */
const WHOLE_VARIABLE = /^\s*(?:\$(\w+)|\$\{(\w+)(?::([\w-]+))?\}|\[\[(\w+)(?::([\w-]+))?\]\])\s*$/;

/** Fields of a target that are Grafana's or the discriminant, never interpolated. */
const NOT_INTERPOLATED = new Set(['refId', 'queryType', 'datasource', 'key', 'hide', 'filters']);

/**
 * NO_MATCH stands for a filter list that nothing can satisfy (a panel's filter and an ad hoc
 * filter on the same key with no value in common): an empty list would mean "no filter" to the
 * backend and widen the result, while a value that no beneficiary has keeps it empty.
 */
const NO_MATCH_TEXT = '\u2205';
const NO_MATCH_ID = -1;

/**
 * expandEntry interpolates one entry of a list. An entry that is exactly one variable becomes as
 * many entries as the variable has values: it is formatted as JSON (or as csv when the entry asks
 * for ${name:csv}) and read back, so values keep their commas, quotes and spaces. Any other entry
 * is interpolated as one string.
 */
export function expandEntry(replace: Replace, entry: string, scopedVars: ScopedVars): string[] {
  const m = WHOLE_VARIABLE.exec(entry);
  if (!m) {
    return [replace(entry, scopedVars)];
  }
  const format = m[3] ?? m[5];
  if (format === 'csv') {
    return replace(entry, scopedVars).split(',');
  }
  if (format !== undefined && format !== 'json') {
    return [replace(entry, scopedVars)];
  }
  const formatted = replace(entry, scopedVars, 'json');
  try {
    const parsed: unknown = JSON.parse(formatted);
    if (Array.isArray(parsed)) {
      return parsed.map((v) => String(v));
    }
    if (typeof parsed === 'string' || typeof parsed === 'number') {
      return [String(parsed)];
    }
  } catch {
    // Not JSON: an unknown variable (left as written) or an "All" with a custom all value.
  }
  return [formatted];
}

/** interpolateList interpolates every entry of a string list, expanding multi-value variables. */
export function interpolateList(replace: Replace, values: string[], scopedVars: ScopedVars): string[] {
  return values.flatMap((v) => expandEntry(replace, v, scopedVars)).filter((v) => v !== '');
}

/** toTrainerIds reads trainer ids; an entry that is not a whole number stays a string for the backend to refuse. */
function toTrainerIds(values: string[]): Array<number | string> {
  return values.map((v) => (/^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v));
}

/** interpolateFilters interpolates every filter list and drops the empty ones. */
export function interpolateFilters(replace: Replace, filters: Filters | undefined, scopedVars: ScopedVars): Filters {
  const out: Filters = {};
  for (const key of FILTER_KEYS) {
    const list = filters?.[key];
    if (!list || list.length === 0) {
      continue;
    }
    const values = interpolateList(
      replace,
      list.map((v) => String(v)),
      scopedVars
    );
    if (values.length === 0) {
      continue;
    }
    if (key === 'trainerId') {
      out.trainerId = toTrainerIds(values);
    } else {
      out[key] = values;
    }
  }
  return out;
}

/** AD_HOC_KEYS are the keys ad hoc filters may use: the filter lists. */
const AD_HOC_KEYS = new Set<string>(FILTER_KEYS);

/**
 * mergeAdHocFilters adds Grafana's ad hoc filters to a query's filters. Filters combine with
 * AND, as ad hoc filters do in every datasource: a key the query already filters keeps only the
 * values both allow. Only "=" and "=|" (one of) can be expressed as lists; other operators and
 * unknown keys are left out.
 */
export function mergeAdHocFilters(filters: Filters, adhoc: AdHocVariableFilter[] | undefined): Filters {
  const out: Filters = { ...filters };
  for (const f of adhoc ?? []) {
    if (!AD_HOC_KEYS.has(f.key) || (f.operator !== '=' && f.operator !== '=|')) {
      continue;
    }
    const key = f.key as FilterKey;
    const raw = f.operator === '=|' && f.values?.length ? f.values : [f.value];
    const wanted: Array<string | number> = key === 'trainerId' ? toTrainerIds(raw) : raw;
    const current = out[key] as Array<string | number> | undefined;
    let next = current?.length ? current.filter((v) => wanted.some((w) => String(w) === String(v))) : wanted;
    if (next.length === 0) {
      next = [key === 'trainerId' ? NO_MATCH_ID : NO_MATCH_TEXT];
    }
    (out as Record<FilterKey, Array<string | number>>)[key] = next;
  }
  return out;
}

/** interpolateValue interpolates a field's value: strings, lists and events, whatever the kind. */
function interpolateValue(replace: Replace, value: unknown, scopedVars: ScopedVars): unknown {
  if (typeof value === 'string') {
    return replace(value, scopedVars);
  }
  if (Array.isArray(value)) {
    return value.flatMap((v) => {
      if (typeof v === 'string') {
        return interpolateList(replace, [v], scopedVars);
      }
      return [interpolateValue(replace, v, scopedVars)];
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = interpolateValue(replace, v, scopedVars);
    }
    return out;
  }
  return value;
}

/**
 * interpolateQuery applies template variables to every string and string list of a query
 * (KPI name, events in either form, funnel steps, series and model names, time zone, filters)
 * and merges the ad hoc filters into its filters. Numbers and booleans are left as they are.
 */
export function interpolateQuery<Q extends BdcQuery>(
  replace: Replace,
  query: Q,
  scopedVars: ScopedVars,
  adhoc?: AdHocVariableFilter[]
): Q {
  const out: Record<string, unknown> = { ...query };
  for (const [k, v] of Object.entries(query)) {
    if (!NOT_INTERPOLATED.has(k)) {
      out[k] = interpolateValue(replace, v, scopedVars);
    }
  }
  const filters = mergeAdHocFilters(interpolateFilters(replace, query.filters, scopedVars), adhoc);
  if (Object.keys(filters).length > 0) {
    out.filters = filters;
  } else {
    delete out.filters;
  }
  return out as Q;
}
