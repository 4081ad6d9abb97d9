//! The operator's surface over real HTTP, on both storage backends: the admin's listing of
//! every account's deliveries, retry now, lookup by `webhook-id`; the console's session
//! cookie and its CSRF rules; per-account portal links. Then the console and the portal
//! driven in a real headless Chromium (needs Debian's `chromium` and `chromium-driver`;
//! fails without them unless `WEIR_SKIP_BROWSER` is set).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Server, Storage};
use weir_testkit::browser::Browser;
use weir_testkit::{FakeThirdParty, json_reply};

on_both_backends!(
    the_admin_lists_every_accounts_deliveries_and_retries_one_now,
    the_console_session_is_a_cookie_that_changes_nothing_without_its_header,
    a_portal_link_reaches_its_account_alone,
    events_are_listed_newest_first,
    the_console_retries_a_failing_delivery_of_another_account,
    the_portal_shows_its_account_alone,
);

async fn start(storage: &Storage, flags: &[&str]) -> Server {
    let mut all = vec!["--allow-private-destinations", "127.0.0.0/8"];
    all.extend_from_slice(flags);
    Server::start_configured(storage, Some(ADMIN_TOKEN), &all).await
}

async fn account(server: &Server, id: &str) {
    let body = json!({"id": id, "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn subscribe(server: &Server, account: &str, receiver: &FakeThirdParty) -> Value {
    let body = json!({"url": format!("http://{}/hook", receiver.address),
        "events": ["onContactCreate"]});
    let created = server
        .post(&format!("/api/v1/accounts/{account}/subscriptions"), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

/// Posts an event to the account; answers the id of its delivery to `subscription`.
async fn post_event(server: &Server, account: &str, subscription: &Value) -> String {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = server
        .post(&format!("/api/v1/accounts/{account}/events"), event)
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let subscription = subscription["id"].as_str().unwrap().to_owned();
    let listed = server
        .get_until(
            &format!("/api/v1/deliveries?subscription={subscription}"),
            |l| l["data"].as_array().is_some_and(|d| !d.is_empty()),
        )
        .await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    ids.last().unwrap().to_string()
}

/// A receiver that answers 500 until `up` is set, then 200.
async fn receiver_down_until(up: Arc<AtomicBool>) -> FakeThirdParty {
    FakeThirdParty::start(move |_| match up.load(Ordering::SeqCst) {
        true => json_reply(200, json!({})),
        false => json_reply(500, json!({"error": "down"})),
    })
    .await
}

/// Until the delivery has made `n` attempts; answers it.
async fn attempted(server: &Server, id: &str, n: usize) -> Value {
    server
        .get_until(&format!("/api/v1/deliveries/{id}"), |d| {
            d["attempts_made"].as_array().is_some_and(|a| a.len() >= n)
        })
        .await
}

async fn post_as(server: &Server, path: &str, token: &str) -> support::Reply {
    server
        .send_json(reqwest::Method::POST, path, token, json!({}))
        .await
}

async fn the_admin_lists_every_accounts_deliveries_and_retries_one_now(storage: Storage) {
    let up = Arc::new(AtomicBool::new(false));
    let failing = receiver_down_until(up.clone()).await;
    let fine = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "alpha").await;
    account(&server, "bravo").await;
    let alpha = subscribe(&server, "alpha", &fine).await;
    let bravo = subscribe(&server, "bravo", &failing).await;
    let delivered = post_event(&server, "alpha", &alpha).await;
    let failing_id = post_event(&server, "bravo", &bravo).await;

    // Every account's, each saying whose; filtered by status across accounts.
    let all = server.get("/api/v1/deliveries").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let accounts: Vec<&str> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["alpha", "bravo"]);
    server
        .get_until("/api/v1/deliveries?status=delivered", |l| {
            l["data"].as_array().is_some_and(|d| d.len() == 1)
        })
        .await;
    // The second attempt fails too; the third would wait about five minutes.
    attempted(&server, &failing_id, 2).await;
    let pending = server.get("/api/v1/deliveries?status=pending").await;
    assert_eq!(pending.body["data"][0]["id"], json!(failing_id));
    assert_eq!(pending.body["data"].as_array().unwrap().len(), 1);
    let page = server.get("/api/v1/deliveries?limit=1").await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = server
        .get(&format!("/api/v1/deliveries?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next.body["data"][0]["account_id"], json!("bravo"));
    let bad = server.get("/api/v1/deliveries?status=lost").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Found by its webhook-id; a batch's is a clear 404.
    let batch = server.get("/api/v1/deliveries/msg_batch_0123abcd").await;
    assert_eq!(batch.status, StatusCode::NOT_FOUND);
    assert!(batch.message().contains("batch"), "{}", batch.body);

    // Retry now: the receiver is back; only the retry brings it before five minutes.
    up.store(true, Ordering::SeqCst);
    let retried = server
        .post(&format!("/api/v1/deliveries/{failing_id}/retry"), json!({}))
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(retried.body["id"], json!(failing_id));
    let done = server
        .get_until(&format!("/api/v1/deliveries/{failing_id}"), |d| {
            d["status"] == "delivered"
        })
        .await;
    assert_eq!(done["attempts_made"].as_array().unwrap().len(), 3);

    let again = server
        .post(&format!("/api/v1/deliveries/{delivered}/retry"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.message().contains("replay"), "{}", again.body);

    // A dead one is replayed: disabled, it died; enabled again, retry sends it.
    up.store(false, Ordering::SeqCst);
    let dying = post_event(&server, "bravo", &bravo).await;
    attempted(&server, &dying, 1).await;
    let subscription = bravo["id"].as_str().unwrap();
    let disabled = server
        .patch(
            &format!("/api/v1/subscriptions/{subscription}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    let dead = server.get("/api/v1/deliveries?status=dead").await;
    assert_eq!(dead.body["data"][0]["id"], json!(dying));
    let refused = server
        .post(&format!("/api/v1/deliveries/{dying}/retry"), json!({}))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "disabled: {}",
        refused.body
    );
    let enabled = server
        .post(
            &format!("/api/v1/subscriptions/{subscription}/enable"),
            json!({}),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    up.store(true, Ordering::SeqCst);
    let replayed = server
        .post(&format!("/api/v1/deliveries/{dying}/retry"), json!({}))
        .await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{}", replayed.body);
    server
        .get_until(&format!("/api/v1/deliveries/{dying}"), |d| {
            d["status"] == "delivered"
        })
        .await;

    // An account key lists its own account's only, and retries only its own.
    let key = server
        .post("/api/v1/accounts/alpha/api-keys", json!({"name": "ops"}))
        .await;
    let key = key.body["token"].as_str().unwrap().to_owned();
    let own = server.get_as("/api/v1/deliveries", &key).await;
    assert!(
        own.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["account_id"] == "alpha"),
        "{}",
        own.body
    );
    let other = post_as(&server, &format!("/api/v1/deliveries/{dying}/retry"), &key).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.body);
    server.stop().await;
}

/// A client that keeps no cookies and follows no redirects: each test says what it sends.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in through the form; answers the session cookie (`name=value`).
async fn log_in(server: &Server) -> String {
    let client = bare_client();
    let wrong = client
        .post(format!("{}/console/login", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let answer = client
        .post(format!("{}/console/login", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &server.base)
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http: {cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

async fn with_cookie(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    extra: &[(&str, &str)],
) -> StatusCode {
    let mut request = bare_client()
        .request(method, format!("{}{path}", server.base))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(
            json!({"id": "charlie", "domain": "c.freshsales.io", "region": "US",
            "product": "freshsales"})
            .to_string(),
        );
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status()
}

async fn the_console_session_is_a_cookie_that_changes_nothing_without_its_header(storage: Storage) {
    let server = start(&storage, &[]).await;
    let page = bare_client()
        .get(format!("{}/console", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(
        page.text().await.unwrap().contains("Admin token"),
        "the login form"
    );

    let cookie = log_in(&server).await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    assert_eq!(
        with_cookie(&server, get.clone(), "/api/v1/accounts", &cookie, &[]).await,
        StatusCode::OK,
        "a read with the cookie alone"
    );
    let origin = server.base.as_str();
    let path = "/api/v1/accounts";
    assert_eq!(
        with_cookie(&server, post.clone(), path, &cookie, &[("origin", origin)]).await,
        StatusCode::FORBIDDEN,
        "a change without the console's header"
    );
    let header = ("x-weir-console", "1");
    let foreign = ("origin", "https://evil.example");
    assert_eq!(
        with_cookie(&server, post.clone(), path, &cookie, &[header, foreign]).await,
        StatusCode::FORBIDDEN,
        "a change from another origin"
    );
    assert_eq!(
        with_cookie(&server, post.clone(), path, &cookie, &[header]).await,
        StatusCode::FORBIDDEN,
        "a change without an origin"
    );
    assert_eq!(
        with_cookie(
            &server,
            post.clone(),
            path,
            &cookie,
            &[header, ("origin", origin)]
        )
        .await,
        StatusCode::CREATED,
        "from the console itself"
    );
    let forged = cookie.replace("wcs_admin.", "wcs_admin.1");
    assert_eq!(
        with_cookie(&server, get.clone(), path, &forged, &[]).await,
        StatusCode::UNAUTHORIZED
    );

    // Logging out ends the session, wherever its cookie is kept.
    let out = with_cookie(&server, post.clone(), "/console/logout", &cookie, &[header]).await;
    assert_eq!(
        out,
        StatusCode::FORBIDDEN,
        "logging out needs the origin too"
    );
    let out = with_cookie(
        &server,
        post.clone(),
        "/console/logout",
        &cookie,
        &[header, ("origin", origin)],
    )
    .await;
    assert_eq!(out, StatusCode::NO_CONTENT);
    assert_eq!(
        with_cookie(&server, get.clone(), path, &cookie, &[]).await,
        StatusCode::UNAUTHORIZED
    );
    let again = log_in(&server).await;
    assert_eq!(
        with_cookie(&server, get.clone(), path, &again, &[]).await,
        StatusCode::OK,
        "a new login works"
    );
    server.stop().await;

    // Stateless: another node (here, the next process) on the same store accepts it;
    // under another admin token, no session made under the old one holds.
    let next = start(&storage, &[]).await;
    assert_eq!(
        with_cookie(&next, get.clone(), path, &again, &[]).await,
        StatusCode::OK
    );
    next.stop().await;
    let rotated = Server::start_with(&storage, Some("another-admin-token-9876543210")).await;
    assert_eq!(
        with_cookie(&rotated, get, path, &again, &[]).await,
        StatusCode::UNAUTHORIZED
    );
    rotated.stop().await;
}

async fn portal_link(server: &Server, account: &str) -> Value {
    let link = server
        .post(
            &format!("/api/v1/accounts/{account}/portal-links"),
            json!({"expires_in_seconds": 600}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.body);
    link.body
}

async fn a_portal_link_reaches_its_account_alone(storage: Storage) {
    let fine = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(
        &storage,
        &["--portal-frame-ancestors", "https://app.example.com"],
    )
    .await;
    account(&server, "alpha").await;
    account(&server, "bravo").await;
    let alpha = subscribe(&server, "alpha", &fine).await;
    let bravo = subscribe(&server, "bravo", &fine).await;
    let own = post_event(&server, "alpha", &alpha).await;
    let other = post_event(&server, "bravo", &bravo).await;
    attempted(&server, &own, 1).await;

    let link = portal_link(&server, "alpha").await;
    let token = link["token"].as_str().unwrap();
    assert_eq!(
        link["url"],
        json!(format!("{}/portal#{token}", server.base)),
        "the token in the fragment, out of logs"
    );
    let listed = server.get_as("/api/v1/deliveries", token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own.as_str()]);
    let shown = server
        .get_as(&format!("/api/v1/deliveries/{own}"), token)
        .await;
    assert_eq!(shown.body["attempts_made"][0]["status_code"], json!(200));
    let subscriptions = server
        .get_as("/api/v1/accounts/alpha/subscriptions", token)
        .await;
    assert_eq!(subscriptions.status, StatusCode::OK);
    let replayed = post_as(&server, &format!("/api/v1/deliveries/{own}/replay"), token).await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{}", replayed.body);

    let bravo_sub = bravo["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/deliveries/{other}"),
        "/api/v1/deliveries?account=bravo".to_owned(),
        format!("/api/v1/deliveries?subscription={bravo_sub}"),
        "/api/v1/accounts/bravo/subscriptions".to_owned(),
        "/api/v1/accounts".to_owned(),
        "/api/v1/accounts/alpha/installations".to_owned(),
    ] {
        let refused = server.get_as(&path, token).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
    }
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 2}}});
    for (path, body) in [
        (format!("/api/v1/deliveries/{other}/replay"), json!({})),
        ("/api/v1/accounts/bravo/portal-links".to_owned(), json!({})),
        ("/api/v1/accounts/alpha/portal-links".to_owned(), json!({})),
        ("/api/v1/accounts/alpha/events".to_owned(), event),
    ] {
        let refused = server
            .send_json(reqwest::Method::POST, &path, token, body)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
    }
    let forged = token.replacen("wpt_alpha.", "wpt_bravo.", 1);
    let forged = server.get_as("/api/v1/deliveries", &forged).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let too_long = server
        .post(
            "/api/v1/accounts/alpha/portal-links",
            json!({"expires_in_seconds": 999_999}),
        )
        .await;
    assert_eq!(
        too_long.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_long.body
    );

    let page = bare_client()
        .get(format!("{}/portal", server.base))
        .send()
        .await
        .unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("frame-ancestors https://app.example.com"),
        "{policy}"
    );
    assert!(page.headers().get("x-frame-options").is_none());
    server.stop().await;
}

/// `evt_…` of a delivery id `msg_<event>_<subscription>`.
fn event_of(delivery: &str) -> String {
    let ulid = delivery.split('_').nth(1).unwrap();
    format!("evt_{ulid}")
}

async fn events_are_listed_newest_first(storage: Storage) {
    let fine = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "alpha").await;
    account(&server, "bravo").await;
    let alpha = subscribe(&server, "alpha", &fine).await;
    let bravo = subscribe(&server, "bravo", &fine).await;
    let first = event_of(&post_event(&server, "alpha", &alpha).await);
    let second = event_of(&post_event(&server, "bravo", &bravo).await);
    let third = event_of(&post_event(&server, "alpha", &alpha).await);

    let ids = |reply: &support::Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = server.get("/api/v1/events").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(ids(&all), [third.as_str(), second.as_str(), first.as_str()]);
    assert_eq!(all.body["data"][1]["account_id"], json!("bravo"));
    let of_alpha = server.get("/api/v1/events?account=alpha").await;
    assert_eq!(ids(&of_alpha), [third.as_str(), first.as_str()]);
    let named = server
        .get("/api/v1/events?event=onContactCreate&limit=2")
        .await;
    assert_eq!(ids(&named), [third.as_str(), second.as_str()]);
    let cursor = named.body["next_cursor"].as_str().unwrap();
    let rest = server
        .get(&format!("/api/v1/events?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest), [first.as_str()]);
    assert!(rest.body["next_cursor"].is_null());
    let none = server.get("/api/v1/events?event=onDealCreate").await;
    assert!(ids(&none).is_empty());

    let key = server
        .post("/api/v1/accounts/bravo/api-keys", json!({"name": "ops"}))
        .await;
    let key = key.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&server.get_as("/api/v1/events", &key).await),
        [second.as_str()]
    );
    let other = server.get_as("/api/v1/events?account=alpha", &key).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let link = portal_link(&server, "alpha").await;
    let portal = server
        .get_as("/api/v1/events", link["token"].as_str().unwrap())
        .await;
    assert_eq!(portal.status, StatusCode::FORBIDDEN);
    server.stop().await;
}

async fn browser() -> Option<Browser> {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return None;
    }
    Some(Browser::start().await.unwrap())
}

async fn the_console_retries_a_failing_delivery_of_another_account(storage: Storage) {
    let Some(browser) = browser().await else {
        return;
    };
    let up = Arc::new(AtomicBool::new(false));
    let failing = receiver_down_until(up.clone()).await;
    let fine = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "alpha").await;
    account(&server, "bravo").await;
    let alpha = subscribe(&server, "alpha", &fine).await;
    let bravo = subscribe(&server, "bravo", &failing).await;
    post_event(&server, "alpha", &alpha).await;
    let id = post_event(&server, "bravo", &bravo).await;
    // Two failed attempts: the next is minutes away, so only "retry now" delivers it.
    attempted(&server, &id, 2).await;

    browser
        .goto(&format!("{}/console", server.base))
        .await
        .unwrap();
    browser
        .find("#token")
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    browser
        .find("#log-in")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_text("#deliveries", &id).await.unwrap();
    // Marks this page: a reload would lose the mark.
    browser
        .execute("window.weirTestMark = 'same page'; return true;", &[])
        .await
        .unwrap();
    let row = format!("tr[data-id=\"{id}\"] button.open");
    browser.find(&row).await.unwrap().click().await.unwrap();
    browser
        .wait_for_text("#detail-status", "pending")
        .await
        .unwrap();
    browser.wait_for_text("#attempts", "500").await.unwrap();

    up.store(true, Ordering::SeqCst);
    browser
        .find("#retry-now")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("#detail-status", "delivered")
        .await
        .unwrap();
    browser.wait_for_text("#attempts", "200").await.unwrap();
    let mark = browser
        .execute("return window.weirTestMark || null;", &[])
        .await
        .unwrap();
    assert_eq!(mark, json!("same page"), "all in the page, without reload");
    let received = failing.received();
    assert_eq!(received.len(), 3, "two failures, then the retry");
    assert_eq!(received[2].headers["webhook-id"], id);

    // The events, newest first, every account's.
    browser
        .find("#nav-events")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("#events", &event_of(&id))
        .await
        .unwrap();
    browser.quit().await.unwrap();
    server.stop().await;
}

async fn the_portal_shows_its_account_alone(storage: Storage) {
    let Some(browser) = browser().await else {
        return;
    };
    let fine = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "alpha").await;
    account(&server, "bravo").await;
    let alpha = subscribe(&server, "alpha", &fine).await;
    let bravo = subscribe(&server, "bravo", &fine).await;
    let own = post_event(&server, "alpha", &alpha).await;
    let other = post_event(&server, "bravo", &bravo).await;
    attempted(&server, &own, 1).await;
    attempted(&server, &other, 1).await;

    let link = portal_link(&server, "alpha").await;
    browser.goto(link["url"].as_str().unwrap()).await.unwrap();
    let shown = browser.wait_for_text("#deliveries", &own).await.unwrap();
    assert!(!shown.contains(&other), "{shown}");
    let subscriptions = browser
        .wait_for_text("#subscriptions", alpha["id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(!subscriptions.contains(bravo["id"].as_str().unwrap()));
    let url = browser.execute("return location.href;", &[]).await.unwrap();
    assert!(
        !url.as_str().unwrap().contains("wpt_"),
        "the token leaves the address bar"
    );
    let row = format!("tr[data-id=\"{own}\"] button.open");
    browser.find(&row).await.unwrap().click().await.unwrap();
    browser.wait_for_text("#attempts", "200").await.unwrap();
    browser
        .find("#replay")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("#flash", "Replay: accepted")
        .await
        .unwrap();
    fine.wait_until("the replay", |got| {
        got.iter()
            .filter(|r| r.headers["webhook-id"] == own)
            .count()
            == 2
    })
    .await;
    browser.quit().await.unwrap();
    server.stop().await;
}
