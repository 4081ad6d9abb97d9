//! `zlib`'s deflate family through `flate2` (its pure-Rust backend, already in the build
//! for zip archives): deflate, inflate, their raw and gzip forms, and `unzip`, which
//! reads either. Brotli and zstd are not offered, so `axios` (which asks for what
//! `zlib` has) never asks servers for them.
//!
//! Output is capped: a small compressed body can claim gigabytes, and what is
//! decompressed here is outside the invocation's memory meter until it is copied in.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Deflate,
    Inflate,
    DeflateRaw,
    InflateRaw,
    Gzip,
    Gunzip,
    /// Gunzip or inflate, by the header.
    Unzip,
}

impl Operation {
    pub(crate) fn named(name: &str) -> Option<Operation> {
        Some(match name {
            "deflate" => Operation::Deflate,
            "inflate" => Operation::Inflate,
            "deflateRaw" => Operation::DeflateRaw,
            "inflateRaw" => Operation::InflateRaw,
            "gzip" => Operation::Gzip,
            "gunzip" => Operation::Gunzip,
            "unzip" => Operation::Unzip,
            _ => return None,
        })
    }
}

/// `data` compressed (at `level`, 0–9) or decompressed, or why not. Output past
/// `max_output` bytes fails.
pub(crate) fn process(
    operation: Operation,
    data: &[u8],
    level: u32,
    max_output: usize,
) -> Result<Vec<u8>, String> {
    let level = Compression::new(level.min(9));
    let out = match operation {
        Operation::Deflate => finish(ZlibEncoder::new(Vec::new(), level), data),
        Operation::DeflateRaw => finish(DeflateEncoder::new(Vec::new(), level), data),
        Operation::Gzip => finish(GzEncoder::new(Vec::new(), level), data),
        Operation::Inflate => read(ZlibDecoder::new(data), max_output),
        Operation::InflateRaw => read(DeflateDecoder::new(data), max_output),
        Operation::Gunzip => read(MultiGzDecoder::new(data), max_output),
        Operation::Unzip if data.starts_with(&[0x1f, 0x8b]) => {
            read(MultiGzDecoder::new(data), max_output)
        }
        Operation::Unzip => read(ZlibDecoder::new(data), max_output),
    }?;
    if out.len() > max_output {
        return Err(format!("the output is larger than {max_output} bytes"));
    }
    Ok(out)
}

trait Encoder: Write {
    fn done(self) -> std::io::Result<Vec<u8>>;
}

impl Encoder for ZlibEncoder<Vec<u8>> {
    fn done(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

impl Encoder for DeflateEncoder<Vec<u8>> {
    fn done(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

impl Encoder for GzEncoder<Vec<u8>> {
    fn done(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

fn finish(mut encoder: impl Encoder, data: &[u8]) -> Result<Vec<u8>, String> {
    encoder
        .write_all(data)
        .and_then(|()| encoder.done())
        .map_err(|e| e.to_string())
}

fn read(decoder: impl Read, max_output: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    decoder
        .take(max_output as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                format!("incorrect header check or invalid data: {e}")
            }
            std::io::ErrorKind::UnexpectedEof => "unexpected end of file".to_owned(),
            _ => e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_round_trips_and_unzip_reads_both() {
        let text = b"hello hello hello hello".repeat(10);
        for (pack, unpack) in [
            (Operation::Deflate, Operation::Inflate),
            (Operation::DeflateRaw, Operation::InflateRaw),
            (Operation::Gzip, Operation::Gunzip),
            (Operation::Gzip, Operation::Unzip),
            (Operation::Deflate, Operation::Unzip),
        ] {
            let packed = process(pack, &text, 6, usize::MAX).unwrap();
            assert!(packed.len() < text.len());
            assert_eq!(process(unpack, &packed, 6, 1 << 20).unwrap(), text);
        }
    }

    #[test]
    fn a_bomb_stops_at_the_cap_and_garbage_is_an_error() {
        let zeros = vec![0u8; 1 << 20];
        let packed = process(Operation::Gzip, &zeros, 9, usize::MAX).unwrap();
        let error = process(Operation::Gunzip, &packed, 6, 1000).unwrap_err();
        assert_eq!(error, "the output is larger than 1000 bytes");
        assert!(process(Operation::Inflate, b"not zlib", 6, 1000).is_err());
    }
}
