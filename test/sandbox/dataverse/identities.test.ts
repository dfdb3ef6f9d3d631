import type { DynamicsWebApi } from 'dynamics-web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CLIENT_ID, SANDBOX_USERS } from '../../../src/sandbox/dataverse/index.ts';
import { dataverseAs, dataverseToken } from '../../support/dataverse-identities.ts';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

interface Stamped {
  name: string;
  _createdby_value: string;
  _modifiedby_value: string;
  _modifiedonbehalfby_value: string | null;
}

const STAMPS = ['name', '_createdby_value', '_modifiedby_value', '_modifiedonbehalfby_value'];
const CUSTOM_CLIENT_ID = '3f6c1b0e-7d2a-4c55-9b1e-0a8d2f4c6e11';

/** Who wrote what: each app registration and each signed-in seller is its own systemuser, as on a real org. */
describe('identities: application users per client id, sellers signed in', () => {
  let h: SandboxHarness;
  let ours: DynamicsWebApi;
  let other: DynamicsWebApi;
  beforeAll(async () => {
    h = await startHarness({ applicationUsers: [{ clientId: CUSTOM_CLIENT_ID, fullname: '# Custom integration' }] });
    ours = await dataverseAs(h.sandbox.url, { clientId: SANDBOX_CLIENT_ID });
    other = await dataverseAs(h.sandbox.url, { clientId: SANDBOX_USERS.otherIntegration.applicationid ?? '' });
  });
  afterAll(async () => h.close());

  const stamps = (id: string) => h.api.retrieve<Stamped>({ collection: 'accounts', key: id, select: STAMPS });

  it('maps two client ids to two application users: WhoAmI and modifiedby differ', async () => {
    expect((await ours.callFunction<{ UserId: string }>('WhoAmI')).UserId).toBe(SANDBOX_USERS.application.id);
    expect((await other.callFunction<{ UserId: string }>('WhoAmI')).UserId).toBe(SANDBOX_USERS.otherIntegration.id);
    expect(SANDBOX_USERS.otherIntegration.id).not.toBe(SANDBOX_USERS.application.id);

    const id: string = await ours.create({ collection: 'accounts', data: { name: 'Written by us' } });
    expect(await stamps(id)).toMatchObject({ _createdby_value: SANDBOX_USERS.application.id, _modifiedby_value: SANDBOX_USERS.application.id });
    await other.update({ collection: 'accounts', key: id, data: { name: 'Touched by the other integration' } });
    expect(await stamps(id)).toMatchObject({
      _createdby_value: SANDBOX_USERS.application.id,
      _modifiedby_value: SANDBOX_USERS.otherIntegration.id,
      _modifiedonbehalfby_value: null,
    });
  });

  it('finds a configured app registration’s application user by applicationid', async () => {
    const custom = await dataverseAs(h.sandbox.url, { clientId: CUSTOM_CLIENT_ID.toUpperCase() });
    const { UserId } = await custom.callFunction<{ UserId: string }>('WhoAmI');
    const user = await h.api.retrieve<{ applicationid: string; fullname: string; accessmode: number }>({ collection: 'systemusers', key: UserId, select: ['applicationid', 'fullname', 'accessmode'] });
    expect(user).toMatchObject({ applicationid: CUSTOM_CLIENT_ID, fullname: '# Custom integration', accessmode: 4 });
  });

  it('refuses a token for a client id without an application user: 403, "not a member of the organization"', async () => {
    // Entra issues the token (it knows nothing of the environment); the Web API refuses it.
    const stranger = await dataverseAs(h.sandbox.url, { clientId: '9d0f7a66-2b41-4f3c-8e5d-1c2b3a4d5e6f' });
    const failure = await expectFailure(stranger.callFunction('WhoAmI'));
    expect(failure).toMatchObject({ status: 403, code: '0x80072560', message: 'The user is not a member of the organization.' });
    const write = await expectFailure(stranger.create({ collection: 'accounts', data: { name: 'Never written' } }));
    expect(write.status).toBe(403);
    expect((await h.api.retrieveMultiple({ collection: 'accounts', filter: "name eq 'Never written'" })).value).toEqual([]);
  });

  it('a seller’s delegated token writes as the seller: modifiedby is the seller, WhoAmI the seller', async () => {
    const id: string = await ours.create({ collection: 'accounts', data: { name: 'Ours first' } });
    const seller = await dataverseAs(h.sandbox.url, { seller: SANDBOX_USERS.seller.domainname });
    expect((await seller.callFunction<{ UserId: string }>('WhoAmI')).UserId).toBe(SANDBOX_USERS.seller.id);
    await seller.update({ collection: 'accounts', key: id, data: { name: 'Renamed by Alex' } });
    // Not impersonation: the seller acts for no one, so no delegate is recorded ("Impersonate another user").
    expect(await stamps(id)).toMatchObject({
      name: 'Renamed by Alex',
      _createdby_value: SANDBOX_USERS.application.id,
      _modifiedby_value: SANDBOX_USERS.seller.id,
      _modifiedonbehalfby_value: null,
    });
    const second = await dataverseAs(h.sandbox.url, { seller: SANDBOX_USERS.secondSeller.domainname.toUpperCase() });
    const created: string = await second.create({ collection: 'accounts', data: { name: 'Jordan’s account' } });
    expect(await stamps(created)).toMatchObject({ _createdby_value: SANDBOX_USERS.secondSeller.id, _modifiedby_value: SANDBOX_USERS.secondSeller.id });
  });

  it('signs in no one the directory does not know, and no application user by UPN', async () => {
    await expect(dataverseToken(h.sandbox.url, { seller: 'nobody@sandbox.onmicrosoft.com' })).rejects.toThrow(/400.*invalid_grant.*AADSTS50034/);
    await expect(dataverseToken(h.sandbox.url, { seller: SANDBOX_USERS.application.domainname })).rejects.toThrow(/AADSTS50034/);
  });

  it('without strictTokens, a token the endpoint never issued stands for the product’s own application user', async () => {
    expect((await h.api.callFunction<{ UserId: string }>('WhoAmI')).UserId).toBe(SANDBOX_USERS.application.id);
  });
});
