//! A TCP proxy in front of the local AWS API that can "restart" it: after a given number of requests it cuts
//! every open connection and refuses the next few, then serves again. moto keeps its state in memory, so a real
//! restart would also wipe the data; the proxy gives the outage without the amnesia. [`relay`] is the byte pump
//! it and the OAuth tests' tap (tests/oauth_callback/miro_tap.rs) share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FlakyProxy {
    pub url: String,
    state: Arc<State>,
}

struct State {
    upstream: String,
    /// Requests left before the outage; `u32::MAX` for never.
    requests_before_outage: AtomicU32,
    /// Connections still to refuse once the outage started.
    refuse: AtomicU32,
    refuse_after: u32,
    outages: AtomicU32,
    cut: watch::Sender<u32>,
}

impl FlakyProxy {
    /// Proxies to `upstream` (host:port). After `after_requests` HTTP requests, cuts every connection and refuses
    /// the next `refuse` connection attempts.
    pub async fn start(upstream: &str, after_requests: u32, refuse: u32) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let (cut, _) = watch::channel(0);
        let state = Arc::new(State {
            upstream: upstream.to_owned(),
            requests_before_outage: AtomicU32::new(after_requests),
            refuse: AtomicU32::new(0),
            refuse_after: refuse,
            outages: AtomicU32::new(0),
            cut,
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let refused = s
                    .refuse
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| r.checked_sub(1))
                    .is_ok();
                if refused {
                    drop(client);
                    continue;
                }
                tokio::spawn(serve(client, s.clone()));
            }
        });
        FlakyProxy {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// Starts counting: the outage comes after `after_requests` more requests.
    pub fn arm(&self, after_requests: u32) {
        self.state
            .requests_before_outage
            .store(after_requests, Ordering::SeqCst);
    }

    /// How many outages happened.
    pub fn outages(&self) -> u32 {
        self.state.outages.load(Ordering::SeqCst)
    }
}

async fn serve(mut client: TcpStream, state: Arc<State>) {
    let Ok(mut upstream) = TcpStream::connect(&state.upstream).await else {
        return;
    };
    let mut cut = state.cut.subscribe();
    let requests = |chunk: &[u8]| {
        for _ in 0..occurrences(chunk, b" HTTP/1.1\r\n") {
            if state.requests_before_outage.fetch_sub(1, Ordering::SeqCst) == 1 {
                state.outages.fetch_add(1, Ordering::SeqCst);
                state.refuse.store(state.refuse_after, Ordering::SeqCst);
                state.cut.send_modify(|v| *v += 1);
            }
        }
        true
    };
    tokio::select! {
        _ = relay(&mut client, &mut upstream, requests, |_| {}) => {}
        _ = cut.changed() => {}
    }
}

/// Copies bytes both ways between `client` and `upstream` until either side closes. `request` sees each chunk
/// the client sends before it is forwarded, and ends the relay (the chunk unsent) by answering `false`; `answer`
/// sees each chunk upstream sends back.
pub async fn relay(
    client: &mut TcpStream,
    upstream: &mut TcpStream,
    mut request: impl FnMut(&[u8]) -> bool,
    mut answer: impl FnMut(&[u8]),
) {
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = upstream.split();
    let to_upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 || !request(&buf[..n]) {
                return Ok::<_, std::io::Error>(());
            }
            uw.write_all(&buf[..n]).await?;
        }
    };
    let to_client = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = ur.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            answer(&buf[..n]);
            cw.write_all(&buf[..n]).await?;
        }
    };
    tokio::select! {
        _ = to_upstream => {}
        _ = to_client => {}
    }
}

/// How often `needle` occurs in `haystack`.
pub fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
