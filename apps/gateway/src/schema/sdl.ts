/** The gateway's schema as SDL, built from the resolvers without a database: `node apps/gateway/dist/schema/sdl.js` rewrites docs/schema.graphql. */
import 'reflect-metadata';
import * as fs from 'fs';
import * as path from 'path';
import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { GATEWAY_RESOLVERS } from './resolvers';

/** Where the committed SDL lives (docs/api.md links it). */
export const SCHEMA_FILE = path.resolve(__dirname, '../../../../docs/schema.graphql');

export async function gatewaySdl(): Promise<string> {
  const app = await NestFactory.create(GraphQLSchemaBuilderModule, { logger: false });
  try {
    await app.init();
    const schema = await app.get(GraphQLSchemaFactory).create(GATEWAY_RESOLVERS);
    return `# Generated from apps/gateway (schema/sdl.ts); do not edit. Conventions: docs/api.md.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  gatewaySdl()
    .then((sdl) => {
      fs.writeFileSync(SCHEMA_FILE, sdl);
      process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
    })
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
