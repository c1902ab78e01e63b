/** What every resolver gets: who is asking (token or not) and this request's DataLoaders. */
import type { FleetLoaders } from './fleet/fleetReader';

export interface GatewayContext {
  /** Carried a valid bearer token. */
  authenticated: boolean;
  /** Recorded as the events' `actor`. */
  actor: string;
  loaders: FleetLoaders;
}

/** Holders of the gateway token act as one administrator until per-user tokens exist. */
export const TOKEN_ACTOR = 'user:api-token';
