// docs/schema.graphql is the schema the gateway serves: this fails when it is stale (TANDEM_WRITE_SCHEMA=1 rewrites it).
import * as fs from 'fs';
import { buildSchema } from 'graphql';
import { gatewaySdl, SCHEMA_FILE } from './sdl';

describe('the recorded GraphQL schema', () => {
  let sdl: string;
  beforeAll(async () => {
    sdl = await gatewaySdl();
    if (process.env.TANDEM_WRITE_SCHEMA === '1') fs.writeFileSync(SCHEMA_FILE, sdl);
  });

  it('docs/schema.graphql matches the code (rewrite with TANDEM_WRITE_SCHEMA=1 npx jest -c apps/gateway/jest.config.js sdl)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(sdl);
  });

  it('follows the conventions: Relay connections and Node, StorageNode, payloads with typed errors, no stray String closed sets', () => {
    const schema = buildSchema(sdl);
    const query = schema.getQueryType()!.getFields();
    for (const list of ['sites', 'clusters', 'storageNodes', 'devices', 'alerts', 'events']) expect([list, String(query[list].type)]).toEqual([list, expect.stringMatching(/Connection!$/)]);
    expect(String(query.node.type)).toBe('Node');
    expect(schema.getImplementations(schema.getType('Node') as never).objects.map((o) => o.name).sort()).toEqual(['Cluster', 'Device', 'Site', 'StorageNode']);
    for (const [name, field] of Object.entries(schema.getMutationType()!.getFields())) {
      expect([name, String(field.type)]).toEqual([name, `${name[0].toUpperCase()}${name.slice(1)}Payload!`]);
    }
    const strings = ['Device.storeKind', 'Device.cacheMode', 'Cluster.haStrategy', 'ReplicaHa.paths', 'ReplicaHa.accessState', 'PartnerStatus.state', 'PartnerStatus.resyncKind', 'Alert.kind'];
    for (const path of strings) {
      const [type, field] = path.split('.');
      const named = String((schema.getType(type) as unknown as { getFields(): Record<string, { type: unknown }> }).getFields()[field].type).replace(/!$/, '');
      expect([path, named]).not.toEqual([path, 'String']);
    }
  });
});
