/** GraphQL types for derived health: why a device is not ONLINE, each replica's part, resync progress. */
import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import type { DeviceHealth } from '@tandem/orchestrator';
import { SafeIntScalar } from '../scalars/scalars';
import { ResyncKind } from './fleet.enums';

@ObjectType({ description: 'One replica as device health sees it.' })
export class ReplicaHealthView {
  @Field(() => ID) nodeId!: string;
  @Field() nodeName!: string;
  @Field({ description: 'Exported by a reachable, active node and not blocked: initiators can use it now.' }) serving!: boolean;
  @Field({ description: 'Serving and holding every acknowledged write.' }) synchronized!: boolean;
  @Field(() => String, { nullable: true, description: 'Why it is not synchronized.' }) reason!: string | null;
}

@ObjectType({ description: 'A resync under way: who copies to whom, how far, how fast.' })
export class ResyncProgressView {
  @Field(() => ID) sourceNodeId!: string;
  @Field(() => ID) targetNodeId!: string;
  @Field(() => ResyncKind) kind!: ResyncKind;
  @Field(() => SafeIntScalar) doneBytes!: number;
  @Field(() => SafeIntScalar) totalBytes!: number;
  @Field(() => SafeIntScalar, { nullable: true, description: 'From the resync start to its last progress report.' }) bytesPerSecond!: number | null;
  @Field(() => Float, { nullable: true }) etaSeconds!: number | null;
  @Field(() => String, { nullable: true }) startedAt!: string | null;
  @Field(() => String, { nullable: true }) progressAt!: string | null;
}

@ObjectType({ description: "The evidence behind a device's state." })
export class DeviceHealthView {
  @Field(() => [ReplicaHealthView]) replicas!: ReplicaHealthView[];
  @Field(() => [ResyncProgressView]) resyncs!: ResyncProgressView[];
  @Field(() => [String], { description: 'BLOCKED: why each blocked replica stopped I/O.' }) blockedReasons!: string[];
  @Field(() => [String], { description: 'SPLIT_BRAIN: what each replica reported; the operator must choose a survivor (resolveSplitBrain).' })
  splitBrainEvidence!: string[];
  @Field(() => [String], { description: 'One line per problem, naming the replica; empty when ONLINE.' }) reasons!: string[];
  @Field(() => Int) synchronizedCopies!: number;
  @Field(() => Int) replicaCount!: number;
}

export const toDeviceHealthView = (h: DeviceHealth): DeviceHealthView => ({ ...h, resyncs: h.resyncs.map((r) => ({ ...r, kind: r.kind as ResyncKind })) });
