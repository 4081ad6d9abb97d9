//! Node compatibility inside the sandbox: the built-in modules and globals npm packages
//! use, each checked against known answers (hash and HMAC vectors, encodings, URL
//! parsing…), and HTTP from `http`, `https` and `fetch` reaching the host as platform
//! calls.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use weir_core::{InvocationStatus, Package};
use weir_sandbox::{
    AppCode, Host, HostCall, HostError, HostResult, Invocation, Limits, NodeApi, NodeRequest,
    Outcome, Sandbox,
};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A canned response: status, headers, body.
type Page = (u16, Vec<(String, String)>, Vec<u8>);

/// A web the host answers from: each request's URL to a page; any other URL is refused
/// as the platform refuses an internal address.
#[derive(Default)]
struct FakeWeb {
    pages: BTreeMap<String, Page>,
    requests: Mutex<Vec<NodeRequest>>,
}

impl FakeWeb {
    fn page(mut self, url: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.pages
            .insert(url.to_owned(), (status, headers, body.to_vec()));
        self
    }

    fn requests(&self) -> Vec<NodeRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Host for FakeWeb {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        let HostCall::NodeHttp(request) = call else {
            return Box::pin(async { Err(HostError::new(400, "not here")) });
        };
        self.requests.lock().unwrap().push(request.clone());
        let url = request.url.as_str().unwrap_or_default().to_owned();
        let answer = match self.pages.get(&url) {
            Some((status, headers, body)) => Ok(json!({
                "status": status,
                "statusText": "",
                "headers": headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
                "body": BASE64.encode(body),
                "url": url,
            })),
            None => Err(HostError::with_code(
                "ERR_WEIR_DESTINATION_REFUSED",
                format!("{url}: the destination is not allowed"),
            )),
        };
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            answer
        })
    }
}

fn code(files: &[(&str, &str)]) -> Arc<AppCode> {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    Arc::new(AppCode::from_package(&Package::from_files(files)))
}

fn invocation(code: &Arc<AppCode>, handler: &str, host: Arc<FakeWeb>) -> Invocation {
    Invocation {
        code: code.clone(),
        handler: handler.into(),
        payload: json!({}),
        host,
        limits: Limits {
            time: Duration::from_secs(5),
            ..Limits::default()
        },
        env: "test",
    }
}

/// Runs `body` as the handler `h` (its value is the result) with the given web.
async fn run_with(body: &str, web: FakeWeb) -> (Outcome, Arc<FakeWeb>) {
    let source = format!("exports = {{ h: async function () {{ {body} }} }};");
    let app = code(&[("server/server.js", &source)]);
    let web = Arc::new(web);
    let sandbox = Sandbox::start(1).unwrap();
    let outcome = sandbox.run(invocation(&app, "h", web.clone())).await;
    (outcome, web)
}

/// The handler's result; a failed run fails the test with its error.
async fn result_of(body: &str) -> Value {
    let (outcome, _) = run_with(body, FakeWeb::default()).await;
    assert_eq!(
        outcome.status,
        InvocationStatus::Success,
        "{:?}\n{:?}",
        outcome.error,
        outcome.stack
    );
    outcome.value.unwrap_or(Value::Null)
}

