//! Faults injected into the shared real Authentik (`shared/authentik/fault`) for chaos tests,
//! and the lock that keeps a fault from landing on another test. Every other user of the peer
//! holds the lock shared for as long as its process runs (`server::authentik`); a chaos test
//! holds it exclusively while it runs, so it waits for them and they wait for it. A chaos test
//! therefore never calls `authentik()`: its peer comes with its `Exclusive`.

use crate::server::{self, Peer};
use std::fs::{File, OpenOptions};
use std::time::{Duration, Instant};

/// The peer, held for one chaos test alone.
pub struct Exclusive {
    pub peer: &'static Peer,
    _lock: File,
}

/// Waits until no other test uses the peer, then holds it.
pub fn exclusive() -> Exclusive {
    let peer = server::peer();
    let lock = lock_file();
    lock.lock().unwrap();
    Exclusive { peer, _lock: lock }
}

/// The shared hold every ordinary user of the peer takes, for the life of its process.
pub(crate) fn hold_shared() -> File {
    let lock = lock_file();
    lock.lock_shared().unwrap();
    lock
}

fn lock_file() -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(server::meeting_dir().join("faults.lock"))
        .unwrap()
}

impl Exclusive {
    /// Runs `fault FAULT ARGS` against the peer and returns when it is injected (for `pause`,
    /// when the pause is over).
    pub fn inject(&self, fault: &str, args: &[&str]) {
        let mut all = vec![fault];
        all.extend_from_slice(args);
        server::run_script("fault", &all);
    }

    /// Starts the peer again on its port after `server-stop` (`up` is idempotent otherwise),
    /// and waits until it answers with its token.
    pub fn restore(&self) {
        server::start_again(self.peer);
        wait_until_up(self.peer);
    }
}

/// Waits until the peer answers with its token again (after a restart of its database or its
/// workers it comes back by itself).
pub fn wait_until_up(peer: &Peer) {
    assert!(came_back(peer), "the peer did not come back within 120 s");
}

fn came_back(peer: &Peer) -> bool {
    let until = Instant::now() + Duration::from_secs(120);
    while !server::answers(peer) {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    true
}

impl Drop for Exclusive {
    /// A chaos test that failed half-way must not leave the next test a broken peer (no
    /// assertion here: it may run while a test panics).
    fn drop(&mut self) {
        if !server::answers(self.peer) {
            server::start_again(self.peer);
            came_back(self.peer);
        }
    }
}
