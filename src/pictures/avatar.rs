//! Moodle's avatar set from one image, as lib/gdlib.php `process_new_icon` makes it: the centred
//! square of the image resized to f1 (100×100), f2 (35×35) and f3 (512×512).
//!
//! The image is untrusted: its format is decided by its bytes, and its declared dimensions are
//! checked against [`ImageLimits`] before any pixel is decoded.

use std::io::Cursor;

use fast_image_resize::{
    self as fr, IntoImageView, IntoImageViewMut, ResizeAlg, ResizeOptions, Resizer,
};
use image::codecs::gif::GifDecoder;
use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::{self, CompressionType, PngDecoder, PngEncoder};
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, RgbImage,
    RgbaImage,
};

use crate::codes::{Code, Failure};

/// Side lengths of f1, f2 and f3, in that order (Moodle's sizes, whatever the input size).
const SIDES: [u32; 3] = [100, 35, 512];

/// Moodle's JPEG quality for avatars.
const JPEG_QUALITY: u8 = 90;

/// An image format accepted for pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
}

impl Format {
    /// The file extension and mimetype of an image of this format, as fed.
    pub fn file_type(self) -> (&'static str, &'static str) {
        match self {
            Format::Jpeg => ("jpg", "image/jpeg"),
            Format::Png => ("png", "image/png"),
            Format::Gif => ("gif", "image/gif"),
        }
    }
}

/// The format of `bytes` by its magic bytes alone; a file's extension is never trusted.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else {
        None
    }
}

/// What an image may declare before it is refused undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest width or height, in pixels.
    pub max_side: u32,
    /// Largest width × height.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_side: 12_000,
            max_pixels: 50_000_000,
        }
    }
}

/// The three encoded files of one user picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// The format of the input image; a JPEG gives JPEG files, PNG and GIF give PNG files.
    pub format: Format,
    /// 100×100.
    pub f1: Vec<u8>,
    /// 35×35.
    pub f2: Vec<u8>,
    /// 512×512.
    pub f3: Vec<u8>,
}

impl Avatar {
    /// The extension of f1, f2 and f3: "jpg" or "png".
    pub fn extension(&self) -> &'static str {
        match self.format {
            Format::Jpeg => "jpg",
            Format::Png | Format::Gif => "png",
        }
    }

    /// The mimetype of f1, f2 and f3.
    pub fn mimetype(&self) -> &'static str {
        match self.format {
            Format::Jpeg => "image/jpeg",
            Format::Png | Format::Gif => "image/png",
        }
    }
}

/// The pixel count an image's header declares, read without decoding (None: unreadable).
pub fn declared_pixels(bytes: &[u8]) -> Option<u64> {
    let (w, h) = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()?;
    Some(u64::from(w) * u64::from(h))
}

/// The most memory the images being made into avatars may take at once, decoded: 128 MiB.
/// moosync promises to stay under 200 MB whatever the file, and a pictures run takes about
/// 50 MiB besides (the store, the batch's unpacked entries, the resizer's rows), so this is
/// what is left. A camera's 24-megapixel JPEG takes 72 MiB (a progressive one, 138 MiB, is
/// just over); a 7000×7000 PNG, 140 to 190 MiB, is refused before a pixel is decoded
/// (MS-I105), where it once took 413 MB.
pub const DECODE_BUDGET: u64 = 128 * 1024 * 1024;

/// What an image costs decoded, read from its header without decoding (None: unreadable):
/// see [`decode_cost`].
pub fn declared_cost(bytes: &[u8]) -> Option<u64> {
    let cursor = Cursor::new(bytes);
    let (color, (w, h)) = match sniff(bytes)? {
        Format::Jpeg => {
            let d = JpegDecoder::new(cursor).ok()?;
            (d.color_type(), d.dimensions())
        }
        Format::Png => {
            let d = PngDecoder::new(cursor).ok()?;
            (d.color_type(), d.dimensions())
        }
        Format::Gif => {
            let d = GifDecoder::new(cursor).ok()?;
            (d.color_type(), d.dimensions())
        }
    };
    Some(decode_cost(bytes, color, w, h))
}

