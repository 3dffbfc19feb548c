// The contract this host shares with the wasmtime host, generated from the Rust sources
// (host/src/contract.rs; a Rust test keeps contract.json equal to them): the requests each
// service is granted, the variables a run may see, the defaults, limits and exit codes. What is
// printed (report, failure document, log events) is rendered by the component itself.

import { readFileSync } from 'node:fs';

export const CONTRACT = JSON.parse(readFileSync(new URL('./contract.json', import.meta.url), 'utf8'));
