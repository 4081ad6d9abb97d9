//! Byte encodings as `Buffer` reads and writes them: base64 (both alphabets), hex.
//! UTF-8 is Rust's own (`String::from_utf8_lossy` substitutes as the WHATWG decoder
//! does); latin1, ASCII and UTF-16 are simple enough to stay in JavaScript.
//!
//! Node's decoders are lenient, and apps rely on it: base64 accepts either alphabet,
//! skips whitespace and anything else outside them, and ends at `=`; hex stops at the
//! first pair that is not hex.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 text of `bytes`: padded with `=` in the standard alphabet, unpadded in the
/// URL-safe one (as Node's `base64url`).
pub(crate) fn base64_encode(bytes: &[u8], url_safe: bool) -> String {
    let alphabet = if url_safe { URL_SAFE } else { STANDARD };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |group, (i, byte)| {
            group | u32::from(*byte) << (16 - 8 * i)
        });
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(char::from(alphabet[(group >> (18 - 6 * i)) as usize & 63]));
            } else if !url_safe {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of base64 `text`, read as Node reads it.
pub(crate) fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut group, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        group = (group << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((group >> bits) as u8);
            group &= (1 << bits) - 1;
        }
    }
    out
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// The bytes of hex `text`, up to the first pair that is not two hex digits.
pub(crate) fn hex_decode(text: &str) -> Vec<u8> {
    let digit = |byte: u8| char::from(byte).to_digit(16);
    text.as_bytes()
        .chunks_exact(2)
        .map_while(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_in_both_alphabets() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let standard = base64_encode(text.as_bytes(), false);
            assert_eq!(base64_decode(&standard), text.as_bytes());
            let url = base64_encode(text.as_bytes(), true);
            assert_eq!(base64_decode(&url), text.as_bytes());
        }
        assert_eq!(base64_encode(b"foobar", false), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo", false), "Zm8=");
        assert_eq!(base64_encode(&[0xfb, 0xff], true), "-_8");
        assert_eq!(base64_encode(&[0xfb, 0xff], false), "+/8=");
    }

    #[test]
    fn base64_is_read_leniently_as_node_reads_it() {
        assert_eq!(base64_decode("Zm9v\nYmFy"), b"foobar");
        assert_eq!(base64_decode("Zm8=trailing"), b"fo");
        assert_eq!(base64_decode("-_8"), [0xfb, 0xff]);
        assert_eq!(base64_decode("Zm9v*YmFy"), b"foobar");
    }

    #[test]
    fn hex_stops_at_the_first_bad_pair() {
        assert_eq!(hex_encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff"), [0, 0xab, 0xff]);
        assert_eq!(hex_decode("0102zz03"), [1, 2]);
        assert_eq!(hex_decode("abc"), [0xab]);
    }
}
