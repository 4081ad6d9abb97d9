//! Asymmetric keys for `crypto`: reading them from PEM or DER (`createPrivateKey`,
//! `createPublicKey`), and signing and verifying with them (`createSign`, `sign`,
//! `verify`), which is what `jsonwebtoken`'s RS*, PS* and ES* algorithms need.
//!
//! The cryptography is `ring`'s (already linked for TLS): RSA with PKCS#1 v1.5 or PSS
//! padding over SHA-256/384/512, and ECDSA on P-256 and P-384. Keys are kept in one
//! form each, whatever form they came in: PKCS#8 for private keys and SPKI for public
//! ones, which are also the forms `KeyObject.export` gives.

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair, UnparsedPublicKey};

use super::der::{self, Reader};

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// Why a key cannot be read or used, as the app's exception says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyError(pub(crate) String);

fn refuse<T>(message: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError(message.into()))
}

/// `KeyObject.asymmetricKeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rsa,
    RsaPss,
    Ec(Curve),
}

impl Algorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Rsa => "rsa",
            Algorithm::RsaPss => "rsa-pss",
            Algorithm::Ec(_) => "ec",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    fn from_oid(oid: &[u8]) -> Result<Curve, KeyError> {
        match oid {
            PRIME256V1 => Ok(Curve::P256),
            SECP384R1 => Ok(Curve::P384),
            _ => refuse(
                "unsupported elliptic curve: only P-256 (prime256v1) and P-384 (secp384r1) are offered",
            ),
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => PRIME256V1,
            Curve::P384 => SECP384R1,
        }
    }

    /// As `asymmetricKeyDetails.namedCurve` names it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Curve::P256 => "prime256v1",
            Curve::P384 => "secp384r1",
        }
    }
}

/// Which kind of key the app asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Private,
    Public,
}

/// How a key was given.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Given<'a> {
    /// PEM text; its label says what it holds.
    Pem(&'a str),
    /// DER bytes of the named structure (`pkcs8`, `pkcs1`, `sec1` or `spki`).
    Der(&'a [u8], &'a str),
}

/// A key read in, in its one form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) private: bool,
    pub(crate) algorithm: Algorithm,
    /// PKCS#8 for a private key, SPKI for a public one.
    pub(crate) der: Vec<u8>,
    /// RSA: the modulus in bits and the public exponent.
    pub(crate) modulus_bits: Option<usize>,
    pub(crate) public_exponent: Option<u64>,
}

/// The key `given` holds, as the kind `wanted` (a public key is taken from a private
/// one, as Node's `createPublicKey` does).
pub(crate) fn import(given: Given<'_>, wanted: Wanted) -> Result<Key, KeyError> {
    let key = match given {
        Given::Pem(text) => {
            let (label, der) = pem(text)?;
            from_der(&der, label_kind(&label)?, wanted)?
        }
        Given::Der(bytes, kind) => from_der(bytes, der_kind(kind, wanted)?, wanted)?,
    };
    match (wanted, key.private) {
        (Wanted::Public, true) => public_of(&key),
        (Wanted::Private, false) => refuse("a private key is needed, and this is a public key"),
        _ => Ok(key),
    }
}

/// The structures keys come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Structure {
    Pkcs8,
    Pkcs1Private,
    Sec1,
    Spki,
    Pkcs1Public,
    Certificate,
}

fn label_kind(label: &str) -> Result<Structure, KeyError> {
    Ok(match label {
        "PRIVATE KEY" => Structure::Pkcs8,
        "RSA PRIVATE KEY" => Structure::Pkcs1Private,
        "EC PRIVATE KEY" => Structure::Sec1,
        "PUBLIC KEY" => Structure::Spki,
        "RSA PUBLIC KEY" => Structure::Pkcs1Public,
        "CERTIFICATE" => Structure::Certificate,
        "ENCRYPTED PRIVATE KEY" => {
            return refuse(
                "encrypted private keys (with a passphrase) are not supported in the Weir sandbox",
            );
        }
        other => return refuse(format!("unsupported PEM block \"{other}\"")),
    })
}

