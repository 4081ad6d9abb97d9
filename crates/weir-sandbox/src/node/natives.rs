//! The Rust functions under the built-in modules: what JavaScript does slowly or cannot
//! do at all in QuickJS (hashing, HMAC, signatures, random bytes, base64 and UTF-8 of
//! large buffers, URL parsing, compression). Each is a pure function of its arguments:
//! none reaches the network, the files or the environment of the host.
//!
//! They are handed to the built-in modules only (the prelude keeps them out of the
//! app's reach). Bytes come in as `Uint8Array`s, are copied out before anything else
//! runs, and go back as new `Uint8Array`s allocated by QuickJS, so that what a handler
//! makes counts against its memory.

use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Result, TypedArray};

use super::codec;
use super::digest::{self, Algorithm};
use super::keys::{self, Given, KeyError, Wanted};
use super::web_url;
use super::zlib::{self, Operation};

/// The object of native functions the built-in modules receive as `internal.natives`.
/// `max_output` caps what one call may make (random bytes, decompressed data): the
/// invocation's memory allowance.
pub(crate) fn natives<'js>(ctx: &Ctx<'js>, max_output: usize) -> Result<Object<'js>> {
    let natives = Object::new(ctx.clone())?;
    let set = |name: &str, function: Result<Function<'js>>| natives.set(name, function?);

    set(
        "utf8Encode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
            bytes_out(&ctx, text.as_bytes())
        }),
    )?;
    set(
        "utf8Decode",
        Function::new(
            ctx.clone(),
            |array: TypedArray<'js, u8>| -> Result<String> {
                Ok(String::from_utf8_lossy(&bytes_in(&array)?).into_owned())
            },
        ),
    )?;
    set(
        "base64Encode",
        Function::new(
            ctx.clone(),
            |array: TypedArray<'js, u8>, url: Opt<bool>| -> Result<String> {
                Ok(codec::base64_encode(
                    &bytes_in(&array)?,
                    url.0.unwrap_or(false),
                ))
            },
        ),
    )?;
    set(
        "base64Decode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
            bytes_out(&ctx, &codec::base64_decode(&text))
        }),
    )?;
    set(
        "hexEncode",
        Function::new(
            ctx.clone(),
            |array: TypedArray<'js, u8>| -> Result<String> {
                Ok(codec::hex_encode(&bytes_in(&array)?))
            },
        ),
    )?;
    set(
        "hexDecode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
            bytes_out(&ctx, &codec::hex_decode(&text))
        }),
    )?;

    set(
        "hash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, data: TypedArray<'js, u8>| {
                let algorithm = algorithm(&ctx, &name)?;
                bytes_out(&ctx, &digest::hash(algorithm, &bytes_in(&data)?))
            },
        ),
    )?;
    set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, key: TypedArray<'js, u8>, data: TypedArray<'js, u8>| {
                let algorithm = algorithm(&ctx, &name)?;
                bytes_out(
                    &ctx,
                    &digest::hmac(algorithm, &bytes_in(&key)?, &bytes_in(&data)?),
                )
            },
        ),
    )?;
    set(
        "pbkdf2",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  name: String,
                  password: TypedArray<'js, u8>,
                  salt: TypedArray<'js, u8>,
                  iterations: u32,
                  length: usize| {
                let algorithm = algorithm(&ctx, &name)?;
                if length > max_output {
                    return Err(Exception::throw_range(
                        &ctx,
                        &format!("pbkdf2: keylen {length} is more than the sandbox allows"),
                    ));
                }
                match digest::pbkdf2(
                    algorithm,
                    &bytes_in(&password)?,
                    &bytes_in(&salt)?,
                    iterations,
                    length,
                ) {
                    Some(key) => bytes_out(&ctx, &key),
                    None => Err(Exception::throw_type(
                        &ctx,
                        &format!(
                            "pbkdf2 with {name} is not offered in the Weir sandbox: use sha1, sha256, sha384 or sha512 (and at least 1 iteration)"
                        ),
                    )),
                }
            },
        ),
    )?;
    set(
        "randomBytes",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, size: usize| {
            if size > max_output {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("{size} random bytes are more than the sandbox allows"),
                ));
            }
            let mut bytes = vec![0u8; size];
            getrandom::fill(&mut bytes)
                .map_err(|e| Exception::throw_message(&ctx, &format!("no random bytes: {e}")))?;
            bytes_out(&ctx, &bytes)
        }),
    )?;

    set(
        "keyImport",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: rquickjs::Value<'js>, der_type: String, wanted: String| {
                let wanted = if wanted == "public" {
                    Wanted::Public
                } else {
                    Wanted::Private
                };
                let key = if let Some(text) = input.as_string() {
                    let text = text.to_string()?;
                    keys::import(Given::Pem(&text), wanted)
                } else {
                    let bytes = bytes_in(&TypedArray::<u8>::from_value(input)?)?;
                    keys::import(Given::Der(&bytes, &der_type), wanted)
                }
                .map_err(|e| key_error(&ctx, e))?;
                described(&ctx, &key)
            },
        ),
    )?;
    set(
        "keySign",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             der: TypedArray<'js, u8>,
             name: String,
             pss: bool,
             data: TypedArray<'js, u8>| {
                let key = keys::import(Given::Der(&bytes_in(&der)?, "pkcs8"), Wanted::Private)
                    .map_err(|e| key_error(&ctx, e))?;
                let digest = signature_digest(&ctx, &name)?;
                let signature = keys::sign(&key, digest, pss, &bytes_in(&data)?)
                    .map_err(|e| key_error(&ctx, e))?;
                bytes_out(&ctx, &signature)
            },
        ),
    )?;
    set(
        "keyVerify",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             der: TypedArray<'js, u8>,
             name: String,
             pss: bool,
             data: TypedArray<'js, u8>,
             signature: TypedArray<'js, u8>|
             -> Result<bool> {
                let key = keys::import(Given::Der(&bytes_in(&der)?, "spki"), Wanted::Public)
                    .map_err(|e| key_error(&ctx, e))?;
                let digest = signature_digest(&ctx, &name)?;
                keys::verify(&key, digest, pss, &bytes_in(&data)?, &bytes_in(&signature)?)
                    .map_err(|e| key_error(&ctx, e))
            },
        ),
    )?;

    set(
        "zlib",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  name: String,
                  data: TypedArray<'js, u8>,
                  level: Opt<u32>,
                  limit: Opt<f64>| {
                let Some(operation) = Operation::named(&name) else {
                    return Err(Exception::throw_type(
                        &ctx,
                        &format!("zlib has no operation {name}"),
                    ));
                };
                let limit = limit
                    .0
                    .filter(|l| *l >= 0.0)
                    .map_or(max_output, |l| (l as usize).min(max_output));
                let level = level.0.unwrap_or(6);
                match zlib::process(operation, &bytes_in(&data)?, level, limit) {
                    Ok(out) => bytes_out(&ctx, &out),
                    Err(why) => Err(Exception::throw_range(&ctx, &why)),
                }
            },
        ),
    )?;

    set(
        "urlParse",
        Function::new(
            ctx.clone(),
            |input: String, base: Opt<String>| -> Option<Vec<String>> {
                web_url::parse(&input, base.0.as_deref()).map(|url| web_url::parts(&url).to_vec())
            },
        ),
    )?;
    set(
        "urlSet",
        Function::new(
            ctx.clone(),
            |href: String, part: String, value: String| -> Option<Vec<String>> {
                let mut url = web_url::parse(&href, None)?;
                web_url::set(&mut url, &part, &value)?;
                Some(web_url::parts(&url).to_vec())
            },
        ),
    )?;
    set(
        "domainToASCII",
        Function::new(ctx.clone(), |domain: String| {
            web_url::domain_to_ascii(&domain)
        }),
    )?;
    set(
        "domainToUnicode",
        Function::new(ctx.clone(), |domain: String| {
            web_url::domain_to_unicode(&domain)
        }),
    )?;
    natives.set("hashes", digest::Algorithm::NAMES.to_vec())?;
    Ok(natives)
}

