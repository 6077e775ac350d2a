use super::*;

fn accept(value: &str) -> AcceptEncoding {
    AcceptEncoding::from_bytes(value.as_bytes())
}

#[test]
fn no_header_no_compression() {
    assert_eq!(Compression::new().negotiate(&AcceptEncoding::none()), None);
    assert_eq!(Compression::new().negotiate(&accept("")), None);
    assert_eq!(Compression::new().negotiate(&accept("identity")), None);
    assert_eq!(
        Compression::new().negotiate(&accept("deflate, compress")),
        None
    );
}

#[test]
fn an_empty_preference_list_turns_compression_off() {
    let off = Compression::new().codings([]);
    assert_eq!(off.codings_iter().count(), 0);
    assert_eq!(off.negotiate(&accept("*")), None);
}

#[test]
fn malformed_headers_never_panic() {
    for value in [
        &b""[..],
        b",",
        b";",
        b";q=",
        b"q=1",
        b"gzip;q",
        b"gzip;q=",
        b"gzip;q=1.0000",
        b"gzip;q=99999999999999999999",
        b"gzip;q=0.\xff",
        b"\xff\xfe,\x00;q=1",
        b"*;;;;,,,,q=0.5",
        b" , gzip ; q = 0.5 ;; ",
    ] {
        let accept = AcceptEncoding::from_bytes(value);
        let _ = Compression::new().negotiate(&accept);
    }
}

#[cfg(feature = "gzip")]
mod gzip {
    use super::*;

    #[test]
    fn weights_and_refusals() {
        let gzip = Compression::new().codings([Coding::Gzip]);
        assert_eq!(gzip.negotiate(&accept("gzip")), Some(Coding::Gzip));
        assert_eq!(gzip.negotiate(&accept("GZip;Q=0.001")), Some(Coding::Gzip));
        assert_eq!(gzip.negotiate(&accept("x-gzip")), Some(Coding::Gzip));
        assert_eq!(gzip.negotiate(&accept("gzip;q=0")), None);
        assert_eq!(gzip.negotiate(&accept("gzip;q=0.000")), None);
        assert_eq!(gzip.negotiate(&accept("*")), Some(Coding::Gzip));
        assert_eq!(gzip.negotiate(&accept("*;q=0")), None);
        // Named beats `*`, both ways.
        assert_eq!(gzip.negotiate(&accept("gzip;q=0, *")), None);
        assert_eq!(gzip.negotiate(&accept("gzip, *;q=0")), Some(Coding::Gzip));
        // A bad weight makes the entry unreadable: skipped, not taken as q=1.
        assert_eq!(gzip.negotiate(&accept("gzip;q=2")), None);
        assert_eq!(gzip.negotiate(&accept("gzip;q=abc")), None);
    }

    #[test]
    fn the_client_may_prefer_no_compression() {
        let gzip = Compression::new().codings([Coding::Gzip]);
        assert_eq!(gzip.negotiate(&accept("gzip;q=0.5, identity")), None);
        // An identity the client does not weigh does not beat a coding it lists.
        assert_eq!(gzip.negotiate(&accept("gzip;q=0.001")), Some(Coding::Gzip));
        assert_eq!(
            gzip.negotiate(&accept("gzip;q=0.5, identity;q=0.5")),
            Some(Coding::Gzip)
        );
        assert_eq!(
            gzip.negotiate(&accept("gzip;q=0.5, identity;q=0")),
            Some(Coding::Gzip)
        );
        assert_eq!(gzip.negotiate(&accept("gzip;q=0.5, *;q=0.9")), None);
    }
}

#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
mod all {
    use super::*;

    #[test]
    fn the_default_prefers_brotli_then_zstd_then_gzip() {
        let all = Compression::default();
        assert_eq!(
            all.codings_iter().collect::<Vec<_>>(),
            [Coding::Brotli, Coding::Zstd, Coding::Gzip]
        );
        // Chrome over HTTPS.
        assert_eq!(
            all.negotiate(&accept("gzip, deflate, br, zstd")),
            Some(Coding::Brotli)
        );
        assert_eq!(all.negotiate(&accept("gzip, zstd")), Some(Coding::Zstd));
        // Chrome over plain HTTP.
        assert_eq!(all.negotiate(&accept("gzip, deflate")), Some(Coding::Gzip));
    }