fn der_kind(kind: &str, wanted: Wanted) -> Result<Structure, KeyError> {
    Ok(match (kind, wanted) {
        ("pkcs8", _) => Structure::Pkcs8,
        ("pkcs1", Wanted::Private) => Structure::Pkcs1Private,
        ("pkcs1", Wanted::Public) => Structure::Pkcs1Public,
        ("sec1", _) => Structure::Sec1,
        ("spki", _) => Structure::Spki,
        (other, _) => return refuse(format!("unsupported DER key type \"{other}\"")),
    })
}

/// The label and the bytes of the first PEM block of `text`.
fn pem(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let Some(start) = text.find("-----BEGIN ") else {
        return refuse("the key is not in PEM format (no -----BEGIN line)");
    };
    let after = &text[start + "-----BEGIN ".len()..];
    let Some(label_end) = after.find("-----") else {
        return refuse("the key's -----BEGIN line is not closed");
    };
    let label = after[..label_end].to_owned();
    let body = &after[label_end + 5..];
    let end_line = format!("-----END {label}-----");
    let Some(end) = body.find(&end_line) else {
        return refuse(format!("the key has no {end_line} line"));
    };
    let body = &body[..end];
    // Headers (`Proc-Type: …`) mean an encrypted key of the old OpenSSL kind.
    if body.contains(':') {
        return refuse(
            "encrypted private keys (with a passphrase) are not supported in the Weir sandbox",
        );
    }
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .or_else(|_| refuse("the key's PEM body is not valid base64"))?;
    Ok((label, der))
}

fn malformed<T>(what: &str) -> Result<T, KeyError> {
    refuse(format!("the key is not a valid {what} structure"))
}

fn from_der(bytes: &[u8], structure: Structure, wanted: Wanted) -> Result<Key, KeyError> {
    match structure {
        Structure::Pkcs8 => pkcs8(bytes),
        Structure::Pkcs1Private => {
            let (modulus_bits, public_exponent) = rsa_private_numbers(bytes)?;
            let der = pkcs8_of(&rsa_algorithm_identifier(), bytes);
            Ok(rsa_key(
                true,
                Algorithm::Rsa,
                der,
                modulus_bits,
                public_exponent,
            ))
        }
        Structure::Sec1 => {
            let (curve, scalar, point) = sec1(bytes, None)?;
            Ok(ec_private(curve, scalar, point))
        }
        Structure::Spki => spki(bytes),
        Structure::Pkcs1Public => {
            let (modulus_bits, public_exponent) = rsa_public_numbers(bytes)?;
            let der = spki_of(&rsa_algorithm_identifier(), bytes);
            Ok(rsa_key(
                false,
                Algorithm::Rsa,
                der,
                modulus_bits,
                public_exponent,
            ))
        }
        Structure::Certificate => match wanted {
            Wanted::Public => certificate(bytes),
            Wanted::Private => {
                refuse("a certificate holds a public key, and a private key is needed")
            }
        },
    }
}

fn rsa_key(private: bool, algorithm: Algorithm, der: Vec<u8>, bits: usize, exponent: u64) -> Key {
    Key {
        private,
        algorithm,
        der,
        modulus_bits: Some(bits),
        public_exponent: Some(exponent),
    }
}

/// `AlgorithmIdentifier { rsaEncryption, NULL }`, encoded.
fn rsa_algorithm_identifier() -> Vec<u8> {
    der::sequence(&[
        &der::element(der::OID, RSA_ENCRYPTION),
        &der::element(der::NULL, &[]),
    ])
}

fn ec_algorithm_identifier(curve: Curve) -> Vec<u8> {
    der::sequence(&[
        &der::element(der::OID, EC_PUBLIC_KEY),
        &der::element(der::OID, curve.oid()),
    ])
}

