//! The third service: a Prometheus Pushgateway (`--metrics-push`), which gets a run's metrics
//! (`tenant_sync_core::metrics`) once the run is over, successful or not. The host sends that one
//! request itself, with the run's TLS trust and timeouts; the component's allowlist never holds
//! the Pushgateway, so not even a tampered component can reach it. A push that fails is a
//! Warning and changes nothing else: not the exit code, not the report.

use crate::grants::Origin;
use crate::logging::{Level, LogSink};
use crate::sandbox::Limits;
use crate::stop::Stop;
use crate::transport::Transport;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Method, Uri};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use std::time::Duration;
use tenant_sync_core::metrics::Push;
use tenant_sync_core::untrusted::excerpt;

/// The job label every push is grouped under.
pub const JOB: &str = "tenant-sync";
/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Bound on what is read of the Pushgateway's answer (an error message at most).
const MAX_ANSWER_BYTES: usize = 4096;
/// The longest a push may take, within the run's own request timeouts: a run stopped by SIGTERM
/// still pushes, inside Kubernetes' default 30 s grace period.
const MAX_PUSH_TIME: Duration = Duration::from_secs(10);
/// How long a push may still take once a stop's grace period ended (`crate::stop::GRACE`, 5 s):
/// within Kubernetes' default 30 s between SIGTERM and SIGKILL, with room to spare.
const AFTER_GRACE: Duration = Duration::from_secs(3);

/// The one request the Pushgateway is granted: PUT or POST of the run's metrics to the job's
/// group, `…/metrics/job/tenant-sync/manager@base64/<manager id>` under the configured URL. The
/// manager id (`fc:managed-by`) is the grouping label: runs that manage other groups (another
/// Authentik, another mapping) keep their own metrics, and the id is one fixed value per
/// CronJob, so the label set stays bounded. It is base64url-encoded, as the Pushgateway allows,
/// so any id is one path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushGrant {
    pub origin: Origin,
    target: Uri,
}

impl PushGrant {
    pub fn new(url: &str, manager: &str) -> anyhow::Result<PushGrant> {
        // Before any message quotes the URL: credentials in it would end up in the job's log.
        let authority = url
            .trim()
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if authority.contains('@') {
            bail!(
                "the Pushgateway URL carries credentials (user:password@), which tenant-sync never sends; give the URL without them (the push has no authentication: reach the Pushgateway over the cluster network, which deploy/metrics/networkpolicy.yaml opens)"
            );
        }
        let origin = Origin::parse(url).context("the Pushgateway URL")?;
        let uri: Uri = url.trim().parse()?;
        if uri.query().is_some() {
            bail!(
                "the Pushgateway URL {url:?} has a query; give its base URL, e.g. http://pushgateway.monitoring:9091"
            );
        }
        let base = uri.path().trim_end_matches('/');
        let target = format!(
            "{origin}{base}/metrics/job/{JOB}/manager@base64/{}",
            URL_SAFE_NO_PAD.encode(manager)
        );
        let target = target.parse().with_context(|| {
            format!(
                "the push URL for a manager id of {} bytes is not a valid URL (a manager id that long cannot be a path segment; use a shorter --manager-id)",
                manager.len()
            )
        })?;
        Ok(PushGrant { origin, target })
    }

    /// Where the metrics go.
    pub fn target(&self) -> &Uri {
        &self.target
    }

    /// Whether `method` on `uri` is the push: the one target, PUT or POST.
    pub fn allows(&self, method: &Method, uri: &Uri) -> bool {
        (method == Method::PUT || method == Method::POST) && *uri == self.target
    }
}

/// Pushes to one Pushgateway.
pub struct Pushgateway {
    grant: PushGrant,
    transport: Transport,
    limits: Limits,
}

impl Pushgateway {
    pub fn new(grant: PushGrant, transport: Transport, limits: Limits) -> Pushgateway {
        Pushgateway {
            grant,
            transport,
            limits,
        }
    }

    /// Sends `push`; says how it went in the log (Debug when accepted, Warning otherwise). It is
    /// cut short `AFTER_GRACE` after a stop's grace period ended: a run the stop ended still
    /// pushes its exit code, and a pod being killed is not held up for long.
    pub async fn push(&self, push: &Push, stop: &Stop, log: &LogSink) {
        let method = match push.replace_all {
            true => Method::PUT,
            false => Method::POST,
        };
        let target = self.grant.target().clone();
        let result = tokio::select! {
            result = self.send(method.clone(), target, push.body.clone()) => result,
            () = async {
                stop.forced().await;
                tokio::time::sleep(AFTER_GRACE).await;
            } => Err("cut short: the stop's grace period had ended".to_owned()),
        };
        let pushgateway = json!(self.grant.origin.to_string());
        match result {
            Ok(()) => log.event(
                Level::Debug,
                "Pushed the run's metrics to {Pushgateway} ({Method})",
                &[("Pushgateway", pushgateway), ("Method", json!(method.as_str()))],
            ),
            Err(reason) => log.event(
                Level::Warning,
                "Pushing the run's metrics to {Pushgateway} failed: {Reason}; the run's outcome and exit code are unchanged. Check --metrics-push and that the Pushgateway is up and reachable",
                &[("Pushgateway", pushgateway), ("Reason", json!(reason))],
            ),
        }
    }

