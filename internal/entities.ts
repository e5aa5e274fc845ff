/** Every entity of every service: the one model the migrations are generated from. */
import type { EntitySchema } from '@mikro-orm/core';
import { accountEntities } from './accounts/accounts.entities.ts';
import { activityEntities } from './activity/activity.entities.ts';
import { filesEntities } from './files/files.entities.ts';
import { versionEntities } from './files/versions/versions.entities.ts';
import { thumbnailEntities } from './thumbnails/thumbnails.entities.ts';
import { transferEntities } from './transfer/transfer.entities.ts';
import { uploadLinkEntities } from './uploads/upload-links/upload-links.entities.ts';
import { uploadEntities } from './uploads/uploads.entities.ts';

export const allEntities: EntitySchema[] = [...accountEntities, ...filesEntities, ...versionEntities, ...uploadEntities, ...uploadLinkEntities, ...transferEntities, ...activityEntities, ...thumbnailEntities] as EntitySchema[];
