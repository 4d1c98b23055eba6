import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { FieldSet, InlineField, Input, RadioButtonGroup, SecretInput } from '@grafana/ui';
import React, { ChangeEvent } from 'react';

import { BdcOptions, BdcSecureJsonData, SSLMode } from '../types';

type Props = DataSourcePluginOptionsEditorProps<BdcOptions, BdcSecureJsonData>;

const LABEL_WIDTH = 20;

const SSL_OPTIONS: Array<SelectableValue<SSLMode>> = [
  { label: 'disable', value: 'disable', description: 'No TLS' },
  { label: 'require', value: 'require', description: 'TLS, server certificate not checked' },
  { label: 'verify-ca', value: 'verify-ca', description: 'TLS, certificate signed by a trusted CA' },
  { label: 'verify-full', value: 'verify-full', description: 'TLS, trusted certificate for this host name' },
];

type NumberKey = 'port' | 'cacheTTL' | 'maxRows' | 'queryTimeout';
type TextKey = 'host' | 'database' | 'user';

/**
 * ConfigEditor edits the connection to the platform's PostgreSQL (a read-only user is enough),
 * its TLS mode, the result cache and the limits. The password goes to secure JSON only: Grafana
 * encrypts it and only the backend ever reads it back.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;

  const setText = (key: TextKey) => (e: ChangeEvent<HTMLInputElement>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [key]: e.currentTarget.value } });

  const setNumber = (key: NumberKey) => (e: ChangeEvent<HTMLInputElement>) => {
    const text = e.currentTarget.value.trim();
    const next = { ...jsonData };
    if (text === '' || !Number.isFinite(Number(text))) {
      delete next[key];
    } else {
      next[key] = Number(text);
    }
    onOptionsChange({ ...options, jsonData: next });
  };

  const onPassword = (e: ChangeEvent<HTMLInputElement>) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, password: e.currentTarget.value } });

  const onResetPassword = () =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, password: false },
      secureJsonData: { ...secureJsonData, password: '' },
    });

  return (
    <>
      <FieldSet label="Connection">
        <InlineField label="Host" labelWidth={LABEL_WIDTH} tooltip="Host name or address; host:port works too" required>
          <Input
            id="config-host"
            width={40}
            placeholder="localhost"
            value={jsonData.host ?? ''}
            onChange={setText('host')}
          />
        </InlineField>
        <InlineField label="Port" labelWidth={LABEL_WIDTH}>
          <Input
            id="config-port"
            type="number"
            min={1}
            max={65535}
            width={12}
            placeholder="5432"
            value={jsonData.port ?? ''}
            onChange={setNumber('port')}
          />
        </InlineField>
        <InlineField label="Database" labelWidth={LABEL_WIDTH} required>
          <Input
            id="config-database"
            width={40}
            placeholder="bdc"
            value={jsonData.database ?? ''}
            onChange={setText('database')}
          />
        </InlineField>
        <InlineField
          label="User"
          labelWidth={LABEL_WIDTH}
          tooltip="A user with read access to the bdc and bdc_analytics schemas: bdc_grafana, which deploy/postgres/roles.sql creates"
          required
        >
          <Input
            id="config-user"
            width={40}
            value={jsonData.user ?? ''}
            onChange={setText('user')}
          />
        </InlineField>
        <InlineField label="Password" labelWidth={LABEL_WIDTH} tooltip="Stored encrypted; only the backend reads it">
          <SecretInput
            id="config-password"
            width={40}
            isConfigured={Boolean(secureJsonFields?.password)}
            value={secureJsonData?.password ?? ''}
            placeholder="Password"
            onChange={onPassword}
            onReset={onResetPassword}
          />
        </InlineField>
      </FieldSet>
      <FieldSet label="TLS">
        <InlineField
          label="TLS mode"
          labelWidth={LABEL_WIDTH}
          tooltip="PostgreSQL's sslmode; the backend's default is require"
        >
          <RadioButtonGroup<SSLMode>
            id="config-sslmode"
            aria-label="TLS mode"
            options={SSL_OPTIONS}
            value={jsonData.sslmode ?? 'require'}
            onChange={(sslmode) => onOptionsChange({ ...options, jsonData: { ...jsonData, sslmode } })}
          />
        </InlineField>
      </FieldSet>
      <FieldSet label="Cache and limits">
        <InlineField
          label="Cache TTL (s)"
          labelWidth={LABEL_WIDTH}
          tooltip="How long a result is reused for the same query and range; 0 turns the cache off"
        >
          <Input
            id="config-cache-ttl"
            type="number"
            min={0}
            max={86400}
            width={12}
            placeholder="60"
            value={jsonData.cacheTTL ?? ''}
            onChange={setNumber('cacheTTL')}
          />
        </InlineField>
        <InlineField label="Max rows" labelWidth={LABEL_WIDTH} tooltip="Rows a query may return at most">
          <Input
            id="config-max-rows"
            type="number"
            min={1}
            max={1000000}
            width={12}
            placeholder="10000"
            value={jsonData.maxRows ?? ''}
            onChange={setNumber('maxRows')}
          />
        </InlineField>
        <InlineField
          label="Query timeout (s)"
          labelWidth={LABEL_WIDTH}
          tooltip="PostgreSQL's statement_timeout for each query"
        >
          <Input
            id="config-query-timeout"
            type="number"
            min={1}
            max={3600}
            width={12}
            placeholder="30"
            value={jsonData.queryTimeout ?? ''}
            onChange={setNumber('queryTimeout')}
          />
        </InlineField>
      </FieldSet>
    </>
  );
}
