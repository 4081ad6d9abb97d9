// `crypto`: hashes (md5, sha1, sha224, sha256, sha384, sha512), HMAC, PBKDF2, random
// bytes and UUIDs, timingSafeEqual, keys (KeyObject from PEM or DER; RSA, RSA-PSS, EC
// P-256/P-384) and signatures (RSA PKCS#1 v1.5 and PSS, ECDSA), which is what
// `jsonwebtoken` and webhook-signature checks need. The work is the natives' (RustCrypto
// and ring). Ciphers, key generation and Diffie-Hellman are not offered: they throw,
// saying so.
'use strict';
const { natives } = internal;
const errors = require('internal/errors');

const HASHES = new Set(natives.hashes);
const KEY_OBJECT = Symbol.for('weir.keyObject');
const constructing = Symbol('constructing');

const constants = {
  RSA_PKCS1_PADDING: 1, RSA_NO_PADDING: 3, RSA_PKCS1_OAEP_PADDING: 4, RSA_X931_PADDING: 5,
  RSA_PKCS1_PSS_PADDING: 6, RSA_PSS_SALTLEN_DIGEST: -1, RSA_PSS_SALTLEN_MAX_SIGN: -2,
  RSA_PSS_SALTLEN_AUTO: -2, POINT_CONVERSION_COMPRESSED: 2, POINT_CONVERSION_UNCOMPRESSED: 4,
  POINT_CONVERSION_HYBRID: 6, defaultCoreCipherList: '', defaultCipherList: '',
};

// 'RSA-SHA256', 'SHA256', 'sha-256', 'ecdsa-with-SHA256' → 'sha256'.
function digestName(name) {
  const normal = String(name).toLowerCase().replace(/^rsa-/, '').replace(/^ecdsa-with-/, '').replace(/-/g, '');
  return HASHES.has(normal) ? normal : null;
}