#[tokio::test]
async fn hashes_and_hmacs_give_the_known_answers() {
    let value = result_of(
        r#"
        const crypto = require('crypto');
        const hex = (name, data) => crypto.createHash(name).update(data).digest('hex');
        const hmac = crypto.createHmac('sha256', 'Jefe');
        hmac.update('what do ya want ');
        hmac.update(Buffer.from('for nothing?'));
        const sha1 = crypto.createHash('sha1');
        sha1.update('ab');
        const copy = sha1.copy();
        return {
          md5: hex('md5', 'abc'),
          sha1: hex('sha1', 'abc'),
          sha256: hex('sha256', 'abc'),
          sha512: hex('SHA512', 'abc'),
          rsa: hex('RSA-SHA256', ''),
          hmac: hmac.digest('hex'),
          hmac1: crypto.createHmac('sha1', 'key').update('The quick brown fox jumps over the lazy dog').digest('base64'),
          copied: [sha1.update('c').digest('hex'), copy.digest('base64url')],
          buffer: crypto.createHash('md5').update('').digest().length,
          unknown: (() => { try { crypto.createHash('whirlpool'); } catch (e) { return e.message; } })(),
          pbkdf2: crypto.pbkdf2Sync('password', 'salt', 2, 20, 'sha1').toString('hex'),
        };
    "#,
    )
    .await;
    assert_eq!(value["md5"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(value["sha1"], "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        value["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        value["sha512"],
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
        value["rsa"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // RFC 4231, test case 2, given in two updates.
    assert_eq!(
        value["hmac"],
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(value["hmac1"], "3nybhbi3iqa8ino29wqQcBydtNk=");
    assert_eq!(
        value["copied"],
        json!([
            "a9993e364706816aba3e25717850c26c9cd0d89d",
            "2iNhTgJGmg18e9G9q1ycR0sZBNw"
        ])
    );
    assert_eq!(value["buffer"], 16);
    assert!(
        value["unknown"]
            .as_str()
            .unwrap()
            .starts_with("Digest method not supported: whirlpool"),
        "{value}"
    );
    assert_eq!(value["pbkdf2"], "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
}

#[tokio::test]
async fn buffers_read_and_write_every_encoding() {
    let value = result_of(
        r#"
        const { Buffer: Required } = require('buffer');
        const text = 'héllo wörld ✓ 😀';
        const b = Buffer.from(text);
        const numbers = Buffer.alloc(8);
        numbers.writeUInt32BE(0xdeadbeef, 0);
        numbers.writeInt16LE(-2, 4);
        const shared = Buffer.from('abcdef');
        shared.slice(1, 3)[0] = 0x42;
        return {
          same: Required === Buffer && Buffer.isBuffer(b) && b instanceof Uint8Array,
          utf8: [b.length, b.toString('utf8'), Buffer.byteLength(text)],
          base64: b.toString('base64'),
          base64url: Buffer.from([0xfb, 0xff, 0xfe]).toString('base64url'),
          fromBase64: Buffer.from('aGVsbG8gd29ybGQ=', 'base64').toString(),
          fromBase64url: Buffer.from('-_-_', 'base64url').toString('hex'),
          hex: [Buffer.from('00ff10', 'hex').toJSON().data, Buffer.from('héllo').toString('hex')],
          latin1: [Buffer.from('héllo', 'latin1').toString('hex'), Buffer.from([0x68, 0xe9]).toString('latin1')],
          ascii: Buffer.from([0x68, 0xe9]).toString('ascii'),
          utf16le: [Buffer.from('hi', 'utf16le').toString('hex'), Buffer.from('6800690021', 'hex').toString('ucs2')],
          numbers: [numbers.readUInt32BE(0), numbers.readInt16LE(4), numbers.toString('hex')],
          shared: shared.toString(),
          concat: Buffer.concat([Buffer.from('ab'), Buffer.from('cd')], 3).toString(),
          compare: [Buffer.compare(Buffer.from('a'), Buffer.from('b')), Buffer.from('x').equals(Buffer.from('x'))],
          search: [b.indexOf('wörld'), b.includes('✓'), Buffer.from('abcabc').lastIndexOf('c')],
          fill: Buffer.alloc(5, 'ab').toString(),
          write: (() => { const w = Buffer.alloc(4); const n = w.write('✓✓'); return [n, w.toString('hex')]; })(),
          json: JSON.stringify(Buffer.from('hi')),
          unknown: (() => { try { Buffer.from('x', 'nope'); } catch (e) { return e.code; } })(),
          inspect: require('util').inspect(Buffer.from('hi')),
        };
    "#,
    )
    .await;
    assert_eq!(value["same"], true);
    assert_eq!(value["utf8"], json!([22, "héllo wörld ✓ 😀", 22]));
    assert_eq!(value["base64"], "aMOpbGxvIHfDtnJsZCDinJMg8J+YgA==");
    assert_eq!(value["base64url"], "-__-");
    assert_eq!(value["fromBase64"], "hello world");
    assert_eq!(value["fromBase64url"], "fbffbf");
    assert_eq!(value["hex"], json!([[0, 255, 16], "68c3a96c6c6f"]));
    assert_eq!(value["latin1"], json!(["68e96c6c6f", "hé"]));
    assert_eq!(value["ascii"], "hi");
    assert_eq!(value["utf16le"], json!(["68006900", "hi"]));
    assert_eq!(
        value["numbers"],
        json!([3735928559u32, -2, "deadbeeffeff0000"])
    );
    assert_eq!(value["shared"], "aBcdef", "slice shares memory, as in Node");
    assert_eq!(value["concat"], "abc");
    assert_eq!(value["compare"], json!([-1, true]));
    assert_eq!(value["search"], json!([7, true, 5]));
    assert_eq!(value["fill"], "ababa");
    assert_eq!(
        value["write"],
        json!([3, "e29c9300"]),
        "whole characters only"
    );
    assert_eq!(value["json"], r#"{"type":"Buffer","data":[104,105]}"#);
    assert_eq!(value["unknown"], "ERR_UNKNOWN_ENCODING");
    assert_eq!(value["inspect"], "<Buffer 68 69>");
}

#[tokio::test]
async fn urls_parse_as_the_url_standard_and_node_s_legacy_api_say() {
    let value = result_of(
        r#"
        const url = require('url');
        const u = new URL('../b/c?x=1&y=a+b#frag', 'https://User:Pw@Example.COM:8443/a/z');
        u.searchParams.append('z', 'é &');
        const legacy = url.parse('http://user:pass@host.com:8080/p/a/t/h?query=string&q=2#hash', true);
        let invalid;
        try { new URL('not a url'); } catch (e) { invalid = [e.name, e.code]; }
        const params = new URLSearchParams({ a: '1', b: 'two words' });
        params.append('a', '2');
        return {
          href: u.href,
          parts: [u.protocol, u.username, u.host, u.hostname, u.port, u.pathname, u.hash, u.origin],
          query: [u.searchParams.get('y'), u.searchParams.get('z'), [...u.searchParams.keys()]],
          same: URL === url.URL,
          invalid,
          params: [params.toString(), params.getAll('a')],
          legacy: [legacy.protocol, legacy.auth, legacy.host, legacy.port, legacy.hostname,
                   legacy.pathname, legacy.search, legacy.query, legacy.hash, legacy.path],
          format: url.format({ protocol: 'https', hostname: 'api.example.com', pathname: '/v1/x', query: { a: 1, b: 'c d' } }),
          resolve: [url.resolve('http://a.com/b/c', '../d'), url.resolve('/one/two', 'three')],
          ascii: url.domainToASCII('mañana.com'),
          options: url.urlToHttpOptions(new URL('https://a:b@x.example/p?q=1')),
        };
    "#,
    )
    .await;
    assert_eq!(
        value["href"],
        "https://User:Pw@example.com:8443/b/c?x=1&y=a+b&z=%C3%A9+%26#frag"
    );
    assert_eq!(
        value["parts"],
        json!([
            "https:",
            "User",
            "example.com:8443",
            "example.com",
            "8443",
            "/b/c",
            "#frag",
            "https://example.com:8443"
        ])
    );
    assert_eq!(value["query"], json!(["a b", "é &", ["x", "y", "z"]]));
    assert_eq!(value["same"], true);
    assert_eq!(value["invalid"], json!(["TypeError", "ERR_INVALID_URL"]));
    assert_eq!(value["params"], json!(["a=1&b=two+words&a=2", ["1", "2"]]));
    assert_eq!(
        value["legacy"],
        json!(["http:", "user:pass", "host.com:8080", "8080", "host.com", "/p/a/t/h",
               "?query=string&q=2", {"query": "string", "q": "2"}, "#hash", "/p/a/t/h?query=string&q=2"])
    );
    assert_eq!(value["format"], "https://api.example.com/v1/x?a=1&b=c%20d");
    assert_eq!(value["resolve"], json!(["http://a.com/d", "/one/three"]));
    assert_eq!(value["ascii"], "xn--maana-pta.com");
    assert_eq!(
        value["options"],
        json!({"protocol": "https:", "hostname": "x.example", "hash": "", "search": "?q=1",
               "pathname": "/p", "path": "/p?q=1", "href": "https://a:b@x.example/p?q=1", "auth": "a:b"})
    );
}

#[tokio::test]
async fn querystring_path_and_string_decoder() {
    let value = result_of(
        r#"
        const qs = require('querystring');
        const path = require('node:path');
        const { StringDecoder } = require('string_decoder');
        const decoder = new StringDecoder('utf8');
        const euro = Buffer.from('€');
        const pieces = [decoder.write(euro.subarray(0, 1)), decoder.write(euro.subarray(1)), decoder.end()];
        return {
          qsParse: qs.parse('a=1&b=x+y&a=2&c=%E2%9C%93&d'),
          stringify: qs.stringify({ a: [1, 2], b: 'x y', c: true, d: null, e: '✓' }),
          join: [path.join('/a/b', '../c', './d'), path.join('a', '', 'b/'), path.join()],
          resolve: [path.resolve('a/b', '../c'), path.resolve('/x', 'y', '/z', 'w')],
          relative: path.relative('/data/a/b', '/data/c'),
          names: [path.basename('/x/y/file.tar.gz'), path.basename('/x/y/file.js', '.js'),
                  path.extname('/x/y/file.tar.gz'), path.dirname('/x/y/file'), path.normalize('a//b/../c/')],
          parse: path.parse('/home/u/file.txt'),
          decoder: pieces,
        };
    "#,
    )
    .await;
    assert_eq!(
        value["qsParse"],
        json!({"a": ["1", "2"], "b": "x y", "c": "✓", "d": ""})
    );
    assert_eq!(value["stringify"], "a=1&a=2&b=x%20y&c=true&d=&e=%E2%9C%93");
    assert_eq!(value["join"], json!(["/a/c/d", "a/b/", "."]));
    assert_eq!(value["resolve"], json!(["/a/c", "/z/w"]));
    assert_eq!(value["relative"], "../../c");
    assert_eq!(
        value["names"],
        json!(["file.tar.gz", "file", ".gz", "/x/y", "a/c/"])
    );
    assert_eq!(
        value["parse"],
        json!({"root": "/", "dir": "/home/u", "base": "file.txt", "ext": ".txt", "name": "file"})
    );
    assert_eq!(value["decoder"], json!(["", "€", ""]));
}

#[tokio::test]
async fn event_emitters_and_util_behave_as_node_s() {
    let value = result_of(
        r#"
        const EventEmitter = require('events');
        const util = require('util');
        const seen = [];
        function Legacy() { EventEmitter.call(this); }
        util.inherits(Legacy, EventEmitter);
        const e = new Legacy();
        e.on('x', (v) => seen.push('on ' + v));
        e.once('x', (v) => seen.push('once ' + v));
        e.prependListener('x', (v) => seen.push('first ' + v));
        e.emit('x', 1);
        e.emit('x', 2);
        const counted = e.listenerCount('x');
        e.removeAllListeners('x');
        let unhandled;
        try { e.emit('error', new Error('boom')); } catch (err) { unhandled = err.message; }
        const later = EventEmitter.once(e, 'ready');
        setTimeout(() => e.emit('ready', 'go'), 1);
        const waited = await later;
        const sleep = util.promisify((ms, done) => setTimeout(() => done(null, ms * 2), ms));
        return {
          seen, counted, unhandled, waited,
          instance: e instanceof EventEmitter && Legacy.super_ === EventEmitter,
          format: [
            util.format('%s has %d items costing %i, %j', 'cart', 3, 4.9, { a: 1 }),
            util.format('%o', [1]),
            util.format('no args', 5, 'x', { y: [1, 2] }),
            util.format('100%% %s', 'sure'),
            util.format({ a: { b: { c: { d: 1 } } } }),
          ],
          inspect: util.inspect({ s: 'x', n: -0, list: [1, 'a'], map: new Map([['k', 1]]), f: function named() {}, big: 10n }),
          circular: (() => { const o = { a: 1 }; o.self = o; return util.inspect(o); })(),
          promisified: await sleep(2),
          types: [util.types.isPromise(later), util.types.isDate(new Date()), util.types.isUint8Array(Buffer.alloc(1)),
                  util.types.isAsyncFunction(async () => {}), util.isDeepStrictEqual({ a: [1] }, { a: [1] })],
          deprecated: util.deprecate(() => 'still works', 'old')(),
          encoder: new util.TextDecoder().decode(new TextEncoder().encode('✓')),
        };
    "#,
    )
    .await;
    assert_eq!(
        value["seen"],
        json!(["first 1", "on 1", "once 1", "first 2", "on 2"])
    );
    assert_eq!(value["counted"], 2);
    assert_eq!(value["unhandled"], "boom");
    assert_eq!(value["waited"], json!(["go"]));
    assert_eq!(value["instance"], true);
    assert_eq!(
        value["format"],
        json!([
            "cart has 3 items costing 4, {\"a\":1}",
            "[ 1, [length]: 1 ]",
            "no args 5 x { y: [ 1, 2 ] }",
            "100% sure",
            "{ a: { b: { c: [Object] } } }"
        ])
    );
    assert_eq!(
        value["inspect"],
        "{\n  s: 'x',\n  n: -0,\n  list: [ 1, 'a' ],\n  map: Map(1) { 'k' => 1 },\n  f: [Function: named],\n  big: 10n\n}"
    );
    assert_eq!(value["circular"], "<ref *1> { a: 1, self: [Circular *1] }");
    assert_eq!(value["promisified"], 4);
    assert_eq!(value["types"], json!([true, true, true, true, true]));
    assert_eq!(value["deprecated"], "still works");
    assert_eq!(value["encoder"], "✓");
}

#[tokio::test]
async fn streams_pipe_transform_and_finish() {
    let value = result_of(
        r#"
        const { Readable, Transform, PassThrough, Writable, pipeline } = require('stream');
        const upper = new Transform({
          transform(chunk, encoding, done) { done(null, chunk.toString().toUpperCase()); },
          flush(done) { this.push('!'); done(); },
        });
        const collected = [];
        const sink = new Writable({ write(chunk, encoding, done) { collected.push(chunk.toString()); done(); } });
        await new Promise((resolve, reject) => pipeline(Readable.from(['ab', 'cd']), upper, new PassThrough(), sink,
          (error) => (error ? reject(error) : resolve())));
        const chunks = [];
        for await (const chunk of Readable.from([Buffer.from('x'), Buffer.from('y')], { objectMode: false })) chunks.push(chunk.toString());
        const failing = new Readable({ read() { this.destroy(new Error('source broke')); } });
        const failure = await new Promise((resolve) => pipeline(failing, new PassThrough(), (e) => resolve(e && e.message)));
        return { collected: collected.join(''), chunks, failure, legacy: typeof require('stream') === 'function' };
    "#,
    )
    .await;
    assert_eq!(value["collected"], "ABCD!");
    assert_eq!(value["chunks"], json!(["x", "y"]));
    assert_eq!(value["failure"], "source broke");
    assert_eq!(value["legacy"], true);
}

/// A 2048-bit RSA key pair and an EC one, made with openssl for these tests.
const RSA_PRIVATE: &str = include_str!("../src/node/test_keys/rsa_pkcs8.pem");
const RSA_PUBLIC: &str = include_str!("../src/node/test_keys/rsa_spki.pem");
const EC_PRIVATE: &str = include_str!("../src/node/test_keys/ec_sec1.pem");

#[tokio::test]
async fn random_values_keys_and_signatures() {
    let body = format!(
        r#"
        const crypto = require('crypto');
        const rsaPrivate = {RSA_PRIVATE:?};
        const rsaPublic = {RSA_PUBLIC:?};
        const ecPrivate = {EC_PRIVATE:?};
        const key = crypto.createPrivateKey(rsaPrivate);
        const signer = crypto.createSign('RSA-SHA256');
        signer.update('header.');
        signer.update('payload');
        const signature = signer.sign(key, 'base64');
        const verify = (text, sig) => crypto.createVerify('RSA-SHA256').update(text).verify(rsaPublic, sig, 'base64');
        const ec = crypto.createPrivateKey(ecPrivate);
        const ecSignature = crypto.sign('sha256', Buffer.from('data'), {{ key: ec, dsaEncoding: 'ieee-p1363' }});
        const ecPublic = crypto.createPublicKey(ec);
        let notAKey;
        try {{ crypto.createPrivateKey('a shared secret'); }} catch (e) {{ notAKey = e.message; }}
        let notOffered;
        try {{ crypto.createCipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12)); }} catch (e) {{ notOffered = e.message; }}
        return {{
          random: [crypto.randomBytes(16).length, /^[0-9a-f-]{{36}}$/.test(crypto.randomUUID()),
                   crypto.randomUUID()[14], crypto.randomInt(10) < 10, globalThis.crypto.getRandomValues(new Uint8Array(4)).length],
          safe: [crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')), crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ac'))],
          unequal: (() => {{ try {{ crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('ab')); }} catch (e) {{ return e.code; }} }})(),
          key: [key.type, key.asymmetricKeyType, key.asymmetricKeyDetails.modulusLength, String(key.asymmetricKeyDetails.publicExponent)],
          verified: [verify('header.payload', signature), verify('header.payloaD', signature)],
          pss: crypto.verify('sha256', Buffer.from('m'), {{ key: rsaPublic, padding: crypto.constants.RSA_PKCS1_PSS_PADDING }},
                 crypto.sign('sha256', Buffer.from('m'), {{ key: rsaPrivate, padding: crypto.constants.RSA_PKCS1_PSS_PADDING }})),
          ec: [ec.asymmetricKeyDetails.namedCurve, ecSignature.length,
               crypto.verify('sha256', Buffer.from('data'), {{ key: ecPublic, dsaEncoding: 'ieee-p1363' }}, ecSignature)],
          exported: crypto.createPublicKey(rsaPrivate).export({{ type: 'spki', format: 'pem' }}) === rsaPublic,
          secret: [crypto.createSecretKey(Buffer.from('s3cret')).symmetricKeySize, key instanceof crypto.KeyObject],
          notAKey, notOffered,
        }};
    "#
    );
    let value = result_of(&body).await;
    assert_eq!(value["random"], json!([16, true, "4", true, 4]));
    assert_eq!(value["safe"], json!([true, false]));
    assert_eq!(value["unequal"], "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH");
    assert_eq!(value["key"], json!(["private", "rsa", 2048, "65537"]));
    assert_eq!(value["verified"], json!([true, false]));
    assert_eq!(value["pss"], true);
    assert_eq!(value["ec"], json!(["prime256v1", 64, true]));
    assert_eq!(value["exported"], true);
    assert_eq!(value["secret"], json!([6, true]));
    assert!(
        value["notAKey"]
            .as_str()
            .unwrap()
            .contains("not in PEM format"),
        "{value}"
    );
    assert!(
        value["notOffered"]
            .as_str()
            .unwrap()
            .starts_with("crypto.createCipheriv() is not available in the Weir sandbox"),
        "{value}"
    );
}

#[tokio::test]
async fn zlib_and_timers() {
    let value = result_of(
        r#"
        const zlib = require('zlib');
        const text = 'weir '.repeat(100);
        const gz = zlib.gzipSync(text);
        const streamed = await new Promise((resolve, reject) => {
          const gunzip = zlib.createGunzip();
          const parts = [];
          gunzip.on('data', (c) => parts.push(c));
          gunzip.on('end', () => resolve(Buffer.concat(parts).toString()));
          gunzip.on('error', reject);
          gunzip.write(gz.subarray(0, 10));
          gunzip.end(gz.subarray(10));
        });
        const order = [];
        await new Promise((resolve) => {
          let n = 0;
          const interval = setInterval(() => {
            order.push('interval ' + (n += 1));
            if (n === 3) { clearInterval(interval); resolve(); }
          }, 1);
          setImmediate(() => order.push('immediate'));
          process.nextTick(() => order.push('tick'));
        });
        // An unref'd timer does not keep the invocation waiting once it has its answer.
        setTimeout(() => {}, 60000).unref();
        const { setTimeout: sleep } = require('timers/promises');
        return {
          gz: [gz[0], gz[1], gz.length < text.length, zlib.gunzipSync(gz).toString() === text],
          deflate: zlib.inflateSync(zlib.deflateSync('abc')).toString(),
          streamed: streamed === text,
          garbage: (() => { try { zlib.gunzipSync(Buffer.from('nope')); } catch (e) { return e.code; } })(),
          noBrotli: typeof zlib.createBrotliDecompress,
          order,
          slept: await sleep(1, 'rested'),
        };
    "#,
    )
    .await;
    assert_eq!(value["gz"], json!([0x1f, 0x8b, true, true]));
    assert_eq!(value["deflate"], "abc");
    assert_eq!(value["streamed"], true);
    assert_eq!(value["garbage"], "Z_DATA_ERROR");
    assert_eq!(value["noBrotli"], "undefined");
    assert_eq!(
        value["order"],
        json!([
            "tick",
            "immediate",
            "interval 1",
            "interval 2",
            "interval 3"
        ])
    );
    assert_eq!(value["slept"], "rested");
}

#[tokio::test]
async fn an_unreferenced_timer_does_not_hold_a_settled_handler() {
    let (outcome, _) = run_with(
        "setTimeout(() => {}, 4000).unref(); return 'done';",
        FakeWeb::default(),
    )
    .await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert!(outcome.duration < Duration::from_secs(2), "{outcome:?}");
}

#[tokio::test]
async fn http_https_and_fetch_requests_go_to_the_host() {
    let web = FakeWeb::default()
        .page(
            "https://api.example.com/items?page=2",
            200,
            &[
                ("content-type", "application/json"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
            ],
            br#"{"items": [1, 2]}"#,
        )
        .page(
            "http://plain.example.com:8080/echo",
            201,
            &[("x-kind", "plain")],
            b"made",
        )
        .page(
            "https://api.example.com/gz",
            200,
            &[("content-encoding", "gzip"), ("content-type", "text/plain")],
            &gzip(b"unzipped text"),
        );
    let (outcome, web) = run_with(
        r#"
        const https = require('https');
        const http = require('node:http');
        const viaHttps = await new Promise((resolve, reject) => {
          const req = https.request('https://api.example.com/items?page=2', { headers: { 'X-Token': 't1' } }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { body += c; });
            res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'],
                                          cookies: res.headers['set-cookie'], body: JSON.parse(body) }));
          });
          req.on('error', reject);
          req.end();
        });
        const viaHttp = await new Promise((resolve, reject) => {
          const req = http.request({ method: 'post', hostname: 'plain.example.com', port: 8080, path: '/echo',
                                     headers: { 'content-type': 'text/plain' } }, (res) => {
            const parts = [];
            res.on('data', (c) => parts.push(c));
            res.on('end', () => resolve([res.statusCode, res.statusMessage, Buffer.concat(parts).toString(), res.headers['x-kind']]));
          });
          req.on('error', reject);
          req.write('hello ');
          req.end(Buffer.from('world'));
        });
        const refused = await new Promise((resolve) => {
          http.get('http://169.254.169.254/latest/meta-data', () => resolve('answered'))
            .on('error', (e) => resolve([e.code, e.message]));
        });
        const fetched = await fetch('https://api.example.com/items?page=2', { headers: { accept: 'application/json' } });
        const posted = await fetch(new Request('http://plain.example.com:8080/echo', { method: 'POST', body: JSON.stringify({ a: 1 }),
                                                                                       headers: { 'content-type': 'application/json' } }));
        const gz = await fetch('https://api.example.com/gz');
        let fetchFailure;
        try { await fetch('http://10.0.0.1/'); } catch (e) { fetchFailure = [e.name, e.message, e.cause.code]; }
        return {
          viaHttps, viaHttp, refused,
          fetched: [fetched.status, fetched.ok, fetched.headers.get('content-type'), await fetched.json()],
          posted: [posted.status, await posted.text()],
          gz: await gz.text(),
          fetchFailure,
        };
    "#,
        web,
    )
    .await;
    assert_eq!(
        outcome.status,
        InvocationStatus::Success,
        "{:?} {:?}",
        outcome.error,
        outcome.stack
    );
    let value = outcome.value.unwrap();
    assert_eq!(
        value["viaHttps"],
        json!({"status": 200, "type": "application/json", "cookies": ["a=1", "b=2"], "body": {"items": [1, 2]}})
    );
    assert_eq!(value["viaHttp"], json!([201, "Created", "made", "plain"]));
    assert_eq!(
        value["refused"],
        json!([
            "ERR_WEIR_DESTINATION_REFUSED",
            "http://169.254.169.254/latest/meta-data: the destination is not allowed"
        ])
    );
    assert_eq!(
        value["fetched"],
        json!([200, true, "application/json", {"items": [1, 2]}])
    );
    assert_eq!(value["posted"], json!([201, "made"]));
    assert_eq!(value["gz"], "unzipped text");
    assert_eq!(
        value["fetchFailure"],
        json!(["TypeError", "fetch failed", "ERR_WEIR_DESTINATION_REFUSED"])
    );

    let requests = web.requests();
    let summary: Vec<(NodeApi, String, String)> = requests
        .iter()
        .map(|r| {
            (
                r.api,
                r.method.as_str().unwrap().to_owned(),
                r.url.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                NodeApi::Http,
                "GET".into(),
                "https://api.example.com/items?page=2".into()
            ),
            (
                NodeApi::Http,
                "POST".into(),
                "http://plain.example.com:8080/echo".into()
            ),
            (
                NodeApi::Http,
                "GET".into(),
                "http://169.254.169.254/latest/meta-data".into()
            ),
            (
                NodeApi::Fetch,
                "GET".into(),
                "https://api.example.com/items?page=2".into()
            ),
            (
                NodeApi::Fetch,
                "POST".into(),
                "http://plain.example.com:8080/echo".into()
            ),
            (
                NodeApi::Fetch,
                "GET".into(),
                "https://api.example.com/gz".into()
            ),
            (NodeApi::Fetch, "GET".into(), "http://10.0.0.1/".into()),
        ]
    );
    assert_eq!(requests[0].headers, json!([["X-Token", "t1"]]));
    assert_eq!(requests[1].body, json!(BASE64.encode("hello world")));
    assert_eq!(requests[4].body, json!(BASE64.encode(r#"{"a":1}"#)));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn built_ins_resolve_by_either_name_and_the_unavailable_ones_say_so_when_used() {
    let files = [
        (
            "server/server.js",
            r#"exports = { h: function () {
              const fs = require('fs');
              let read;
              try { fs.readFileSync('/etc/passwd'); } catch (e) { read = [e.code, e.message]; }
              let spawn;
              try { require('child_process').spawn('sh'); } catch (e) { spawn = e.message; }
              const net = require('net');
              return {
                same: require('node:crypto') === require('crypto') && require('node:events') === require('events'),
                builtInEvents: typeof require('events').once,
                npmBuffer: require('buffer/').fromThePackage,
                builtInBuffer: require('buffer').Buffer === Buffer,
                read, spawn,
                netHelpers: [net.isIP('10.0.0.1'), net.isIP('::1'), net.isIP('nope')],
                resolved: [require.resolve('node:zlib'), require.resolve('buffer/')],
                data: require('data-pkg').answer,
              };
            } };"#,
        ),
        (
            "server/node_modules/buffer/index.js",
            "exports.fromThePackage = 'npm buffer';",
        ),
        (
            "server/node_modules/events/events.js",
            "module.exports = 'npm events';",
        ),
        (
            "server/node_modules/events/package.json",
            r#"{"main": "events.js"}"#,
        ),
        (
            "server/node_modules/data-pkg/index.js",
            "module.exports = require('./data.json');",
        ),
        (
            "server/node_modules/data-pkg/data.json",
            r#"{"answer": 42}"#,
        ),
    ];
    let app = code(&files);
    let sandbox = Sandbox::start(1).unwrap();
    let outcome = sandbox
        .run(invocation(&app, "h", Arc::new(FakeWeb::default())))
        .await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    let value = outcome.value.unwrap();
    assert_eq!(value["same"], true);
    assert_eq!(value["builtInEvents"], "function");
    assert_eq!(value["npmBuffer"], "npm buffer");
    assert_eq!(value["builtInBuffer"], true);
    assert_eq!(
        value["read"],
        json!([
            "ERR_WEIR_NOT_AVAILABLE",
            "fs.readFileSync() is not available in the Weir sandbox: handlers cannot reach the host's files"
        ])
    );
    assert_eq!(
        value["spawn"],
        "child_process.spawn() is not available in the Weir sandbox: handlers cannot start processes or threads"
    );
    assert_eq!(value["netHelpers"], json!([4, 6, 0]));
    assert_eq!(
        value["resolved"],
        json!(["node:zlib", "server/node_modules/buffer/index.js"])
    );
    assert_eq!(value["data"], 42);
}

