#!/usr/bin/env node
// rxgossip's executable: the compiled CLI (npm run build writes dist/; the package ships it).
// In the repository, `npm run rxgossip -- ...` runs the TypeScript sources through tsx instead.
import '../dist/cli/main.js';