function bytesOf(data, encoding, name = 'data') {
  if (typeof data === 'string') return Buffer.from(data, encoding || 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw errors.invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function encoded(bytes, encoding) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding && encoding !== 'buffer' ? buffer.toString(encoding) : buffer;
}

function concat(chunks) {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

// --- Hash and Hmac: input is gathered, then hashed once by the natives at digest().
function Digestor(kind, algorithm, key) {
  this._kind = kind;
  this._algorithm = algorithm;
  this._key = key;
  this._chunks = [];
  this._done = false;
}
Digestor.prototype.update = function update(data, inputEncoding) {
  if (this._done) throw errors.coded(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
  this._chunks.push(Buffer.from(bytesOf(data, inputEncoding)));
  return this;
};
Digestor.prototype.digest = function digest(outputEncoding) {
  if (this._done) throw errors.coded(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
  this._done = true;
  const data = concat(this._chunks);
  this._chunks = [];
  const out = this._kind === 'hmac'
    ? natives.hmac(this._algorithm, this._key, data)
    : natives.hash(this._algorithm, data);
  return encoded(out, outputEncoding);
};
// Hash and Hmac are written to as streams too.
Digestor.prototype.write = function write(data, encoding, callback) {
  this.update(data, typeof encoding === 'string' ? encoding : undefined);
  const done = typeof encoding === 'function' ? encoding : callback;
  if (done) process.nextTick(done);
  return true;
};
Digestor.prototype.end = function end(data, encoding) {
  if (data !== undefined && typeof data !== 'function') this.update(data, encoding);
  this._result = this.digest();
  return this;
};
Digestor.prototype.read = function read() {
  const result = this._result;
  this._result = null;
  return result === undefined ? null : result;
};
Digestor.prototype.on = function on() { return this; };
Digestor.prototype.once = Digestor.prototype.on;
Digestor.prototype.emit = function emit() { return false; };

function Hash(algorithm) {
  Digestor.call(this, 'hash', algorithm, null);
}
Object.setPrototypeOf(Hash.prototype, Digestor.prototype);
Hash.prototype.copy = function copy() {
  if (this._done) throw errors.coded(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
  const twin = new Hash(this._algorithm);
  twin._chunks = this._chunks.slice();
  return twin;
};

function Hmac(algorithm, key) {
  Digestor.call(this, 'hmac', algorithm, key);
}
Object.setPrototypeOf(Hmac.prototype, Digestor.prototype);

function unsupportedDigest(algorithm) {
  return errors.coded(Error, 'ERR_CRYPTO_INVALID_DIGEST',
    `Digest method not supported: ${algorithm} (the Weir sandbox offers ${[...HASHES].join(', ')})`);
}

function createHash(algorithm) {
  const name = digestName(algorithm);
  if (!name) throw unsupportedDigest(algorithm);
  return new Hash(name);
}

function secretBytes(key, encoding) {
  if (key instanceof KeyObject) {
    if (key.type !== 'secret') throw errors.invalidArgValue('key', key, 'must be a secret key');
    return key._bytes;
  }
  return bytesOf(key, encoding, 'key');
}

function createHmac(algorithm, key, options) {
  const name = digestName(algorithm);
  if (!name) throw unsupportedDigest(algorithm);
  return new Hmac(name, Buffer.from(secretBytes(key, options && options.encoding)));
}

// --- Random.
function randomBytes(size, callback) {
  if (typeof size !== 'number' || !(size >= 0 && size <= 2 ** 31 - 1)) {
    throw errors.outOfRange('size', '>= 0 && <= 2147483647', size);
  }
  const bytes = natives.randomBytes(Math.floor(size));
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (typeof callback === 'function') {
    process.nextTick(callback, null, buffer);
    return undefined;
  }
  return buffer;
}

function randomFillSync(target, offset = 0, size) {
  const view = ArrayBuffer.isView(target) ? new Uint8Array(target.buffer, target.byteOffset, target.byteLength)
    : target instanceof ArrayBuffer ? new Uint8Array(target) : null;
  if (!view) throw errors.invalidArgType('buf', 'an instance of ArrayBuffer or ArrayBufferView', target);
  const length = size === undefined ? view.length - offset : size;
  if (offset < 0 || length < 0 || offset + length > view.length) throw errors.outOfRange('offset + size', `<= ${view.length}`, offset + length);
  view.set(natives.randomBytes(length), offset);
  return target;
}

function randomFill(target, offset, size, callback) {
  if (typeof offset === 'function') {
    callback = offset;
    offset = 0;
    size = undefined;
  } else if (typeof size === 'function') {
    callback = size;
    size = undefined;
  }
  randomFillSync(target, offset, size);
  process.nextTick(callback, null, target);
}

function randomUUID() {
  const bytes = natives.randomBytes(16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = natives.hexEncode(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function randomInt(min, max, callback) {
  if (typeof max === 'function' || max === undefined) {
    callback = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 2 ** 48) {
    throw errors.outOfRange('max', `greater than min and max - min <= 2^48`, max);
  }
  const range = max - min;
  const limit = 2 ** 48 - (2 ** 48 % range);
  let value;
  do {
    const bytes = natives.randomBytes(6);
    value = bytes.reduce((sum, byte) => sum * 256 + byte, 0);
  } while (value >= limit);
  const result = min + (value % range);
  if (typeof callback === 'function') {
    process.nextTick(callback, null, result);
    return undefined;
  }
  return result;
}

function getRandomValues(array) {
  if (!ArrayBuffer.isView(array) || array instanceof DataView || array instanceof Float32Array || array instanceof Float64Array) {
    throw errors.coded(TypeError, 'ERR_INVALID_ARG_TYPE', 'The data argument must be an integer-type TypedArray');
  }
  if (array.byteLength > 65536) {
    const error = new Error(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`);
    error.name = 'QuotaExceededError';
    throw error;
  }
  randomFillSync(array);
  return array;
}

function timingSafeEqual(a, b) {
  const x = bytesOf(a, undefined, 'buf1');
  const y = bytesOf(b, undefined, 'buf2');
  if (x.byteLength !== y.byteLength) {
    throw errors.coded(RangeError, 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH', 'Input buffers must have the same byte length');
  }
  let difference = 0;
  for (let i = 0; i < x.length; i += 1) difference |= x[i] ^ y[i];
  return difference === 0;
}

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const name = digestName(digest);
  if (!name) throw unsupportedDigest(digest);
  const out = natives.pbkdf2(name, bytesOf(password, undefined, 'password'), bytesOf(salt, undefined, 'salt'), iterations, keylen);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  let result;
  let failure = null;
  try {
    result = pbkdf2Sync(password, salt, iterations, keylen, digest);
  } catch (error) {
    failure = error;
  }
  process.nextTick(() => callback(failure, result));
}

// --- Keys.
function pem(label, der) {
  const base64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

class KeyObject {
  constructor(type, handle, token) {
    if (token !== constructing) {
      throw errors.coded(TypeError, 'ERR_INVALID_ARG_TYPE', 'KeyObject instances are made by createSecretKey, createPublicKey and createPrivateKey');
    }
    this._type = type;
    if (type === 'secret') this._bytes = handle;
    else this._key = handle;
    Object.defineProperty(this, KEY_OBJECT, { value: true });
  }
  static from() {
    throw errors.notAvailable('KeyObject.from()', 'Web Crypto keys are not offered');
  }
  get type() { return this._type; }
  get symmetricKeySize() { return this._type === 'secret' ? this._bytes.length : undefined; }
  get asymmetricKeyType() { return this._type === 'secret' ? undefined : this._key.asymmetricKeyType; }
  get asymmetricKeyDetails() {
    if (this._type === 'secret') return undefined;
    const key = this._key;
    if (key.asymmetricKeyType === 'ec') return { namedCurve: key.namedCurve };
    return { modulusLength: key.modulusLength, publicExponent: BigInt(key.publicExponent) };
  }
  export(options = {}) {
    if (this._type === 'secret') {
      if (options && options.format === 'jwk') return { kty: 'oct', k: Buffer.from(this._bytes).toString('base64url') };
      return Buffer.from(this._bytes);
    }
    const format = (options && options.format) || 'pem';
    const type = options && options.type;
    const wanted = this._type === 'private' ? 'pkcs8' : 'spki';
    if (options && (options.cipher || options.passphrase)) {
      throw errors.notAvailable('Exporting an encrypted private key', 'ciphers are not offered');
    }
    if (type && type !== wanted) {
      throw errors.notAvailable(`Exporting a ${this._type} key as ${type}`, `keys are exported as ${wanted}`);
    }
    const der = Buffer.from(this._key.der);
    if (format === 'der') return der;
    if (format === 'pem') return pem(this._type === 'private' ? 'PRIVATE KEY' : 'PUBLIC KEY', der);
    throw errors.notAvailable(`Exporting keys as ${format}`, 'keys are exported as pem or der');
  }
  equals(other) {
    if (!(other instanceof KeyObject) || other.type !== this.type) return false;
    const a = this._type === 'secret' ? this._bytes : this._key.der;
    const b = other._type === 'secret' ? other._bytes : other._key.der;
    return a.length === b.length && timingSafeEqual(a, b);
  }
  get [Symbol.toStringTag]() { return 'KeyObject'; }
}
class SecretKeyObject extends KeyObject {}
class PublicKeyObject extends KeyObject {}
class PrivateKeyObject extends KeyObject {}

function createSecretKey(key, encoding) {
  const bytes = typeof key === 'string' ? Buffer.from(key, encoding || 'utf8') : Buffer.from(bytesOf(key, undefined, 'key'));
  return new SecretKeyObject('secret', bytes, constructing);
}

// The key material and how it was given: `key` (PEM text or DER bytes) and its DER type.
function keyInput(key, wanted) {
  if (key instanceof KeyObject) return { keyObject: key };
  let options = key;
  if (typeof key === 'string' || key instanceof Uint8Array || ArrayBuffer.isView(key)) options = { key };
  if (options === null || typeof options !== 'object') {
    throw errors.invalidArgType('key', 'of type string or an instance of Buffer, KeyObject, or an object', key);
  }
  if (options.passphrase !== undefined && options.passphrase !== null) {
    throw errors.notAvailable('Keys with a passphrase', 'encrypted private keys are not offered');
  }
  if (options.format === 'jwk') throw errors.notAvailable('JWK keys', 'give the key as PEM or DER');
  const material = options.key;
  if (material instanceof KeyObject) return { keyObject: material };
  if (options.format === 'der') {
    return { input: bytesOf(material, undefined, 'key'), type: options.type || (wanted === 'public' ? 'spki' : 'pkcs8') };
  }
  if (typeof material === 'string') return { input: material, type: '' };
  return { input: Buffer.from(bytesOf(material, options.encoding, 'key')).toString('latin1'), type: '' };
}

function imported(description) {
  const Kind = description.type === 'private' ? PrivateKeyObject : PublicKeyObject;
  return new Kind(description.type, description, constructing);
}

function keyFailure(error) {
  const failure = new Error(error.message);
  failure.code = 'ERR_OSSL_UNSUPPORTED';
  failure.library = 'DECODER routines';
  return failure;
}

function createPrivateKey(key) {
  const given = keyInput(key, 'private');
  if (given.keyObject) {
    if (given.keyObject.type !== 'private') throw errors.invalidArgValue('key', given.keyObject, 'must be a private key');
    return given.keyObject;
  }
  try {
    return imported(natives.keyImport(given.input, given.type, 'private'));
  } catch (error) {
    throw keyFailure(error);
  }
}

function createPublicKey(key) {
  const given = keyInput(key, 'public');
  if (given.keyObject) {
    const object = given.keyObject;
    if (object.type === 'public') return object;
    if (object.type !== 'private') throw errors.invalidArgValue('key', object, 'must be an asymmetric key');
    return imported(natives.keyImport(object._key.der, 'pkcs8', 'public'));
  }
  try {
    return imported(natives.keyImport(given.input, given.type, 'public'));
  } catch (error) {
    throw keyFailure(error);
  }
}

// --- Signatures.
// ECDSA signatures as DER (Node's default) or as r‖s (`dsaEncoding: 'ieee-p1363'`).
function derToP1363(der, size) {
  let at = 2;
  if (der[1] & 0x80) at = 2 + (der[1] & 0x7f);
  const integer = () => {
    const length = der[at + 1];
    let value = der.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    const out = Buffer.alloc(size);
    out.set(value, size - value.length);
    return out;
  };
  return Buffer.concat([integer(), integer()]);
}

function p1363ToDer(raw) {
  const half = raw.length / 2;
  const integer = (bytes) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
    let value = bytes.subarray(start);
    if (value[0] & 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return Buffer.concat([Buffer.from([0x02, value.length]), value]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), length, body]);
}

const curveSize = { prime256v1: 32, secp384r1: 48 };

function signWith(algorithm, data, key) {
  const options = key !== null && typeof key === 'object' && !(key instanceof KeyObject) && !ArrayBuffer.isView(key) ? key : {};
  const object = key instanceof KeyObject && key.type === 'private' ? key : createPrivateKey(key);
  const name = algorithm === null || algorithm === undefined ? 'sha256' : digestName(algorithm);
  if (!name) throw unsupportedDigest(algorithm);
  const pss = options.padding === constants.RSA_PKCS1_PSS_PADDING;
  let signature = Buffer.from(natives.keySign(object._key.der, name, pss, data));
  if (object.asymmetricKeyType === 'ec' && options.dsaEncoding === 'ieee-p1363') {
    signature = derToP1363(signature, curveSize[object._key.namedCurve]);
  }
  return signature;
}

function verifyWith(algorithm, data, key, signature) {
  const options = key !== null && typeof key === 'object' && !(key instanceof KeyObject) && !ArrayBuffer.isView(key) ? key : {};
  const object = key instanceof KeyObject && key.type === 'public' ? key : createPublicKey(key);
  const name = algorithm === null || algorithm === undefined ? 'sha256' : digestName(algorithm);
  if (!name) throw unsupportedDigest(algorithm);
  const pss = options.padding === constants.RSA_PKCS1_PSS_PADDING;
  let sig = Buffer.from(signature);
  if (object.asymmetricKeyType === 'ec' && options.dsaEncoding === 'ieee-p1363') sig = p1363ToDer(sig);
  return natives.keyVerify(object._key.der, name, pss, data, sig);
}

function Sign(algorithm) {
  if (!digestName(algorithm)) throw unsupportedDigest(algorithm);
  this._algorithm = algorithm;
  this._chunks = [];
}
Sign.prototype.update = function update(data, encoding) {
  this._chunks.push(Buffer.from(bytesOf(data, encoding)));
  return this;
};
Sign.prototype.write = function write(data, encoding) {
  this.update(data, encoding);
  return true;
};
Sign.prototype.end = function end(data, encoding) {
  if (data !== undefined) this.update(data, encoding);
  return this;
};
Sign.prototype.sign = function sign(key, outputEncoding) {
  const signature = signWith(this._algorithm, concat(this._chunks), key);
  return outputEncoding && outputEncoding !== 'buffer' ? signature.toString(outputEncoding) : signature;
};

function Verify(algorithm) {
  Sign.call(this, algorithm);
}
Object.setPrototypeOf(Verify.prototype, Sign.prototype);
Verify.prototype.sign = undefined;
Verify.prototype.verify = function verify(key, signature, signatureEncoding) {
  const sig = typeof signature === 'string' ? Buffer.from(signature, signatureEncoding || 'utf8') : bytesOf(signature, undefined, 'signature');
  return verifyWith(this._algorithm, concat(this._chunks), key, sig);
};

function oneShot(run, callback) {
  if (typeof callback !== 'function') return run();
  let result;
  let failure = null;
  try {
    result = run();
  } catch (error) {
    failure = error;
  }
  process.nextTick(() => callback(failure, result));
  return undefined;
}

// --- What is not offered: each throws, naming itself.
const CIPHERS = 'ciphers, key generation and key agreement are not offered; hashes, HMAC, signatures and random bytes are';
const notOffered = (name) => () => {
  throw errors.notAvailable(`crypto.${name}()`, CIPHERS);
};

// --- Web Crypto: random values, UUIDs and digests.
const subtle = {
  digest(algorithm, data) {
    const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
    const digest = digestName(name);
    if (!digest || digest === 'md5' || digest === 'sha224') {
      return Promise.reject(errors.notAvailable(`crypto.subtle.digest(${name})`, 'SHA-1, SHA-256, SHA-384 and SHA-512 are offered'));
    }
    const out = natives.hash(digest, bytesOf(data));
    return Promise.resolve(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  },
};
for (const name of ['encrypt', 'decrypt', 'sign', 'verify', 'generateKey', 'deriveKey', 'deriveBits',
  'importKey', 'exportKey', 'wrapKey', 'unwrapKey']) {
  subtle[name] = () => Promise.reject(errors.notAvailable(`crypto.subtle.${name}()`, 'Web Crypto keys are not offered; use createHmac, createSign and createVerify'));
}
const webcrypto = { getRandomValues, randomUUID, subtle, CryptoKey: class CryptoKey {} };

module.exports = {
  constants,
  createHash,
  createHmac,
  Hash,
  Hmac,
  hash: (algorithm, data, outputEncoding = 'hex') => createHash(algorithm).update(data).digest(outputEncoding),
  getHashes: () => [...HASHES, ...['RSA-SHA1', 'RSA-SHA256', 'RSA-SHA384', 'RSA-SHA512']],
  getCiphers: () => [],
  getCurves: () => ['prime256v1', 'secp384r1'],
  randomBytes,
  pseudoRandomBytes: randomBytes,
  prng: randomBytes,
  rng: randomBytes,
  randomFill,
  randomFillSync,
  randomUUID,
  randomInt,
  getRandomValues,
  timingSafeEqual,
  pbkdf2,
  pbkdf2Sync,
  KeyObject,
  createSecretKey,
  createPrivateKey,
  createPublicKey,
  createSign: (algorithm) => new Sign(algorithm),
  createVerify: (algorithm) => new Verify(algorithm),
  Sign,
  Verify,
  sign: (algorithm, data, key, callback) => oneShot(() => signWith(algorithm, bytesOf(data), key), callback),
  verify: (algorithm, data, key, signature, callback) => oneShot(
    () => verifyWith(algorithm, bytesOf(data), key, bytesOf(signature, undefined, 'signature')), callback),
  createCipheriv: notOffered('createCipheriv'),
  createDecipheriv: notOffered('createDecipheriv'),
  createCipher: notOffered('createCipher'),
  createDecipher: notOffered('createDecipher'),
  createECDH: notOffered('createECDH'),
  createDiffieHellman: notOffered('createDiffieHellman'),
  getDiffieHellman: notOffered('getDiffieHellman'),
  generateKeyPair: notOffered('generateKeyPair'),
  generateKeyPairSync: notOffered('generateKeyPairSync'),
  generateKey: notOffered('generateKey'),
  generateKeySync: notOffered('generateKeySync'),
  publicEncrypt: notOffered('publicEncrypt'),
  privateDecrypt: notOffered('privateDecrypt'),
  privateEncrypt: notOffered('privateEncrypt'),
  publicDecrypt: notOffered('publicDecrypt'),
  scrypt: notOffered('scrypt'),
  scryptSync: notOffered('scryptSync'),
  hkdf: notOffered('hkdf'),
  hkdfSync: notOffered('hkdfSync'),
  diffieHellman: notOffered('diffieHellman'),
  getFips: () => 0,
  setFips: notOffered('setFips'),
  webcrypto,
  subtle,
};
