//! Trace and span ids, and the W3C `traceparent` header that carries them between
//! processes (`00-<trace id>-<parent span id>-<flags>`, w3.org/TR/trace-context).

use std::fmt;

/// 16 random bytes naming one trace; never all zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TraceId(pub [u8; 16]);

/// 8 random bytes naming one span; never all zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    pub fn random() -> Self {
        TraceId(nonzero_random())
    }
}

impl SpanId {
    pub fn random() -> Self {
        SpanId(nonzero_random())
    }
}

/// Random bytes; should the OS's source fail, the clock's nanoseconds keep ids apart
/// well enough for traces (they identify, they protect nothing).
fn nonzero_random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1);
        for (byte, from) in bytes.iter_mut().zip(nanos.to_le_bytes().iter().cycle()) {
            *byte = *from;
        }
    }
    if bytes.iter().all(|b| *b == 0) {
        bytes[N - 1] = 1;
    }
    bytes
}

/// The caller's place in a trace, from its `traceparent` header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RemoteParent {
    pub trace: TraceId,
    pub span: SpanId,
}

/// `None` for anything that is not a valid version-00 header (or a later version, read
/// as the spec asks by its first four fields): a bad header starts a new trace.
pub fn parse_traceparent(header: &str) -> Option<RemoteParent> {
    let mut fields = header.trim().split('-');
    let version = fields.next()?;
    let trace = fields.next()?;
    let span = fields.next()?;
    let flags = fields.next()?;
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    if version == "00" && fields.next().is_some() {
        return None;
    }
    let trace = TraceId(from_hex(trace)?);
    let span = SpanId(from_hex(span)?);
    from_hex::<1>(version)?;
    from_hex::<1>(flags)?;
    if trace.0.iter().all(|b| *b == 0) || span.0.iter().all(|b| *b == 0) {
        return None;
    }
    Some(RemoteParent { trace, span })
}

/// Lower-case hex of exactly `N` bytes.
fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0u8; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// OTLP's JSON encoding writes ids as lower-case hex.
impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_names_its_trace_and_parent() {
        let parent =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(parent.trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.span.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn malformed_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert!(
            parse_traceparent(later).is_some(),
            "a later version is read"
        );
    }

    #[test]
    fn random_ids_differ_and_are_never_zero() {
        let (a, b) = (TraceId::random(), TraceId::random());
        assert_ne!(a, b);
        assert!(a.0.iter().any(|x| *x != 0));
        assert!(SpanId::random().0.iter().any(|x| *x != 0));
    }
}
