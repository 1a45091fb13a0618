//! The loopback redirect of `miro-sam connect` (and of the demo): a one-shot local HTTP server that receives
//! Miro's redirect, checks the CSRF `state`, and hands the code over.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use miro_client::RedirectQuery;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

use crate::failure::{CmdResult, Failure};

pub struct Loopback {
    pub redirect_uri: String,
    state: String,
    code: oneshot::Receiver<Result<SecretString, String>>,
    server: tokio::task::JoinHandle<()>,
}

type Slot = Arc<Mutex<Option<oneshot::Sender<Result<SecretString, String>>>>>;

struct Shared {
    state: String,
    slot: Slot,
}

impl Loopback {
    /// Listens on 127.0.0.1:`port` (0 for any free port) for `/oauth/callback`.
    pub async fn start(port: u16, state: String) -> CmdResult<Loopback> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| Failure::usage(format!("cannot listen on 127.0.0.1:{port} for the OAuth redirect: {e}; pick another --port")))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            state: state.clone(),
            slot: Arc::new(Mutex::new(Some(tx))),
        });
        let app = axum::Router::new()
            .route("/oauth/callback", get(callback))
            .with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Loopback {
            redirect_uri: format!("http://{addr}/oauth/callback"),
            state,
            code: rx,
            server,
        })
    }

    /// The CSRF `state` the redirect must carry back.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Waits for the browser to come back with a code (or Miro's error).
    pub async fn code(self, timeout: Duration) -> CmdResult<SecretString> {
        let outcome = tokio::time::timeout(timeout, self.code).await;
        self.server.abort();
        match outcome {
            Err(_) => Err(Failure::needs_action(format!(
                "no answer from the browser within {} s; run `miro-sam connect` again and approve the app",
                timeout.as_secs()
            ))),
            Ok(Err(_)) => Err(Failure::new(
                crate::exit::FAILURE,
                "the redirect listener stopped unexpectedly",
            )),
            Ok(Ok(Err(message))) => Err(Failure::needs_action(message)),
            Ok(Ok(Ok(code))) => Ok(code),
        }
    }
}

async fn callback(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Html<String> {
    let q = RedirectQuery::parse(raw.as_deref());
    let outcome = if let Some(error) = q.error {
        Err(format!(
            "Miro answered `{error}`: the app was not approved. Run `miro-sam connect` again and choose \
             \"Install & authorize\" as a Company Admin."
        ))
    } else if q.state.as_deref() != Some(shared.state.as_str()) {
        // Not ours: a stale tab or a forged request. Keep waiting for the real one.
        return Html(page(
            "This link is not the one miro-sam is waiting for. Start again from `miro-sam connect`.",
        ));
    } else if let Some(code) = q.code {
        Ok(code)
    } else {
        Err(
            "Miro's redirect carried neither a code nor an error; run `miro-sam connect` again"
                .to_owned(),
        )
    };
    let text = match &outcome {
        Ok(_) => "Miro connected. You can close this tab and return to the terminal.".to_owned(),
        Err(e) => e.clone(),
    };
    if let Some(tx) = shared.slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = tx.send(outcome);
    }
    Html(page(&text))
}

fn page(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html><meta charset=utf-8><title>miro-sam</title><body style=\"font-family:sans-serif;margin:3em\"><p>{escaped}</p></body>"
    )
}
