import { Migration } from '@mikro-orm/migrations';

export class Migration20261205130001_thumbnails extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`thumbnails\` (\`id\` varchar(36) not null, \`content_hash\` varchar(64) not null, \`size\` bigint not null, \`status\` varchar(8) not null, \`backend\` varchar(63) not null, \`reason\` varchar(32) null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`thumbnails\` add unique \`thumbnails_content_unique\`(\`content_hash\`, \`size\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`thumbnails\`;`);
  }

}
