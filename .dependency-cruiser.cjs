/*
 * The import graph of src, checked by `npm run lint` (dependency-cruiser). Layers, bottom up:
 *
 *   util, canonical-value.ts, http  →  config  →  partner-center, crm, store  →  sync  →  server  →  service.ts  →  cli
 *
 * An arrow may only point down. The CRM vendors (src/crm/dynamics, src/crm/salesforce) are named by the vendor
 * registry (src/crm/vendors.ts) and by the CLI's vendor-specific commands (setup, provisioning), nowhere else. The
 * sandboxes stand in for Microsoft's and the CRMs' services: the product never imports them; only the CLI (`cosell
 * dev`, `cosell sandbox`) starts them, by dynamic import. The sync core's unit tests (test/unit/sync) are cruised too:
 * they use no sandbox, server or network.
 */

/** Folders above a layer, as a `to.path` pattern. */
const above = (...folders) => `^src/(${folders.join('|')})/`;
const SERVICE = '^src/service[.]ts$';
const VENDOR_FOLDERS = '^src/crm/(dynamics|salesforce)/';

/** A forbidden arrow: every rule here fails the lint. */
const forbid = (name, comment, { from, to }) => ({ name, comment, severity: 'error', from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid('no-cycle', 'A cycle ties modules into one: neither can be read, tested or replaced alone.', {
      from: { path: '^src/' },
      to: { circular: true },
    }),
    forbid('util-imports-nothing-of-ours', 'src/util holds generic helpers; everything else may use them.', {
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    }),
    forbid('http-imports-nothing-above', 'Shared HTTP (backoff, Retry-After, token providers) sits below both Partner Center and the CRMs.', {
      from: { path: '^src/http/' },
      to: { path: '^src/', pathNot: '^src/(http|util)/' },
    }),
    forbid('config-below-its-users', 'The configuration is read by every layer above it and names none of them.', {
      from: { path: '^src/config/' },
      to: { path: [above('partner-center', 'crm', 'store', 'sync', 'server', 'cli', 'sandbox'), SERVICE] },
    }),
    forbid('connectors-below-sync', 'Partner Center and the CRM connectors know nothing of the sync, the server or the CLI that use them.', {
      from: { path: '^src/(partner-center|crm)/' },
      to: { path: [above('sync', 'server', 'cli', 'sandbox', 'store'), SERVICE] },
    }),
    forbid('store-imports-no-connector', 'The store keeps rows; it does not call Partner Center or a CRM, nor know who uses it.', {
      from: { path: '^src/store/' },
      to: { path: [above('partner-center', 'crm', 'sync', 'server', 'cli', 'sandbox'), SERVICE] },
    }),
    forbid('sync-below-server', 'The sync core runs without the HTTP server, the service wiring or the CLI.', {
      from: { path: '^src/sync/' },
      to: { path: [above('server', 'cli', 'sandbox'), SERVICE] },
    }),
    // The sync core, the server and the service reach a vendor through the registry or a port (CrmConnector, CrmVendor).
    forbid('vendors-through-the-registry', 'Only src/crm/vendors.ts and the CLI’s vendor-specific setup commands name a CRM vendor folder.', {
      from: { path: '^src/', pathNot: ['^src/cli/', VENDOR_FOLDERS, '^src/crm/vendors[.]ts$'] },
      to: { path: VENDOR_FOLDERS },
    }),
    forbid('vendors-apart', 'One CRM’s folder never uses another’s: what both need belongs in src/crm or src/http.', {
      from: { path: '^src/crm/(dynamics|salesforce)/' },
      to: { path: VENDOR_FOLDERS, pathNot: '^src/crm/$1/' },
    }),
    forbid('sandbox-only-from-cli', 'The sandboxes are development tools: the product never loads them (`cosell --help` loads none).', {
      from: { path: '^src/', pathNot: '^src/(cli|sandbox)/' },
      to: { path: '^src/sandbox/' },
    }),
    forbid('sandbox-shares-only-util', 'A sandbox plays the vendor’s side of the wire: it must not borrow the product’s own reading of it.', {
      from: { path: '^src/sandbox/' },
      to: { path: '^src/', pathNot: '^src/(sandbox|util)/' },
    }),
    forbid('nothing-imports-cli', 'The CLI is the top: what a lower layer needs from it belongs in that layer.', {
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    }),
    forbid('sync-unit-tests-without-servers', 'The sync core’s unit tests run on plain data and in-memory fakes: no sandbox, server or network.', {
      from: { path: '^test/unit/sync/' },
      // test/support holds the harnesses (servers, sandboxes); its temporary-directory helper is all a unit test needs.
      to: { path: ['^src/(sandbox|server|http)/', SERVICE, '^test/support/', '^(node:)?(http|https|net)$', '^undici$'], pathNot: '^test/support/tmp[.]ts$' },
    }),
    forbid('no-unresolvable', 'An import that does not resolve would fail at run time.', {
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    }),
  ],
  options: {
    // Type-only imports are arrows too: an upward type import ties the layers as much as a value import.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // Resolve packages through their `exports` the way Node (ESM) does.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default', 'types'] },
  },
};
