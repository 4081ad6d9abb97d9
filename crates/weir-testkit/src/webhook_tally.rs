//! A webhook receiver on loopback for load and fault tests: it answers 200 at once and
//! keeps a tally of `webhook-id`s instead of every request, so that it can take tens of
//! thousands of calls. It counts the distinct ids that arrived, and notes every id that
//! arrived while a request with the same id was still unanswered: Standard Webhooks lets
//! a sender repeat a message (a retry keeps its id), never send it twice at once.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// A receiver that answers every call 200 and tallies the `webhook-id`s it got.
pub struct WebhookTally {
    pub address: SocketAddr,
    tally: Arc<Mutex<Tally>>,
}

#[derive(Default)]
struct Tally {
    calls: usize,
    distinct: HashSet<String>,
    /// Per id, the requests with it being answered now.
    in_flight: HashMap<String, usize>,
    /// What should never happen, in the order seen.
    problems: Vec<String>,
}

/// Marks one request's id in flight until the request is answered (or abandoned).
struct Answering {
    tally: Arc<Mutex<Tally>>,
    id: String,
}

impl Answering {
    fn arrived(tally: &Arc<Mutex<Tally>>, id: String) -> Answering {
        let mut counts = tally.lock().unwrap();
        counts.calls += 1;
        counts.distinct.insert(id.clone());
        let in_flight = counts.in_flight.entry(id.clone()).or_default();
        *in_flight += 1;
        if *in_flight > 1 {
            let problem = format!("{id} arrived while {} were in flight", *in_flight - 1);
            counts.problems.push(problem);
        }
        Answering {
            tally: tally.clone(),
            id,
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let mut counts = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(in_flight) = counts.in_flight.get_mut(&self.id) {
            *in_flight -= 1;
            if *in_flight == 0 {
                counts.in_flight.remove(&self.id);
            }
        }
    }
}

impl WebhookTally {
    pub async fn start() -> Self {
        let tally: Arc<Mutex<Tally>> = Arc::default();
        let counts = tally.clone();
        // The body is read (and dropped) so that the sender's connection stays reusable.
        let app = axum::Router::new().fallback(move |headers: HeaderMap, _body: Bytes| {
            let tally = counts.clone();
            async move {
                let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) else {
                    let problem = "a call without a webhook-id".to_owned();
                    tally.lock().unwrap().problems.push(problem);
                    return StatusCode::BAD_REQUEST;
                };
                let _answering = Answering::arrived(&tally, id.to_owned());
                // The id stays in flight while the other requests that arrived with this
                // one are handled: a second call with it, sent at the same time, is seen.
                tokio::task::yield_now().await;
                StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookTally { address, tally }
    }

    /// A URL on this receiver, for a subscription.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// Calls received, repeats included.
    pub fn calls(&self) -> usize {
        self.tally.lock().unwrap().calls
    }

    /// Distinct `webhook-id`s received.
    pub fn distinct(&self) -> usize {
        self.tally.lock().unwrap().distinct.len()
    }

    /// Ids that arrived while the same id was in flight, and calls without an id.
    pub fn problems(&self) -> Vec<String> {
        self.tally.lock().unwrap().problems.clone()
    }

    /// Waits until `expected` distinct ids arrived, at most `within`; fails saying how many
    /// did.
    pub async fn wait_for_distinct(&self, expected: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let distinct = self.distinct();
            if distinct >= expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{distinct} of {expected} webhook-ids within {within:?} ({} calls)",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
