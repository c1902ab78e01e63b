// The create-device wizard in seed 003's order (device; nodes and priorities; links and arbitration; initial sync and summary), one step per screen; the API refuses bad input with its own message.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { gql } from '../api/client';
import { payloadErrorText } from '../device/payloadErrors';
import { navigate } from '../route';
import { ErrorBox } from '../ui/ErrorBox';
import { StepAvailability } from './StepAvailability';
import { StepBasics } from './StepBasics';
import { StepLinks } from './StepLinks';
import { StepSync } from './StepSync';
import {
  buildRequest,
  checkStep,
  formatAddresses,
  initialState,
  proposeCluster,
  proposeLinks,
  proposeReplicas,
  stepsOf,
  type ClusterChoice,
  type ReplicaChoice,
  type WizardState,
} from './wizardModel';
import {
  CLUSTERS_QUERY,
  CREATE_DEVICE,
  CREATE_HA_DEVICE,
  ENUMS_QUERY,
  NODE_ADDRESSES_QUERY,
  type ClustersAnswer,
  type CreateAnswer,
  type EnumsAnswer,
  type NodeAddressesAnswer,
} from './wizardQueries';

/** The cluster's proposals: its nodes (and priorities), its strategy and witness. */
function clusterDefaults(cluster: ClusterChoice | undefined, ha: boolean): Partial<WizardState> {
  return {
    clusterId: cluster?.id ?? '',
    replicas: proposeReplicas(cluster, ha),
    strategy: cluster?.haStrategy ?? 'HEARTBEAT',
    witness: cluster?.witness ? formatAddresses([cluster.witness]) : '',
  };
}

export function CreateDeviceWizard() {
  const [state, setState] = useState<WizardState>(initialState);
  const [clusters, setClusters] = useState<ClusterChoice[]>([]);
  const [enums, setEnums] = useState<EnumsAnswer | undefined>(undefined);
  const [loadError, setLoadError] = useState<Error | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [stepIndex, setStepIndex] = useState(0);
  const [busy, setBusy] = useState(false);

  const update = useCallback((patch: Partial<WizardState>) => setState((s) => ({ ...s, ...patch })), []);

  useEffect(() => {
    let cancelled = false;
    Promise.all([gql<ClustersAnswer>(CLUSTERS_QUERY), gql<EnumsAnswer>(ENUMS_QUERY)]).then(
      ([c, e]) => {
        if (cancelled) return;
        const list = c.clusters.edges.map((edge) => edge.node);
        setClusters(list);
        setEnums(e);
        setState((s) => (s.clusterId ? s : { ...s, ...clusterDefaults(proposeCluster(list), s.ha) }));
      },
      (e: Error) => {
        if (!cancelled) setLoadError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);

  // The chosen cluster's nodes' registered sync and heartbeat addresses, proposed as the links.
  useEffect(() => {
    if (!state.clusterId) return;
    let cancelled = false;
    gql<NodeAddressesAnswer>(NODE_ADDRESSES_QUERY, { clusterId: state.clusterId }).then(
      (a) => {
        if (!cancelled) setState((s) => ({ ...s, links: proposeLinks(s.links, a.storageNodes.edges.map((e) => e.node)) }));
      },
      (e: Error) => {
        if (!cancelled) setLoadError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [state.clusterId]);

  const cluster = clusters.find((c) => c.id === state.clusterId);
  const nodeName = useCallback((id: string) => cluster?.nodes.find((n) => n.id === id)?.name ?? id, [cluster]);
  const steps = useMemo(() => stepsOf(state.ha), [state.ha]);
  const step = steps[Math.min(stepIndex, steps.length - 1)];
  const last = stepIndex >= steps.length - 1;

  const setHa = (ha: boolean) => {
    setError(null);
    setState((s) => ({ ...s, ha, replicas: proposeReplicas(clusters.find((c) => c.id === s.clusterId), ha) }));
  };
  const setCluster = (clusterId: string) => {
    setError(null);
    setState((s) => ({ ...s, ...clusterDefaults(clusters.find((c) => c.id === clusterId), s.ha) }));
  };
  const setReplica = (index: number, patch: Partial<ReplicaChoice>) =>
    setState((s) => ({ ...s, replicas: s.replicas.map((r, i) => (i === index ? { ...r, ...patch } : r)) }));

  const next = () => {
    const problem = checkStep(step, state);
    setError(problem);
    if (problem === null) setStepIndex((i) => Math.min(i + 1, steps.length - 1));
  };
  const back = () => {
    setError(null);
    setStepIndex((i) => Math.max(0, i - 1));
  };

  const submit = async () => {
    let request;
    try {
      request = buildRequest(state);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await gql<CreateAnswer>(request.mutation === 'createHaDevice' ? CREATE_HA_DEVICE : CREATE_DEVICE, { input: request.input });
      const payload = answer[request.mutation];
      const refused = payloadErrorText(payload?.errors);
      if (refused !== null) setError(refused);
      else if (payload?.aggregateId) navigate(`/device/${encodeURIComponent(payload.aggregateId)}`);
      else setError('the API accepted the command but named no device');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" data-testid="create-wizard" data-step={step}>
      <h2>Create {state.ha ? 'HA ' : ''}device</h2>
      <ol className="row muted" style={{ listStyle: 'none', paddingLeft: 0 }}>
        {steps.map((s, i) => (
          <li key={s} style={{ fontWeight: i === stepIndex ? 700 : 400 }}>
            {i + 1}. {{ basics: 'Device', availability: 'Availability', links: 'Links', sync: state.ha ? 'Initial sync' : 'Summary' }[s]}
          </li>
        ))}
      </ol>
      <ErrorBox error={loadError} />
      {step === 'basics' && <StepBasics state={state} enums={enums} update={update} />}
      {step === 'availability' && <StepAvailability state={state} clusters={clusters} setHa={setHa} setCluster={setCluster} setReplica={setReplica} />}
      {step === 'links' && <StepLinks state={state} enums={enums} cluster={cluster} nodeName={nodeName} update={update} />}
      {step === 'sync' && <StepSync state={state} enums={enums} cluster={cluster} nodeName={nodeName} update={update} />}
      {error && (
        <div className="error" role="alert" data-testid="wizard-error" style={{ whiteSpace: 'pre-wrap' }}>
          {error}
        </div>
      )}
      <div className="row" style={{ marginTop: '1rem' }}>
        <button type="button" data-testid="wizard-back" onClick={back} disabled={stepIndex === 0 || busy}>
          Back
        </button>
        {last ? (
          <button type="button" className="primary" data-testid="wizard-submit" onClick={() => void submit()} disabled={busy}>
            {busy ? 'Creating…' : `Create ${state.ha ? 'HA device' : 'device'}`}
          </button>
        ) : (
          <button type="button" className="primary" data-testid="wizard-next" onClick={next}>
            Next
          </button>
        )}
      </div>
    </section>
  );
}
