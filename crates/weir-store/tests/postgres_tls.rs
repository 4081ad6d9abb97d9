//! PostgreSQL over TLS, as managed services insist on: the store connects with
//! `sslmode=require` (encrypted, the server not verified) and with `sslmode=verify-full`
//! and `sslrootcert` (the server's certificate checked against the given CA), and the
//! server sees an encrypted session. The test server is this machine's PostgreSQL with
//! `ssl = on` (`.ci/run` turns it on with the snakeoil certificate when it is off).

use sqlx::{Connection, PgConnection, Row};
use weir_store::StoreConfig;

/// Debian's self-signed certificate, which PostgreSQL serves with `ssl = on`; being
/// self-signed, it is its own CA. It names the server `localhost`.
const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The URL with the host the certificate names, for the checks that verify it.
fn by_certified_name(url: &str) -> String {
    url.replace("@127.0.0.1:", "@localhost:")
}

fn with_params(url: &str, params: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

/// Whether the server sees the session of `url` as encrypted.
async fn session_is_encrypted(url: &str) -> bool {
    let mut connection = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with {url}: {e}"));
    let row = sqlx::query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut connection)
        .await
        .expect("pg_stat_ssl");
    row.get::<bool, _>("ssl")
}

#[tokio::test]
async fn the_store_connects_over_tls_when_the_url_requires_it() {
    let url = weir_testkit::fresh_postgres_database().await;
    let required = with_params(&url, "sslmode=require");
    assert!(
        session_is_encrypted(&required).await,
        "sslmode=require made an unencrypted session; is ssl = on in postgresql.conf?"
    );
    let store = weir_store::open(&StoreConfig::Postgres {
        url: required.clone(),
    })
    .await
    .unwrap_or_else(|e| panic!("the store cannot open {required}: {e}"));
    store.ping().await.expect("a write over TLS");

    let verified = with_params(
        &by_certified_name(&url),
        &format!("sslmode=verify-full&sslrootcert={SNAKEOIL_CERT}"),
    );
    assert!(session_is_encrypted(&verified).await);
    let store = weir_store::open(&StoreConfig::Postgres { url: verified })
        .await
        .expect("the store opens with the server's CA given");
    store.ping().await.expect("a write over verified TLS");

    let plain = with_params(&url, "sslmode=disable");
    assert!(
        !session_is_encrypted(&plain).await,
        "sslmode=disable stays plain"
    );
}

#[tokio::test]
async fn a_server_whose_certificate_names_another_host_is_refused_under_verify_full() {
    let url = weir_testkit::fresh_postgres_database().await;
    // The certificate names `localhost`; asked for as 127.0.0.1, it must not pass.
    let url = with_params(
        &url,
        &format!("sslmode=verify-full&sslrootcert={SNAKEOIL_CERT}"),
    );
    let refused = weir_store::open(&StoreConfig::Postgres { url }).await;
    let error = refused
        .err()
        .expect("a certificate for another host must be refused");
    assert!(
        error.to_string().contains("certificate"),
        "the error says why: {error}"
    );
}
