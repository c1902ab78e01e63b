import { Injectable } from '@nestjs/common';
import { NodeAgentSettings } from '../config';
import { loadOrCreateNodeId } from './nodeIdentity';

/** This node's id, generated on first start and persisted beside the config (loaded before anything needs it). */
@Injectable()
export class NodeIdentityService {
  constructor(readonly nodeId: string) {}

  static async load(settings: NodeAgentSettings): Promise<NodeIdentityService> {
    return new NodeIdentityService(await loadOrCreateNodeId(settings.stateDir));
  }
}
