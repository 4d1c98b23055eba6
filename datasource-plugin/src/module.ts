import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { BdcOptions, BdcQuery, BdcSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<DataSource, BdcQuery, BdcOptions, BdcSecureJsonData>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
