/** Events as GraphQL sees them, and Relay-style connections over the log (cursor = global position). */
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { JsonScalar, SafeIntScalar } from '../scalars/scalars';
import { Device, Node } from '../fleet/fleet.models';

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
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field({ description: 'Always false: the log is paged forward only.' }) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class EventConnection {
  @Field(() => [EventEdge]) edges!: EventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ description: 'An event of one device, with the device as the read models hold it after the event (null once deleted).' })
export class DeviceChange {
  @Field(() => ID) deviceId!: string;
  @Field(() => Event) event!: Event;
  @Field(() => Device, { nullable: true }) device!: Device | null;
}

@ObjectType({ description: 'An event of one node, with the node as the read models hold it after the event.' })
export class NodeChange {
  @Field(() => ID) nodeId!: string;
  @Field(() => Event) event!: Event;
  @Field(() => Node, { nullable: true }) node!: Node | null;
}
