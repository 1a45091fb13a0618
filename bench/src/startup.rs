//! The start-up benchmark: from exec of each function binary to its first `GET /runtime/invocation/next` on a
//! local stub of the Lambda Runtime API, plus the binaries' sizes. Native release builds
//! (`cargo build --release -p oauth-callback -p download-subscriptions -p reclaim-subscription`), not the
//! Lambda's cross-compiled ones.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::aws_sdk;

pub const FUNCTIONS: [&str; 3] = [
    "oauth-callback",
    "download-subscriptions",
    "reclaim-subscription",
];

#[derive(Debug, Clone)]
pub struct StartupConfig {
    pub repeats: usize,
    /// Where the release binaries are; defaults to the directory of this binary.
    pub bin_dir: Option<PathBuf>,
    pub aws_endpoint: Option<String>,
}

impl Default for StartupConfig {
    fn default() -> Self {
        StartupConfig {
            repeats: 9,
            bin_dir: None,
            aws_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StartupRow {
    pub function: &'static str,
    /// `production`: the template's variables, reading the OAuth client secret (and, for oauth-callback, the
    /// connect-link key) from Secrets Manager at cold start. `no secrets`: without the OAuth app variables.
    pub env: &'static str,
    pub binary_bytes: Option<u64>,
    pub runs: usize,
    pub min_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Why there is no number.
    pub skipped: Option<String>,
}

/// The Runtime API stub: records when the first `next` arrives and never answers it (an idle function).
struct Stub {
    port: u16,
    first_next: Arc<Mutex<Option<Instant>>>,
    init_error: Arc<Mutex<Option<String>>>,
}

impl Stub {
    fn start() -> Result<Stub, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let first_next = Arc::new(Mutex::new(None));
        let init_error = Arc::new(Mutex::new(None));
        let (next, err) = (first_next.clone(), init_error.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (next, err) = (next.clone(), err.clone());
                std::thread::spawn(move || serve(conn, next, err));
            }
        });
        Ok(Stub {
            port,
            first_next,
            init_error,
        })
    }

