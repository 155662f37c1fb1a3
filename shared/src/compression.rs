//! Workload content as Works carry it: gzip, then base64.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// gzip then base64, as the reference's work creator encodes file content.
pub fn compress(bytes: &[u8]) -> String {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    let gzipped = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(gzipped)
}

/// The inverse of [`compress`]; `None` when the content is not base64 of gzip.
pub fn decompress(content: &str) -> Option<Vec<u8>> {
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(content.trim())
        .ok()?;
    let mut out = Vec::new();
    GzDecoder::new(gzipped.as_slice()).read_to_end(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let text = b"apiVersion: v1\nkind: Namespace\n";
        assert_eq!(decompress(&compress(text)).as_deref(), Some(&text[..]));
    }

    #[test]
    fn reads_content_made_elsewhere() {
        // `printf hello | gzip -n | base64`
        assert_eq!(
            decompress("H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(decompress("not base64!"), None);
    }
}
