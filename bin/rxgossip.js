#!/usr/bin/env node
// rxgossip's executable. The package ships TypeScript, so load it through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../lib/cli/main.ts');
