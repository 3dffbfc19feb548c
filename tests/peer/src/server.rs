//! Getting a real Authentik for a test process. CI starts one and exports `AUTHENTIK_TEST_URL` /
//! `AUTHENTIK_TEST_TOKEN`; without them the first test process starts one with
//! `shared/authentik/up` on a free port, later test processes share it, and a watchdog stops it
//! (`down`) once every process that used it has exited. Nothing here skips: a peer that cannot
//! be had fails the test with the reason.

use crate::wire;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A running Authentik and an API token of its superuser.
#[derive(Debug, Clone)]
pub struct Peer {
    pub url: String,
    pub token: String,
}

/// The shared real Authentik, started on first use. Held shared against chaos tests for as
/// long as this process runs (see `faults`).
pub fn authentik() -> &'static Peer {
    static HOLD: OnceLock<File> = OnceLock::new();
    HOLD.get_or_init(crate::faults::hold_shared);
    peer()
}

/// The peer without the shared hold: for chaos tests, which hold it exclusively.
pub(crate) fn peer() -> &'static Peer {
    static PEER: OnceLock<Peer> = OnceLock::new();
    PEER.get_or_init(|| {
        match (
            std::env::var("AUTHENTIK_TEST_URL"),
            std::env::var("AUTHENTIK_TEST_TOKEN"),
        ) {
            (Ok(url), Ok(token)) if !url.is_empty() && !token.is_empty() => {
                let peer = Peer { url, token };
                assert!(
                    answers(&peer),
                    "AUTHENTIK_TEST_URL={} does not answer with AUTHENTIK_TEST_TOKEN; restart it with shared/authentik/up",
                    peer.url
                );
                peer
            }
            _ => start_or_share(),
        }
    })
}

/// `shared/authentik/`, from `TENANT_SYNC_AUTHENTIK_DIR` or beside the repository.
pub(crate) fn scripts_dir() -> PathBuf {
    let dir = std::env::var_os("TENANT_SYNC_AUTHENTIK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/authentik"));
    assert!(
        dir.join("up").is_file() && dir.join("down").is_file(),
        "the real Authentik test peer is missing from {}: check out ../shared beside the repository or set TENANT_SYNC_AUTHENTIK_DIR (these tests never skip)",
        dir.display()
    );
    dir
}

/// The server is up and takes the token.
pub(crate) fn answers(peer: &Peer) -> bool {
    wire::try_get(
        &peer.url,
        "/api/v3/core/groups/?page_size=1",
        Some(&peer.token),
    )
    .is_ok_and(|answer| answer.status == 200)
}

/// Where the test processes that share one peer meet: a lock, the peer's address, and one
/// file per process using it.
pub(crate) fn meeting_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("tenant-sync-authentik-peer");
    fs::create_dir_all(dir.join("users")).unwrap();
    dir
}

fn start_or_share() -> Peer {
    let dir = meeting_dir();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .unwrap();
    lock.lock().unwrap();
    // Registered before the peer is looked at, so a watchdog cannot stop it under us.
    File::create(dir.join("users").join(std::process::id().to_string())).unwrap();
    let address = dir.join("server.env");
    if let Some(peer) = fs::read_to_string(&address).ok().and_then(|t| parse(&t))
        && answers(&peer)
    {
        return peer;
    }
    let scripts = scripts_dir();
    let log_path = dir.join("up.log");
    let log = File::create(&log_path).unwrap();
    // A peer someone started by hand is joined on its port and left running; one this process
    // starts gets a free port and a watchdog that stops it.
    let state = state_dir();
    let running = fs::read_to_string(state.join("run/port"))
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|port| live(*port));
    let port = running.unwrap_or_else(free_port);
    let output = Command::new("bash")
        .arg(scripts.join("up"))
        .args(["--port", &port.to_string()])
        .arg("--state-dir")
        .arg(&state)
        .stdin(Stdio::null())
        .stderr(log)
        .output()
        .expect("running bash shared/authentik/up");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let peer = parse(&stdout).filter(|_| output.status.success());
    let Some(peer) = peer else {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "shared/authentik/up failed ({}); the last lines of {}:\n{}",
            output.status,
            log_path.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    };
    if running.is_none() {
        fs::write(&address, stdout.as_bytes()).unwrap();
        spawn_watchdog(&dir, &scripts.join("down"), &state);
    }
    peer
}

/// The state directory `up` uses by default (its `--state-dir`).
pub(crate) fn state_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME must be set to find the Authentik peer's state")
        .join("authentik-test-peer")
}

/// `up` again on the peer's own port, after a fault stopped it.
pub(crate) fn start_again(peer: &Peer) {
    let port = peer
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no port in the peer's URL {}", peer.url));
    run_script("up", &["--port", &port.to_string()]);
}

/// Runs `shared/authentik/NAME --state-dir STATE ARGS` and panics with its stderr unless it
/// succeeded.
pub(crate) fn run_script(name: &str, args: &[&str]) {
    let output = Command::new("bash")
        .arg(scripts_dir().join(name))
        .arg("--state-dir")
        .arg(state_dir())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running bash shared/authentik/{name}: {e}"));
    assert!(
        output.status.success(),
        "shared/authentik/{name} {} failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Something answers Authentik's liveness probe on this loopback port.
fn live(port: u16) -> bool {
    wire::try_get(&format!("http://127.0.0.1:{port}"), "/-/health/live/", None)
        .is_ok_and(|answer| answer.status == 200)
}

fn parse(text: &str) -> Option<Peer> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Some(Peer {
        url: value("AUTHENTIK_TEST_URL")?,
        token: value("AUTHENTIK_TEST_TOKEN")?,
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops the peer once no registered test process is alive. It runs in its own session, so it
/// outlives the test process that started it, and takes the same lock as a process joining.
const WATCHDOG: &str = r#"
exec 9>"$MEET/lock"
while sleep 2; do
  flock 9
  alive=0
  for f in "$MEET"/users/*; do
    [ -e "$f" ] || continue
    if kill -0 "${f##*/}" 2>/dev/null; then alive=1; else rm -f "$f"; fi
  done
  if [ "$alive" = 0 ]; then
    rm -f "$MEET/server.env"
    bash "$DOWN" --state-dir "$STATE" >"$MEET/down.log" 2>&1
    exit 0
  fi
  flock -u 9
done
"#;

fn spawn_watchdog(meet: &Path, down: &Path, state: &Path) {
    let mut log = File::create(meet.join("watchdog.log")).unwrap();
    writeln!(log, "watching for the test processes in {}", meet.display()).unwrap();
    // `setsid --fork` returns at once, leaving the watchdog in a session of its own.
    let started = Command::new("setsid")
        .args(["--fork", "bash", "-c", WATCHDOG])
        .env("MEET", meet)
        .env("DOWN", down)
        .env("STATE", state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .expect("starting the watchdog that stops the Authentik peer (needs setsid and flock)");
    assert!(started.success(), "setsid --fork failed: {started}");
}