/// The bytes an image takes while it is made into avatars: its decoded pixels; when they are
/// not 8-bit RGB or RGBA, the 8-bit copy they become (the decoded ones are freed right after,
/// but for a moment both are there), which the resize works on; and what a progressive JPEG's
/// decoder holds until its last scan.
fn decode_cost(bytes: &[u8], color: ColorType, width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let decoded = pixels.saturating_mul(u64::from(color.bytes_per_pixel()));
    let copy = match color {
        ColorType::Rgb8 | ColorType::Rgba8 => 0,
        c if c.has_alpha() => pixels.saturating_mul(4),
        _ => pixels.saturating_mul(3),
    };
    decoded
        .saturating_add(copy)
        .saturating_add(progressive_coefficients(bytes, pixels))
}

/// A progressive JPEG is decoded scan by scan over all of its DCT coefficients, kept at 2
/// bytes each: per component as many as its share of the pixels (a 24-megapixel photo in
/// 4:2:0 holds 72 MiB of them, besides its 72 MiB of pixels). 0 for any other image. Read
/// from the frame header (SOF2), found by walking the markers before the first scan.
fn progressive_coefficients(bytes: &[u8], pixels: u64) -> u64 {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return 0;
    }
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return 0;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        match marker {
            // Progressive frames (Huffman or arithmetic coded).
            0xC2 | 0xC6 | 0xCA | 0xCE => {
                let Some(frame) = bytes.get(at + 4..at + 2 + len) else {
                    return 0;
                };
                // Precision, height, width, the component count, then 3 bytes a component
                // whose second holds its sampling factors (H << 4 | V).
                let count = usize::from(*frame.get(5).unwrap_or(&0));
                let factors: Vec<(u64, u64)> = frame
                    .get(6..6 + 3 * count)
                    .unwrap_or(&[])
                    .chunks_exact(3)
                    .map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 15).max(1)))
                    .collect();
                let h_max = factors.iter().map(|f| f.0).max().unwrap_or(1);
                let v_max = factors.iter().map(|f| f.1).max().unwrap_or(1);
                // Per component: pixels × its share, in 64-coefficient blocks of 2 bytes each.
                let shares: u64 = factors
                    .iter()
                    .map(|(h, v)| pixels.saturating_mul(h * v) / (h_max * v_max))
                    .sum();
                return shares.saturating_mul(2);
            }
            // Any other frame, or the first scan: not progressive.
            0xC0 | 0xC1 | 0xC3 | 0xC5 | 0xC7 | 0xC9 | 0xCB | 0xCD | 0xDA | 0xD9 => return 0,
            _ => at += 2 + len,
        }
    }
    0
}

/// The image's format by its content, or why it is not an accepted image.
pub fn format_of(bytes: &[u8]) -> Result<Format, Failure> {
    sniff(bytes).ok_or_else(|| {
        Failure::new(
            Code::ImageUnsupported,
            "the file is not a JPEG, PNG or GIF image by its content (its extension does not \
             matter); convert it to one of these formats",
        )
    })
}

/// Renders the avatar set of an image (the first frame of a GIF).
pub fn render(bytes: &[u8], limits: &ImageLimits) -> Result<Avatar, Failure> {
    let format = format_of(bytes)?;
    let input = Cursor::new(bytes);
    let image = match format {
        Format::Jpeg => decode(bytes, JpegDecoder::new(input), limits)?,
        // The PNG decoder takes its allocation limit only when it is made.
        Format::Png => decode(bytes, PngDecoder::with_limits(input, alloc_limit()), limits)?,
        Format::Gif => decode(bytes, GifDecoder::new(input), limits)?,
    };
    // GD ignores EXIF orientation, and so does this: the avatars match what Moodle would make.
    // Each image is resized from the one copy it has: RGB stays RGB (its PNG avatars get their
    // opaque alpha once small), and RGBA is premultiplied in place, once for the three sizes.
    let [f1, f2, f3] = match format {
        Format::Jpeg => squares(
            &image.into_rgb8(),
            |side| RgbImage::new(side, side),
            |img| {
                let mut out = Vec::new();
                // jpeg-encoder's SIMD path: image's own encoder was a third of a picture's time.
                jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
                    .encode(
                        img.as_raw(),
                        u16::try_from(img.width()).unwrap_or(u16::MAX),
                        u16::try_from(img.height()).unwrap_or(u16::MAX),
                        jpeg_encoder::ColorType::Rgb,
                    )
                    .map_err(|e| e.to_string())?;
                Ok(out)
            },
        )?,
        Format::Png | Format::Gif if image.color().has_alpha() => {
            let mut rgba = image.into_rgba8();
            let mul_div = fr::MulDiv::default();
            mul_div
                .multiply_alpha_inplace(&mut rgba)
                .map_err(|e| resize_failure(e.to_string()))?;
            squares(
                &rgba,
                |side| RgbaImage::new(side, side),
                |mut img| {
                    mul_div
                        .divide_alpha_inplace(&mut img)
                        .map_err(|e| e.to_string())?;
                    encode_png(&img)
                },
            )?
        }
        Format::Png | Format::Gif => squares(
            &image.into_rgb8(),
            |side| RgbImage::new(side, side),
            |img| encode_png(&DynamicImage::ImageRgb8(img).into_rgba8()),
        )?,
    };
    Ok(Avatar { format, f1, f2, f3 })
}