fn pkcs8_of(algorithm_identifier: &[u8], private_key: &[u8]) -> Vec<u8> {
    der::sequence(&[
        &der::element(der::INTEGER, &[0]),
        algorithm_identifier,
        &der::element(der::OCTET_STRING, private_key),
    ])
}

fn spki_of(algorithm_identifier: &[u8], public_key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(public_key);
    der::sequence(&[algorithm_identifier, &der::element(der::BIT_STRING, &bits)])
}

/// An `AlgorithmIdentifier`: its OID, its parameter (the curve's OID for EC keys), and
/// the whole element as it was encoded.
struct Identifier<'a> {
    oid: &'a [u8],
    parameter: Option<&'a [u8]>,
    encoded: Vec<u8>,
}

fn algorithm_identifier<'a>(reader: &mut Reader<'a>) -> Result<Identifier<'a>, KeyError> {
    let Some(content) = reader.expect(der::SEQUENCE) else {
        return malformed("AlgorithmIdentifier");
    };
    let mut inner = Reader::new(content);
    let Some(oid) = inner.expect(der::OID) else {
        return malformed("AlgorithmIdentifier");
    };
    Ok(Identifier {
        oid,
        parameter: inner.optional(der::OID),
        encoded: der::element(der::SEQUENCE, content),
    })
}

fn pkcs8(bytes: &[u8]) -> Result<Key, KeyError> {
    let mut outer = Reader::new(bytes);
    let Some(content) = outer.expect(der::SEQUENCE) else {
        return malformed("PKCS#8");
    };
    let mut reader = Reader::new(content);
    if reader.expect(der::INTEGER).is_none() {
        return malformed("PKCS#8");
    }
    let identifier = algorithm_identifier(&mut reader)?;
    let Some(private_key) = reader.expect(der::OCTET_STRING) else {
        return malformed("PKCS#8");
    };
    match identifier.oid {
        RSA_ENCRYPTION | RSASSA_PSS => {
            let (bits, exponent) = rsa_private_numbers(private_key)?;
            let algorithm = if identifier.oid == RSA_ENCRYPTION {
                Algorithm::Rsa
            } else {
                Algorithm::RsaPss
            };
            let der = pkcs8_of(&identifier.encoded, private_key);
            Ok(rsa_key(true, algorithm, der, bits, exponent))
        }
        EC_PUBLIC_KEY => {
            let curve = identifier.parameter.map(Curve::from_oid).transpose()?;
            let (curve, scalar, point) = sec1(private_key, curve)?;
            Ok(ec_private(curve, scalar, point))
        }
        _ => refuse("unsupported key type: RSA, RSA-PSS and EC (P-256, P-384) keys are offered"),
    }
}

/// An EC private key in its PKCS#8 form, from the parts of its SEC1 form.
fn ec_private(curve: Curve, scalar: &[u8], point: &[u8]) -> Key {
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    let sec1 = der::sequence(&[
        &der::element(der::INTEGER, &[1]),
        &der::element(der::OCTET_STRING, scalar),
        &der::element(der::CONTEXT_1, &der::element(der::BIT_STRING, &bits)),
    ]);
    Key {
        private: true,
        algorithm: Algorithm::Ec(curve),
        der: pkcs8_of(&ec_algorithm_identifier(curve), &sec1),
        modulus_bits: None,
        public_exponent: None,
    }
}

