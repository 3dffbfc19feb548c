//! Serves the demo world (fake 1Password Connect and Authentik on loopback) for hosts other
//! than ours, e.g. `wasmtime run` in `just run-wasmtime-cli`. Prints the environment a run
//! needs as `NAME=value` lines, then a blank line; serves until stdin closes; then prints the
//! writes Authentik received and exits.

use std::io::{Read, Write};
use tenant_sync_fakes::demo::{AUTHENTIK_TOKEN, DemoWorld, OP_TOKEN, STARTING_STATE};

fn main() {
    let world = DemoWorld::start();
    let mut out = std::io::stdout().lock();
    writeln!(out, "OP_CONNECT_HOST={}", world.op.url()).unwrap();
    writeln!(out, "AUTHENTIK_URL={}", world.ak.url()).unwrap();
    writeln!(out, "OP_TOKEN={OP_TOKEN}").unwrap();
    writeln!(out, "AUTHENTIK_TOKEN={AUTHENTIK_TOKEN}").unwrap();
    writeln!(out).unwrap();
    out.flush().unwrap();
    eprintln!("serve-fakes: Authentik starts with {STARTING_STATE}; serving until stdin closes");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let writes = world.ak.writes();
    eprintln!("serve-fakes: Authentik received {} writes:", writes.len());
    for write in writes {
        eprintln!("  {} {}", write.method, write.path);
    }
}
