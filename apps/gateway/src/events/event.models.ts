/** Events as GraphQL sees them, the Relay connection over the log (cursor = global position), and change notifications. */
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { JsonScalar, SafeIntScalar } from '../scalars/scalars';
import { Device, StorageNode } from '../fleet/fleet.models';
import { PageInfo } from '../relay/connection';

@ObjectType({ description: 'One event of the log.' })
export class Event {
  @Field(() => ID) id!: string;
  @Field() streamId!: string;
  @Field(() => Int) streamVersion!: number;
  @Field(() => SafeIntScalar) globalPosition!: number;
  @Field() type!: string;
  @Field(() => Int) schemaVersion!: number;
  @Field(() => JsonScalar) data!: unknown;
  @Field(() => JsonScalar, { description: 'correlationId, causationId, actor, …' }) metadata!: unknown;
  @Field() recordedAt!: Date;
}

@ObjectType()
export class EventEdge {
  @Field({ description: 'The event\'s global position, as a decimal string.' }) cursor!: string;
  @Field(() => Event) node!: Event;
}

@ObjectType()
export class EventConnection {
  @Field(() => [EventEdge]) edges!: EventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ description: "An event about one device (its own, its replicas' reports and HA transitions, alerts about it), with the device as the read models hold it after the event (null once deleted)." })
export class DeviceChange {
  @Field(() => ID) deviceId!: string;
  @Field(() => Event) event!: Event;
  @Field(() => Device, { nullable: true }) device!: Device | null;
}

@ObjectType({ description: 'An event of one storage node, with the node as the read models hold it after the event.' })
export class StorageNodeChange {
  @Field(() => ID) nodeId!: string;
  @Field(() => Event) event!: Event;
  @Field(() => StorageNode, { nullable: true }) storageNode!: StorageNode | null;
}