    fn reset(&self) {
        *self.first_next.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.init_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn serve(conn: TcpStream, next: Arc<Mutex<Option<Instant>>>, err: Arc<Mutex<Option<String>>>) {
    let Ok(mut write) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let at = Instant::now();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.contains("/runtime/invocation/next") {
            next.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(at);
            // An idle function: the long poll is never answered. Wait for the bench to kill the process.
            let mut sink = [0u8; 64];
            while reader.read(&mut sink).unwrap_or(0) > 0 {}
            return;
        }
        if request_line.contains("/runtime/init/error") {
            *err.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(String::from_utf8_lossy(&body).into_owned());
        }
        let _ = write.write_all(
            b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        );
    }
}

/// Secrets a production cold start reads, created in the local AWS API.
struct Secrets {
    client_secret_name: String,
    link_key_name: String,
}

async fn create_secrets(endpoint: &str) -> Result<Secrets, String> {
    let clients = miro_sam_aws::AwsClients::new(&aws_sdk(endpoint).await);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let s = Secrets {
        client_secret_name: format!("miro-sam-bench/{id}/oauth-client-secret"),
        link_key_name: format!("miro-sam-bench/{id}/connect-link-key"),
    };
    for name in [&s.client_secret_name, &s.link_key_name] {
        clients
            .secrets
            .create_secret()
            .name(name.as_str())
            .secret_string(format!("bench-{id}"))
            .send()
            .await
            .map_err(|e| format!("cannot create secret {name} in the local AWS API: {e}"))?;
    }
    Ok(s)
}

fn env_for(
    function: &str,
    production: bool,
    port: u16,
    endpoint: Option<&str>,
    secrets: Option<&Secrets>,
) -> Vec<(String, String)> {
    let mut v: Vec<(&str, String)> = vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("miro-sam-{function}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("MIRO_SAM_TABLE_NAME", "miro-sam-bench".into()),
        ("MIRO_SAM_SECRET_PREFIX", "miro-sam-bench".into()),
        ("MIRO_SAM_LOG_LEVEL", "info".into()),
        (
            "MIRO_SAM_RECLAIM_QUEUE_URL",
            "http://127.0.0.1:1/123456789012/reclaim".into(),
        ),
        ("MIRO_SAM_RECLAIM_WORKERS", "4".into()),
    ];
    if let Some(e) = endpoint {
        v.push(("AWS_ENDPOINT_URL", e.to_owned()));
    } else {
        // Nothing listens there: a cold start that calls AWS fails fast instead of hanging.
        v.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:1".into()));
    }
    if production && let Some(s) = secrets {
        v.push(("MIRO_SAM_OAUTH_CLIENT_ID", "3074457363680401096".into()));
        v.push((
            "MIRO_SAM_OAUTH_CLIENT_SECRET_NAME",
            s.client_secret_name.clone(),
        ));
        v.push((
            "MIRO_SAM_OAUTH_REDIRECT_URI",
            "https://abc123.execute-api.us-east-1.amazonaws.com/oauth/callback".into(),
        ));
        v.push(("MIRO_SAM_CONNECT_LINK_KEY_NAME", s.link_key_name.clone()));
    }
    v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// One cold start: exec → first `next`. Kills the process afterwards.
fn one_start(bin: &Path, env: &[(String, String)], stub: &Stub) -> Result<Duration, String> {
    stub.reset();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let deadline = started + Duration::from_secs(20);
    let result = loop {
        if let Some(at) = *stub.first_next.lock().unwrap_or_else(|p| p.into_inner()) {
            break Ok(at.duration_since(started));
        }
        if let Some(e) = stub
            .init_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            break Err(format!("init error reported: {e}"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut stderr);
            }
            break Err(format!("exited with {status} before polling: {stderr}"));
        }
        if Instant::now() > deadline {
            break Err("no request to the Runtime API within 20 s".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

pub async fn run(cfg: &StartupConfig) -> Result<Vec<StartupRow>, String> {
    let bin_dir = match &cfg.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("no directory of the bench binary")?,
    };
    let secrets = match &cfg.aws_endpoint {
        Some(e) => Some(create_secrets(e).await?),
        None => None,
    };
    let stub = Arc::new(Stub::start()?);
    let mut rows = Vec::new();
    for function in FUNCTIONS {
        let bin = bin_dir.join(function);
        let size = std::fs::metadata(&bin).ok().map(|m| m.len());
        for production in [true, false] {
            let env_name = if production {
                "production"
            } else {
                "no secrets"
            };
            let mut row = StartupRow {
                function,
                env: env_name,
                binary_bytes: size,
                runs: 0,
                min_ms: None,
                median_ms: None,
                max_ms: None,
                skipped: None,
            };
            if size.is_none() {
                row.skipped = Some(format!(
                    "{} is not built: cargo build --release -p oauth-callback -p download-subscriptions -p reclaim-subscription",
                    bin.display()
                ));
                rows.push(row);
                continue;
            }
            if production && secrets.is_none() {
                row.skipped = Some(
                    "reads its secrets from Secrets Manager at cold start: set MIRO_SAM_TEST_AWS_ENDPOINT to a local AWS API (moto)"
                        .into(),
                );
                rows.push(row);
                continue;
            }
            if !production && function == "oauth-callback" {
                row.skipped = Some(
                    "always reads the connect-link key from Secrets Manager at cold start".into(),
                );
                rows.push(row);
                continue;
            }
            let env = env_for(
                function,
                production,
                stub.port,
                cfg.aws_endpoint.as_deref(),
                secrets.as_ref(),
            );
            let (bin2, stub2, repeats) = (bin.clone(), stub.clone(), cfg.repeats);
            let times = tokio::task::spawn_blocking(move || {
                // One unmeasured start first: page cache and the local AWS API warm up.
                one_start(&bin2, &env, &stub2)?;
                (0..repeats)
                    .map(|_| one_start(&bin2, &env, &stub2))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| e.to_string())?;
            match times {
                Ok(mut t) => {
                    t.sort();
                    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
                    row.runs = t.len();
                    row.min_ms = t.first().map(ms);
                    row.median_ms = t.get(t.len() / 2).map(ms);
                    row.max_ms = t.last().map(ms);
                }
                Err(e) => row.skipped = Some(e),
            }
            eprintln!(
                "startup {function} ({env_name}): median {:?} ms",
                row.median_ms
            );
            rows.push(row);
        }
    }
    Ok(rows)
}
