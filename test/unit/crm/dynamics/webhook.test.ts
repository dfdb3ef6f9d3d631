import { describe, expect, it } from 'vitest';
import { DataverseWebhookParseError, endpointAuthValue, parseDataverseWebhook, parseWcfDate, secretsEqual, verifyWebhookAuth } from '../../../../src/crm/dynamics/webhook.ts';

/**
 * The verbatim sample of Dataverse "Use webhooks to create external handlers for server events" (Update of contact,
 * async post-operation), as the WCF serializer writes it.
 */
const REFERENCE_SAMPLE = String.raw`{
  "BusinessUnitId": "e2b9dd85-e89e-e711-8122-000d3aa2331c",
  "CorrelationId": "b374239d-4233-41a9-8b17-a86cb4f737b5",
  "Depth": 1,
  "InitiatingUserId": "75c2dd85-e89e-e711-8122-000d3aa2331c",
  "InputParameters": [{
    "key": "Target",
    "value": {
      "__type": "Entity:http:\/\/schemas.microsoft.com\/xrm\/2011\/Contracts",
      "Attributes": [{"key": "firstname", "value": "James"},
        {"key": "contactid", "value": "6d81597f-0f9f-e711-8122-000d3aa2331c"},
        {"key": "modifiedon", "value": "\/Date(1506384247000)\/"}],
      "EntityState": null, "FormattedValues": [], "Id": "6d81597f-0f9f-e711-8122-000d3aa2331c",
      "KeyAttributes": [], "LogicalName": "contact", "RelatedEntities": [], "RowVersion": null
    }
  }],
  "IsExecutingOffline": false, "IsInTransaction": false, "IsOfflinePlayback": false, "IsolationMode": 1,
  "MessageName": "Update",
  "Mode": 1,
  "OperationCreatedOn": "\/Date(1506409448000-0700)\/",
  "OperationId": "4af10637-4ea2-e711-8122-000d3aa2331c",
  "OrganizationId": "4ef5b371-e89e-e711-8122-000d3aa2331c",
  "OrganizationName": "OrgName",
  "OutputParameters": [],
  "OwningExtension": {"Id": "75417616-4ea2-e711-8122-000d3aa2331c", "KeyAttributes": [],
    "LogicalName": "sdkmessageprocessingstep", "Name": null, "RowVersion": null},
  "ParentContext": null,
  "PostEntityImages": [],
  "PreEntityImages": [],
  "PrimaryEntityId": "6d81597f-0f9f-e711-8122-000d3aa2331c",
  "PrimaryEntityName": "contact",
  "RequestId": null, "SecondaryEntityName": "none", "SharedVariables": [], "Stage": 40,
  "UserId": "75c2dd85-e89e-e711-8122-000d3aa2331c"
}`;

describe('parseDataverseWebhook', () => {
  it('parses the documented RemoteExecutionContext sample from raw text, bytes or parsed JSON alike', () => {
    const expected = {
      entity: 'contact',
      id: '6d81597f-0f9f-e711-8122-000d3aa2331c',
      messageName: 'Update',
      initiatingUserId: '75c2dd85-e89e-e711-8122-000d3aa2331c',
      userId: '75c2dd85-e89e-e711-8122-000d3aa2331c',
      correlationId: 'b374239d-4233-41a9-8b17-a86cb4f737b5',
      depth: 1,
      operationId: '4af10637-4ea2-e711-8122-000d3aa2331c',
      stepId: '75417616-4ea2-e711-8122-000d3aa2331c',
      occurredAt: '2017-09-26T07:04:08.000Z',
    };
    expect(parseDataverseWebhook(REFERENCE_SAMPLE)).toEqual(expected);
    expect(parseDataverseWebhook(Buffer.from(REFERENCE_SAMPLE))).toEqual(expected);
    expect(parseDataverseWebhook(JSON.parse(REFERENCE_SAMPLE))).toEqual(expected);
  });

  it('accepts object-shaped collections, other casing and a missing PrimaryEntityId', () => {
    const event = parseDataverseWebhook({
      messageName: 'Create',
      inputParameters: { Target: { LogicalName: 'Opportunity', Id: '{8A2B4E55-0000-4000-8000-00000000ABCD}' } },
      initiatingUserId: null,
      depth: '2',
      extraField: { anything: true },
    });
    expect(event).toMatchObject({ entity: 'opportunity', id: '8a2b4e55-0000-4000-8000-00000000abcd', messageName: 'Create', initiatingUserId: undefined, depth: 2 });
  });

  it.each([
    ['not JSON', '{"MessageName":', /not JSON/],
    ['an array', '[]', /not a RemoteExecutionContext/],
    ['no MessageName', '{"PrimaryEntityName":"opportunity","PrimaryEntityId":"6d81597f-0f9f-e711-8122-000d3aa2331c"}', /MessageName is missing/],
    ['a table we do not sync', '{"MessageName":"Update","PrimaryEntityName":"incident","PrimaryEntityId":"6d81597f-0f9f-e711-8122-000d3aa2331c"}', /incident is not one/],
    ['no id', '{"MessageName":"Update","PrimaryEntityName":"lead","PrimaryEntityId":"not-a-guid"}', /PrimaryEntityId/],
  ])('rejects %s', (_label, body, message) => {
    expect(() => parseDataverseWebhook(body)).toThrow(DataverseWebhookParseError);
    expect(() => parseDataverseWebhook(body)).toThrow(message);
  });

  it('reads both WCF date forms', () => {
    expect(parseWcfDate('/Date(1506384247000)/')).toBe('2017-09-26T00:04:07.000Z');
    expect(parseWcfDate('\\/Date(1506409448000-0700)\\/')).toBe('2017-09-26T07:04:08.000Z');
    expect(parseWcfDate('yesterday')).toBeUndefined();
  });
});