/// An avatar as PNG, RGBA as Moodle's are.
fn encode_png(img: &RgbaImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // Fast deflate: the avatars are small, and the default level costs most of the time.
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, png::FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgba8,
        )
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn resize_failure(what: String) -> Failure {
    Failure::new(
        Code::ImageCorrupt,
        format!("the avatars cannot be made: {what}; replace the image"),
    )
}

/// An image whose header declares no pixels, or more than the limits allow, is refused.
fn check_dimensions(width: u32, height: u32, limits: &ImageLimits) -> Result<(), Failure> {
    if width == 0 || height == 0 {
        return Err(Failure::new(
            Code::ImageCorrupt,
            format!("the image declares {width}×{height} pixels, it has no picture; replace it"),
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(Failure::new(
            Code::ImageTooLarge,
            format!(
                "the image declares {width}×{height} pixels; the limits are {} pixels a side \
                 ([pictures] max_side) and {} in all ([pictures] max_megapixels), \
                 scale it down before adding it",
                limits.max_side,
                pixel_count_text(limits.max_pixels)
            ),
        ));
    }
    Ok(())
}

/// Checks what an image's header declares against the limits, without decoding it: what
/// the settings refuse is refused the same way whoever makes the picture's sizes (moosync
/// for the embedded store, Moodle over REST).
pub fn check_declared(bytes: &[u8], limits: &ImageLimits) -> Result<(), Failure> {
    let cursor = Cursor::new(bytes);
    let dimensions = match format_of(bytes)? {
        Format::Jpeg => JpegDecoder::new(cursor).map(|d| d.dimensions()),
        Format::Png => PngDecoder::new(cursor).map(|d| d.dimensions()),
        Format::Gif => GifDecoder::new(cursor).map(|d| d.dimensions()),
    };
    let (width, height) = dimensions.map_err(decode_failure)?;
    check_dimensions(width, height, limits)
}

/// Checks the declared dimensions, then decodes under `image`'s own limits as a second guard.
fn decode<D: ImageDecoder>(
    bytes: &[u8],
    decoder: Result<D, ImageError>,
    limits: &ImageLimits,
) -> Result<DynamicImage, Failure> {
    let mut decoder = decoder.map_err(decode_failure)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    // What it will take decoded, from the header: refused before any pixel is decoded.
    let cost = decode_cost(bytes, decoder.color_type(), width, height);
    if cost > DECODE_BUDGET {
        return Err(Failure::new(
            Code::ImageTooLarge,
            format!(
                "the image declares {width}×{height} pixels ({:?}), which take {} MiB to decode; \
                 moosync decodes at most {} MiB at once to stay within its memory, \
                 scale it down (a user picture needs no more than 1000×1000)",
                decoder.color_type(),
                cost.div_ceil(1024 * 1024),
                DECODE_BUDGET / (1024 * 1024)
            ),
        ));
    }
    let mut guard = image::Limits::default();
    guard.max_image_width = Some(limits.max_side);
    guard.max_image_height = Some(limits.max_side);
    guard.max_alloc = Some(DECODE_BUDGET);
    guard
        .reserve(decoder.total_bytes())
        .map_err(decode_failure)?;
    decoder.set_limits(guard).map_err(decode_failure)?;
    DynamicImage::from_decoder(decoder).map_err(decode_failure)
}

/// The decoder's own allocations are held to the budget too (a PNG decoder is made with it).
fn alloc_limit() -> image::Limits {
    let mut only_alloc = image::Limits::no_limits();
    only_alloc.max_alloc = Some(DECODE_BUDGET);
    only_alloc
}

fn decode_failure(e: ImageError) -> Failure {
    match e {
        ImageError::Limits(e) => Failure::new(
            Code::ImageTooLarge,
            format!("the image needs more memory than allowed to decode ({e}); scale it down"),
        ),
        ImageError::Unsupported(e) => Failure::new(
            Code::ImageUnsupported,
            format!("the image uses a feature that cannot be read ({e}); re-save it as a plain JPEG or PNG"),
        ),
        e => Failure::new(
            Code::ImageCorrupt,
            format!("the image cannot be decoded: {e}; it is damaged or truncated, replace it"),
        ),
    }
}

/// Crops the centred square the way GD's process_new_icon does, and resizes it (SIMD
/// convolution, Catmull-Rom like GD's bicubic) and encodes it at each side.
fn squares<B>(
    image: &B,
    blank: impl Fn(u32) -> B,
    encode: impl Fn(B) -> Result<Vec<u8>, String>,
) -> Result<[Vec<u8>; 3], Failure>
where
    B: IntoImageView + IntoImageViewMut,
{
    let (width, height) = (image.width(), image.height());
    let (cx, cy) = (width / 2, height / 2);
    let half = width.min(height) / 2;
    // A 1-pixel-wide image has half = 0; keep its one pixel rather than an empty square.
    let side = f64::from((half * 2).max(1));
    // Alpha, where there is one, is premultiplied by the caller once for the three sizes:
    // the resizer would otherwise make a premultiplied copy of the whole image for each.
    let options = ResizeOptions::new()
        .crop(f64::from(cx - half), f64::from(cy - half), side, side)
        .resize_alg(ResizeAlg::Convolution(fr::FilterType::CatmullRom))
        .use_alpha(false);
    let mut resizer = Resizer::new();
    let mut out = SIDES.map(|_| Vec::new());
    for (slot, size) in out.iter_mut().zip(SIDES) {
        let failed = |what: String| {
            Failure::new(
                Code::ImageCorrupt,
                format!("the {size}×{size} avatar cannot be made: {what}; replace the image"),
            )
        };
        let mut resized = blank(size);
        resizer
            .resize(image, &mut resized, &options)
            .map_err(|e| failed(e.to_string()))?;
        *slot = encode(resized).map_err(failed)?;
    }
    Ok(out)
}

/// "50 megapixels", or the exact count when it is not a whole number of them.
fn pixel_count_text(pixels: u64) -> String {
    if pixels >= 1_000_000 && pixels.is_multiple_of(1_000_000) {
        format!("{} megapixels", pixels / 1_000_000)
    } else {
        format!("{pixels} pixels")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
    use std::time::{Duration, Instant};

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }))
    }

    fn dims(bytes: &[u8]) -> (u32, u32) {
        let image = image::load_from_memory(bytes).unwrap();
        (image.width(), image.height())
    }

    fn assert_sizes(avatar: &Avatar) {
        assert_eq!(dims(&avatar.f1), (100, 100));
        assert_eq!(dims(&avatar.f2), (35, 35));
        assert_eq!(dims(&avatar.f3), (512, 512));
    }

    #[test]
    fn sniff_reads_magic_bytes_only() {
        let image = gradient(4, 4);
        assert_eq!(
            sniff(&encode(image.clone(), ImageFormat::Jpeg)),
            Some(Format::Jpeg)
        );
        assert_eq!(
            sniff(&encode(image.clone(), ImageFormat::Png)),
            Some(Format::Png)
        );
        assert_eq!(sniff(&encode(image, ImageFormat::Gif)), Some(Format::Gif));
        assert_eq!(sniff(b"GIF87a......"), Some(Format::Gif));
        // What a text file renamed to x.jpg holds.
        assert_eq!(sniff(b"this is not a picture\n"), None);
        assert_eq!(sniff(b"BM\x36\x00"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn png_gives_three_png_squares() {
        let avatar = render(
            &encode(gradient(300, 200), ImageFormat::Png),
            &ImageLimits::default(),
        )
        .unwrap();
        assert_eq!(avatar.format, Format::Png);
        assert_eq!(
            (avatar.extension(), avatar.mimetype()),
            ("png", "image/png")
        );
        for file in [&avatar.f1, &avatar.f2, &avatar.f3] {
            assert_eq!(sniff(file), Some(Format::Png));
        }
        assert_sizes(&avatar);
    }

    #[test]
    fn jpeg_gives_jpeg_squares() {
        let avatar = render(
            &encode(gradient(120, 90), ImageFormat::Jpeg),
            &ImageLimits::default(),
        )
        .unwrap();
        assert_eq!(
            (avatar.extension(), avatar.mimetype()),
            ("jpg", "image/jpeg")
        );
        for file in [&avatar.f1, &avatar.f2, &avatar.f3] {
            assert_eq!(sniff(file), Some(Format::Jpeg));
        }
        assert_sizes(&avatar);
    }

    #[test]
    fn gif_gives_png_squares_keeping_transparency() {
        let image = RgbaImage::from_fn(40, 40, |x, _| {
            if x < 20 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([0, 200, 0, 255])
            }
        });
        let avatar = render(
            &encode(DynamicImage::ImageRgba8(image), ImageFormat::Gif),
            &ImageLimits::default(),
        )
        .unwrap();
        assert_eq!(avatar.format, Format::Gif);
        assert_eq!(avatar.extension(), "png");
        for file in [&avatar.f1, &avatar.f2, &avatar.f3] {
            assert_eq!(sniff(file), Some(Format::Png));
        }
        assert_sizes(&avatar);
        let f1 = image::load_from_memory(&avatar.f1).unwrap().into_rgba8();
        assert_eq!(f1.get_pixel(5, 50)[3], 0, "transparency lost");
        assert_eq!(f1.get_pixel(95, 50).0, [0, 200, 0, 255]);
    }

    #[test]
    fn the_centred_square_is_kept() {
        // Blue sides, a red middle square: only red must survive the crop.
        let image = RgbImage::from_fn(300, 100, |x, _| {
            if (100..200).contains(&x) {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let bytes = encode(DynamicImage::ImageRgb8(image), ImageFormat::Png);
        let avatar = render(&bytes, &ImageLimits::default()).unwrap();
        let f1 = image::load_from_memory(&avatar.f1).unwrap().into_rgb8();
        for (x, y) in [(50, 50), (0, 0), (99, 99), (0, 99), (99, 0)] {
            assert_eq!(f1.get_pixel(x, y).0, [255, 0, 0], "pixel {x},{y}");
        }
    }

    #[test]
    fn tiny_images_are_upscaled() {
        for (w, h) in [(1, 1), (3, 1), (1, 5)] {
            let bytes = encode(gradient(w, h), ImageFormat::Png);
            assert_sizes(&render(&bytes, &ImageLimits::default()).unwrap());
        }
    }

    /// A GIF declaring a `width`×`height` screen and frame, with no pixel data at all.
    fn gif_header(width: u16, height: u16) -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend(width.to_le_bytes());
        gif.extend(height.to_le_bytes());
        gif.extend([0x00, 0x00, 0x00]); // No global palette, background 0, aspect 0.
        gif.extend([0x2C, 0, 0, 0, 0]); // Image descriptor at 0,0.
        gif.extend(width.to_le_bytes());
        gif.extend(height.to_le_bytes());
        gif.extend([0x00, 0x02, 0x00, 0x3B]); // No local palette, empty LZW data, trailer.
        gif
    }

    #[test]
    fn declared_dimensions_are_refused_before_decoding() {
        let started = Instant::now();
        let failure = render(&gif_header(60_000, 60_000), &ImageLimits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ImageTooLarge, "{}", failure.message);
        assert!(
            failure.message.contains("60000×60000"),
            "{}",
            failure.message
        );
        assert!(started.elapsed() < Duration::from_millis(500));

        // Under max_side but over max_pixels.
        let limits = ImageLimits {
            max_side: 12_000,
            max_pixels: 1_000_000,
        };
        let failure = render(&gif_header(2_000, 1_000), &limits).unwrap_err();
        assert_eq!(failure.code, Code::ImageTooLarge);
        let bytes = encode(gradient(300, 200), ImageFormat::Png);
        let limits = ImageLimits {
            max_side: 299,
            ..ImageLimits::default()
        };
        assert_eq!(
            render(&bytes, &limits).unwrap_err().code,
            Code::ImageTooLarge
        );
    }

    /// A PNG declaring a `width`×`height` image of `color_type` (2 RGB, 6 RGBA) at 8 bits,
    /// with almost no pixel data: what a header alone says.
    fn png_header(width: u32, height: u32, color_type: u8) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        fn chunk(png: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            png.extend((data.len() as u32).to_be_bytes());
            let body = [kind, data].concat();
            png.extend(&body);
            png.extend(crc32(&body).to_be_bytes());
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, color_type, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        // An empty zlib stream: no row at all.
        chunk(
            &mut png,
            b"IDAT",
            &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn an_image_too_large_to_decode_within_the_budget_is_refused_from_its_header() {
        // 49 megapixels pass max_side and max_megapixels, but decoded they would take more
        // than moosync's memory allows: refused by the header alone, nothing decoded.
        for (color_type, mib) in [(6, 187), (2, 141)] {
            let failure =
                render(&png_header(7000, 7000, color_type), &ImageLimits::default()).unwrap_err();
            assert_eq!(failure.code, Code::ImageTooLarge, "{}", failure.message);
            assert!(
                failure.message.contains(&format!(
                    "7000×7000 pixels ({}), which take {mib} MiB",
                    if color_type == 6 { "Rgba8" } else { "Rgb8" }
                )),
                "{}",
                failure.message
            );
            assert_eq!(
                declared_cost(&png_header(7000, 7000, color_type)),
                Some(49_000_000 * if color_type == 6 { 4 } else { 3 })
            );
        }
        // Within the budget, the same header goes on to be decoded (and is found empty).
        let failure = render(&png_header(5000, 5000, 6), &ImageLimits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ImageCorrupt, "{}", failure.message);
    }

    #[test]
    fn a_progressive_jpeg_counts_the_coefficients_its_decoder_keeps() {
        let (w, h) = (64u16, 48u16);
        let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h) * 3)
            .map(|i| (i % 251) as u8)
            .collect();
        let jpeg = |progressive: bool| {
            let mut out = Vec::new();
            let mut e = jpeg_encoder::Encoder::new(&mut out, 85);
            e.set_progressive(progressive);
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            e.encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            out
        };
        let count = u64::from(w) * u64::from(h);
        assert_eq!(progressive_coefficients(&jpeg(false), count), 0);
        // 4:2:0: luma at every pixel, each chroma at a quarter, 2 bytes a coefficient.
        assert_eq!(progressive_coefficients(&jpeg(true), count), 3 * count);
        assert_eq!(
            declared_cost(&jpeg(true)),
            Some(3 * count + 3 * count),
            "pixels and coefficients"
        );
        assert_eq!(progressive_coefficients(&png_header(10, 10, 2), 100), 0);
    }

    #[test]
    fn empty_and_damaged_images_are_corrupt() {
        let failure = render(&gif_header(0, 10), &ImageLimits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ImageCorrupt);
        assert!(failure.message.contains("0×10"), "{}", failure.message);

        let png = encode(gradient(300, 200), ImageFormat::Png);
        for cut in [png.len() / 2, 30, 8] {
            let failure = render(&png[..cut], &ImageLimits::default()).unwrap_err();
            assert_eq!(
                failure.code,
                Code::ImageCorrupt,
                "cut at {cut}: {}",
                failure.message
            );
        }
        let jpeg = encode(gradient(300, 200), ImageFormat::Jpeg);
        let failure = render(&jpeg[..4], &ImageLimits::default()).unwrap_err();
        assert_eq!(failure.code, Code::ImageCorrupt, "{}", failure.message);
    }

    #[test]
    fn other_content_is_unsupported_whatever_its_name() {
        for bytes in [&b"hello"[..], b"", b"BM\x36\x00\x00\x00"] {
            let failure = render(bytes, &ImageLimits::default()).unwrap_err();
            assert_eq!(failure.code, Code::ImageUnsupported);
            assert!(
                failure.message.contains("JPEG, PNG or GIF"),
                "{}",
                failure.message
            );
            assert!(failure.message.contains("extension"), "{}", failure.message);
        }
    }
}
