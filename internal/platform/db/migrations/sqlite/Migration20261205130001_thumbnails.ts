import { Migration } from '@mikro-orm/migrations';

export class Migration20261205130001_thumbnails extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`thumbnails\` (\`id\` text not null, \`content_hash\` text not null, \`size\` bigint not null, \`status\` text not null, \`backend\` text not null, \`reason\` text null, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create unique index \`thumbnails_content_unique\` on \`thumbnails\` (\`content_hash\`, \`size\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`thumbnails\`;`);
  }

}
