import { IdGenerator, KEY_PREFIX } from '../ids.ts';

export type UserRole = 'integration' | 'seller';

export interface SandboxUser {
  id: string;
  role: UserRole;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  alias: string;
}

/** Fixed ids, so a product configured against one sandbox run (org id, user ids) still matches after a restart. */
export const SANDBOX_ORGANIZATION = {
  id: IdGenerator.fixed(KEY_PREFIX.Organization, 1),
  name: 'Cosell Sandbox Org',
  instanceName: 'SANDBOX1',
  organizationType: 'Developer Edition',
} as const;

export const SANDBOX_USERS: { readonly integration: SandboxUser; readonly seller: SandboxUser } = {
  /**
   * The "Run As" user behind client-credentials tokens (Salesforce Help "OAuth 2.0 Client Credentials Flow for
   * Server-to-Server Integration"); JWT and password flows may name either user.
   */
  integration: {
    id: IdGenerator.fixed(KEY_PREFIX.User, 1),
    role: 'integration',
    username: 'integration@cosell-sandbox.example',
    firstName: 'Cosell',
    lastName: 'Integration',
    email: 'integration@cosell-sandbox.example',
    alias: 'cosell',
  },
  /** The person clicking around in the CRM; the control API writes as this user. */
  seller: {
    id: IdGenerator.fixed(KEY_PREFIX.User, 2),
    role: 'seller',
    username: 'seller@cosell-sandbox.example',
    firstName: 'Sam',
    lastName: 'Seller',
    email: 'seller@cosell-sandbox.example',
    alias: 'sseller',
  },
};

export const ALL_USERS: readonly SandboxUser[] = [SANDBOX_USERS.integration, SANDBOX_USERS.seller];

export function userById(id: string): SandboxUser | undefined {
  return ALL_USERS.find((user) => user.id === id);
}

export function userByUsername(username: string): SandboxUser | undefined {
  const wanted = username.toLowerCase();
  return ALL_USERS.find((user) => user.username === wanted);
}

export function displayName(user: SandboxUser): string {
  return `${user.firstName} ${user.lastName}`;
}
