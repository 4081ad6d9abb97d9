//! Just enough DER (the binary form of ASN.1) to read and write the key formats that
//! `crypto.createPrivateKey` and `createPublicKey` take: PKCS#8, PKCS#1, SEC1, SPKI and
//! the public key inside an X.509 certificate. Definite lengths only, as DER requires.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
/// `[0]` and `[1]`, constructed: SEC1's curve and public key, X.509's version.
pub(crate) const CONTEXT_0: u8 = 0xa0;
pub(crate) const CONTEXT_1: u8 = 0xa1;

/// A cursor over DER elements, each read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// The next element's tag, without reading it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element: its tag and its content.
    pub(crate) fn any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, after_tag) = self.rest.split_first()?;
        let (&first, after_length) = after_tag.split_first()?;
        let (length, content) = if first < 0x80 {
            (usize::from(first), after_length)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_length.len() < count {
                return None;
            }
            let (digits, content) = after_length.split_at(count);
            let length = digits
                .iter()
                .fold(0usize, |length, digit| (length << 8) | usize::from(*digit));
            (length, content)
        };
        if content.len() < length {
            return None;
        }
        let (value, rest) = content.split_at(length);
        self.rest = rest;
        Some((tag, value))
    }

    /// The next element's content, if it has tag `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.any()? {
            (found, content) if found == tag => Some(content),
            _ => None,
        }
    }

    /// The next element's content if it has tag `tag`; nothing is read otherwise.
    pub(crate) fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.peek() {
            Some(found) if found == tag => self.expect(tag),
            _ => None,
        }
    }
}

/// One element: `tag`, its length, `content`.
pub(crate) fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let digits: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|digit| *digit == 0)
            .collect();
        out.push(0x80 | digits.len() as u8);
        out.extend(digits);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the given (already encoded) elements.
pub(crate) fn sequence(elements: &[&[u8]]) -> Vec<u8> {
    element(SEQUENCE, &elements.concat())
}

/// The bytes of an unsigned INTEGER's content, without the sign byte DER may add.
pub(crate) fn unsigned(integer: &[u8]) -> &[u8] {
    match integer {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_read_back_as_written() {
        for size in [0, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; size];
            let encoded = element(OCTET_STRING, &content);
            let mut reader = Reader::new(&encoded);
            assert_eq!(reader.expect(OCTET_STRING), Some(&content[..]), "{size}");
            assert_eq!(reader.any(), None);
        }
    }

    #[test]
    fn truncated_or_mistagged_input_is_refused() {
        let encoded = element(SEQUENCE, &[1, 2, 3]);
        assert_eq!(Reader::new(&encoded[..4]).any(), None);
        assert_eq!(Reader::new(&encoded).expect(INTEGER), None);
        assert_eq!(Reader::new(&[0x30, 0x85, 0, 0, 0, 0, 1]).any(), None);
        let mut reader = Reader::new(&encoded);
        assert_eq!(reader.optional(INTEGER), None);
        assert_eq!(reader.optional(SEQUENCE), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn unsigned_drops_the_sign_byte_only() {
        assert_eq!(unsigned(&[0, 0x80, 1]), &[0x80, 1]);
        assert_eq!(unsigned(&[0]), &[0]);
        assert_eq!(unsigned(&[0x7f]), &[0x7f]);
    }
}
