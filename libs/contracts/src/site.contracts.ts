/** Sites: a place (room, building) that holds clusters. */
import { z } from 'zod';
import { defineCommand, defineEvent } from './contract';
import { idSchema, nameSchema } from './common';

export const SiteCreated = defineEvent('SiteCreated', 1, z.object({ siteId: idSchema, name: nameSchema, description: z.string().max(512).optional() }).strict());
export const SiteRenamed = defineEvent('SiteRenamed', 1, z.object({ siteId: idSchema, name: nameSchema, previousName: nameSchema }).strict());
export const SiteDeleted = defineEvent('SiteDeleted', 1, z.object({ siteId: idSchema }).strict());

/** `siteId` may be chosen by the caller so a retried request cannot create two sites. */
export const CreateSite = defineCommand('CreateSite', 1, z.object({ siteId: idSchema.optional(), name: nameSchema, description: z.string().max(512).optional() }).strict());
export const RenameSite = defineCommand('RenameSite', 1, z.object({ siteId: idSchema, name: nameSchema }).strict());
export const DeleteSite = defineCommand('DeleteSite', 1, z.object({ siteId: idSchema }).strict());

export const siteEvents = [SiteCreated, SiteRenamed, SiteDeleted] as const;
export const siteCommands = [CreateSite, RenameSite, DeleteSite] as const;
