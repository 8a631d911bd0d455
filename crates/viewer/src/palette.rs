//! Class colours: Okabe and Ito's colour-blind-safe palette, ordered so that the first classes
//! also differ in lightness (a grayscale print or a reader who sees no hue can still tell the
//! classes of a three-class problem such as ACDC apart).

/// Colours of classes 1, 2, 3, ... (class 0, the background, has none); they repeat after seven.
pub const CLASS_COLOURS: [[u8; 3]; 7] = [
    [0xF0, 0xE4, 0x42], // yellow, luminance 0.74
    [0x00, 0x72, 0xB2], // blue, 0.15
    [0xE6, 0x9F, 0x00], // orange, 0.42
    [0xCC, 0x79, 0xA7], // reddish purple
    [0x56, 0xB4, 0xE9], // sky blue
    [0x00, 0x9E, 0x73], // bluish green
    [0xD5, 0x5E, 0x00], // vermillion
];

/// The truth's outline drawn over the predictions: white and black dashes, visible on bright and
/// dark tissue alike, told apart from every class colour by their pattern and lightness.
pub const TRUTH_OUTLINE: [u8; 3] = [0xFF, 0xFF, 0xFF];
/// The outline's other dashes.
pub const TRUTH_OUTLINE_GAP: [u8; 3] = [0x00, 0x00, 0x00];

/// The colour of class `k >= 1`.
pub fn class_colour(k: usize) -> [u8; 3] {
    CLASS_COLOURS[(k.max(1) - 1) % CLASS_COLOURS.len()]
}

/// `#rrggbb` of a colour.
pub fn hex(colour: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", colour[0], colour[1], colour[2])
}

/// sRGB component (0..255) to linear light.
fn linear(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Relative luminance (WCAG): what a grayscale rendering keeps of a colour.
pub fn luminance(colour: [u8; 3]) -> f64 {
    let [r, g, b] = colour.map(linear);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linear RGB seen by a dichromat (Viénot, Brettel and Mollon 1999: protanopia and
    /// deuteranopia; Brettel's single-plane approximation for tritanopia).
    fn dichromat(colour: [u8; 3], matrix: [[f64; 3]; 3]) -> [f64; 3] {
        let c = colour.map(linear);
        std::array::from_fn(|i| (0..3).map(|j| matrix[i][j] * c[j]).sum::<f64>())
    }

    const PROTANOPIA: [[f64; 3]; 3] = [
        [0.112_38, 0.887_62, 0.0],
        [0.112_38, 0.887_62, 0.0],
        [0.004_01, -0.004_01, 1.0],
    ];
    const DEUTERANOPIA: [[f64; 3]; 3] = [
        [0.292_75, 0.707_25, 0.0],
        [0.292_75, 0.707_25, 0.0],
        [-0.022_34, 0.022_34, 1.0],
    ];
    const TRITANOPIA: [[f64; 3]; 3] = [
        [1.0, 0.127_39, -0.127_39],
        [0.0, 0.873_92, 0.126_08],
        [0.0, 0.873_92, 0.126_08],
    ];

    fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
        // Perceptual enough for a floor: distance of the cube roots (lightness-like).
        (0..3)
            .map(|i| (a[i].max(0.0).cbrt() - b[i].max(0.0).cbrt()).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn the_first_three_classes_differ_in_grayscale() {
        let l: Vec<f64> = (1..=3).map(|k| luminance(class_colour(k))).collect();
        for i in 0..3 {
            for j in i + 1..3 {
                assert!((l[i] - l[j]).abs() > 0.25, "{l:?}");
            }
        }
    }

    #[test]
    fn classes_stay_apart_for_colour_blind_readers() {
        for matrix in [PROTANOPIA, DEUTERANOPIA, TRITANOPIA] {
            for i in 1..=4 {
                for j in i + 1..=4 {
                    let d = distance(
                        dichromat(class_colour(i), matrix),
                        dichromat(class_colour(j), matrix),
                    );
                    assert!(d > 0.12, "classes {i} and {j}: {d}");
                }
                for dash in [TRUTH_OUTLINE, TRUTH_OUTLINE_GAP] {
                    let outline =
                        distance(dichromat(class_colour(i), matrix), dichromat(dash, matrix));
                    assert!(outline > 0.1, "class {i} and the truth outline: {outline}");
                }
            }
        }
    }

    #[test]
    fn colours_repeat_after_the_palette_and_format_as_hex() {
        assert_eq!(class_colour(1), class_colour(8));
        assert_eq!(hex(class_colour(2)), "#0072b2");
        assert!((luminance([255, 255, 255]) - 1.0).abs() < 1e-12);
    }
}
