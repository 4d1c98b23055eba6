/** Helpers of the editor tests: render an editor as Grafana does, and drive its fields as a person would. */
import { act, fireEvent, render, screen } from '@testing-library/react';
import React, { useState } from 'react';
import selectEvent from 'react-select-event';

import { QueryEditor } from './components/QueryEditor';
import { makeDataSource } from './test-utils';
import { BdcQuery, DEFAULTS, QueryType } from './types';

/** setup renders the editor on a query of one kind, keeping the query in state as Grafana does. */
export function setup<T extends QueryType>(type: T, extra: Partial<BdcQuery> = {}) {
  return setupWith({ refId: 'A', queryType: type, ...DEFAULTS[type], ...extra } as BdcQuery);
}

/** setupWith renders the editor on a stored query as it is. */
export async function setupWith(initial: BdcQuery) {
  const { ds, getResource } = makeDataSource();
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  function Harness() {
    const [query, setQuery] = useState<BdcQuery>(initial);
    return (
      <QueryEditor
        query={query}
        datasource={ds}
        onChange={(q) => {
          setQuery(q);
          onChange(q);
        }}
        onRunQuery={onRunQuery}
      />
    );
  }
  render(<Harness />);
  await settle();
  /** last is the JSON of the last change. */
  const last = (): BdcQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { initial, getResource, onChange, onRunQuery, last };
}

export const field = (label: string) => screen.getByLabelText(label);

/** settle lets the resources that a change made an editor load (promises already resolved) land. */
export const settle = () => act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));

/** pick chooses an option of a Select (menus render in a portal on document.body). */
export async function pick(label: string, option: string) {
  await selectEvent.select(field(label), option, { container: document.body });
  await settle();
}

/** enter types a value in a field that commits on blur. */
export async function enter(label: string, value: string) {
  const input = field(label);
  fireEvent.change(input, { target: { value } });
  fireEvent.blur(input);
  await settle();
}

export async function click(label: string) {
  fireEvent.click(field(label));
  await settle();
}

/** removeLast removes the last value of a Select as Backspace does. */
export async function removeLast(label: string, times = 1) {
  for (let i = 0; i < times; i++) {
    fireEvent.keyDown(field(label), { key: 'Backspace', keyCode: 8 });
  }
  await settle();
}
