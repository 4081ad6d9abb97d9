//! A third party on loopback, for tests of what Weir sends out: it records every request
//! and answers as the test tells it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;

/// One request the fake third party received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HashMap<String, String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The body as sent.
    pub raw: Vec<u8>,
}

/// What the fake answers: status, content type, body, and a delay before answering.
pub type Reply = (u16, &'static str, String, Duration);
type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A third party on loopback that records every request and answers as told.
pub struct FakeThirdParty {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeThirdParty {
    pub async fn start(respond: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let responder: Responder = Arc::new(respond);
        let log = received.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (log, responder) = (log.clone(), responder.clone());
                async move {
                    let request = Received {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        query: uri.query().map(str::to_owned),
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                        raw: body.to_vec(),
                    };
                    log.lock().unwrap().push(request.clone());
                    let (status, content_type, body, delay) = responder(&request);
                    tokio::time::sleep(delay).await;
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [("content-type", content_type)],
                        body,
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeThirdParty { address, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// What it received, once `done` holds of it (at most 60 s; `what` names it if not).
    pub async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: {received:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A JSON answer, at once.
pub fn json_reply(status: u16, body: Value) -> Reply {
    (status, "application/json", body.to_string(), Duration::ZERO)
}
