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

/// The most one workload group (one WorkPlacement's files, or a Destination's
/// aggregated file) may inflate to. Content is hostile: a few kilobytes of gzip
/// can inflate to gigabytes in the agent. The work-creator refuses more, so an
/// output the agent would refuse never becomes a Work.
pub const MAX_PLACEMENT_BYTES: usize = 16 << 20;
/// The most a Work may hold once encoded: etcd refuses objects over 1.5 MiB
/// (Kratix issue #226); the rest is left for its metadata and status.
pub const MAX_WORK_BYTES: usize = 1_400_000;

/// Why content could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentError {
    NotGzipBase64,
    TooLarge { limit: usize },
}

impl ContentError {
    pub fn describe(&self) -> String {
        match self {
            ContentError::NotGzipBase64 => "is not gzip+base64".to_owned(),
            ContentError::TooLarge { limit } => {
                format!("inflates to more than {}", mebibytes(*limit))
            }
        }
    }
}

/// `16 MiB`, `1.3 MiB`.
pub fn mebibytes(bytes: usize) -> String {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    if mib.fract() == 0.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

/// The inverse of [`compress`]; `None` when the content is not base64 of gzip.
/// Unbounded: only for content this process made itself.
pub fn decompress(content: &str) -> Option<Vec<u8>> {
    decompress_bounded(content, usize::MAX).ok()
}

/// The inverse of [`compress`], refusing content that inflates past `limit`
/// bytes: it stops reading there, so a bomb costs at most `limit`.
pub fn decompress_bounded(content: &str, limit: usize) -> Result<Vec<u8>, ContentError> {
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(content.trim())
        .map_err(|_| ContentError::NotGzipBase64)?;
    let mut out = Vec::new();
    GzDecoder::new(gzipped.as_slice())
        .take(limit.saturating_add(1) as u64)
        .read_to_end(&mut out)
        .map_err(|_| ContentError::NotGzipBase64)?;
    if out.len() > limit {
        return Err(ContentError::TooLarge { limit });
    }
    Ok(out)
}

/// How many bytes `content` inflates to, without keeping them; counting stops
/// past `limit`.
pub fn decompressed_len(content: &str, limit: usize) -> Result<usize, ContentError> {
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(content.trim())
        .map_err(|_| ContentError::NotGzipBase64)?;
    let mut reader = GzDecoder::new(gzipped.as_slice()).take(limit.saturating_add(1) as u64);
    let counted =
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|_| ContentError::NotGzipBase64)?;
    let counted = usize::try_from(counted).unwrap_or(usize::MAX);
    if counted > limit {
        return Err(ContentError::TooLarge { limit });
    }
    Ok(counted)
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
    fn a_small_bomb_inflates_no_further_than_the_limit() {
        // 20 MiB of zeros gzip to about 20 KiB.
        let bomb = compress(&vec![0u8; 20 << 20]);
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        assert_eq!(
            decompress_bounded(&bomb, 1 << 20),
            Err(ContentError::TooLarge { limit: 1 << 20 })
        );
        assert_eq!(
            decompressed_len(&bomb, 1 << 20),
            Err(ContentError::TooLarge { limit: 1 << 20 })
        );
        assert_eq!(decompressed_len(&bomb, 32 << 20), Ok(20 << 20));
        assert_eq!(decompress_bounded(&compress(b"x"), 1).as_deref(), Ok(&b"x"[..]));
        assert_eq!(
            decompress_bounded("not base64!", 10),
            Err(ContentError::NotGzipBase64)
        );
        assert!(
            ContentError::TooLarge { limit: 16 << 20 }
                .describe()
                .contains("16 MiB")
        );
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