describe('verifyWebhookAuth', () => {
  const header = { kind: 'HttpHeader', headerName: 'X-Cosell-Webhook-Key', secret: 'correct horse' } as const;
  const key = { kind: 'WebhookKey', secret: 'function-key-123' } as const;

  it('accepts the configured header whatever its case, and rejects wrong, shorter, longer or missing values', () => {
    expect(verifyWebhookAuth({ 'x-cosell-webhook-key': 'correct horse' }, {}, header)).toEqual({ ok: true });
    expect(verifyWebhookAuth({ 'x-cosell-webhook-key': ['correct horse', 'second'] }, {}, header)).toEqual({ ok: true });
    for (const wrong of ['correct hors', 'correct horse!', 'CORRECT HORSE', 'x']) {
      expect(verifyWebhookAuth({ 'x-cosell-webhook-key': wrong }, {}, header).ok).toBe(false);
    }
    expect(verifyWebhookAuth({ authorization: 'correct horse' }, {}, header)).toEqual({ ok: false, reason: 'missing header X-Cosell-Webhook-Key' });
  });

  it('takes a WebhookKey from ?code= or x-functions-key, never from another parameter', () => {
    expect(verifyWebhookAuth({}, { code: 'function-key-123' }, key)).toEqual({ ok: true });
    expect(verifyWebhookAuth({}, new URLSearchParams('code=function-key-123'), key)).toEqual({ ok: true });
    expect(verifyWebhookAuth({ 'x-functions-key': 'function-key-123' }, {}, key)).toEqual({ ok: true });
    expect(verifyWebhookAuth({}, { code: 'function-key-124' }, key)).toEqual({ ok: false, reason: 'wrong code query parameter or x-functions-key header' });
    expect(verifyWebhookAuth({}, { key: 'function-key-123' }, key).ok).toBe(false);
  });

  it('never accepts anything when no secret is configured, and never echoes the secret', () => {
    expect(verifyWebhookAuth({ 'x-cosell-webhook-key': '' }, {}, { ...header, secret: '' }).ok).toBe(false);
    const result = verifyWebhookAuth({ 'x-cosell-webhook-key': 'nope' }, {}, header);
    expect(JSON.stringify(result)).not.toContain('correct horse');
    expect(JSON.stringify(result)).not.toContain('nope');
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(secretsEqual('a', 'a much longer secret')).toBe(false);
    expect(secretsEqual('same', 'same')).toBe(true);
  });

  it('registers HttpHeader auth as the settings XML, escaped', () => {
    expect(endpointAuthValue({ kind: 'HttpHeader', headerName: 'x-key', secret: 'a"b<c>&' })).toEqual({
      authtype: 5,
      authvalue: '<settings><setting name="x-key" value="a&quot;b&lt;c&gt;&amp;" /></settings>',
    });
    expect(endpointAuthValue(key)).toEqual({ authtype: 4, authvalue: 'function-key-123' });
  });
});
