import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { BdcVariableQuery } from './types';

/**
 * BdcVariableSupport lets a dashboard variable list regions, channels, trainers, activity types,
 * features, event kinds, models or KPIs, from the backend's resources.
 */
export class BdcVariableSupport extends CustomVariableSupport<DataSource, BdcVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<BdcVariableQuery>): Observable<DataQueryResponse> {
    const q = request.targets[0];
    return from(this.datasource.metricFindQuery(q)).pipe(map((values) => ({ data: values })));
  }
}
