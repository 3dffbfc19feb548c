//! A real Prometheus Pushgateway (Debian's `prometheus-pushgateway`) on an ephemeral loopback
//! port, stopped on drop, and what it holds read back from its own `/metrics`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the binary is: `TENANT_SYNC_PUSHGATEWAY`, else Debian's path.
fn binary() -> String {
    let path = std::env::var("TENANT_SYNC_PUSHGATEWAY")
        .unwrap_or_else(|_| "/usr/bin/prometheus-pushgateway".to_owned());
    assert!(
        std::path::Path::new(&path).is_file(),
        "no Pushgateway at {path}: install Debian's prometheus-pushgateway (apt-get install prometheus-pushgateway; .ci/run does) or set TENANT_SYNC_PUSHGATEWAY"
    );
    path
}

pub struct Pushgateway {
    child: Child,
    pub port: u16,
    https: bool,
}

impl Pushgateway {
    pub fn start() -> Pushgateway {
        Pushgateway::start_with(&[], false)
    }

    /// Over https, presenting `cert` and `key` (PEM files), for `localhost`.
    pub fn start_tls(dir: &std::path::Path, cert: &str, key: &str) -> Pushgateway {
        let (cert_file, key_file) = (dir.join("pushgateway.crt"), dir.join("pushgateway.key"));
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        let config = dir.join("pushgateway-web.yml");
        std::fs::write(
            &config,
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                cert_file.display(),
                key_file.display()
            ),
        )
        .unwrap();
        Pushgateway::start_with(&[format!("--web.config.file={}", config.display())], true)
    }

    fn start_with(extra: &[String], https: bool) -> Pushgateway {
        let binary = binary();
        // The port is free when asked for; another process could take it before the
        // Pushgateway does, so a start that fails is tried on another port.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&binary)
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                // Debian's build keeps what it holds in /var/lib/prometheus by default: each
                // test's Pushgateway starts empty and leaves nothing behind.
                .arg("--persistence.file=")
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut pushgateway = Pushgateway { child, port, https };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = pushgateway.child.try_wait() {
                    break;
                }
                if pushgateway.ready() {
                    return pushgateway;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = pushgateway.child.kill();
        }
        panic!("the Pushgateway ({binary}) did not start on a loopback port");
    }

    pub fn url(&self) -> String {
        match self.https {
            true => format!("https://localhost:{}", self.port),
            false => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// Whether it answers: over https, that it accepts a TLS connection at all (what it holds
    /// is then read over plain http by `samples`, which an https one does not serve).
    fn ready(&self) -> bool {
        match self.https {
            true => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            false => self.get("/-/ready").0 == 200,
        }
    }

    /// A plain GET: status and body (empty when the connection failed).
    pub fn get(&self, path: &str) -> (u16, String) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request =
            // HTTP/1.0: the body comes whole, never chunked.
            format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
            .to_owned();
        (status, body)
    }

    /// The whole exposition the Pushgateway serves.
    pub fn exposition(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The samples the Pushgateway holds for `job` and `manager`, keyed by the metric's name and
    /// its labels other than the grouping ones (`name` or `name{a="x",b="y"}`), each with the
    /// grouping labels it was stored under.
    pub fn samples(
        &self,
        job: &str,
        manager: &str,
    ) -> BTreeMap<String, (f64, BTreeMap<String, String>)> {
        let mut found = BTreeMap::new();
        for line in self.exposition().lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.strip_suffix('}').unwrap()),
                None => (series, ""),
            };
            let labels = label_pairs(labels);
            if labels.get("job").map(String::as_str) != Some(job)
                || labels.get("manager").map(String::as_str) != Some(manager)
            {
                continue;
            }
            let grouping = ["job", "instance", "manager"];
            let own: Vec<String> = labels
                .iter()
                .filter(|(k, _)| !grouping.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            let key = match own.is_empty() {
                true => name.to_owned(),
                false => format!("{name}{{{}}}", own.join(",")),
            };
            let grouping: BTreeMap<String, String> = labels
                .into_iter()
                .filter(|(k, _)| grouping.contains(&k.as_str()))
                .collect();
            found.insert(key, (value.parse().unwrap(), grouping));
        }
        found
    }
}

/// `a="x",b="y,z"` as pairs; values may hold commas and escaped quotes.
fn label_pairs(text: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        pairs.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end..];
    }
    pairs
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
