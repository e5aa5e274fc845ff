#!/usr/bin/env node
// The `stratus` command (package.json "bin"). The client is TypeScript run through tsx's loader,
// registered here so `npx stratus` needs no build step; the import must come after register().
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