/// Node's globals are there for code that names them, with no `require`; code that does
/// not name them gets them with its first built-in (which may use them), and pays
/// nothing for them before.
#[tokio::test]
async fn node_s_globals_are_made_for_the_code_that_uses_them() {
    let value = result_of(
        "return [Buffer.from('hi').toString('base64'), new URL('https://a.example/x?y=1').host, \
         typeof fetch, new TextDecoder().decode(new TextEncoder().encode('✓')), typeof structuredClone];",
    )
    .await;
    assert_eq!(
        value,
        json!(["aGk=", "a.example", "function", "✓", "function"])
    );
    let value = result_of(
        "const name = ['Buf', 'fer'].join('');\n\
         const before = typeof globalThis[name];\n\
         require('path');\n\
         return [before, typeof globalThis[name], process.env.ENV, typeof setImmediate];",
    )
    .await;
    assert_eq!(value, json!(["undefined", "function", "test", "function"]));
}

/// What one invocation does to the built-ins and Node's globals is gone for the next,
/// on the same thread: each gets its own modules.
#[tokio::test]
async fn built_ins_keep_nothing_from_one_invocation_to_the_next() {
    let source = r#"exports = {
      taint: function () {
        require('events').defaultMaxListeners = 99;
        Buffer.prototype.tainted = true;
        require('crypto').createHash = () => 'hijacked';
        process.env.LEAK = 'yes';
        globalThis.fetch = () => 'hijacked';
        return 'tainted';
      },
      look: function () {
        return {
          maxListeners: require('events').defaultMaxListeners,
          tainted: Buffer.from('x').tainted === undefined ? 'clean' : 'tainted',
          hash: typeof require('crypto').createHash('md5'),
          env: process.env.LEAK === undefined ? 'clean' : 'leaked',
          fetch: String(fetch).includes('hijacked') ? 'hijacked' : 'ours',
        };
      }
    };"#;
    let app = code(&[("server/server.js", source)]);
    let sandbox = Sandbox::start(1).unwrap();
    let web = Arc::new(FakeWeb::default());
    let tainted = sandbox.run(invocation(&app, "taint", web.clone())).await;
    assert_eq!(tainted.value, Some(json!("tainted")), "{tainted:?}");
    let looked = sandbox.run(invocation(&app, "look", web)).await;
    assert_eq!(
        looked.value,
        Some(
            json!({"maxListeners": 10, "tainted": "clean", "hash": "object", "env": "clean", "fetch": "ours"})
        ),
        "{looked:?}"
    );
}

/// Buffers are QuickJS memory: a handler cannot allocate past its allowance with them.
#[tokio::test]
async fn buffers_count_against_the_invocation_s_memory() {
    let app = code(&[(
        "server/server.js",
        "exports = { h: function () { var kept = []; for (var i = 0; i < 100; i++) kept.push(Buffer.alloc(1024 * 1024, 1)); return kept.length; } };",
    )]);
    let sandbox = Sandbox::start(1).unwrap();
    let mut run = invocation(&app, "h", Arc::new(FakeWeb::default()));
    run.limits.memory_bytes = 16 * 1024 * 1024;
    let outcome = sandbox.run(run).await;
    assert_eq!(outcome.status, InvocationStatus::OutOfMemory, "{outcome:?}");
}