    #[test]
    fn the_highest_weight_wins_and_ties_go_to_the_app_order() {
        let app = Compression::new().codings([Coding::Gzip, Coding::Brotli, Coding::Zstd]);
        assert_eq!(app.negotiate(&accept("zstd, br, gzip")), Some(Coding::Gzip));
        assert_eq!(
            app.negotiate(&accept("zstd, br, gzip;q=0.9")),
            Some(Coding::Brotli)
        );
        assert_eq!(
            app.negotiate(&accept("zstd;q=0.2, br;q=0.1, gzip;q=0.3")),
            Some(Coding::Gzip)
        );
        assert_eq!(
            app.negotiate(&accept("zstd;q=1, br;q=0.1, gzip;q=0.3")),
            Some(Coding::Zstd)
        );
        assert_eq!(
            app.negotiate(&accept("*;q=0.5, gzip;q=0.4")),
            Some(Coding::Brotli)
        );
    }

    #[test]
    fn only_the_allowed_codings_in_the_given_order() {
        let app = Compression::new().codings([Coding::Brotli, Coding::Brotli, Coding::Gzip]);
        assert_eq!(
            app.codings_iter().collect::<Vec<_>>(),
            [Coding::Brotli, Coding::Gzip]
        );
        assert_eq!(app.negotiate(&accept("zstd")), None);
        assert_eq!(
            app.negotiate(&accept("zstd, gzip;q=0.1")),
            Some(Coding::Gzip)
        );
    }

    #[test]
    fn names() {
        assert_eq!(Coding::Gzip.as_str(), "gzip");
        assert_eq!(Coding::Brotli.to_string(), "br");
        assert_eq!(Coding::Zstd.as_str(), "zstd");
    }

    #[test]
    fn knobs_are_clamped() {
        let config = Compression::new()
            .gzip_level(200)
            .gzip_window_bits(3)
            .brotli_quality(99)
            .brotli_window_bits(30)
            .zstd_level(-5)
            .zstd_window_log(40);
        assert_eq!(config.gzip_level, 9);
        assert_eq!(config.gzip_window_bits, 9);
        assert_eq!(config.brotli_quality, 11);
        assert_eq!(config.brotli_window_bits, 24);
        assert_eq!(config.zstd_level, 1);
        assert_eq!(config.zstd_window_log, 22);
    }
}

#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
mod codecs {
    use std::io::Read;

    use super::*;

    /// Bytes that do not compress (xorshift), so the output outgrows every first guess
    /// of its buffer.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    }

    fn decode_all(coding: Coding, compressed: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        match coding {
            Coding::Gzip => {
                flate2::read::GzDecoder::new(compressed)
                    .read_to_end(&mut plain)
                    .unwrap();
            }
            Coding::Brotli => {
                brotli::Decompressor::new(compressed, 4096)
                    .read_to_end(&mut plain)
                    .unwrap();
            }
            Coding::Zstd => plain = zstd::stream::decode_all(compressed).unwrap(),
        }
        plain
    }

    /// Large incompressible frames, a frame of one byte, a last frame with input and
    /// the end alone: all of it decodes back, and nothing is written after the end.
    #[test]
    fn any_frame_size_round_trips() {
        for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            let mut compressor = Compressor::new(coding, Compression::new());
            let frames = [noise(200_000, 1), b"x".to_vec(), noise(70_000, 2)];
            let (mut compressed, mut plain) = (Vec::new(), Vec::new());
            for frame in &frames {
                compressed.extend_from_slice(&compressor.frame(frame, false).unwrap());
                plain.extend_from_slice(frame);
            }
            let last = noise(5_000, 3);
            compressed.extend_from_slice(&compressor.frame(&last, true).unwrap());
            plain.extend_from_slice(&last);
            assert!(compressor.is_done());
            assert!(compressor.finish().unwrap().is_empty(), "{coding}");
            assert_eq!(decode_all(coding, &compressed), plain, "{coding}");
        }
    }

    /// A stream with no frame at all still ends as a valid compressed stream (the
    /// response said `Content-Encoding`).
    #[test]
    fn an_empty_stream_is_a_valid_compressed_stream() {
        for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            let mut compressor = Compressor::new(coding, Compression::new());
            let end = compressor.finish().unwrap();
            assert!(!end.is_empty(), "{coding}");
            assert!(decode_all(coding, &end).is_empty(), "{coding}");
        }
    }
}
