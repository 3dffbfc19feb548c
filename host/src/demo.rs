//! `tenant-sync demo`: the real component against the built-in fake 1Password Connect and
//! Authentik on loopback, showing a dry run, an apply and a no-op re-run. Nothing leaves the
//! machine; the fakes stop when it ends.

use crate::bindings::types::{MappingSource, OnepasswordLocation, SyncOptions};
use crate::grants::{Allowlist, ServiceGrant};
use crate::logging::LogSink;
use crate::outcome::{Exit, report_outcome};
use crate::output::Format;
use crate::runtime::Runtime;
use crate::sandbox::Grants;
use tenant_sync_fakes::demo::{AUTHENTIK_TOKEN, DemoWorld, OP_TOKEN, STARTING_STATE};

pub async fn run(runtime: &Runtime) -> Exit {
    let DemoWorld { op, ak } = DemoWorld::start();
    println!(
        "tenant-sync demo: the real component against fake 1Password Connect ({}) and Authentik ({}).",
        op.url(),
        ak.url()
    );
    println!("Authentik starts with: {STARTING_STATE}.\n");

    let grants = Grants {
        allowlist: Allowlist::new([
            ServiceGrant::onepassword(&op.url()).unwrap(),
            ServiceGrant::authentik(&ak.url()).unwrap(),
        ]),
        env: vec![
            ("OP_TOKEN".into(), OP_TOKEN.into()),
            ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
        ],
        log: LogSink::memory(),
        ..Grants::default()
    };
    let options = |dry_run| SyncOptions {
        source: MappingSource::Onepassword(OnepasswordLocation {
            connect_url: op.url(),
            vault: None,
            item: None,
            field: None,
            known: None,
        }),
        authentik_url: ak.url(),
        dry_run,
        concurrency: 4,
        manager_id: None,
        max_response_bytes: 0,
        retry_budget_secs: 0,
        allow_superuser_groups: false,
        only_groups: Vec::new(),
        only_tenants: Vec::new(),
    };

    let mut writes_per_run = Vec::new();
    for (title, dry_run) in [
        ("1. Dry run: the plan, nothing written", true),
        ("2. Apply", false),
        ("3. Run again: nothing left to do", false),
    ] {
        println!("== {title} ==");
        let before = ak.writes().len();
        let result = runtime.sync(&grants, &options(dry_run)).await;
        let exit = report_outcome(result, Format::Text, &LogSink::stderr());
        let writes = ak.writes().len() - before;
        writes_per_run.push(writes);
        println!(
            "-> `tenant-sync run` would exit {} ({writes} writes to Authentik)\n",
            exit as i32
        );
    }
    let events = grants.log.contents();
    println!(
        "The component also logged {} CLEF events on stderr (captured here); the last one:",
        events.lines().count()
    );
    println!("{}", events.lines().last().unwrap_or(""));
    println!(
        "\nThe conflict (initech-users) keeps `run` at exit code 5 until its owner hands it over; nothing else was touched."
    );
    // The demo succeeds when it showed what it promises: a dry run that writes nothing, an
    // apply that writes, and a re-run that is a no-op.
    if writes_per_run == [0, 3, 0] {
        Exit::Success
    } else {
        println!(
            "The demo did not behave as expected (writes per run: {writes_per_run:?}); please report this."
        );
        Exit::Internal
    }
}
