#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so a fresh clone works after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