/// SEC1's `ECPrivateKey`: the curve (from the key, else `known` from PKCS#8), the
/// private scalar and the public point.
fn sec1(bytes: &[u8], known: Option<Curve>) -> Result<(Curve, &[u8], &[u8]), KeyError> {
    let mut outer = Reader::new(bytes);
    let Some(content) = outer.expect(der::SEQUENCE) else {
        return malformed("EC private key");
    };
    let mut reader = Reader::new(content);
    let (Some(_version), Some(scalar)) = (
        reader.expect(der::INTEGER),
        reader.expect(der::OCTET_STRING),
    ) else {
        return malformed("EC private key");
    };
    let curve = match reader.optional(der::CONTEXT_0) {
        Some(parameters) => match Reader::new(parameters).expect(der::OID) {
            Some(oid) => Curve::from_oid(oid)?,
            None => return malformed("EC private key"),
        },
        None => match known {
            Some(curve) => curve,
            None => return refuse("the EC private key does not name its curve"),
        },
    };
    let point = reader
        .optional(der::CONTEXT_1)
        .and_then(|wrapped| Reader::new(wrapped).expect(der::BIT_STRING))
        .and_then(|bits| bits.split_first())
        .map(|(_, point)| point);
    let Some(point) = point else {
        return refuse(
            "EC private keys without their public key are not supported in the Weir sandbox",
        );
    };
    Ok((curve, scalar, point))
}

/// PKCS#1 `RSAPrivateKey`: the modulus in bits and the public exponent.
fn rsa_private_numbers(bytes: &[u8]) -> Result<(usize, u64), KeyError> {
    let mut outer = Reader::new(bytes);
    let mut reader = Reader::new(
        outer
            .expect(der::SEQUENCE)
            .map_or_else(|| malformed("RSA private key"), Ok)?,
    );
    let (Some(_version), Some(modulus), Some(exponent)) = (
        reader.expect(der::INTEGER),
        reader.expect(der::INTEGER),
        reader.expect(der::INTEGER),
    ) else {
        return malformed("RSA private key");
    };
    Ok((bits(modulus), exponent_of(exponent)?))
}

/// PKCS#1 `RSAPublicKey`: the modulus in bits and the public exponent.
fn rsa_public_numbers(bytes: &[u8]) -> Result<(usize, u64), KeyError> {
    let mut outer = Reader::new(bytes);
    let mut reader = Reader::new(
        outer
            .expect(der::SEQUENCE)
            .map_or_else(|| malformed("RSA public key"), Ok)?,
    );
    let (Some(modulus), Some(exponent)) =
        (reader.expect(der::INTEGER), reader.expect(der::INTEGER))
    else {
        return malformed("RSA public key");
    };
    Ok((bits(modulus), exponent_of(exponent)?))
}

