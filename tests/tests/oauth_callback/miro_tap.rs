//! A TCP tap between the function and the sandbox's API host. The function never shows the tokens Miro issues
//! (by design), so to prove a refused token was really revoked the test needs to learn it: the tap keeps a copy
//! of every answer and picks the access tokens out of the token endpoint's JSON. It can also cut the revoke call
//! (as if Miro were unreachable for it), to check that a failed revoke is reported as failed.
//!
//! The tap is started before the world (the function's Miro base URL must name it) and pointed at the sandbox
//! once the world exists.

use miro_sam_tests::proxy::{occurrences, relay};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::net::{TcpListener, TcpStream};

pub struct MiroTap {
    /// What the function uses as Miro's API base URL.
    pub url: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    upstream: OnceLock<String>,
    answers: Mutex<Vec<u8>>,
    cut_revoke: AtomicBool,
    revokes_cut: AtomicU32,
}

impl MiroTap {
    pub async fn start() -> MiroTap {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tap");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, s.clone()));
            }
        });
        MiroTap { url, shared }
    }

    /// Forwards to the sandbox at `base_url` (`http://host:port`) from now on.
    pub fn connect_to(&self, base_url: &str) {
        let hostport = base_url.trim_start_matches("http://").trim_end_matches('/');
        self.shared
            .upstream
            .set(hostport.to_owned())
            .expect("the tap is pointed once");
    }

    /// From now on, every connection that sends `POST /v2/oauth/revoke` is closed before Miro sees it.
    pub fn cut_revoke(&self) {
        self.shared.cut_revoke.store(true, Ordering::SeqCst);
    }

    pub fn revokes_cut(&self) -> u32 {
        self.shared.revokes_cut.load(Ordering::SeqCst)
    }

    /// Every access token Miro's token endpoint handed out through the tap, in order.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        let answers = self.shared.answers.lock().expect("tap log");
        let text = String::from_utf8_lossy(&answers);
        let marker = "\"access_token\":\"";
        text.match_indices(marker)
            .filter_map(|(i, _)| {
                let rest = &text[i + marker.len()..];
                rest.find('"').map(|end| rest[..end].to_owned())
            })
            .collect()
    }
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    let Some(upstream) = shared.upstream.get() else {
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(upstream).await else {
        return;
    };
    // A request line arrives in one read from a local client; good enough for a test tap.
    let request = |chunk: &[u8]| {
        let cut = shared.cut_revoke.load(Ordering::SeqCst)
            && occurrences(chunk, b"POST /v2/oauth/revoke") > 0;
        if cut {
            shared.revokes_cut.fetch_add(1, Ordering::SeqCst);
        }
        !cut
    };
    let answer = |chunk: &[u8]| {
        shared
            .answers
            .lock()
            .expect("tap log")
            .extend_from_slice(chunk)
    };
    relay(&mut client, &mut upstream, request, answer).await;
}