    async fn send(&self, method: Method, target: Uri, body: String) -> Result<(), String> {
        if !self.grant.allows(&method, &target) {
            return Err(format!("{method} {target} is not the granted push"));
        }
        let request = http::Request::builder()
            .method(method)
            .uri(target)
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(
                Full::new(Bytes::from(body))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| e.to_string())?;
        let limits = &self.limits;
        let whole = limits.request_timeout.min(MAX_PUSH_TIME);
        // The transport logs an untrusted certificate as an Error meant for the services; for
        // the push, what it says goes into the one Warning instead.
        let said = LogSink::memory();
        let response = self
            .transport
            .send(
                request,
                limits.first_byte_timeout.min(whole),
                limits.between_bytes_timeout.min(whole),
                whole,
                &said,
            )
            .await
            .map_err(|e| match reasons(&said) {
                Some(reason) => format!("no answer ({e}: {reason})"),
                None => format!("no answer ({e})"),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let redirect = response.headers().get(http::header::LOCATION).map(|to| {
            format!(
                " (redirected to {}; redirects are not followed: give that URL)",
                excerpt(&String::from_utf8_lossy(to.as_bytes()))
            )
        });
        // The answer is the Pushgateway's (or a proxy's) text: bounded, and only an excerpt shown.
        let answer = read_bounded(response.into_body(), MAX_ANSWER_BYTES).await;
        let (answer, redirect) = (answer.trim(), redirect.unwrap_or_default());
        Err(match answer.is_empty() {
            true => format!("HTTP {status}{redirect}"),
            false => format!("HTTP {status}{redirect}: {}", excerpt(answer)),
        })
    }
}

/// The `Reason` of each event the transport logged into `said`, if any.
fn reasons(said: &LogSink) -> Option<String> {
    let reasons: Vec<String> = said
        .contents()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event["Reason"].as_str().map(str::to_owned))
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// At most `limit` bytes of `body`, as text; whatever could not be read is left out.
async fn read_bounded(body: wasmtime_wasi_http::WasiBody, limit: usize) -> String {
    let mut body = body;
    let mut read = Vec::new();
    // The transport's own timeouts bound each read too; this bounds a slow error page further.
    while read.len() < limit {
        match tokio::time::timeout(Duration::from_secs(2), body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data[..data.len().min(limit - read.len())]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&read).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_goes_to_the_jobs_group_under_the_configured_path() {
        let grant = PushGrant::new("https://pgw.example:9091/prefix/", "fc/sync a").unwrap();
        assert_eq!(
            grant.target().to_string(),
            "https://pgw.example:9091/prefix/metrics/job/tenant-sync/manager@base64/ZmMvc3luYyBh"
        );
        let plain = PushGrant::new("http://pushgateway:9091", "m").unwrap();
        assert_eq!(
            plain.target().to_string(),
            "http://pushgateway:9091/metrics/job/tenant-sync/manager@base64/bQ"
        );
    }

    #[test]
    fn only_the_push_is_granted() {
        let grant = PushGrant::new("http://pushgateway:9091", "m").unwrap();
        let target = grant.target().clone();
        assert!(grant.allows(&Method::PUT, &target));
        assert!(grant.allows(&Method::POST, &target));
        for method in [Method::DELETE, Method::GET] {
            assert!(!grant.allows(&method, &target), "{method}");
        }
        for other in [
            "http://pushgateway:9091/metrics/job/tenant-sync",
            "http://pushgateway:9091/metrics/job/other/manager@base64/bQ",
            "http://pushgateway:9091/api/v1/admin/wipe",
            "http://other:9091/metrics/job/tenant-sync/manager@base64/bQ",
        ] {
            assert!(
                !grant.allows(&Method::PUT, &other.parse().unwrap()),
                "{other}"
            );
        }
    }

    #[test]
    fn a_url_that_is_not_a_base_url_is_refused() {
        for bad in [
            "pushgateway:9091",
            "ftp://pushgateway",
            "http://pushgateway:9091/?x=1",
            "http://pushgateway:99999",
        ] {
            assert!(PushGrant::new(bad, "m").is_err(), "{bad}");
        }
    }

    /// Credentials are never sent, and never repeated in a message either.
    #[test]
    fn a_url_with_credentials_is_refused_without_showing_them() {
        for bad in [
            "http://user:s3cret@pushgateway:9091",
            "http://user:s3cret@pushgateway:9091/?x=1",
            "http://user:s3cret@pushgateway:9091/a b",
        ] {
            let error = format!("{:#}", PushGrant::new(bad, "m").unwrap_err());
            assert!(
                error.contains("credentials") && !error.contains("s3cret"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_manager_id_too_long_for_a_url_is_named() {
        let long = "m".repeat(60_000);
        let error = format!("{:#}", PushGrant::new("http://p:9091", &long).unwrap_err());
        assert!(error.contains("manager id"), "{error}");
    }
}