fn bits(integer: &[u8]) -> usize {
    let digits = der::unsigned(integer);
    match digits.first() {
        None | Some(0) => 0,
        Some(first) => (digits.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

fn exponent_of(integer: &[u8]) -> Result<u64, KeyError> {
    let digits = der::unsigned(integer);
    if digits.len() > 8 {
        return refuse("the RSA public exponent is too large");
    }
    Ok(digits
        .iter()
        .fold(0u64, |value, digit| (value << 8) | u64::from(*digit)))
}

fn spki(bytes: &[u8]) -> Result<Key, KeyError> {
    let (identifier, public_key) = spki_parts(bytes)?;
    let der = spki_of(&identifier.encoded, public_key);
    match identifier.oid {
        RSA_ENCRYPTION | RSASSA_PSS => {
            let (bits, exponent) = rsa_public_numbers(public_key)?;
            let algorithm = if identifier.oid == RSA_ENCRYPTION {
                Algorithm::Rsa
            } else {
                Algorithm::RsaPss
            };
            Ok(rsa_key(false, algorithm, der, bits, exponent))
        }
        EC_PUBLIC_KEY => {
            let Some(curve) = identifier.parameter else {
                return refuse("the EC public key does not name its curve");
            };
            Ok(Key {
                private: false,
                algorithm: Algorithm::Ec(Curve::from_oid(curve)?),
                der,
                modulus_bits: None,
                public_exponent: None,
            })
        }
        _ => refuse("unsupported key type: RSA, RSA-PSS and EC (P-256, P-384) keys are offered"),
    }
}

/// `SubjectPublicKeyInfo`: the algorithm's identifier, and the key's bytes (the BIT
/// STRING without its unused-bits byte).
fn spki_parts(bytes: &[u8]) -> Result<(Identifier<'_>, &[u8]), KeyError> {
    let mut outer = Reader::new(bytes);
    let Some(content) = outer.expect(der::SEQUENCE) else {
        return malformed("SubjectPublicKeyInfo");
    };
    let mut reader = Reader::new(content);
    let identifier = algorithm_identifier(&mut reader)?;
    let Some((_, key)) = reader.expect(der::BIT_STRING).and_then(<[u8]>::split_first) else {
        return malformed("SubjectPublicKeyInfo");
    };
    Ok((identifier, key))
}

/// The public key of an X.509 certificate (its signature is not checked: this is about
/// the key, as Node's `createPublicKey(certificate)` is).
fn certificate(bytes: &[u8]) -> Result<Key, KeyError> {
    let tbs = Reader::new(bytes)
        .expect(der::SEQUENCE)
        .and_then(|certificate| Reader::new(certificate).expect(der::SEQUENCE));
    let Some(tbs) = tbs else {
        return malformed("X.509 certificate");
    };
    let mut reader = Reader::new(tbs);
    reader.optional(der::CONTEXT_0);
    // serialNumber, signature, issuer, validity, subject, then the key.
    let skipped = [
        der::INTEGER,
        der::SEQUENCE,
        der::SEQUENCE,
        der::SEQUENCE,
        der::SEQUENCE,
    ]
    .iter()
    .all(|tag| reader.expect(*tag).is_some());
    let key = reader.any().filter(|(tag, _)| *tag == der::SEQUENCE);
    match (skipped, key) {
        (true, Some((_, content))) => spki(&der::element(der::SEQUENCE, content)),
        _ => malformed("X.509 certificate"),
    }
}

/// The public half of a private key.
fn public_of(key: &Key) -> Result<Key, KeyError> {
    let (identifier, private_key) = private_parts(&key.der)?;
    let der = match key.algorithm {
        Algorithm::Rsa | Algorithm::RsaPss => {
            let mut reader = Reader::new(
                Reader::new(private_key)
                    .expect(der::SEQUENCE)
                    .map_or_else(|| malformed("RSA private key"), Ok)?,
            );
            let (Some(_), Some(modulus), Some(exponent)) = (
                reader.expect(der::INTEGER),
                reader.expect(der::INTEGER),
                reader.expect(der::INTEGER),
            ) else {
                return malformed("RSA private key");
            };
            let public = der::sequence(&[
                &der::element(der::INTEGER, modulus),
                &der::element(der::INTEGER, exponent),
            ]);
            spki_of(&identifier, &public)
        }
        Algorithm::Ec(curve) => {
            let (_, _, point) = sec1(private_key, Some(curve))?;
            spki_of(&identifier, point)
        }
    };
    Ok(Key {
        private: false,
        der,
        ..key.clone()
    })
}

/// A PKCS#8 key's `AlgorithmIdentifier` (encoded) and private key bytes.
fn private_parts(pkcs8: &[u8]) -> Result<(Vec<u8>, &[u8]), KeyError> {
    let mut reader = Reader::new(
        Reader::new(pkcs8)
            .expect(der::SEQUENCE)
            .map_or_else(|| malformed("PKCS#8"), Ok)?,
    );
    reader.expect(der::INTEGER);
    let identifier = algorithm_identifier(&mut reader)?.encoded;
    let Some(private_key) = reader.expect(der::OCTET_STRING) else {
        return malformed("PKCS#8");
    };
    Ok((identifier, private_key))
}

/// The digests signatures are made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// The signature of `data` with the private key `key` (its PKCS#8 form): PKCS#1 v1.5,
/// or PSS (`pss`, salt as long as the digest) for RSA; DER-encoded ECDSA, as Node gives.
pub(crate) fn sign(key: &Key, digest: Digest, pss: bool, data: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (_, private_key) = private_parts(&key.der)?;
    let rng = SystemRandom::new();
    match key.algorithm {
        Algorithm::Rsa | Algorithm::RsaPss => {
            let padding: &'static dyn signature::RsaEncoding =
                match (digest, pss || key.algorithm == Algorithm::RsaPss) {
                    (Digest::Sha256, false) => &signature::RSA_PKCS1_SHA256,
                    (Digest::Sha384, false) => &signature::RSA_PKCS1_SHA384,
                    (Digest::Sha512, false) => &signature::RSA_PKCS1_SHA512,
                    (Digest::Sha256, true) => &signature::RSA_PSS_SHA256,
                    (Digest::Sha384, true) => &signature::RSA_PSS_SHA384,
                    (Digest::Sha512, true) => &signature::RSA_PSS_SHA512,
                    (Digest::Sha1, _) => {
                        return refuse(
                            "RSA signatures over SHA-1 are not offered: use SHA-256 or longer",
                        );
                    }
                };
            let pair = RsaKeyPair::from_der(private_key).map_err(|e| {
                KeyError(format!(
                    "the RSA key cannot sign: {e} (ring signs with keys of 2048 to 4096 bits)"
                ))
            })?;
            let mut signature = vec![0; pair.public().modulus_len()];
            pair.sign(padding, &rng, data, &mut signature)
                .map_err(|_| KeyError("RSA signing failed".into()))?;
            Ok(signature)
        }
        Algorithm::Ec(curve) => {
            let algorithm = match (curve, digest) {
                (Curve::P256, Digest::Sha256) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                (Curve::P384, Digest::Sha384) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                _ => {
                    return refuse(
                        "ECDSA signs P-256 keys over SHA-256 and P-384 keys over SHA-384 only",
                    );
                }
            };
            let (_, scalar, point) = sec1(private_key, Some(curve))?;
            let pair =
                EcdsaKeyPair::from_private_key_and_public_key(algorithm, scalar, point, &rng)
                    .map_err(|e| KeyError(format!("the EC key cannot sign: {e}")))?;
            let signature = pair
                .sign(&rng, data)
                .map_err(|_| KeyError("ECDSA signing failed".into()))?;
            Ok(signature.as_ref().to_vec())
        }
    }
}

/// Whether `signature` is `key`'s (its SPKI form) over `data`.
pub(crate) fn verify(
    key: &Key,
    digest: Digest,
    pss: bool,
    data: &[u8],
    signature_bytes: &[u8],
) -> Result<bool, KeyError> {
    let (_, public_key) = spki_parts(&key.der)?;
    let algorithm: &'static dyn signature::VerificationAlgorithm = match key.algorithm {
        Algorithm::Rsa | Algorithm::RsaPss => {
            match (digest, pss || key.algorithm == Algorithm::RsaPss) {
                (Digest::Sha1, false) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (Digest::Sha256, false) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (Digest::Sha384, false) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (Digest::Sha512, false) => &signature::RSA_PKCS1_2048_8192_SHA512,
                (Digest::Sha256, true) => &signature::RSA_PSS_2048_8192_SHA256,
                (Digest::Sha384, true) => &signature::RSA_PSS_2048_8192_SHA384,
                (Digest::Sha512, true) => &signature::RSA_PSS_2048_8192_SHA512,
                (Digest::Sha1, true) => return refuse("RSA-PSS over SHA-1 is not offered"),
            }
        }
        Algorithm::Ec(curve) => match (curve, digest) {
            (Curve::P256, Digest::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, Digest::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P384, Digest::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, Digest::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
            _ => return refuse("ECDSA verifies over SHA-256 and SHA-384 only"),
        },
    };
    Ok(UnparsedPublicKey::new(algorithm, public_key)
        .verify(data, signature_bytes)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit RSA key made with `openssl genpkey -algorithm RSA` for these tests.
    pub(crate) const RSA_PKCS8: &str = include_str!("test_keys/rsa_pkcs8.pem");
    pub(crate) const RSA_PKCS1: &str = include_str!("test_keys/rsa_pkcs1.pem");
    pub(crate) const RSA_SPKI: &str = include_str!("test_keys/rsa_spki.pem");
    pub(crate) const EC_SEC1: &str = include_str!("test_keys/ec_sec1.pem");
    pub(crate) const EC_SPKI: &str = include_str!("test_keys/ec_spki.pem");
    pub(crate) const CERTIFICATE: &str = include_str!("test_keys/rsa_cert.pem");

    #[test]
    fn an_rsa_key_in_any_form_is_the_same_key() {
        let pkcs8 = import(Given::Pem(RSA_PKCS8), Wanted::Private).unwrap();
        let pkcs1 = import(Given::Pem(RSA_PKCS1), Wanted::Private).unwrap();
        assert_eq!(pkcs8, pkcs1);
        assert_eq!(
            (pkcs8.modulus_bits, pkcs8.public_exponent),
            (Some(2048), Some(65537))
        );
        let public = import(Given::Pem(RSA_SPKI), Wanted::Public).unwrap();
        assert_eq!(
            import(Given::Pem(RSA_PKCS8), Wanted::Public).unwrap(),
            public
        );
        assert_eq!(
            import(Given::Pem(CERTIFICATE), Wanted::Public).unwrap(),
            public
        );
        assert_eq!(
            import(Given::Der(&public.der, "spki"), Wanted::Public).unwrap(),
            public
        );
    }

    #[test]
    fn rsa_signatures_verify_with_the_public_key_only() {
        let private = import(Given::Pem(RSA_PKCS8), Wanted::Private).unwrap();
        let public = import(Given::Pem(RSA_SPKI), Wanted::Public).unwrap();
        for pss in [false, true] {
            for digest in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
                let signature = sign(&private, digest, pss, b"payload").unwrap();
                assert_eq!(signature.len(), 256);
                assert!(verify(&public, digest, pss, b"payload", &signature).unwrap());
                assert!(!verify(&public, digest, pss, b"payloaD", &signature).unwrap());
            }
        }
        // PKCS#1 v1.5 is deterministic: the same signature every time.
        let once = sign(&private, Digest::Sha256, false, b"x").unwrap();
        assert_eq!(once, sign(&private, Digest::Sha256, false, b"x").unwrap());
    }

    #[test]
    fn ec_keys_sign_and_verify() {
        let private = import(Given::Pem(EC_SEC1), Wanted::Private).unwrap();
        assert_eq!(private.algorithm, Algorithm::Ec(Curve::P256));
        let public = import(Given::Pem(EC_SPKI), Wanted::Public).unwrap();
        assert_eq!(import(Given::Pem(EC_SEC1), Wanted::Public).unwrap(), public);
        let signature = sign(&private, Digest::Sha256, false, b"payload").unwrap();
        assert!(verify(&public, Digest::Sha256, false, b"payload", &signature).unwrap());
        assert!(sign(&private, Digest::Sha512, false, b"payload").is_err());
    }

    #[test]
    fn what_is_not_a_usable_key_says_why() {
        let error = |given, wanted| import(given, wanted).unwrap_err().0;
        assert!(
            error(Given::Pem("my-shared-secret"), Wanted::Private).contains("not in PEM format")
        );
        assert!(error(Given::Pem(RSA_SPKI), Wanted::Private).contains("a private key is needed"));
        assert!(error(Given::Pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"), Wanted::Private).contains("passphrase"));
        assert!(
            error(
                Given::Pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
                Wanted::Private
            )
            .contains("PKCS#8")
        );
        assert!(error(Given::Der(b"\x30\x00", "jwk"), Wanted::Private).contains("jwk"));
    }
}
