/**
 * WebDAV dead properties (RFC 4918 §4.2: "properties ... whose semantics and syntax are not
 * enforced by the server"): a file's property is its namespace URI and local name, its value the
 * property element as XML text (its own namespace declarations included, so it reads back the
 * same). Keyed by the file's id, so a MOVE or rename keeps them; a copy copies the rows and a purge
 * deletes them (FilePropertiesRepository). Names compare byte for byte: XML names are case-sensitive.
 */
import { EntitySchema } from '@mikro-orm/core';

export class FilePropertyRow {
  fileId!: string;
  namespace!: string;
  name!: string;
  value!: string;
}

export const FilePropertySchema = new EntitySchema<FilePropertyRow>({
  class: FilePropertyRow,
  tableName: 'file_properties',
  properties: {
    fileId: { type: 'string', primary: true, length: 36 },
    namespace: { type: 'string', primary: true, length: 255 },
    name: { type: 'string', primary: true, length: 255 },
    value: { type: 'text' },
  },
});
