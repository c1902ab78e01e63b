/** The fields each verb asks for: `-o json` prints exactly these objects, and the e2e test asks GraphQL for the same. */
export const DEVICE_FIELDS = 'id name clusterId sizeBytes sectorSize storeKind cacheMode state replicaCount synchronizedCopies replicas { nodeId priority } createdPosition updatedPosition version';
export const NODE_FIELDS = 'id name clusterId state health reachable inMaintenance maintenanceReason softwareVersion capacityBytes allocatedBytes portals { host port } healthReasons lastSeenAt';
export const CLUSTER_FIELDS = 'id name siteId haStrategy nodes { id name } devices { id name }';
export const SITE_FIELDS = 'id name description clusters { id name }';
export const ALERT_FIELDS = 'id kind severity active message raisedAt clearedAt subject { id kind name }';
export const RESYNC_FIELDS = 'health { resyncs { kind sourceNodeId targetNodeId doneBytes totalBytes bytesPerSecond etaSeconds } }';
