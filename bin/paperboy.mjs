#!/usr/bin/env node
// Entry for `npx paperboy` and `npm start`: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli.ts');
