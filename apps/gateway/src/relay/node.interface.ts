/** Relay's `Node` interface: every object with a stable id, fetched again through `node(id:)`. */
import { Field, ID, InterfaceType } from '@nestjs/graphql';

/** Objects returned through `node(id:)` name their GraphQL type here (graphql-js's own convention). */
export interface Typed {
  __typename?: string;
}

@InterfaceType('Node', {
  description: 'An object with a stable id (a UUID, unique across types), fetched again with `node(id:)`.',
  resolveType: (value: Typed) => value.__typename,
})
export abstract class RelayNode {
  @Field(() => ID) id!: string;
}
