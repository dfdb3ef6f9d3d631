import type { ResolveSecretOptions } from '../config/secrets.ts';
import type { CrmConnector, CrmKind } from './connector.ts';
import type { DynamicsConfig } from '../config/dynamics.ts';
import { DYNAMICS_VENDOR } from './dynamics/vendor.ts';
import type { NotificationDecoder, NotificationRoute, NotifiedChangesReader } from './notifications.ts';
import type { SalesforceConfig } from '../config/salesforce.ts';
import { SALESFORCE_VENDOR } from './salesforce/vendor.ts';
import type { ConnectorDeps, CrmVendor } from './vendor.ts';

/*
 * The one module that lists the CRMs. Adding one means a folder under src/crm with its CrmVendor, its configuration
 * section in src/config, and an entry in each list below.
 */

/** The configuration's CRM sections, one per vendor; absent = that CRM is not synced. */
export interface CrmSections {
  dynamics?: DynamicsConfig | undefined;
  salesforce?: SalesforceConfig | undefined;
}

/** A configured connection: its vendor bound to its section of the configuration. */
export interface ConfiguredCrm {
  kind: CrmKind;
  /** The connection name (`dynamics:` → `name`); part of every job key and link. */
  name: string;
  /** The `api` label of its calls in metrics and readiness. */
  api: string;
  defaultMappingPath: string;
  mappingOptions: { prefix?: string };
  connect(deps: ConnectorDeps): Promise<CrmConnector>;
  notificationDecoder(env?: ResolveSecretOptions['env']): Promise<NotificationDecoder | undefined>;
  notifiedChanges?: NotifiedChangesReader;
}

function bind<Config extends { name: string }>(vendor: CrmVendor<Config>, config: Config | undefined): ConfiguredCrm[] {
  if (config === undefined) return [];
  return [
    {
      kind: vendor.kind,
      name: config.name,
      api: vendor.api,
      defaultMappingPath: vendor.defaultMappingPath,
      mappingOptions: vendor.mappingOptions(config),
      connect: (deps) => vendor.createConnector(config, deps),
      notificationDecoder: (env) => vendor.notificationDecoder(config, env),
      ...(vendor.notifiedChanges ? { notifiedChanges: vendor.notifiedChanges } : {}),
    },
  ];
}

/** The configured connections, in registry order (Dynamics first): the order decides which one is the first. */
export function configuredCrms(config: CrmSections): ConfiguredCrm[] {
  return [...bind(DYNAMICS_VENDOR, config.dynamics), ...bind(SALESFORCE_VENDOR, config.salesforce)];
}

/** Every vendor's notification route; registered whether or not the vendor is configured (then it answers 404). */
export const NOTIFICATION_ROUTES: readonly NotificationRoute[] = [DYNAMICS_VENDOR.notificationRoute, SALESFORCE_VENDOR.notificationRoute];

const DEFAULT_MAPPINGS: Record<CrmKind, string> = {
  dynamics: DYNAMICS_VENDOR.defaultMappingPath,
  salesforce: SALESFORCE_VENDOR.defaultMappingPath,
};

/** The mapping shipped for a CRM (`mappings/<kind>.yaml`). */
export function defaultMappingPath(kind: CrmKind): string {
  return DEFAULT_MAPPINGS[kind];
}
