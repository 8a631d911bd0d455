//! State_dict files: safetensors (read and written with the `safetensors` crate, the one Burn's
//! store uses), `torch.save` files read with Burn's PyTorch reader (`pytorch-reader`), and
//! `torch.save` files written here, because Burn has no writer: a zip of a protocol-2 pickle of
//! an `OrderedDict` of `torch._utils._rebuild_tensor_v2` calls, one storage per tensor, which
//! `torch.load` reads with `weights_only=True` (the globals it names are all on PyTorch's
//! allow-list). Every file is written to a temporary name and renamed.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use volume_io::FileError;

use super::{ReadTensor, ReadValues, TorchFormat, TorchTensor, TorchValues};

const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";
/// A pickle's PROTO opcode: the legacy (pre-1.6) `torch.save` format starts with one.
const PICKLE_PROTO: u8 = 0x80;

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Safetensors,
    TorchSave,
    Other,
}

/// safetensors: an 8-byte little-endian header length that fits in the file, then `{`. Checked
/// first: the length's low byte can be anything, 0x80 included. `torch.save`: a zip, or (legacy)
/// a pickle's PROTO opcode with a protocol from 2 to 5.
fn kind_of(head: &[u8], file_len: u64) -> FileKind {
    if head.len() >= 9 && head[8] == b'{' {
        let header = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        if header.checked_add(8).is_some_and(|end| end <= file_len) {
            return FileKind::Safetensors;
        }
    }
    if head.len() >= 4 && head[..4] == ZIP_MAGIC[..]
        || head.len() >= 2 && head[0] == PICKLE_PROTO && (2..=5).contains(&head[1])
    {
        return FileKind::TorchSave;
    }
    FileKind::Other
}

fn sniff(path: &Path) -> std::io::Result<FileKind> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(9);
    Read::by_ref(&mut file).take(9).read_to_end(&mut head)?;
    Ok(kind_of(&head, len))
}

/// Whether `path` starts as a state_dict file does (safetensors or `torch.save`), as opposed to
/// a Burn record.
pub fn is_state_dict_file(path: &Path) -> bool {
    sniff(path).is_ok_and(|kind| kind != FileKind::Other)
}

/// Every tensor of the state_dict file at `path`, by name.
pub fn read_state_dict(path: &Path) -> Result<BTreeMap<String, ReadTensor>, FileError> {
    match sniff(path).map_err(|e| FileError::new(path, e))? {
        FileKind::TorchSave => read_torch_save(path),
        // A truncated safetensors file fails here with the parser's reason.
        FileKind::Safetensors | FileKind::Other => read_safetensors(path),
    }
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, ReadTensor>, FileError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::new(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| {
        FileError::new(
            path,
            format!("not a safetensors or torch.save state_dict ({e:?})"),
        )
    })?;
    Ok(file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = float_values(&format!("{:?}", view.dtype()), view.data());
            let tensor = ReadTensor {
                shape: view.shape().to_vec(),
                values,
            };
            (name, tensor)
        })
        .collect())
}

fn read_torch_save(path: &Path) -> Result<BTreeMap<String, ReadTensor>, FileError> {
    let reader = pytorch_reader::PytorchReader::new(path)
        .map_err(|e| FileError::new(path, format!("not a readable torch.save state_dict: {e}")))?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.into_tensors() {
        let dtype = format!("{:?}", tensor.dtype()).to_uppercase();
        let bytes = tensor
            .read()
            .map_err(|e| FileError::new(path, format!("tensor '{name}': {e}")))?;
        let values = float_values(&dtype, &bytes);
        tensors.insert(
            name,
            ReadTensor {
                shape: tensor.shape().to_vec(),
                values,
            },
        );
    }
    Ok(tensors)
}

