/** One handler per command the contracts declare (the bus checks at start-up that none is missing). */
import { tandemContracts } from '@tandem/contracts';
import { addNodeToClusterHandler } from './add-node-to-cluster/add-node-to-cluster.handler';
import { createClusterHandler } from './create-cluster/create-cluster.handler';
import { createDeviceHandler } from './create-device/create-device.handler';
import { createHaDeviceHandler } from './create-ha-device/create-ha-device.handler';
import { createSiteHandler } from './create-site/create-site.handler';
import { deleteClusterHandler } from './delete-cluster/delete-cluster.handler';
import { deleteDeviceHandler } from './delete-device/delete-device.handler';
import { deleteSiteHandler } from './delete-site/delete-site.handler';
import { enterNodeMaintenanceHandler } from './enter-node-maintenance/enter-node-maintenance.handler';
import { exitNodeMaintenanceHandler } from './exit-node-maintenance/exit-node-maintenance.handler';
import { registerNodeHandler } from './register-node/register-node.handler';
import { removeNodeFromClusterHandler } from './remove-node-from-cluster/remove-node-from-cluster.handler';
import { renameClusterHandler } from './rename-cluster/rename-cluster.handler';
import { renameSiteHandler } from './rename-site/rename-site.handler';
import { resizeDeviceHandler } from './resize-device/resize-device.handler';
import { resolveSplitBrainHandler } from './resolve-split-brain/resolve-split-brain.handler';

export const commandHandlers = [
  createSiteHandler,
  renameSiteHandler,
  deleteSiteHandler,
  createClusterHandler,
  renameClusterHandler,
  deleteClusterHandler,
  registerNodeHandler,
  addNodeToClusterHandler,
  removeNodeFromClusterHandler,
  enterNodeMaintenanceHandler,
  exitNodeMaintenanceHandler,
  createDeviceHandler,
  createHaDeviceHandler,
  resizeDeviceHandler,
  deleteDeviceHandler,
  resolveSplitBrainHandler,
] as const;

const missing = tandemContracts.commandTypes().filter((type) => !commandHandlers.some((h) => h.type === type));
if (missing.length > 0) throw new Error(`no command handler for ${missing.join(', ')}`);
