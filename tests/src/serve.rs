//! A router served on a random 127.0.0.1 port until dropped: the consoles the tests drive over real HTTP
//! (`keep_console.rs`, `browser.rs`, `tests/console_dynamo.rs`).

use miro_sam_testkit::world::Pages;

/// A router on loopback; the server task stops when this is dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT` followed by the base path the router was served under.
    pub url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Binds a random loopback port and serves `app(origin)` on it under `base_path` (the router's own base path,
/// e.g. `/console`): `app` is handed the origin (`http://127.0.0.1:PORT`) because a console's config names it.
pub async fn serve(base_path: &str, app: impl FnOnce(url::Url) -> axum::Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("its address"));
    let app = app(url::Url::parse(&origin).expect("the origin"));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the router serves");
    });
    Served {
        url: format!("{origin}{base_path}"),
        server,
    }
}

impl Served {
    /// The pages of this router as `browser` sees them.
    pub fn pages<'a>(&'a self, browser: &'a reqwest::Client) -> Pages<'a> {
        Pages {
            browser,
            url: &self.url,
        }
    }
}
