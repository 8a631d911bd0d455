//! Sizes a file declares, checked against the bytes it has before anything is allocated: a
//! 200-byte `.npy` whose header claims 10^12 elements, or a NIfTI header promising terabytes, is
//! an error naming the file, never an allocation (or an abort when the allocation fails).

use std::io::Read;
use std::path::Path;

use crate::FileError;

/// Largest `.npy` header accepted (numpy writes a few hundred bytes).
const MAX_NPY_HEADER: usize = 1 << 20;
/// Deflate never expands more than about 1032:1; a gzip stream promising more is lying.
pub(crate) const MAX_DEFLATE_RATIO: u64 = 1100;

/// What an `.npy` header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Bytes before the data.
    pub data_offset: usize,
    pub shape: Vec<usize>,
    pub item_size: usize,
    /// Bytes the data needs: elements times item size.
    pub data_bytes: usize,
}

fn field<'a>(header: &'a str, key: &str) -> Result<&'a str, String> {
    let at = header
        .find(&format!("'{key}'"))
        .ok_or_else(|| format!("the .npy header has no '{key}'"))?;
    let rest = &header[at + key.len() + 2..];
    let colon = rest.find(':').ok_or("malformed .npy header")?;
    Ok(rest[colon + 1..].trim_start())
}

/// Parses the header at the start of `prefix` (which must hold the whole header).
pub fn parse_npy_header(prefix: &[u8]) -> Result<NpyHeader, String> {
    if prefix.len() < 10 || &prefix[..6] != b"\x93NUMPY" {
        return Err("not an .npy file (no \\x93NUMPY magic)".into());
    }
    let (length, start) = match prefix[6] {
        1 => (u16::from_le_bytes([prefix[8], prefix[9]]) as usize, 10),
        2 | 3 => {
            let bytes = prefix.get(8..12).ok_or("truncated .npy header")?;
            (
                u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    if length > MAX_NPY_HEADER {
        return Err(format!("an .npy header of {length} bytes"));
    }
    let text = prefix
        .get(start..start + length)
        .ok_or("truncated .npy header")?;
    let text = std::str::from_utf8(text).map_err(|_| "the .npy header is not text")?;
    let descr = field(text, "descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("only simple .npy dtypes are supported")?;
    let item_size: usize = descr
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .map_err(|_| format!("unsupported .npy dtype '{descr}'"))?;
    let shape_text = field(text, "shape")?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("malformed .npy shape")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad .npy shape entry '{s}'"))
        })
        .collect::<Result<Vec<usize>, String>>()?;
    let elements = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or("the .npy shape overflows")?;
    let data_bytes = elements
        .checked_mul(item_size)
        .ok_or("the .npy size overflows")?;
    Ok(NpyHeader {
        data_offset: start + length,
        shape,
        item_size,
        data_bytes,
    })
}

/// Checks that an `.npy` of `file_len` bytes starting with `prefix` holds the data its header
/// declares.
pub fn check_npy(prefix: &[u8], file_len: u64) -> Result<NpyHeader, String> {
    let header = parse_npy_header(prefix)?;
    let available = file_len.saturating_sub(header.data_offset as u64);
    if header.data_bytes as u64 > available {
        return Err(format!(
            "the header declares shape {:?} of {}-byte elements ({} bytes), the file holds {available} bytes of data",
            header.shape, header.item_size, header.data_bytes
        ));
    }
    Ok(header)
}

/// [`check_npy`] on a file, reading only its header (the data is left for the reader).
pub fn check_npy_file(path: &Path) -> Result<NpyHeader, FileError> {
    let error = |e: String| FileError::new(path, format!("not a readable .npy file: {e}"));
    let file = std::fs::File::open(path).map_err(|e| FileError::new(path, e))?;
    let len = file.metadata().map_err(|e| FileError::new(path, e))?.len();
    let mut reader = std::io::BufReader::with_capacity(256, file);
    let mut prefix = vec![0u8; 12.min(len as usize)];
    reader
        .read_exact(&mut prefix)
        .map_err(|e| FileError::new(path, e))?;
    // The header length sits in bytes 8..10 (version 1) or 8..12 (versions 2 and 3).
    let header_end = match prefix.get(6) {
        Some(1) if prefix.len() >= 10 => 10 + u16::from_le_bytes([prefix[8], prefix[9]]) as usize,
        Some(2 | 3) if prefix.len() >= 12 => {
            12 + u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize
        }
        _ => return check_npy(&prefix, len).map_err(error),
    };
    if header_end > MAX_NPY_HEADER + 12 || header_end as u64 > len {
        return check_npy(&prefix, len).map_err(error);
    }
    prefix.resize(header_end, 0);
    reader
        .read_exact(&mut prefix[12.min(header_end)..])
        .map_err(|e| FileError::new(path, e))?;
    check_npy(&prefix, len).map_err(error)
}

/// The header of a NIfTI file (`.nii`, or `.nii.gz` when `gzipped`), without reading its voxels,
/// and the file's size in bytes.
pub(crate) fn read_nifti_header_only(
    path: &Path,
    gzipped: bool,
) -> Result<(nifti::NiftiHeader, u64), FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::new(path, e))?;
    let len = file.metadata().map_err(|e| FileError::new(path, e))?.len();
    let header = if gzipped {
        nifti::NiftiHeader::from_reader(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        nifti::NiftiHeader::from_reader(std::io::BufReader::new(file))
    }
    .map_err(|e| FileError::new(path, format!("not a readable NIfTI header: {e}")))?;
    Ok((header, len))
}

/// Bytes of a NIfTI-1 header (348) and of the extension flag that follows it (4).
const NIFTI1_HEADER_AND_EXTENDER: u64 = 352;

/// Where a NIfTI file's voxels are, once [`checked_nifti_header`]'s checks passed.
pub(crate) struct NiftiLayout {
    pub header: nifti::NiftiHeader,
    /// Byte offset of the voxels (in the inflated stream of a `.nii.gz`).
    pub offset: u64,
    /// Bytes of voxels the header declares.
    pub bytes: u64,
}

/// The header of a NIfTI file (`.nii`, or `.nii.gz` when `gzipped`) and where its voxels are,
/// after checking that the file can hold the volume the header declares: `vox_offset` plus the
/// voxels within the file (or within the most a gzip stream of its size can expand to).
pub(crate) fn checked_nifti_header(path: &Path, gzipped: bool) -> Result<NiftiLayout, FileError> {
    let bad = |reason: String| FileError::new(path, reason);
    let (header, len) = read_nifti_header_only(path, gzipped)?;
    let rank = header.dim[0];
    if !(1..=7).contains(&rank) {
        return Err(bad(format!(
            "the header declares {rank} dimensions (1 to 7)"
        )));
    }
    let mut voxels: u64 = 1;
    for &d in &header.dim[1..=rank as usize] {
        if d < 1 {
            return Err(bad(format!(
                "the header declares the shape {:?}",
                &header.dim[1..=rank as usize]
            )));
        }
        voxels = voxels
            .checked_mul(d as u64)
            .ok_or_else(|| bad("the declared shape overflows".into()))?;
    }
    let datatype = header
        .data_type()
        .map_err(|e| bad(format!("unsupported NIfTI data type: {e}")))?;
    // The reader sizes the data by bitpix and reads it by datatype: they must agree.
    if header.bitpix as usize != 8 * datatype.size_of() {
        return Err(bad(format!(
            "bitpix {} does not match the data type {datatype:?} ({} bits)",
            header.bitpix,
            8 * datatype.size_of()
        )));
    }
    let bits = header.bitpix as u64;
    let data = voxels
        .checked_mul(bits)
        .map(|b| b.div_ceil(8))
        .ok_or_else(|| bad("the declared size overflows".into()))?;
    // Voxels never start inside the header and its 4-byte extension flag (the `nifti` crate
    // reads them from there when vox_offset is smaller).
    let offset = if header.vox_offset.is_finite() && header.vox_offset >= 0.0 {
        (header.vox_offset as u64).max(NIFTI1_HEADER_AND_EXTENDER)
    } else {
        return Err(bad(format!(
            "vox_offset {} is not a byte offset",
            header.vox_offset
        )));
    };
    let needed = offset.saturating_add(data);
    let limit = if gzipped {
        len.saturating_mul(MAX_DEFLATE_RATIO)
    } else {
        len
    };
    if needed > limit {
        return Err(bad(format!(
            "the header declares {} bytes of volume at offset {offset} ({:?}, {bits} bits per voxel); the file{} cannot hold them",
            data,
            &header.dim[1..=rank as usize],
            if gzipped { " (compressed)" } else { "" }
        )));
    }
    Ok(NiftiLayout {
        header,
        offset,
        bytes: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: usize) -> Vec<u8> {
        let mut text = header.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend(std::iter::repeat_n(0u8, data));
        out
    }

    #[test]
    fn a_header_claiming_more_than_the_file_holds_is_refused() {
        let huge = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
            8,
        );
        let e = check_npy(&huge, huge.len() as u64).unwrap_err();
        assert!(
            e.contains("(1000000, 1000000)") || e.contains("[1000000, 1000000]"),
            "{e}"
        );
        let ok = npy(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4), }",
            12,
        );
        let h = check_npy(&ok, ok.len() as u64).unwrap();
        assert_eq!((h.shape, h.item_size, h.data_bytes), (vec![3, 4], 1, 12));
        let scalar = npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", 4);
        assert_eq!(
            check_npy(&scalar, scalar.len() as u64).unwrap().data_bytes,
            4
        );
        let overflow = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 2), }",
            0,
        );
        assert!(check_npy(&overflow, overflow.len() as u64).is_err());
    }
}
