// Create-device wizard (scaffold version: name, size, cluster and one node; the device helper replaces it with the full wizard).
import { useState, type FormEvent } from 'react';
import { gql } from '../api/client';
import { useLiveQuery } from '../api/useLiveQuery';
import { navigate } from '../route';
import { ErrorBox } from '../ui/ErrorBox';

const CHOICES = `query Choices { clusters { edges { node { id name nodes { id name } } } } }`;
const CREATE = `mutation Create($input: CreateDeviceInput!) {
  createDevice(input: $input) { aggregateId errors { __typename ... on UserError { message } } }
}`;

interface Choices {
  clusters: { edges: { node: { id: string; name: string; nodes: { id: string; name: string }[] } }[] };
}
interface CreateResult {
  createDevice: { aggregateId: string | null; errors: { message: string }[] };
}

export function CreateDeviceWizard() {
  const { data, error } = useLiveQuery<Choices>(CHOICES, undefined);
  const [name, setName] = useState('');
  const [sizeGiB, setSizeGiB] = useState('1');
  const [nodeKey, setNodeKey] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const options = (data?.clusters.edges ?? []).flatMap((e) => e.node.nodes.map((n) => ({ key: `${e.node.id}/${n.id}`, label: `${e.node.name} / ${n.name}` })));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const [clusterId, nodeId] = (nodeKey || options[0]?.key || '/').split('/');
    try {
      const result = await gql<CreateResult>(CREATE, {
        input: { name, clusterId, sizeBytes: Math.round(Number(sizeGiB) * 1024 ** 3), replicas: [{ nodeId, priority: 1 }] },
      });
      if (result.createDevice.errors.length) setProblem(result.createDevice.errors.map((e) => e.message).join('; '));
      else if (result.createDevice.aggregateId) navigate(`/device/${result.createDevice.aggregateId}`);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };

  return (
    <form className="card" onSubmit={submit} data-testid="create-device">
      <h2>Create device</h2>
      <ErrorBox error={error} />
      <p>
        <label>
          Name <input type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      </p>
      <p>
        <label>
          Size (GiB) <input type="number" min="0" step="any" value={sizeGiB} onChange={(e) => setSizeGiB(e.target.value)} />
        </label>
      </p>
      <p>
        <label>
          Node{' '}
          <select value={nodeKey} onChange={(e) => setNodeKey(e.target.value)}>
            {options.map((o) => (
              <option key={o.key} value={o.key}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </p>
      <ErrorBox error={problem} />
      <button className="primary" type="submit">
        Create
      </button>
    </form>
  );
}