/// The bytes of a `Uint8Array` (or `Buffer`), copied out.
fn bytes_in(array: &TypedArray<'_, u8>) -> Result<Vec<u8>> {
    // SAFETY: the slice is copied at once, before any JavaScript can run and touch the
    // buffer behind it.
    match unsafe { array.as_bytes() } {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(Exception::throw_type(array.ctx(), "the buffer is detached")),
    }
}

/// A new `Uint8Array` holding `bytes`, in QuickJS's (metered) memory.
fn bytes_out<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> Result<TypedArray<'js, u8>> {
    TypedArray::new_copy(ctx.clone(), bytes)
}

fn algorithm(ctx: &Ctx<'_>, name: &str) -> Result<Algorithm> {
    Algorithm::named(name).ok_or_else(|| {
        Exception::throw_message(
            ctx,
            &format!(
                "Digest method not supported: {name} (the Weir sandbox offers {})",
                Algorithm::NAMES.join(", ")
            ),
        )
    })
}

fn signature_digest(ctx: &Ctx<'_>, name: &str) -> Result<keys::Digest> {
    Ok(match algorithm(ctx, name)? {
        Algorithm::Sha1 => keys::Digest::Sha1,
        Algorithm::Sha256 => keys::Digest::Sha256,
        Algorithm::Sha384 => keys::Digest::Sha384,
        Algorithm::Sha512 => keys::Digest::Sha512,
        Algorithm::Md5 | Algorithm::Sha224 => {
            return Err(Exception::throw_message(
                ctx,
                &format!("signatures over {name} are not offered in the Weir sandbox"),
            ));
        }
    })
}

fn key_error(ctx: &Ctx<'_>, error: KeyError) -> rquickjs::Error {
    Exception::throw_message(ctx, &error.0)
}

/// What `KeyObject` shows of a key, with its DER form.
fn described<'js>(ctx: &Ctx<'js>, key: &keys::Key) -> Result<Object<'js>> {
    let out = Object::new(ctx.clone())?;
    out.set("type", if key.private { "private" } else { "public" })?;
    out.set("asymmetricKeyType", key.algorithm.name())?;
    out.set("der", bytes_out(ctx, &key.der)?)?;
    if let Some(bits) = key.modulus_bits {
        out.set("modulusLength", bits)?;
    }
    if let Some(exponent) = key.public_exponent {
        out.set("publicExponent", exponent as f64)?;
    }
    if let keys::Algorithm::Ec(curve) = key.algorithm {
        out.set("namedCurve", curve.name())?;
    }
    Ok(out)
}
