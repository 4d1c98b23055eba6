import { SelectableValue } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { useEffect, useState } from 'react';

import type { DataSource } from '../datasource';
import { ListResource, Option } from '../types';

/** toSelectable turns resource options into Select options. */
export function toSelectable<T extends string | number>(options: Array<Option<T>>): Array<SelectableValue<T>> {
  return options.map((o) => ({ label: o.text, value: o.value }));
}

/** fromValues makes Select options of plain values. */
export function fromValues<T extends string | number>(values: readonly T[]): Array<SelectableValue<T>> {
  return values.map((v) => ({ label: String(v), value: v }));
}

/** variableOptions are the dashboard's variables, offered in every list so a panel can follow one. */
export function variableOptions(): Array<SelectableValue<string>> {
  return getTemplateSrv()
    .getVariables()
    .map((v) => ({ label: `$${v.name}`, value: `$${v.name}`, description: 'Dashboard variable' }));
}

/** OptionsState is a picker's list: its options, whether they are loading, and why they failed. */
export interface OptionsState<T> {
  options: Array<SelectableValue<T>>;
  loading: boolean;
  error?: string;
}

/**
 * useOptions loads a list resource for a picker. While it loads, or if it fails, the picker has
 * the fallback values (and still takes typed ones); the error is returned for the picker to show.
 * Without a resource the fallback values are the list.
 */
export function useOptions<T extends string | number = string>(
  datasource: DataSource,
  resource: ListResource | undefined,
  fallback: readonly T[] = []
): OptionsState<T> {
  const initial = (): OptionsState<T> => {
    const loaded = resource && datasource.loadedOptions(resource);
    if (loaded) {
      return { options: toSelectable(loaded as Array<Option<T>>), loading: false };
    }
    return { options: fromValues(fallback), loading: resource !== undefined };
  };
  const [state, setState] = useState<OptionsState<T>>(initial);
  useEffect(() => {
    if (resource === undefined || datasource.loadedOptions(resource)) {
      return;
    }
    let live = true;
    datasource.listOptions(resource).then(
      (opts) => live && setState({ options: toSelectable(opts as Array<Option<T>>), loading: false }),
      (err: unknown) =>
        live &&
        setState((s) => ({
          options: s.options,
          loading: false,
          error: `Couldn't load ${resource}: ${errorMessage(err)}`,
        }))
    );
    return () => {
      live = false;
    };
  }, [datasource, resource]);
  return state;
}

/** errorMessage reads the message of a fetch error or an Error. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { data?: { message?: string }; message?: string; statusText?: string };
    return e.data?.message ?? e.message ?? e.statusText ?? 'unknown error';
  }
  return String(err);
}

/**
 * selected is the Select value for v: its option, or an option made of v itself when v is a typed
 * value or a variable that no option lists (Select would show nothing for a bare value).
 */
export function selected<T extends string | number>(
  v: T | undefined | null,
  options: Array<SelectableValue<T>>
): SelectableValue<T> | null {
  if (v === undefined || v === null || v === '') {
    return null;
  }
  return options.find((o) => o.value === v) ?? { label: String(v), value: v };
}

/** selectedAll is selected for the values of a MultiSelect. */
export function selectedAll<T extends string | number>(
  values: readonly T[] | undefined,
  options: Array<SelectableValue<T>>
): Array<SelectableValue<T>> {
  return (values ?? []).map((v) => options.find((o) => o.value === v) ?? { label: String(v), value: v });
}