/// Little-endian (and native: both readers give native order, and we build only for
/// little-endian machines' files) bytes of a tensor of type `dtype` as f32.
fn float_values(dtype: &str, bytes: &[u8]) -> ReadValues {
    let chunks = |n: usize| bytes.chunks_exact(n);
    match dtype {
        "F32" => ReadValues::Float(
            chunks(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        "F64" => ReadValues::Float(
            chunks(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
        ),
        "F16" => ReadValues::Float(
            chunks(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        ),
        "BF16" => ReadValues::Float(
            chunks(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        ),
        "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" => ReadValues::Int,
        other => ReadValues::Unsupported(other.to_string()),
    }
}

/// Writes `tensors` to `path` as `format`, through a temporary file in the same folder, so that
/// `path` is either the whole file or untouched. `metadata` goes into safetensors' header (a
/// `torch.save` file has no place for it).
pub fn write_state_dict(
    tensors: &[TorchTensor],
    path: &Path,
    format: TorchFormat,
    metadata: &BTreeMap<String, String>,
) -> Result<(), FileError> {
    let temp = temporary_path(path);
    let written = match format {
        TorchFormat::Safetensors => safetensors_bytes(tensors, metadata),
        TorchFormat::Pt => torch_save_bytes(tensors, &archive_name(path)),
    }
    .map_err(|e| FileError::new(path, e))
    .and_then(|bytes| {
        std::fs::File::create(&temp)
            .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
            .map_err(|e| FileError::new(&temp, e))
    })
    .and_then(|()| std::fs::rename(&temp, path).map_err(|e| FileError::new(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// `.<name>.tmp` beside `path`.
pub(crate) fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

fn le_bytes(values: &TorchValues) -> Vec<u8> {
    match values {
        TorchValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TorchValues::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn safetensors_bytes(
    tensors: &[TorchTensor],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|t| le_bytes(&t.values)).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(tensor, data)| {
            let dtype = match tensor.values {
                TorchValues::F32(_) => Dtype::F32,
                TorchValues::I64(_) => Dtype::I64,
            };
            TensorView::new(dtype, tensor.shape.clone(), data)
                .map(|view| (tensor.name.clone(), view))
                .map_err(|e| format!("tensor '{}': {e:?}", tensor.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let metadata: HashMap<String, String> = metadata.clone().into_iter().collect();
    safetensors::serialize(views, Some(metadata)).map_err(|e| format!("{e:?}"))
}

/// The folder name inside a `torch.save` zip: the file's stem, as `torch.save` writes it.
fn archive_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "archive".into(), |s| s.to_string_lossy().into_owned());
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "archive".into()
    } else {
        clean
    }
}

/// A `torch.save` zip of `tensors` (an `OrderedDict`, as `Module.state_dict()` returns).
fn torch_save_bytes(tensors: &[TorchTensor], archive: &str) -> Result<Vec<u8>, String> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Stored and 64-byte aligned, as torch.save writes its records (torch.load can then map
    // the storages in place with mmap=True).
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment(64);
    let mut record = |name: &str, data: &[u8]| -> Result<(), String> {
        zip.start_file(format!("{archive}/{name}"), options)
            .and_then(|()| zip.write_all(data).map_err(Into::into))
            .map_err(|e| format!("cannot write the zip record {name}: {e}"))
    };
    record("data.pkl", &state_dict_pickle(tensors))?;
    record("byteorder", b"little")?;
    for (index, tensor) in tensors.iter().enumerate() {
        record(&format!("data/{index}"), &le_bytes(&tensor.values))?;
    }
    record("version", b"3\n")?;
    zip.finish()
        .map(std::io::Cursor::into_inner)
        .map_err(|e| format!("cannot finish the zip: {e}"))
}

/// Pickle opcodes (protocol 2) the state_dict needs.
mod op {
    pub const PROTO: u8 = 0x80;
    pub const GLOBAL: u8 = b'c';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const REDUCE: u8 = b'R';
    pub const MARK: u8 = b'(';
    pub const TUPLE: u8 = b't';
    pub const BINUNICODE: u8 = b'X';
    pub const BININT: u8 = b'J';
    pub const LONG1: u8 = 0x8a;
    pub const NEWFALSE: u8 = 0x89;
    pub const BINPERSID: u8 = b'Q';
    pub const SETITEMS: u8 = b'u';
    pub const STOP: u8 = b'.';
}

struct Pickle(Vec<u8>);

impl Pickle {
    fn global(&mut self, module: &str, name: &str) {
        self.0.push(op::GLOBAL);
        self.0
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }

    fn string(&mut self, text: &str) {
        self.0.push(op::BINUNICODE);
        self.0.extend_from_slice(&(text.len() as u32).to_le_bytes());
        self.0.extend_from_slice(text.as_bytes());
    }

    fn int(&mut self, value: usize) {
        match i32::try_from(value) {
            Ok(small) => {
                self.0.push(op::BININT);
                self.0.extend_from_slice(&small.to_le_bytes());
            }
            Err(_) => {
                // LONG1: a little-endian two's-complement integer of n bytes; 9 bytes hold any
                // u64 with a clear sign bit.
                self.0.extend_from_slice(&[op::LONG1, 9]);
                self.0.extend_from_slice(&(value as u64).to_le_bytes());
                self.0.push(0);
            }
        }
    }

    fn int_tuple(&mut self, values: &[usize]) {
        self.0.push(op::MARK);
        for &v in values {
            self.int(v);
        }
        self.0.push(op::TUPLE);
    }

    fn empty_ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.0.extend_from_slice(&[op::EMPTY_TUPLE, op::REDUCE]);
    }
}

/// `OrderedDict([(name, _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())),
/// ...])`, each storage a persistent id `('storage', <type>, '<index>', 'cpu', numel)`.
fn state_dict_pickle(tensors: &[TorchTensor]) -> Vec<u8> {
    let mut p = Pickle(vec![op::PROTO, 2]);
    p.empty_ordered_dict();
    p.0.push(op::MARK);
    for (index, tensor) in tensors.iter().enumerate() {
        p.string(&tensor.name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.0.push(op::MARK);
        // The storage, by persistent id.
        p.0.push(op::MARK);
        p.string("storage");
        let storage = match tensor.values {
            TorchValues::F32(_) => "FloatStorage",
            TorchValues::I64(_) => "LongStorage",
        };
        p.global("torch", storage);
        p.string(&index.to_string());
        p.string("cpu");
        p.int(tensor.shape.iter().product());
        p.0.push(op::TUPLE);
        p.0.push(op::BINPERSID);
        p.int(0);
        p.int_tuple(&tensor.shape);
        p.int_tuple(&row_major_strides(&tensor.shape));
        p.0.push(op::NEWFALSE);
        p.empty_ordered_dict();
        p.0.push(op::TUPLE);
        p.0.push(op::REDUCE);
    }
    p.0.push(op::SETITEMS);
    p.0.push(op::STOP);
    p.0
}

fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_by_their_first_bytes() {
        // A safetensors header length whose low byte is a pickle's PROTO opcode.
        let mut safetensors = 0x3580u64.to_le_bytes().to_vec();
        safetensors.push(b'{');
        assert_eq!(kind_of(&safetensors, 0x3600), FileKind::Safetensors);
        // The same bytes in a file too short for that header are not safetensors.
        assert_eq!(kind_of(&safetensors, 0x100), FileKind::Other);
        assert_eq!(kind_of(b"PK\x03\x04rest.....", 100), FileKind::TorchSave);
        assert_eq!(
            kind_of(&[0x80, 0x02, 0x8a, 0x0a, 0, 0, 0, 0, 0], 100),
            FileKind::TorchSave
        );
        assert_eq!(kind_of(b"NRUB\x01\x00\x87\x31\x00", 100), FileKind::Other);
        assert_eq!(kind_of(b"", 0), FileKind::Other);
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(row_major_strides(&[4, 3, 2]), vec![6, 2, 1]);
        assert_eq!(row_major_strides(&[]), Vec::<usize>::new());
    }

    #[test]
    fn both_formats_round_trip_through_our_readers() {
        let tensors = vec![
            TorchTensor {
                name: "a.weight".into(),
                shape: vec![2, 3],
                values: TorchValues::F32(vec![1.0, -2.5, 3.25, 0.0, 1e-30, f32::MAX]),
            },
            TorchTensor {
                name: "a.num_batches_tracked".into(),
                shape: vec![],
                values: TorchValues::I64(vec![0]),
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        for (file, format) in [
            ("w.safetensors", TorchFormat::Safetensors),
            ("w.pt", TorchFormat::Pt),
        ] {
            let path = dir.path().join(file);
            write_state_dict(&tensors, &path, format, &BTreeMap::new()).unwrap();
            assert!(is_state_dict_file(&path), "{file}");
            let read = read_state_dict(&path).unwrap();
            assert_eq!(read.len(), 2, "{file}");
            let weight = &read["a.weight"];
            assert_eq!(weight.shape, vec![2, 3]);
            let TorchValues::F32(expected) = &tensors[0].values else {
                unreachable!()
            };
            assert_eq!(weight.values, ReadValues::Float(expected.clone()), "{file}");
            assert_eq!(read["a.num_batches_tracked"].values, ReadValues::Int);
            assert_eq!(read["a.num_batches_tracked"].shape, Vec::<usize>::new());
        }
    }
}
